#!/usr/bin/env bash
# data_parallel_smoke.sh — sea-train data-parallel over NCCL on the GPU machine (issue 8): builds sea-train,
# then trains a tiny OPT for a few steps once as a plain process (batch B × ranks) and once launched on every GPU
# (RANK / WORLD_SIZE / ..., batch B each), and compares their per-step losses. On a one-GPU machine that is
# NCCL with one rank: it checks the launch, the group, the collectives and the rank-0 writes, not the scaling.
#
#   run(command="bash scripts/device/data_parallel_smoke.sh", carry=[".deps", "data/tokenizers", "data/wikitext-2-raw"])
#
# Returns in $OUT: plain.log, ranks.rank<r>.log, plain.jsonl, ranks.jsonl (metrics), summary.txt.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${OUT:-/tmp/dp_smoke_out}
mkdir -p "$out"
build=${SEA_DP_BUILD_DIR:-build-device}
if [[ ! -x $build/apps/sea-train ]]; then
  tp=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEA_CUDA=ON "-DCMAKE_PREFIX_PATH=$tp;$root/.deps/debian/usr" \
    "-DSEA_TEST_DATA_DIR=$root/data" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  grep -i "data-parallel" "$out/configure.log"
  cmake --build "$build" -j "$(getconf _NPROCESSORS_ONLN)" --target sea-train > "$out/build.log" 2>&1 \
    || { grep -E "error|FAILED" "$out/build.log" | head -20; exit 1; }
fi
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
(( gpus >= 1 )) || { echo "no GPU"; exit 1; }
work=$(mktemp -d)
head -c 60000 data/wikitext-2-raw/wiki.valid.raw > "$work/train.txt"
B=${SEA_DP_BATCH:-4}
args=(--model configs/models/opt-test.json --set 'model_set=["vocab_size=50272"]' --seq-len 64 --precision fp32
      --steps "${SEA_DP_STEPS:-8}" --seed 7 --set data.seed=7 --set "data.train_file=$work/train.txt"
      --set "data.cache_dir=$work/cache" --set train.log_every=1 --set eval.max_batches=2)
"$build/apps/sea-train" "${args[@]}" --device cuda --batch-size $((B * gpus)) --run-dir "$work/plain" > "$out/plain.log" 2>&1
echo "plain: exit $?"
port=$((29000 + RANDOM % 1000))
for ((r = 0; r < gpus; r++)); do
  RANK=$r WORLD_SIZE=$gpus LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port NCCL_NVLS_ENABLE=0 \
    "$build/apps/sea-train" "${args[@]}" --device cuda --batch-size "$B" --run-dir "$work/ranks" > "$out/ranks.rank$r.log" 2>&1 &
done
rc=0; for ((r = 0; r < gpus; r++)); do wait -n || rc=1; done
echo "$gpus rank(s): exit $rc"
grep -h "data parallel" "$out"/ranks.rank*.log
cp "$work/plain/metrics.jsonl" "$out/plain.jsonl" 2>/dev/null; cp "$work/ranks/metrics.jsonl" "$out/ranks.jsonl" 2>/dev/null
python3 - "$out/plain.jsonl" "$out/ranks.jsonl" "$gpus" <<'PY' | tee "$out/summary.txt"
import json, sys
def steps(p):
    return {j["step"]: j for j in map(json.loads, open(p)) if "loss" in j}
a, b, n = steps(sys.argv[1]), steps(sys.argv[2]), sys.argv[3]
worst = max(abs(a[s]["loss"] - b[s]["loss"]) / abs(a[s]["loss"]) for s in a)
gn = max(abs(a[s]["grad_norm"] - b[s]["grad_norm"]) / abs(a[s]["grad_norm"]) for s in a)
print(f"{n} NCCL rank(s) vs one plain process with the combined batch, {len(a)} steps: "
      f"loss rel. diff max {worst:.2e}, grad norm rel. diff max {gn:.2e}; "
      f"tokens/s plain {sorted(x['tokens']/x['seconds'] for x in a.values())[len(a)//2]:.0f}, "
      f"ranks {sorted(x['tokens']/x['seconds'] for x in b.values())[len(b)//2]:.0f}")
PY
exit $rc
