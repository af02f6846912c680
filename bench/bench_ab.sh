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
# bench_nsfw's median. The commands' CPU time per image (user + sys, /usr/bin/time) is recorded
# too: it depends much less on what else the machine does. Results: OUT (default
# /tmp/ab-bench)/results.tsv (what, side, repetition, images/s, CPU ms per image) and
# summary.txt (medians).
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

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" | tee -a "$OUT/results.tsv"; }

# Runs a command (stdout to $TIMED_OUT), records images/s and CPU ms per image for `n` items.
timed() {
  local what=$1 side=$2 rep=$3 n=$4
  shift 4
  /usr/bin/time -f '%e %U %S' -o "$OUT/time.txt" "$@" > "${TIMED_OUT:-/dev/null}"
  read -r wall user sys < "$OUT/time.txt"
  record "$what" "$side" "$rep" "$(echo "$n / $wall" | bc -l)" "$(echo "1000 * ($user + $sys) / $n" | bc -l)"
}

run_side() {
  local side=$1 rep=$2 bin="$OUT/$1"
  local rate
  rate=$("$bin/bench_nsfw" --model nsfw-mobilenet-v2 --batch 32 --runs 5 | sed -E 's/.*"median_images_per_s":([0-9.]+).*/\1/')
  record model "$side" "$rep" "$rate"

  mapfile -t files < "$OUT/classify.txt"
  TIMED_OUT="$OUT/classify-$side.jsonl" timed classify "$side" "$rep" "${#files[@]}" \
    "$bin/safescan" -q classify --format jsonl "${files[@]}"
  [ "$(wc -l < "$OUT/classify-$side.jsonl")" = "${#files[@]}" ] || echo "classify $side: not one line per file" >&2

  rm -f "$OUT/scan-$side.db"*
  timed scan "$side" "$rep" "$(wc -l < "$OUT/scan.txt")" \
    "$bin/safescan" -q scan "$OUT/scan.txt" --db "$OUT/scan-$side.db" --detectors nsfw --no-progress

  rm -f "$OUT/default-$side.db"*
  timed default "$side" "$rep" "$(wc -l < "$OUT/default.txt")" \
    "$bin/safescan" -q scan "$OUT/default.txt" --db "$OUT/default-$side.db" --no-progress
}

for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then run_side before "$rep"; run_side after "$rep"
  else run_side after "$rep"; run_side before "$rep"; fi
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
column() { awk -F'\t' -v w="$1" -v s="$2" -v c="$3" '$1 == w && $2 == s {print $c}' "$OUT/results.tsv" | median; }
{
  echo "median of $REPS repetitions: images/s (after / before), and the commands' CPU ms per image (before / after)"
  for what in model classify scan default; do
    b=$(column "$what" before 4) a=$(column "$what" after 4)
    printf '%-9s before %8.1f  after %8.1f  ratio %.3f' "$what" "$b" "$a" "$(echo "$a / $b" | bc -l)"
    if [ "$what" != model ]; then
      cb=$(column "$what" before 5) ca=$(column "$what" after 5)
      printf '   CPU ms/image before %6.2f  after %6.2f  ratio %.3f' "$cb" "$ca" "$(echo "$cb / $ca" | bc -l)"
    fi
    echo
  done
} | tee "$OUT/summary.txt"
