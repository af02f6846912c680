#!/usr/bin/env bash
# Runs the nsfwjs-model benchmarks side by side: safescan (libtorch) and nsfwjs itself
# (Node, @tensorflow/tfjs CPU backend), for each model at batch 1 and 32, and prints one
# JSON line per measurement. Figures and their interpretation: docs/PERFORMANCE.md.
#
#   bench/run_nsfw_bench.sh [BUILD_DIR] [IMAGES_DIR]
#   SKIP_NSFWJS=1 bench/run_nsfw_bench.sh      # safescan only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"
IMAGES="${2:-$ROOT/../shared/images}"
RUNS="${RUNS:-5}"

for model in nsfw-mobilenet-v2 nsfw-mobilenet-v2-mid nsfw-inception-v3; do
  for batch in 1 32; do
    # model-only: a fixed preprocessed batch; files: decode + preprocess + model from IMAGES
    "$BUILD_DIR/bench/bench_nsfw" --model "$model" --batch "$batch" --runs "$RUNS"
    "$BUILD_DIR/bench/bench_nsfw" --model "$model" --batch "$batch" --runs "$RUNS" --images "$IMAGES"
  done
done

if [ "${SKIP_NSFWJS:-0}" != 1 ]; then
  (cd "$ROOT/bench/nsfwjs" && [ -d node_modules ] || npm ci --silent --no-audit --no-fund)
  for model in MobileNetV2 MobileNetV2Mid InceptionV3; do
    for batch in 1 32; do
      runs="$RUNS"
      [ "$model" = InceptionV3 ] && [ "$batch" = 32 ] && runs=1
      node "$ROOT/bench/nsfwjs/bench.mjs" --model "$model" --batch "$batch" --images "$IMAGES" --runs "$runs"
    done
  done
fi
