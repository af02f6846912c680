// Times nsfwjs itself: the npm package with @tensorflow/tfjs on the pure-JS CPU backend,
// the reference that safescan's libtorch runner (bench/bench_nsfw.cpp) is compared with.
//
//   cd bench/nsfwjs && npm ci
//   node bench/nsfwjs/bench.mjs --model MobileNetV2 --batch 32 --images ../shared/images --runs 5
//   node bench/nsfwjs/bench.mjs --model MobileNetV2 --check        # agreement with the golden file
//
// What is timed: model.predict on one [batch, size, size, 3] float tensor, plus reading
// the result back (data()), exactly what nsfwjs's classify() runs per image minus the
// top-k sort. Decoding (pure-JS pngjs / jpeg-js) and nsfwjs's preprocessing (toFloat,
// div 255, resizeBilinear with alignCorners to 224 or 299) happen once, before timing; the
// images are reused cyclically to fill the batch. One warm-up run, then --runs timed runs;
// the median is reported as one JSON line on stdout:
//   {"impl":"nsfwjs","model":...,"batch":...,"runs":...,"median_images_per_s":...,"peak_rss_mib":...}
// Everything else (tfjs and nsfwjs banners, progress) goes to stderr.
//
// Options: --model MobileNetV2|MobileNetV2Mid|InceptionV3 (default MobileNetV2), --batch N
// (default 1), --images DIR (default ../shared/images next to the repository), --runs N
// (default 5), --limit N (use at most N images, default 32), --check (classify
// astronaut.png with nsfwjs's own classify() and compare with
// ../shared/golden/nsfwjs_public.jsonl), --golden FILE.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// tfjs and nsfwjs print banners with console.log/info/warn: keep stdout for results.
const toStderr = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
console.log = toStderr;
console.info = toStderr;
console.warn = toStderr;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoShared = path.resolve(here, "../../../shared");

const tf = await import("@tensorflow/tfjs");
await import("@tensorflow/tfjs-backend-cpu");
const nsfwjs = await import("nsfwjs");
const { PNG } = (await import("pngjs")).default;
const jpeg = (await import("jpeg-js")).default;

const MODELS = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };

