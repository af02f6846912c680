#!/usr/bin/env node
// Converts UnsafeBench's parquet files (Hugging Face dataset yiting/UnsafeBench) into
// WebDataset tar shards and a labels manifest for `safescan bench` (docs/bench.md):
//
//   node scripts/parquet-to-shards.mjs --out DIR [--split NAME] [--shard-size 1000] FILE.parquet...
//
// Reads the parquet files with hyparquet (pure JavaScript, from web/node_modules: run
// scripts/setup.sh, or `npm ci` in web/) and writes
//   DIR/{split}-00000.tar, {split}-00001.tar, ...  each image as KEY.jpg / .png / .webp (by its
//       magic bytes), plus KEY.json holding the row's other columns (and `image_path`, the file
//       name stored with the image);
//   DIR/manifest.jsonl  one line per image: {"key", "path": "{split}-00000.tar:KEY.jpg",
//       "label": "Safe" | "Unsafe", "category", "source", "split"}, the format of read_labels
//       (include/safescan/labels.hpp); paths are relative to the manifest.
// Keys are `{split}-{row index}` (the row's position in its split, zero-padded to 6 digits or
// more, counting rows that were skipped), so they are stable across runs and shard sizes.
// The split is --split, else taken from each file's name as Hugging Face names them
// ("test-00000-of-00001.parquet" -> test, "train.parquet" -> train, ".../train/0000.parquet"
// -> train). Files of a split
// are read in path order, splits in name order. The output is deterministic: the same files
// give the same bytes (tar headers carry no time, owner or permissions of the machine).
// Convert every split in one run: the manifest is rewritten, and shards left over from an
// earlier run of the same split are removed.
//
// Columns: `image` (a struct {bytes, path}, or plain bytes) and `safety_label` are required;
// `category` and `source` are used when present. Rows without image bytes, or whose bytes
// are not an image format safescan reads, are skipped and counted on stderr.
//
// Exit status: 0 done; 1 a file cannot be read, lacks a column or has a row with an unknown
// label (then no manifest is left in DIR, nor any shard of this run); 2 usage.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const USAGE = 'usage: node scripts/parquet-to-shards.mjs --out DIR [--split NAME] [--shard-size 1000] FILE.parquet...';

class UsageError extends Error {}
class InputError extends Error {}

// --- the command line ---------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { out: null, split: null, shardSize: 1000, files: [] };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const value = () => {
      const eq = arg.indexOf('=');
      if (eq >= 0) return arg.slice(eq + 1);
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    const name = arg.startsWith('--') ? arg.split('=')[0] : arg;
    if (name === '-h' || name === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (name === '--out') {
      opts.out = value();
    } else if (name === '--split') {
      opts.split = value();
      if (!/^[A-Za-z0-9_-]+$/.test(opts.split)) throw new UsageError(`--split: "${opts.split}" is not a name (letters, digits, '_' and '-')`);
    } else if (name === '--shard-size') {
      const v = value();
      if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new UsageError(`--shard-size: "${v}" is not a whole number of 1 or more`);
      opts.shardSize = Number(v);
    } else if (arg === '--') {
      opts.files.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      opts.files.push(arg);
    }
  }
  if (!opts.out) throw new UsageError('--out DIR is required');
  if (!opts.files.length) throw new UsageError('give one or more parquet files');
  return opts;
}

// The split of a file from its name, as Hugging Face names parquet files:
// "test-00000-of-00001.parquet" (with or without a "-<hex>" fingerprint after it), a name
// that starts with a usual split ("train.parquet", "test_part2.parquet"), or a numbered file
// in a folder named after its split (".../train/0000.parquet"). null when none says.
function splitOfFile(file) {
  const base = path.basename(file);
  let m = /^([A-Za-z0-9_]+)-\d+-of-\d+(?:-[0-9a-f]+)?\.parquet$/i.exec(base);
  if (m && !/^\d+$/.test(m[1])) return m[1];
  m = /^(train|test|validation|valid|val|dev)(?:[-_.][^/]*)?\.parquet$/i.exec(base);
  if (m) return m[1];
  if (/^\d+\.parquet$/i.test(base)) {
    const dir = path.basename(path.dirname(path.resolve(file)));
    if (/^[A-Za-z0-9_-]+$/.test(dir) && !/^\d+$/.test(dir)) return dir;
  }
  return null;
}

