#!/usr/bin/env bash
# End-to-end throughput of `safescan scan` against the model-only throughput of MobileNetV2,
# measured side by side (interleaved repetitions on the same machine state). Figures and their
# interpretation: docs/PERFORMANCE.md, "scan (end to end)".
#
#   bench/make_scan_corpus.sh /tmp/scan-corpus          # once (10,000 files <= 1 MP, 24 x 12 MP, shards)
#   bench/bench_scan.sh [CORPUS] [BUILD_DIR]             # CORPUS=/tmp/scan-corpus BUILD_DIR=build
#
# Each repetition (REPS, default 3) runs, one right after the other:
#   model       build/bench/bench_nsfw --model nsfw-mobilenet-v2 --batch 32 (fixed preprocessed batch)
#   small       safescan scan CORPUS/small --detectors nsfw            (10,000 files, <= 1 MP)
#   large       safescan scan CORPUS/large-rep --detectors nsfw        (the 12 MP JPEGs, each listed
#                                                                      LARGE_REPEAT times via symlinks)
#   tar         safescan scan 'CORPUS/shards/{00000..000NN}.tar' --detectors nsfw
#   default     safescan scan <DEFAULT_DIRS subfolders of small>       (default detectors: nsfw + faces)
# then one long run (small + shards, 20,000 items) whose RSS is sampled every second, with
# HUGE=N one run of N x 10,000 items (the small tree given N times through symlinks), and,
# unless PERF=0, one `perf record` of a small-corpus scan and one of the 12 MP set (CPU share
# per library), and unless DECODE=0 the CPU cost of decoding alone (bench/decode_cost.cpp).
#
# images/s = items written / wall seconds of the whole command (process start to exit: model
# loading included). Every run also records its peak RSS (/usr/bin/time -v), an RSS sample
# every second, and the CPU time other processes used meanwhile ("foreign"): a run during which
# others used more than NOISY_PCT percent of the machine is repeated (up to RETRIES times) after
# waiting for a quiet machine (no compiler running, >= 90% idle; at most WAIT_QUIET seconds), and
# the least disturbed attempt counts. The summary also gives the CPU time per image (user + sys of
# the process): unlike wall time it barely depends on what else runs, and model-only's CPU time
# per image over the scan's is the ratio a quiet machine would show if the scan kept every core
# busy (bench_nsfw's CPU time includes its model loading and warm-up: slightly pessimistic).
#
# The safescan binary is copied at start, so a rebuild during the benchmark does not mix
# binaries; its sha256 is printed. Results: OUT (default /tmp/scan-bench), one JSON line per
# measurement in OUT/results.jsonl, the medians in OUT/summary.txt.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-/tmp/scan-corpus}"
BUILD_DIR="${2:-$ROOT/build}"
OUT="${OUT:-/tmp/scan-bench}"
REPS="${REPS:-3}"
LARGE_REPEAT="${LARGE_REPEAT:-8}"
DEFAULT_DIRS="${DEFAULT_DIRS:-10}"
MODEL_RUNS="${MODEL_RUNS:-5}"
MODEL_IMAGES="${MODEL_IMAGES:-640}"
WAIT_QUIET="${WAIT_QUIET:-180}"
NOISY_PCT="${NOISY_PCT:-5}"
RETRIES="${RETRIES:-1}"
PERF="${PERF:-1}"
LONG="${LONG:-1}"
HUGE="${HUGE:-0}"
DECODE="${DECODE:-1}"
ONLY="${ONLY:-model small large tar default}"
NCPU="$(nproc)"

mkdir -p "$OUT"
cp "$BUILD_DIR/safescan" "$OUT/safescan.bin"
cp "$BUILD_DIR/bench/bench_nsfw" "$OUT/bench_nsfw.bin"
SAFESCAN="$OUT/safescan.bin"
BENCH_NSFW="$OUT/bench_nsfw.bin"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
echo "safescan $(sha256sum "$SAFESCAN" | cut -c1-16) built $(date -r "$BUILD_DIR/safescan" '+%F %T'); $NCPU cpus; $(uname -r)" | tee "$OUT/machine.txt"