function usage(message) {
  if (message) process.stderr.write(`bench.mjs: ${message}\n`);
  process.stderr.write(
    "usage: node bench.mjs [--model MobileNetV2|MobileNetV2Mid|InceptionV3] [--batch N] [--images DIR]\n" +
      "                      [--runs N] [--limit N] [--check] [--golden FILE]\n" +
      "example: node bench/nsfwjs/bench.mjs --model MobileNetV2 --batch 32 --images ../shared/images --runs 5\n",
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const opt = {
    model: "MobileNetV2",
    batch: 1,
    images: path.join(repoShared, "images"),
    runs: 5,
    limit: 32,
    check: false,
    golden: path.join(repoShared, "golden", "nsfwjs_public.jsonl"),
  };
  const intArg = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usage(`${name} needs a positive integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--model") opt.model = next();
    else if (a === "--batch") opt.batch = intArg(a, next());
    else if (a === "--images") opt.images = next();
    else if (a === "--runs") opt.runs = intArg(a, next());
    else if (a === "--limit") opt.limit = intArg(a, next());
    else if (a === "--golden") opt.golden = next();
    else if (a === "--check") opt.check = true;
    else if (a === "-h" || a === "--help") usage();
    else usage(`unknown argument '${a}'`);
  }
  if (!(opt.model in MODELS)) usage(`unknown model '${opt.model}' (known: ${Object.keys(MODELS).join(", ")})`);
  return opt;
}

// Decodes a PNG or JPEG file to an int32 [h, w, 3] tensor of 0..255 (alpha dropped, gray
// replicated: pngjs and jpeg-js both hand back RGBA/RGB with gray already expanded).
function decodeFile(file) {
  const bytes = fs.readFileSync(file);
  let width, height, rgba;
  if (bytes[0] === 0x89 && bytes[1] === 0x50) {
    const png = PNG.sync.read(bytes);
    ({ width, height } = png);
    rgba = png.data;
  } else if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
    ({ width, height } = img);
    rgba = img.data;
  } else {
    throw new Error(`${file}: not a PNG or JPEG`);
  }
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; ++i, j += 4) {
    rgb[i * 3] = rgba[j];
    rgb[i * 3 + 1] = rgba[j + 1];
    rgb[i * 3 + 2] = rgba[j + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3], "int32");
}

// nsfwjs 4.4.0 NSFWJS.infer(), minus the reshape to a batch of one.
function preprocess(img, size) {
  return tf.tidy(() => {
    const normalized = img.toFloat().div(tf.scalar(255));
    if (img.shape[0] === size && img.shape[1] === size) return normalized;
    return tf.image.resizeBilinear(normalized, [size, size], true);
  });
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function check(model, opt) {
  const file = path.join(opt.images, "astronaut.png");
  const img = decodeFile(file);
  const top = await model.classify(img, 5);
  img.dispose();
  const probs = Object.fromEntries(top.map((c) => [c.className, c.probability]));
  const line = { check: "astronaut", model: opt.model, probs };
  if (fs.existsSync(opt.golden)) {
    const golden = fs
      .readFileSync(opt.golden, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((g) => g.model === opt.model && g.image === "astronaut");
    if (golden) {
      line.golden = golden.probs;
      line.max_abs_diff = Math.max(...Object.keys(golden.probs).map((k) => Math.abs(golden.probs[k] - probs[k])));
    }
  } else {
    line.golden = null;
    process.stderr.write(`bench.mjs: no golden file at ${opt.golden}\n`);
  }
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  await tf.setBackend("cpu");
  await tf.ready();
  const size = MODELS[opt.model];

  const t0 = performance.now();
  const model = await nsfwjs.load(opt.model); // bundled weights; also runs one zeros warm-up
  const loadSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`bench.mjs: loaded ${opt.model} in ${loadSeconds.toFixed(1)} s (backend ${tf.getBackend()})\n`);

  if (opt.check) await check(model, opt);

  const files = fs
    .readdirSync(opt.images)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .slice(0, Math.min(opt.limit, opt.batch))
    .map((f) => path.join(opt.images, f));
  if (files.length === 0) usage(`no PNG or JPEG images in ${opt.images}`);
  const t1 = performance.now();
  const inputs = files.map((f) => {
    const img = decodeFile(f);
    const x = preprocess(img, size);
    img.dispose();
    return x;
  });
  const prepSeconds = (performance.now() - t1) / 1000;
  const batch = tf.stack(Array.from({ length: opt.batch }, (_, i) => inputs[i % inputs.length]));
  inputs.forEach((x) => x.dispose());
  process.stderr.write(
    `bench.mjs: decoded and preprocessed ${files.length} image(s) in ${prepSeconds.toFixed(1)} s; batch ${batch.shape}\n`,
  );

  const runOnce = async () => {
    const start = performance.now();
    const out = model.model.predict(batch);
    await out.data();
    out.dispose();
    return (performance.now() - start) / 1000;
  };
  const warm = await runOnce();
  process.stderr.write(`bench.mjs: warm-up ${warm.toFixed(2)} s\n`);
  const times = [];
  for (let r = 0; r < opt.runs; ++r) {
    times.push(await runOnce());
    process.stderr.write(`bench.mjs: run ${r + 1}/${opt.runs} ${times[r].toFixed(2)} s\n`);
  }
  batch.dispose();
  const med = median(times);
  const result = {
    impl: "nsfwjs",
    version: "nsfwjs@4.4.0 @tensorflow/tfjs@4.22.0",
    backend: tf.getBackend(),
    model: opt.model,
    batch: opt.batch,
    runs: opt.runs,
    median_seconds_per_batch: Number(med.toFixed(4)),
    median_images_per_s: Number((opt.batch / med).toFixed(3)),
    peak_rss_mib: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    load_seconds: Number(loadSeconds.toFixed(2)),
    node: process.version,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

await main();
