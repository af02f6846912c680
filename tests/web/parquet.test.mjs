// Test of scripts/parquet-to-shards.mjs (docs/bench.md): build small parquet files in
// UnsafeBench's shape with hyparquet-writer (an `image` struct {bytes, path}, safety_label,
// category, source; rows without image bytes, bytes that are not an image, several row
// groups, snappy and gzip pages), convert them, check the shards with `tar`, the manifest, determinism, the errors,
// and score a shard with `safescan classify`. No network, no real UnsafeBench data.
//
// Exit status: 0 pass, 1 fail (messages on stderr), 77 skipped (no safescan executable, no
// hyparquet in web/node_modules, no tar; or, after the converter checks passed, no nsfw
// model for classify). Environment (set by ctest): SAFESCAN_EXE, SAFESCAN_SOURCE_DIR,
// SAFESCAN_WEB_DIR, SAFESCAN_SHARED (optional: a real JPEG from its images). SAFESCAN_KEEP_TMP=1
// keeps the temporary folder after a pass; after a failure it is always kept.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const env = process.env;
const failures = [];
function check(condition, message) {
  if (!condition) failures.push(message);
  return condition;
}
function skip(message) {
  console.log(`SKIP: ${message}`);
  process.exit(77);
}

// --- what the test needs ------------------------------------------------------------------
const sourceDir = env.SAFESCAN_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const webDir = env.SAFESCAN_WEB_DIR || path.join(sourceDir, 'web');
const script = path.join(sourceDir, 'scripts', 'parquet-to-shards.mjs');
const exe = env.SAFESCAN_EXE;
if (!exe || !fs.existsSync(exe)) skip(`no safescan executable (SAFESCAN_EXE=${exe})`);
const require = createRequire(path.join(webDir, 'package.json'));
let writerPath;
try {
  require.resolve('hyparquet');
  writerPath = require.resolve('hyparquet-writer');
} catch (e) {
  skip(`hyparquet / hyparquet-writer not installed under ${webDir}/node_modules: run scripts/setup.sh (${e.message})`);
}
if (spawnSync('tar', ['--version']).status !== 0) skip('no tar on PATH');
const { parquetWriteFile } = await import(pathToFileURL(writerPath).href);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safescan-parquet-'));
function finish() {
  if (failures.length) {
    console.error(`FAIL (${failures.length}):\n- ${failures.join('\n- ')}\nkept ${tmp}`);
    process.exit(1);
  }
}