// --- hyparquet, from web/node_modules -----------------------------------------------------

async function loadHyparquet() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const webDir = process.env.SAFESCAN_WEB_DIR || path.resolve(here, '..', 'web');
  const require = createRequire(path.join(webDir, 'package.json'));
  const load = async (name) => {
    let resolved;
    try {
      resolved = require.resolve(name);
    } catch {
      throw new InputError(`the npm package ${name} is not installed under ${webDir}/node_modules: run scripts/setup.sh (or \`npm ci\` in ${webDir})`);
    }
    return import(pathToFileURL(resolved).href);
  };
  const hyparquet = await load('hyparquet');
  const { compressors } = await load('hyparquet-compressors');
  return { ...hyparquet, compressors };
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// --- values -------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Text of a string column (hyparquet gives unannotated byte arrays as Uint8Array).
function text(value) {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return Buffer.from(value).toString('base64');
    }
  }
  return String(value);
}

// A parquet value as JSON: bigints as numbers (or text past 2^53), bytes as UTF-8 text (or
// base64 when they are not text), dates as ISO text, structs and lists recursively.
function jsonValue(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return text(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value, jsonValue);
  if (typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v);
    return out;
  }
  return value;
}

// The label as read_labels spells it: Safe / Unsafe, 0 / 1, false / true (any case).
function parseLabel(value) {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) === 1 ? 1 : Number(value) === 0 ? 0 : null;
  const t = (text(value) ?? '').trim().toLowerCase();
  if (t === 'unsafe' || t === '1' || t === 'true') return 1;
  if (t === 'safe' || t === '0' || t === 'false') return 0;
  return null;
}

// The extension of an image by its first bytes; null when it is none safescan reads.
function sniffExtension(b) {
  const at = (i, s) => s.split('').every((c, k) => b[i + k] === c.charCodeAt(0));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpg';
  if (b.length >= 8 && b[0] === 0x89 && at(1, 'PNG\r\n\x1a\n')) return 'png';
  if (b.length >= 12 && at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (b.length >= 6 && (at(0, 'GIF87a') || at(0, 'GIF89a'))) return 'gif';
  if (b.length >= 4 && (at(0, 'II*\0') || at(0, 'MM\0*'))) return 'tif';
  if (b.length >= 2 && at(0, 'BM')) return 'bmp';
  return null;
}

// The bytes of an `image` value: a struct {bytes, path} (Hugging Face's Image feature) or bytes.
function imageBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value && typeof value === 'object' && value.bytes instanceof Uint8Array) return value.bytes;
  if (value && typeof value === 'object' && typeof value.bytes === 'string' && value.bytes.length) return Buffer.from(value.bytes, 'latin1');
  return null;
}

// --- tar (POSIX ustar) --------------------------------------------------------------------

class TarWriter {
  constructor(file) {
    this.file = file;
    this.partial = `${file}.partial`;
    this.fd = fs.openSync(this.partial, 'w');
    this.members = 0;
  }

