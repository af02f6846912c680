#!/usr/bin/env bash
# Two builds of safescan side by side, interleaved on the same machine state: the figures of a
# change that must not cost speed (docs/PERFORMANCE.md, "engine refactor: before and after").
#
#   bench/make_scan_corpus.sh /tmp/scan-corpus                      # once (COUNT=3000 LARGE=0 SHARDS=0 is enough)
#   bench/bench_ab.sh BEFORE_DIR AFTER_DIR [CORPUS]                 # each DIR holds safescan and bench_nsfw
#
# Each repetition (REPS, default 3) runs, for BEFORE then AFTER (then AFTER then BEFORE on
# the next repetition, so that neither always goes first):
#   model      bench_nsfw --model nsfw-mobilenet-v2 --batch 32 --runs 5       (model only)
#   classify   safescan classify <CLASSIFY files, <= 1 MP, named as arguments> (default detector)
#   scan       safescan scan <SCAN_FILES JPEGs <= 1 MP, as a list file> --detectors nsfw
#   default    safescan scan <DEFAULT_FILES JPEGs, as a list file>          (default: nsfw + faces)
# images/s = items / wall seconds of the whole command (model loading included); model-only is
# bench_nsfw's median. Results: OUT (default /tmp/ab-bench)/results.tsv and summary.txt (medians).
set -uo pipefail
BEFORE="${1:?usage: bench_ab.sh BEFORE_DIR AFTER_DIR [CORPUS]}"
AFTER="${2:?usage: bench_ab.sh BEFORE_DIR AFTER_DIR [CORPUS]}"
CORPUS="${3:-/tmp/scan-corpus}"
OUT="${OUT:-/tmp/ab-bench}"
REPS="${REPS:-3}"
CLASSIFY="${CLASSIFY:-256}"
SCAN_FILES="${SCAN_FILES:-2000}"
DEFAULT_FILES="${DEFAULT_FILES:-600}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

mkdir -p "$OUT"
rm -f "$OUT"/*.db* "$OUT/results.tsv"
# Copies, so that a rebuild meanwhile does not mix binaries.
for side in before after; do
  dir=$([ "$side" = before ] && echo "$BEFORE" || echo "$AFTER")
  mkdir -p "$OUT/$side"
  cp "$dir/safescan" "$dir/bench_nsfw" "$OUT/$side/"
  echo "$side: $(sha256sum "$OUT/$side/safescan" | cut -c1-16) safescan, $(sha256sum "$OUT/$side/bench_nsfw" | cut -c1-16) bench_nsfw"
done

find "$CORPUS/small" -type f | sort > "$OUT/all.txt"
head -n "$CLASSIFY" "$OUT/all.txt" > "$OUT/classify.txt"
grep -E '\.jpg$' "$OUT/all.txt" | head -n "$SCAN_FILES" > "$OUT/scan.txt"
grep -E '\.jpg$' "$OUT/all.txt" | tail -n "$DEFAULT_FILES" > "$OUT/default.txt"
echo "classify $(wc -l < "$OUT/classify.txt") files, scan $(wc -l < "$OUT/scan.txt") JPEGs, default $(wc -l < "$OUT/default.txt") JPEGs"

now() { date +%s.%N; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" | tee -a "$OUT/results.tsv"; }

run_side() {
  local side=$1 rep=$2 bin="$OUT/$1"
  local rate
  rate=$("$bin/bench_nsfw" --model nsfw-mobilenet-v2 --batch 32 --runs 5 | sed -E 's/.*"median_images_per_s":([0-9.]+).*/\1/')
  record model "$side" "$rep" "$rate"

  local t0 t1 n
  t0=$(now)
  mapfile -t files < "$OUT/classify.txt"
  "$bin/safescan" -q classify --format jsonl "${files[@]}" > "$OUT/classify-$side.jsonl"
  t1=$(now)
  n=$(wc -l < "$OUT/classify-$side.jsonl")
  record classify "$side" "$rep" "$(echo "$n / ($t1 - $t0)" | bc -l)"

  rm -f "$OUT/scan-$side.db"*
  t0=$(now)
  "$bin/safescan" -q scan "$OUT/scan.txt" --db "$OUT/scan-$side.db" --detectors nsfw --no-progress
  t1=$(now)
  record scan "$side" "$rep" "$(echo "$(wc -l < "$OUT/scan.txt") / ($t1 - $t0)" | bc -l)"

  rm -f "$OUT/default-$side.db"*
  t0=$(now)
  "$bin/safescan" -q scan "$OUT/default.txt" --db "$OUT/default-$side.db" --no-progress
  t1=$(now)
  record default "$side" "$rep" "$(echo "$(wc -l < "$OUT/default.txt") / ($t1 - $t0)" | bc -l)"
}

for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then run_side before "$rep"; run_side after "$rep"
  else run_side after "$rep"; run_side before "$rep"; fi
done

{
  echo "median of $REPS repetitions, images/s (after / before)"
  for what in model classify scan default; do
    b=$(awk -F'\t' -v w="$what" '$1 == w && $2 == "before" {print $4}' "$OUT/results.tsv" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    a=$(awk -F'\t' -v w="$what" '$1 == w && $2 == "after" {print $4}' "$OUT/results.tsv" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    printf '%-9s before %8.1f  after %8.1f  ratio %.3f\n' "$what" "$b" "$a" "$(echo "$a / $b" | bc -l)"
  done
} | tee "$OUT/summary.txt"