// --- images -------------------------------------------------------------------------------
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
// An RGB PNG of w x h with a gradient offset by `seed` (so that images differ).
function png(w, h, seed) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; ++y)
    for (let x = 0; x < w; ++x) {
      const o = y * (1 + 3 * w) + 1 + 3 * x;
      raw[o] = (x * 255) / (w - 1);
      raw[o + 1] = (y * 255) / (h - 1);
      raw[o + 2] = (seed * 40) & 0xff;
    }
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}
// A 1 x 1 lossless WebP.
const webp = new Uint8Array(Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64'));
// A real JPEG when the shared images are there, else a PNG in its place.
const sharedJpeg = env.SAFESCAN_SHARED && path.join(env.SAFESCAN_SHARED, 'images', 'home.jpg');
const jpeg = sharedJpeg && fs.existsSync(sharedJpeg) ? new Uint8Array(fs.readFileSync(sharedJpeg)) : null;
const second = jpeg ?? png(24, 16, 9);
const secondExt = jpeg ? 'jpg' : 'png';

// --- parquet files in UnsafeBench's shape -------------------------------------------------
const SCHEMA = [
  { name: 'root', num_children: 4 },
  { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
  { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
  { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'safety_label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'category', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'source', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
];
// rows: [image bytes | null, label, category, source]; image null = no image struct at all.
function writeParquet(file, rows, { drop = null, rowGroupSize = 3, codec = 'SNAPPY' } = {}) {
  const columns = {
    image: rows.map(([bytes], i) => (bytes === undefined ? null : { bytes, path: bytes ? `img-${i}.bin` : null })),
    safety_label: rows.map((r) => r[1]),
    category: rows.map((r) => r[2]),
    source: rows.map((r) => r[3]),
  };
  const names = Object.keys(columns).filter((n) => n !== drop);
  let schema = SCHEMA.filter((e) => e.name !== drop);
  if (drop) schema = [{ name: 'root', num_children: names.length }, ...schema.slice(1)];
  if (drop === 'image') schema = schema.filter((e) => e.name !== 'bytes' && e.name !== 'path');
  const compressors = { GZIP: (bytes) => new Uint8Array(zlib.gzipSync(bytes)) };
  parquetWriteFile({ filename: file, columnData: names.map((name) => ({ name, data: columns[name] })), schema, rowGroupSize, codec, compressors });
}

const input = path.join(tmp, 'input');
fs.mkdirSync(input);
const testRows = [
  [png(32, 32, 1), 'Unsafe', 'Sexual', 'Lexica'],                    // 0
  [second, 'Safe', 'Violence', 'Laion5B'],                           // 1
  [null, 'Unsafe', 'Hate', 'Lexica'],                                // 2: no bytes: skipped
  [webp, 'unsafe', 'Hate', 'Laion5B'],                               // 3
  [undefined, 'Safe', 'Spam', 'Lexica'],                             // 4: no image at all: skipped
  [png(16, 24, 2), 'Safe', 'Public and personal health', 'Lexica'],  // 5
  [new Uint8Array(Buffer.from('not an image')), 'Safe', 'Spam', 'Lexica'],  // 6: skipped
];
const trainRows = [
  [png(8, 8, 3), 'Safe', 'Political', 'Laion5B'],
  [png(8, 8, 4), 'Unsafe', 'Shocking', 'Lexica'],
  [png(8, 8, 5), 'Unsafe', 'Deception', 'Laion5B'],
];
const testFile = path.join(input, 'test-00000-of-00001.parquet');
const trainFile = path.join(input, 'train-00000-of-00001.parquet');
writeParquet(testFile, testRows);
writeParquet(trainFile, trainRows, { rowGroupSize: 2, codec: 'GZIP' });  // read with hyparquet-compressors

function node(args) {
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...env, SAFESCAN_WEB_DIR: webDir }, encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}
function tarList(file) {
  const r = spawnSync('tar', ['tf', file], { encoding: 'utf8' });
  check(r.status === 0, `tar tf ${file} failed: ${r.stderr}`);
  return (r.stdout || '').split('\n').filter(Boolean);
}
function tarMember(file, member) {
  const r = spawnSync('tar', ['xOf', file, member], { maxBuffer: 64 << 20 });
  check(r.status === 0, `tar xOf ${file} ${member} failed: ${r.stderr}`);
  return r.stdout;
}
const readManifest = (dir) => fs.readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

// --- convert ----------------------------------------------------------------------------------
const out = path.join(tmp, 'out');
// Train first on the command line: the output is in split order all the same.
const conv = node(['--out', out, '--shard-size', '3', trainFile, testFile]);
if (!check(conv.status === 0, `converter exited ${conv.status}: ${conv.stderr}`)) finish();
check(/skipped 2 without image bytes/.test(conv.stderr), `stderr lacks the count of rows without image bytes: ${conv.stderr}`);
check(/1 whose bytes are not an image/.test(conv.stderr), `stderr lacks the count of non-images: ${conv.stderr}`);
check(/wrote 7 images in 3 shards/.test(conv.stderr), `stderr lacks the totals: ${conv.stderr}`);

const files = fs.readdirSync(out).sort();
check(JSON.stringify(files) === JSON.stringify(['manifest.jsonl', 'test-00000.tar', 'test-00001.tar', 'train-00000.tar']),
  `output files: ${files.join(' ')}`);

const shard0 = path.join(out, 'test-00000.tar');
const list0 = tarList(shard0);
const expected0 = ['test-000000.png', 'test-000000.json', `test-000001.${secondExt}`, 'test-000001.json', 'test-000003.webp', 'test-000003.json'];
check(JSON.stringify(list0) === JSON.stringify(expected0), `test-00000.tar holds ${list0.join(' ')}, expected ${expected0.join(' ')}`);
const list1 = tarList(path.join(out, 'test-00001.tar'));
check(JSON.stringify(list1) === JSON.stringify(['test-000005.png', 'test-000005.json']), `test-00001.tar holds ${list1.join(' ')}`);
const listTrain = tarList(path.join(out, 'train-00000.tar'));
check(listTrain.length === 6 && listTrain[4] === 'train-000002.png', `train-00000.tar holds ${listTrain.join(' ')}`);

// The images are the bytes of the parquet file, untouched; the sidecar holds the other columns.
check(Buffer.compare(tarMember(shard0, 'test-000000.png'), Buffer.from(testRows[0][0])) === 0, 'test-000000.png differs from the input bytes');
check(Buffer.compare(tarMember(shard0, `test-000001.${secondExt}`), Buffer.from(second)) === 0, 'test-000001 differs from the input bytes');
check(Buffer.compare(tarMember(shard0, 'test-000003.webp'), Buffer.from(webp)) === 0, 'test-000003.webp differs from the input bytes');
const meta = JSON.parse(tarMember(shard0, 'test-000003.json').toString('utf8'));
check(JSON.stringify(meta) === JSON.stringify({ image_path: 'img-3.bin', safety_label: 'unsafe', category: 'Hate', source: 'Laion5B' }),
  `test-000003.json: ${JSON.stringify(meta)}`);

// The manifest: read_labels' format, paths relative to it.
const manifest = readManifest(out);
const keys = manifest.map((m) => m.key);
check(JSON.stringify(keys) === JSON.stringify(['test-000000', 'test-000001', 'test-000003', 'test-000005', 'train-000000', 'train-000001', 'train-000002']),
  `manifest keys: ${keys.join(' ')}`);
check(JSON.stringify(manifest[0]) === JSON.stringify({ key: 'test-000000', path: 'test-00000.tar:test-000000.png', label: 'Unsafe', category: 'Sexual', source: 'Lexica', split: 'test' }),
  `manifest line 1: ${JSON.stringify(manifest[0])}`);
check(manifest[1].label === 'Safe' && manifest[2].label === 'Unsafe', 'labels not normalised to Safe / Unsafe');
check(manifest[3].path === 'test-00001.tar:test-000005.png' && manifest[3].category === 'Public and personal health', `manifest line 4: ${JSON.stringify(manifest[3])}`);
check(manifest[6].path === 'train-00000.tar:train-000002.png' && manifest[6].split === 'train', `manifest line 7: ${JSON.stringify(manifest[6])}`);
for (const m of manifest) {
  const [shard, member] = m.path.split(':');
  check(tarList(path.join(out, shard)).includes(member), `${m.path} is not in its shard`);
}

// Deterministic: another run gives the same bytes; a run with another shard size replaces
// the shards of the earlier one and keeps the keys.
const again = path.join(tmp, 'again');
check(node(['--out', again, '--shard-size', '3', testFile, trainFile]).status === 0, 'second conversion failed');
for (const f of files)
  check(fs.existsSync(path.join(again, f)) && Buffer.compare(fs.readFileSync(path.join(out, f)), fs.readFileSync(path.join(again, f))) === 0,
    `${f} differs between two runs`);
check(node(['--out', again, '--shard-size=1000', testFile]).status === 0, 'conversion with --shard-size=1000 failed');
const regrouped = fs.readdirSync(again).sort();
check(JSON.stringify(regrouped) === JSON.stringify(['manifest.jsonl', 'test-00000.tar', 'train-00000.tar']), `after a rerun: ${regrouped.join(' ')}`);
check(JSON.stringify(readManifest(again).map((m) => m.key)) === JSON.stringify(keys.slice(0, 4)), 'keys changed with the shard size');

// --split names the split of a file whose name does not.
const plain = path.join(input, 'unsafebench.parquet');
fs.copyFileSync(testFile, plain);
const named = path.join(tmp, 'named');
const withSplit = node(['--out', named, '--split', 'eval', plain]);
check(withSplit.status === 0 && fs.existsSync(path.join(named, 'eval-00000.tar')), `--split eval: exit ${withSplit.status} ${withSplit.stderr}`);
check(readManifest(named)[0]?.key === 'eval-000000', '--split does not name the keys');

// --- errors ---------------------------------------------------------------------------------
const noLabel = path.join(input, 'test-nolabel.parquet');
writeParquet(noLabel, testRows, { drop: 'safety_label' });
const bad = path.join(tmp, 'bad');
const missingColumn = node(['--out', bad, '--split', 'test', noLabel]);
check(missingColumn.status === 1 && missingColumn.stderr.includes('no column "safety_label"') && missingColumn.stderr.includes(noLabel),
  `missing column: exit ${missingColumn.status} ${missingColumn.stderr}`);
check(!fs.existsSync(path.join(bad, 'manifest.jsonl')), 'a manifest was written despite the missing column');
const noImage = path.join(input, 'test-noimage.parquet');
writeParquet(noImage, testRows, { drop: 'image' });
const missingImage = node(['--out', bad, '--split', 'test', noImage]);
check(missingImage.status === 1 && missingImage.stderr.includes('no column "image"'), `missing image column: exit ${missingImage.status} ${missingImage.stderr}`);
const badLabel = path.join(input, 'test-maybe.parquet');
writeParquet(badLabel, [[png(8, 8, 1), 'Safe', 'Hate', 'Lexica'], [png(8, 8, 2), 'maybe', 'Hate', 'Lexica']]);
const unknownLabel = node(['--out', bad, '--split', 'test', badLabel]);
check(unknownLabel.status === 1 && /row 1: unknown safety_label "maybe"/.test(unknownLabel.stderr), `unknown label: exit ${unknownLabel.status} ${unknownLabel.stderr}`);
check(!fs.existsSync(bad) || fs.readdirSync(bad).length === 0, `a failed run left files: ${fs.existsSync(bad) ? fs.readdirSync(bad).join(' ') : ''}`);
const missingFile = node(['--out', bad, path.join(input, 'test-nope.parquet')]);
check(missingFile.status === 1 && /test-nope\.parquet: cannot read/.test(missingFile.stderr), `missing file: exit ${missingFile.status} ${missingFile.stderr}`);
const notParquet = path.join(input, 'test-text.parquet');
fs.writeFileSync(notParquet, 'just some text, certainly not parquet\n');
const textFile = node(['--out', bad, notParquet]);
check(textFile.status === 1 && /not a parquet file/.test(textFile.stderr), `not parquet: exit ${textFile.status} ${textFile.stderr}`);
check(node([testFile]).status === 2, 'no --out: expected exit 2');
check(node(['--out', bad]).status === 2, 'no files: expected exit 2');
check(node(['--out', bad, '--shard-size', '0', testFile]).status === 2, '--shard-size 0: expected exit 2');
const unnamed = node(['--out', bad, plain]);
check(unnamed.status === 2 && /--split/.test(unnamed.stderr), `a file without a split in its name: exit ${unnamed.status} ${unnamed.stderr}`);
finish();

// --- safescan reads the shard ------------------------------------------------------------------
const classify = spawnSync(exe, ['classify', '--detectors', 'nsfw-mobilenet-v2', '--format', 'jsonl', shard0],
  { env: { ...env, OMP_WAIT_POLICY: 'PASSIVE', SAFESCAN_THREADS: '1' }, encoding: 'utf8', timeout: 240000 });
if (classify.status === 1 && /model/i.test(classify.stderr || '')) {
  fs.rmSync(tmp, { recursive: true, force: true });
  skip(`converter checks passed; classify skipped, the nsfw model is not installed: ${classify.stderr.trim()}`);
}
check(classify.status === 0, `classify exited ${classify.status}: ${classify.stderr}`);
const results = (classify.stdout || '').split('\n').filter(Boolean).map((l) => JSON.parse(l));
check(JSON.stringify(results.map((r) => r.key)) === JSON.stringify(['test-000000', 'test-000001', 'test-000003']),
  `classify keys: ${results.map((r) => r.key).join(' ')}`);
for (const r of results) {
  check(r.status === 'ok', `${r.key}: status ${r.status} ${JSON.stringify(r.error)}`);
  check(typeof r.scores?.['nsfw-mobilenet-v2'] === 'object', `${r.key}: no nsfw-mobilenet-v2 scores`);
  check(r.meta?.json?.source !== undefined, `${r.key}: the .json sidecar is not in meta: ${JSON.stringify(r.meta)}`);
}
check(results[0]?.member === 'test-000000.png' && results[0]?.meta?.json?.category === 'Sexual', `first result: ${JSON.stringify(results[0])}`);

finish();
if (env.SAFESCAN_KEEP_TMP === '1') {
  console.log(`PASS: kept ${tmp}`);
} else {
  console.log('PASS (SAFESCAN_KEEP_TMP=1 keeps the parquet files and shards)');
  fs.rmSync(tmp, { recursive: true, force: true });
}
