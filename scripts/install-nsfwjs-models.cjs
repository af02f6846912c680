#!/usr/bin/env node
// Installs the three pretrained nsfwjs models from an unpacked `nsfwjs` npm package into
// safescan's models directory, in the standard TensorFlow.js layout (model.json + binary
// weight shards), exactly as published: topology and uint8-quantised weights untouched.
//
// The npm package ships each model as browserify bundles (model.min.js exports the
// model.json object; each group1-shardNofM.min.js exports its weight shard as base64).
// This script only unwraps them. Usage:
//   node scripts/install-nsfwjs-models.cjs PACKAGE_DIR MODELS_DIR
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const MODELS = [
  { name: "nsfw-mobilenet-v2", dir: "mobilenet_v2", nsfwjs: "MobileNetV2", size: 224 },
  { name: "nsfw-mobilenet-v2-mid", dir: "mobilenet_v2_mid", nsfwjs: "MobileNetV2Mid", size: 224 },
  { name: "nsfw-inception-v3", dir: "inception_v3", nsfwjs: "InceptionV3", size: 299 },
];

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function main() {
  const [pkgDir, modelsDir] = process.argv.slice(2);
  if (!pkgDir || !modelsDir) {
    console.error("usage: install-nsfwjs-models.cjs PACKAGE_DIR MODELS_DIR");
    process.exit(2);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  for (const m of MODELS) {
    const src = path.resolve(pkgDir, "dist", "models", m.dir);
    const dst = path.join(modelsDir, m.name);
    const staging = `${dst}.staging-${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });

    const modelJson = require(path.join(src, "model.min.js"));
    if (!modelJson || !modelJson.modelTopology || !modelJson.weightsManifest) {
      throw new Error(`${src}/model.min.js does not export a TensorFlow.js model`);
    }
    const files = {};
    for (const group of modelJson.weightsManifest) {
      group.paths = group.paths.map((p) => {
        const b64 = require(path.join(src, `${p}.min.js`));
        if (typeof b64 !== "string") throw new Error(`${src}/${p}.min.js does not export base64 data`);
        const out = `${p}.bin`;
        fs.writeFileSync(path.join(staging, out), Buffer.from(b64, "base64"));
        return out;
      });
    }
    fs.writeFileSync(path.join(staging, "model.json"), JSON.stringify(modelJson));
    for (const f of fs.readdirSync(staging)) files[f] = sha256(path.join(staging, f));
    const manifest = {
      name: m.name,
      kind: "tfjs",
      format: modelJson.format || "layers-model",
      input_size: m.size,
      classes: ["drawing", "hentai", "neutral", "porn", "sexy"],
      source: { package: `nsfwjs@${pkg.version}`, model: m.nsfwjs, license: pkg.license },
      files,
    };
    fs.writeFileSync(path.join(staging, "safescan-model.json"), JSON.stringify(manifest, null, 2) + "\n");
    // Atomic replace: the old directory (if any) disappears only once the new one is complete.
    const old = `${dst}.old-${process.pid}`;
    if (fs.existsSync(dst)) fs.renameSync(dst, old);
    fs.renameSync(staging, dst);
    fs.rmSync(old, { recursive: true, force: true });
    console.log(`installed ${m.name} (${manifest.format}, ${Object.keys(files).length - 1} weight shard(s)) -> ${dst}`);
  }
}

main();