# Large set, each file listed LARGE_REPEAT times (distinct paths, same bytes in the page cache).
rm -rf "$CORPUS/large-rep"
mkdir -p "$CORPUS/large-rep"
for r in $(seq 1 "$LARGE_REPEAT"); do
  for f in "$CORPUS"/large/*.jpg; do ln -s "$f" "$CORPUS/large-rep/r${r}_$(basename "$f")"; done
done
nshards=$(ls "$CORPUS"/shards/*.tar | wc -l)
SHARDS="$CORPUS/shards/{00000..$(printf '%05d' $((nshards - 1)))}.tar"
DEFAULT_SET=()
for d in $(ls -d "$CORPUS"/small/d* | head -n "$DEFAULT_DIRS"); do DEFAULT_SET+=("$d"); done
# Warm the page cache: every measured byte is read from memory, in every run alike.
cat "$CORPUS"/small/d*/* "$CORPUS"/large/* "$CORPUS"/shards/*.tar >/dev/null

busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
idle_jiffies() { awk '/^cpu /{print $5+$6}' /proc/stat; }

# Waits until no compiler/linker runs and the machine is >= 90% idle over 3 s.
wait_quiet() {
  local waited=0
  while :; do
    local b0 i0 b1 i1 idle builders
    b0=$(busy_jiffies); i0=$(idle_jiffies); sleep 3; b1=$(busy_jiffies); i1=$(idle_jiffies)
    idle=$(( 100 * (i1 - i0) / (b1 - b0 + i1 - i0 + 1) ))
    builders=$(ps -eo comm= | grep -cE '^(cc1plus|cc1|ld|collect2|ninja|make|cmake|ctest|as)$')
    if [ "$builders" = 0 ] && [ "$idle" -ge 90 ]; then return 0; fi
    waited=$((waited + 3))
    if [ "$waited" -ge "$WAIT_QUIET" ]; then
      echo "warning: machine still busy after ${WAIT_QUIET}s (idle ${idle}%, ${builders} build processes)" >&2
      return 1
    fi
    [ $((waited % 60)) = 0 ] && echo "waiting for a quiet machine: idle ${idle}%, ${builders} build processes (${waited}s)" >&2
  done
}

# Samples the VmRSS (KiB) of the process started under /usr/bin/time ($1) every second.
sample_rss() {
  local timepid=$1 file=$2 child="" t=0
  while [ -z "$child" ] && kill -0 "$timepid" 2>/dev/null; do child=$(pgrep -P "$timepid" | head -1); sleep 0.05; done
  : >"$file"
  while [ -n "$child" ] && [ -r "/proc/$child/status" ]; do
    awk -v t="$t" '/^VmRSS/{print t, $2}' "/proc/$child/status" >>"$file" 2>/dev/null
    sleep 1
    t=$((t + 1))
  done
}

# measure NAME REP KIND CMD...: runs CMD under /usr/bin/time -v, appends one JSON line.
measure() {
  local name=$1 rep=$2 kind=$3; shift 3
  local attempt=0
  while :; do
    local tag="$OUT/$name.$rep"
    rm -f "$OUT/$name.db" "$OUT/$name.db-wal" "$OUT/$name.db-shm"
    local b0 i0 t0 t1 b1 i1
    b0=$(busy_jiffies); i0=$(idle_jiffies); t0=$(date +%s.%N)
    /usr/bin/time -v -o "$tag.time" "$@" >"$tag.out" 2>"$tag.log" &
    local tp=$!
    sample_rss "$tp" "$tag.rss" &
    local sp=$!
    wait "$tp"
    local rc=$?
    t1=$(date +%s.%N); b1=$(busy_jiffies); i1=$(idle_jiffies)
    wait "$sp"
    local wall own_user own_sys maxrss items rate foreign_pct json
    wall=$(echo "$t1 - $t0" | bc -l)
    own_user=$(awk -F': ' '/User time/{print $2}' "$tag.time")
    own_sys=$(awk -F': ' '/System time/{print $2}' "$tag.time")
    maxrss=$(awk -F': ' '/Maximum resident/{print $2}' "$tag.time")
    foreign_pct=$(echo "f = ($b1 - $b0) / 100 - $own_user - $own_sys; if (f < 0) f = 0; 100 * f / ($wall * $NCPU)" | bc -l)
    if [ "$kind" = model ]; then
      rate=$(grep -o '"median_images_per_s":[0-9.]*' "$tag.out" | cut -d: -f2)
      items=$(( (1 + MODEL_RUNS) * MODEL_IMAGES ))  # warm-up + timed runs: for the CPU time per image
    else
      items=$(grep -oE '[0-9]+ items scored, [0-9]+ failed' "$tag.log" | awk '{print $1 + $4}')
      [ -n "$items" ] || items=0
      rate=$(echo "$items / $wall" | bc -l)
    fi
    json=$(printf '{"name":"%s","rep":%s,"attempt":%s,"rc":%s,"items":%s,"wall_s":%.2f,"images_per_s":%.1f,"cpu_user_s":%s,"cpu_sys_s":%s,"max_rss_mib":%.0f,"rss_samples":%s,"foreign_cpu_pct":%.1f,"cpu_ms_per_image":%.2f}' \
      "$name" "$rep" "$attempt" "$rc" "$items" "$wall" "${rate:-0}" "$own_user" "$own_sys" "$(echo "$maxrss / 1024" | bc -l)" \
      "$(wc -l <"$tag.rss")" "$foreign_pct" "$(echo "1000 * ($own_user + $own_sys) / ($items + 0.000001)" | bc -l)")
    echo "$json" | tee -a "$RESULTS"
    if [ "$(echo "$foreign_pct > $NOISY_PCT" | bc)" = 1 ] && [ "$attempt" -lt "${MEASURE_RETRIES:-$RETRIES}" ]; then
      for ext in time out log rss; do mv "$tag.$ext" "$tag.attempt$attempt.$ext"; done
      attempt=$((attempt + 1))
      printf '  noisy (others used %.0f%% of the machine): again after a quiet wait\n' "$foreign_pct" >&2
      wait_quiet
      continue
    fi
    return 0
  done
}

for rep in $(seq 1 "$REPS"); do
  wait_quiet
  for what in $ONLY; do
    case $what in
      model) measure model "$rep" model "$BENCH_NSFW" --model nsfw-mobilenet-v2 --batch 32 --warmup 1 --runs "$MODEL_RUNS" --images-per-run "$MODEL_IMAGES" ;;
      small) measure small "$rep" scan "$SAFESCAN" scan "$CORPUS/small" --db "$OUT/small.db" --detectors nsfw --no-progress ;;
      large) measure large "$rep" scan "$SAFESCAN" scan "$CORPUS/large-rep" --db "$OUT/large.db" --detectors nsfw --no-progress ;;
      tar) measure tar "$rep" scan "$SAFESCAN" scan "$SHARDS" --db "$OUT/tar.db" --detectors nsfw --no-progress ;;
      default) measure default "$rep" scan "$SAFESCAN" scan "${DEFAULT_SET[@]}" --db "$OUT/default.db" --no-progress ;;
    esac
  done
done

if [ "$LONG" = 1 ]; then
  wait_quiet
  # 20,000 items (the directory and the shards: distinct keys), RSS every second.
  measure long 1 scan "$SAFESCAN" scan "$CORPUS/small" "$SHARDS" --db "$OUT/long.db" --detectors nsfw --no-progress
  # Same with only 1,000 items, for "flat whatever the dataset size".
  measure short 1 scan "$SAFESCAN" scan "${DEFAULT_SET[@]}" --db "$OUT/short.db" --detectors nsfw --no-progress
fi

if [ "$HUGE" -gt 0 ]; then
  # HUGE x 10,000 items: the small tree given HUGE times through symlinks (distinct keys and
  # paths, same bytes), for RSS against dataset size.
  rm -rf "$CORPUS/copies"
  mkdir -p "$CORPUS/copies"
  for c in $(seq 1 "$HUGE"); do ln -s "$CORPUS/small" "$CORPUS/copies/c$(printf '%03d' "$c")"; done
  wait_quiet
  MEASURE_RETRIES=0 measure huge 1 scan "$SAFESCAN" scan "$CORPUS"/copies/c* --db "$OUT/huge.db" --detectors nsfw --no-progress
fi

if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
  wait_quiet
  rm -f "$OUT/perf.db"*
  perf record -q -F 499 -g -o "$OUT/perf.data" -- "$SAFESCAN" scan "$CORPUS/small" --db "$OUT/perf.db" --detectors nsfw --no-progress \
    2>"$OUT/perf.log" >/dev/null
  perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' >"$OUT/perf-dso.txt"
  perf report -i "$OUT/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -40 >"$OUT/perf-sym.txt"
  rm -f "$OUT/perf.db"* "$OUT/perf.large.db"*
  perf record -q -F 499 -g -o "$OUT/perf-large.data" -- "$SAFESCAN" scan "$CORPUS/large-rep" --db "$OUT/perf.large.db" --detectors nsfw --no-progress \
    2>>"$OUT/perf.log" >/dev/null
  perf report -i "$OUT/perf-large.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' >"$OUT/perf-large-dso.txt"
fi

if [ "$DECODE" = 1 ]; then
  # Decoding alone, per format (thread CPU time; bench/decode_cost.cpp).
  g++ -O2 -std=c++20 "$ROOT/bench/decode_cost.cpp" -o "$OUT/decode_cost" -ljpeg -lpng -lwebp &&
    "$OUT/decode_cost" "$CORPUS/manifest.tsv" "$CORPUS" 400 >"$OUT/decode-cost.txt"
fi

# Medians (of the least disturbed attempt of each repetition) and ratios to model-only.
{
  echo "median of $REPS repetitions: images/s, ratio to model-only; CPU ms per image (own user+sys), model-only's over it"
  echo "(the CPU-bound ratio: the wall ratio on a quiet machine if the scan keeps every core busy); peak RSS; worst foreign CPU %"
  python3 - "$RESULTS" <<'EOF'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in rows:  # per repetition, the attempt that other processes disturbed least
    k = (r["name"], r["rep"])
    if k not in best or r["foreign_cpu_pct"] < best[k]["foreign_cpu_pct"]:
        best[k] = r
by = {}
for (name, _), r in best.items():
    by.setdefault(name, []).append(r)
med = lambda rs, f: statistics.median(r[f] for r in rs)
model = med(by["model"], "images_per_s") if "model" in by else float("nan")
model_cpu = med(by["model"], "cpu_ms_per_image") if "model" in by else float("nan")
for name, rs in by.items():
    m, c = med(rs, "images_per_s"), med(rs, "cpu_ms_per_image")
    print(f"{name:8s} {m:7.1f} img/s  x{m / model:4.2f}  cpu {c:6.2f} ms/img  x{model_cpu / c:4.2f}  items {rs[0]['items']:6d}  "
          f"rss {max(r['max_rss_mib'] for r in rs):4.0f} MiB  foreign <= {max(r['foreign_cpu_pct'] for r in rs):4.1f}%  "
          f"runs {[round(r['images_per_s'], 1) for r in rs]}")
EOF
  for run in long huge; do
    [ -f "$OUT/$run.1.rss" ] || continue
    echo "$run run: RSS (MiB) at 10% .. 100% of its duration, then min / max after the first 10 s:"
    awk '{v[NR]=$2} END{for(i=1;i<=10;i++){k=int(NR*i/10); if(k<1)k=1; printf " %d", v[k]/1024} print ""}' "$OUT/$run.1.rss"
    awk 'NR>10{if(min==""||$2<min)min=$2; if($2>max)max=$2} END{if (min != "") printf " min %d max %d\n", min/1024, max/1024}' "$OUT/$run.1.rss"
  done
  [ -f "$OUT/decode-cost.txt" ] && { echo "decoding alone, CPU time per image (bench/decode_cost.cpp):"; cat "$OUT/decode-cost.txt"; }
  [ -f "$OUT/perf-dso.txt" ] && { echo "perf, small corpus, CPU share by library:"; head -15 "$OUT/perf-dso.txt"; }
  [ -f "$OUT/perf-large-dso.txt" ] && { echo "perf, 12 MP set, CPU share by library:"; head -10 "$OUT/perf-large-dso.txt"; }
  if ! cmp -s "$SAFESCAN" "$BUILD_DIR/safescan"; then echo "note: $BUILD_DIR/safescan changed during the benchmark (the copy was measured)"; fi
} | tee "$OUT/summary.txt"
