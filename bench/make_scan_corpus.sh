#!/usr/bin/env bash
# Builds the corpus of the end-to-end scan benchmark (bench/bench_scan.sh) outside the repo:
#
#   bench/make_scan_corpus.sh [OUT] [SRC]          # OUT=/tmp/scan-corpus SRC=../shared/images
#   COUNT=10000 LARGE=24 DIRS=100 SEED=1 SHARD=1000 bench/make_scan_corpus.sh
#
#   OUT/small/d000..d099/NNNNNN.{jpg,png,webp}  COUNT variants of SRC, <= 1 megapixel
#                                               (re-encoded, resized 0.25-2x, cropped)
#   OUT/large/LNNN.jpg                          LARGE 4000x3000 JPEGs (12 MP, 3-5 MB)
#   OUT/shards/NNNNN.tar                        the small set as WebDataset shards of SHARD
#                                               files (SHARDS=0 skips them)
#   OUT/manifest.tsv                            one line per generated file
#
# Deterministic (same SEED and SRC: same bytes, whatever the thread count). The generator is
# bench/make_corpus.cpp (libjpeg / libpng / libwebp, compiled here with one g++ command so the
# CMake build is not touched); the shards are made with GNU tar (sorted, fixed owner/mtime).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-/tmp/scan-corpus}"
SRC="${2:-$ROOT/../shared/images}"
COUNT="${COUNT:-10000}"
LARGE="${LARGE:-24}"
DIRS="${DIRS:-100}"
SEED="${SEED:-1}"
SHARD="${SHARD:-1000}"
SHARDS="${SHARDS:-1}"
THREADS="${THREADS:-$(nproc)}"

BIN="${MAKE_CORPUS:-}"
if [ -z "$BIN" ]; then
  BIN="$OUT/.make_corpus"
  mkdir -p "$OUT"
  if [ ! -x "$BIN" ] || [ "$ROOT/bench/make_corpus.cpp" -nt "$BIN" ]; then
    g++ -O2 -std=c++20 -I"$ROOT/include" -I"$ROOT/tests/core" "$ROOT/bench/make_corpus.cpp" -o "$BIN" \
      -ljpeg -lpng -lwebp -pthread
  fi
fi

rm -rf "$OUT/small" "$OUT/large" "$OUT/shards" "$OUT/manifest.tsv"
"$BIN" --src "$SRC" --out "$OUT" --count "$COUNT" --large "$LARGE" --dirs "$DIRS" --seed "$SEED" --threads "$THREADS"

if [ "$SHARDS" = 1 ] && [ "$COUNT" -gt 0 ]; then
  # WebDataset: members named KEY.EXT at the top of each shard, SHARD consecutive files each.
  mkdir -p "$OUT/shards"
  (cd "$OUT/small" && find . -type f -printf '%f\t%P\n' | sort) | awk -F'\t' -v out="$OUT/shards" -v n="$SHARD" '
    { f = sprintf("%s/%05d.list", out, int((NR - 1) / n)); print $2 > f }'
  for list in "$OUT"/shards/*.list; do
    tar --create --file "${list%.list}.tar" --directory "$OUT/small" --files-from "$list" \
      --transform 's,^.*/,,' --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu
    rm "$list"
  done
fi

echo "corpus in $OUT:"
du -sh "$OUT"/small "$OUT"/large "$OUT"/shards 2>/dev/null || true