  static header(name, size) {
    const h = Buffer.alloc(512);
    const put = (offset, length, s) => {
      const bytes = Buffer.from(s, 'utf8');
      if (bytes.length > length) throw new Error(`tar: "${s}" does not fit in ${length} bytes`);
      bytes.copy(h, offset);
    };
    const octal = (offset, length, n) => put(offset, length, n.toString(8).padStart(length - 1, '0') + '\0');
    if (size >= 8 ** 11) throw new Error(`tar: ${name} is too large for a ustar member (${size} bytes)`);
    put(0, 100, name);
    octal(100, 8, 0o644);   // mode
    octal(108, 8, 0);       // uid
    octal(116, 8, 0);       // gid
    octal(124, 12, size);   // size
    octal(136, 12, 0);      // mtime: none, so that the output is the same on every run
    h.fill(0x20, 148, 156); // checksum, counted as spaces
    put(156, 1, '0');       // a regular file
    put(257, 6, 'ustar\0');
    put(263, 2, '00');
    let sum = 0;
    for (const byte of h) sum += byte;
    put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    return h;
  }

  add(name, data) {
    fs.writeSync(this.fd, TarWriter.header(name, data.length));
    fs.writeSync(this.fd, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) fs.writeSync(this.fd, Buffer.alloc(pad));
    ++this.members;
  }

  close() {
    fs.writeSync(this.fd, Buffer.alloc(1024));  // two zero blocks end the archive
    fs.closeSync(this.fd);
    fs.renameSync(this.partial, this.file);
  }
}

// --- the conversion -----------------------------------------------------------------------

