#!/usr/bin/env bash
# bench.sh — runs ON the GPU machine after scripts/device/build_and_test.sh has built build-device/ in the same
# call: sea-bench's default CUDA sweep (every method incl. SEA's steps, T = 1024 … 65536, causal and
# bidirectional, forward and forward+backward, bf16; expected 2-3 minutes, capped near 5 by --time-budget).
# Writes to $OUT:
#   bench.md               the Markdown table and the performance targets (stdout of sea-bench)
#   bench_<gpu>.json       everything, e.g. bench_h100.json (name from nvidia-smi)
#   bench.log              sea-bench's progress and errors (stderr); kept in build-device/ instead when $OUT
#                          already holds 6 files (the device tool brings back at most 8; build_and_test.sh
#                          writes 6), its error lines and last line printed either way
# Call it from here as:
#
#   run(command="bash scripts/device/build_and_test.sh; bash scripts/device/bench.sh", carry=[".deps", "data"])
#
# or alone, when the full build and tests would not fit in one call with the sweep: without build-device/apps/
# sea-bench it configures build-device/ as build_and_test.sh does and builds only the sea-bench target
# (library + kernels + app): run(command="bash scripts/device/bench.sh", carry=[".deps"]).
#
# Extra arguments go to sea-bench (e.g. --methods sdpa,sea:sparse --seq-lens 8192,32768). Environment:
# SEA_BENCH_TIME_BUDGET (seconds after which no new measurement starts, default 290), SEA_BENCH_TIMEOUT (hard
# limit for the whole run, default 420 s; the JSON is rewritten after every row, so a cut run keeps its rows).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${OUT:-$root/build-device/out}
mkdir -p "$out"
bench=build-device/apps/sea-bench
if [[ ! -x $bench ]]; then
  [[ -f .deps/READY ]] || { echo "no $bench and no .deps/: run scripts/device/prepare_deps.sh, carry .deps"; exit 2; }
  echo "no $bench: building the sea-bench target only (same configuration as build_and_test.sh)"
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  start=$(date +%s)
  cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEA_CUDA=ON \
        -DCMAKE_PREFIX_PATH="$torch_prefix;$root/.deps/debian/usr" -DSEA_TEST_DATA_DIR="$root/data" \
        > "$out/bench_build.log" 2>&1 || { tail -20 "$out/bench_build.log"; exit 1; }
  cmake --build build-device -j "$(nproc)" --target sea-bench >> "$out/bench_build.log" 2>&1 \
    || { grep -E "error|FAILED" "$out/bench_build.log" | head -30; exit 1; }
  echo "configure + build of sea-bench: $(( $(date +%s) - start )) s"
fi

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
tag=$(echo "$gpu" | grep -oE '\b[A-Z][0-9]{2,4}\b' | head -1 | tr '[:upper:]' '[:lower:]')
[[ -n $tag ]] || tag=gpu
log=$out/bench.log
(( $(find "$out" -maxdepth 2 -type f | wc -l) >= 6 )) && log=$root/build-device/bench.log
echo "sea-bench on: ${gpu:-unknown GPU} -> $out/bench_${tag}.json, $out/bench.md, $log"

timeout --signal=INT "${SEA_BENCH_TIMEOUT:-420}" \
  "$bench" --device cuda --time-budget "${SEA_BENCH_TIME_BUDGET:-290}" --json "$out/bench_${tag}.json" "$@" \
  > "$out/bench.md" 2> "$log"
rc=$?
[[ $rc -eq 124 ]] && echo "sea-bench hit the ${SEA_BENCH_TIMEOUT:-420} s limit; partial JSON in $out/bench_${tag}.json"
grep -E "error|out of memory|failed|skipped \(time" "$log" | head -20
tail -1 "$log"
cat "$out/bench.md"
exit $rc