async function convert(opts) {
  const hp = await loadHyparquet();

  // Every file is opened and checked before anything is written.
  const inputs = [];
  for (const file of opts.files) {
    const split = opts.split ?? splitOfFile(file);
    if (!split) throw new UsageError(`cannot tell the split of ${file} from its name: give --split NAME`);
    let buffer, metadata;
    try {
      buffer = await hp.asyncBufferFromFile(file);
    } catch (e) {
      throw new InputError(`${file}: cannot read the file: ${e.message}`);
    }
    try {
      metadata = await hp.parquetMetadataAsync(buffer);
    } catch (e) {
      throw new InputError(`${file}: not a parquet file: ${e.message}`);
    }
    const columns = hp.parquetSchema(metadata).children.map((c) => c.element.name);
    for (const required of ['image', 'safety_label'])
      if (!columns.includes(required))
        throw new InputError(`${file}: no column "${required}" (the file has: ${columns.join(', ')}); expected UnsafeBench's image, safety_label, category, source`);
    for (const optional of ['category', 'source'])
      if (!columns.includes(optional)) console.error(`warning: ${file}: no column "${optional}": the manifest will have none`);
    inputs.push({ file, split, buffer, metadata, columns, rows: Number(metadata.num_rows) });
  }
  inputs.sort((a, b) => (a.split < b.split ? -1 : a.split > b.split ? 1 : a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const splits = [...new Set(inputs.map((i) => i.split))];

  fs.mkdirSync(opts.out, { recursive: true });
  // The manifest and the shards of these splits from an earlier run (other shard sizes leave
  // more of them) are replaced.
  const manifestFile = path.join(opts.out, 'manifest.jsonl');
  const manifestPartial = `${manifestFile}.partial`;
  fs.rmSync(manifestFile, { force: true });
  for (const name of fs.readdirSync(opts.out).sort()) {
    const m = /^(.+)-\d{5,}\.tar(?:\.partial)?$/.exec(name);
    if (m && splits.includes(m[1])) fs.rmSync(path.join(opts.out, name));
  }
  // What this run wrote, removed again when it fails.
  const written = [manifestPartial];
  try {
    await writeShards(hp, opts, inputs, splits, manifestPartial, written);
  } catch (e) {
    for (const file of written) fs.rmSync(file, { force: true });
    throw e;
  }
  fs.renameSync(manifestPartial, manifestFile);
}

async function writeShards(hp, opts, inputs, splits, manifestPartial, written) {
  const manifestFile = path.join(opts.out, 'manifest.jsonl');
  const manifest = fs.openSync(manifestPartial, 'w');
  const totals = { images: 0, shards: 0, noBytes: 0, notImage: 0 };
  for (const split of splits) {
    const files = inputs.filter((i) => i.split === split);
    const rowCount = files.reduce((n, i) => n + i.rows, 0);
    const width = Math.max(6, String(Math.max(0, rowCount - 1)).length);
    let row = 0;
    let shard = null;
    let shardIndex = 0;
    const counts = { images: 0, noBytes: 0, notImage: 0 };
    const closeShard = () => {
      if (!shard) return;
      shard.close();
      shard = null;
      ++shardIndex;
      ++totals.shards;
    };
    for (const input of files) {
      let start = 0;
      for (const group of input.metadata.row_groups) {
        const end = start + Number(group.num_rows);
        let rows;
        try {
          rows = await hp.parquetReadObjects({
            file: input.buffer, metadata: input.metadata, rowStart: start, rowEnd: end,
            compressors: hp.compressors, utf8: false,
          });
        } catch (e) {
          throw new InputError(`${input.file}: cannot read rows ${start}-${end - 1}: ${e.message}`);
        }
        for (let r = 0; r < rows.length; ++r, ++row) {
          const record = rows[r];
          const key = `${split}-${String(row).padStart(width, '0')}`;
          const label = parseLabel(record.safety_label);
          if (label === null)
            throw new InputError(`${input.file}: row ${start + r}: unknown safety_label ${JSON.stringify(jsonValue(record.safety_label))} (expected Safe or Unsafe)`);
          const bytes = imageBytes(record.image);
          if (!bytes || !bytes.length) {
            ++counts.noBytes;
            continue;
          }
          const ext = sniffExtension(bytes);
          if (!ext) {
            ++counts.notImage;
            continue;
          }
          const meta = {};
          for (const column of input.columns) {
            if (column === 'image') {
              const original = record.image && typeof record.image === 'object' && !(record.image instanceof Uint8Array) ? text(record.image.path) : null;
              if (original) meta.image_path = original;
            } else {
              meta[column] = jsonValue(record[column]);
            }
          }
          if (!shard) {
            shard = new TarWriter(path.join(opts.out, `${split}-${String(shardIndex).padStart(5, '0')}.tar`));
            written.push(shard.partial, shard.file);
          }
          const member = `${key}.${ext}`;
          shard.add(member, bytes);
          shard.add(`${key}.json`, Buffer.from(`${JSON.stringify(meta)}\n`, 'utf8'));
          const line = { key, path: `${path.basename(shard.file)}:${member}`, label: label ? 'Unsafe' : 'Safe' };
          const category = text(record.category);
          const source = text(record.source);
          if (category !== null) line.category = category;
          if (source !== null) line.source = source;
          line.split = split;
          fs.writeSync(manifest, `${JSON.stringify(line)}\n`);
          ++counts.images;
          if (shard.members / 2 >= opts.shardSize) closeShard();
        }
        start = end;
      }
    }
    closeShard();
    const skipped = [];
    if (counts.noBytes) skipped.push(`${counts.noBytes} without image bytes`);
    if (counts.notImage) skipped.push(`${counts.notImage} whose bytes are not an image format safescan reads`);
    console.error(`${split}: ${plural(row, 'row')}, ${plural(counts.images, 'image')} in ${plural(shardIndex, 'shard')}` +
      (skipped.length ? `; skipped ${skipped.join(', ')}` : ''));
    totals.images += counts.images;
    totals.noBytes += counts.noBytes;
    totals.notImage += counts.notImage;
  }
  fs.closeSync(manifest);
  console.error(`wrote ${plural(totals.images, 'image')} in ${plural(totals.shards, 'shard')} and ${manifestFile}` +
    (totals.noBytes ? `; skipped ${plural(totals.noBytes, 'row')} without image bytes` : '') +
    (totals.notImage ? `; skipped ${plural(totals.notImage, 'row')} whose bytes are not an image` : ''));
}

try {
  await convert(parseArgs(process.argv.slice(2)));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`error: ${e instanceof InputError ? e.message : e.stack || e}`);
  process.exit(1);
}
