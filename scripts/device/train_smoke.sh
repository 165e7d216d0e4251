#!/usr/bin/env bash
# train_smoke.sh — runs ON the GPU machine after build_and_test.sh (reuses build-device/): sea-train end to end
# on CUDA with bf16 autocast. (1) the demo's pipeline at GPU size: a dense opt-mini teacher, a SEA student
# distilled from it, both evaluated on the whole of Wikitext-2 valid and test; (2) opt-125m at the paper's
# sequence length 2048 for a few steps (dense teacher from scratch, then SEA k 64 distilled from it), for
# throughput and memory. Logs and eval JSON go to $OUT.
#
#   run(command="bash scripts/device/train_smoke.sh", carry=[".deps", "data"])
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${OUT:-$root/build-device/out}
mkdir -p "$out"
train=build-device/apps/sea-train
[[ -x $train ]] || { echo "no $train: run scripts/device/build_and_test.sh first (same machine)"; exit 2; }
export SEA_DATA_DIR=$root/data
runs=$root/build-device/runs
rm -rf "$runs"
rc=0
step() { echo "== $*"; "$@" || rc=1; }

common=(--device cuda --set train.log_every=50)
step "$train" --model opt-mini --method none --steps 400 --seq-len 512 --batch-size 16 "${common[@]}" \
  --run-dir "$runs/mini-teacher" --set train.lr=2e-3 --set train.schedule=cosine --set train.warmup_steps=40 \
  --set eval.max_batches=20 > "$out/mini_teacher.log" 2>&1
step "$train" --teacher "$runs/mini-teacher" --method perlin --k 64 --predictor-length 128 --steps 200 --seq-len 512 \
  --batch-size 16 "${common[@]}" --run-dir "$runs/mini-perlin" --set train.lr=1e-4 --set eval.max_batches=20 \
  > "$out/mini_perlin.log" 2>&1
for who in mini-teacher mini-perlin; do
  step "$train" --eval --load-checkpoint "$runs/$who" --seq-len 512 --batch-size 16 --device cuda \
    --run-dir "$runs/$who-eval" >> "$out/eval_tables.md" 2>> "$out/eval.log"
  cp "$runs/$who-eval/eval.json" "$out/$who-eval.json" 2>/dev/null
done
# k changed at evaluation time (dynamic k) on the same student.
step "$train" --eval --load-checkpoint "$runs/mini-perlin" --seq-len 512 --batch-size 16 --device cuda --k 32 \
  --run-dir "$runs/mini-perlin-k32-eval" >> "$out/eval_tables.md" 2>> "$out/eval.log"

step "$train" --model opt-125m --method none --steps 20 --seq-len 2048 --batch-size 2 "${common[@]}" \
  --run-dir "$runs/opt125-teacher" --set train.lr=1e-4 --set eval.max_batches=4 --set train.log_every=5 \
  > "$out/opt125_teacher.log" 2>&1
step "$train" --teacher "$runs/opt125-teacher" --method perlin --k 64 --predictor-length 256 --steps 10 --seq-len 2048 \
  --batch-size 2 "${common[@]}" --run-dir "$runs/opt125-perlin" --set eval.max_batches=4 --set train.log_every=5 \
  > "$out/opt125_perlin.log" 2>&1
# Resume on the GPU: 5 more steps from the newest checkpoint.
step "$train" --teacher "$runs/opt125-teacher" --method perlin --k 64 --predictor-length 256 --steps 15 --seq-len 2048 \
  --batch-size 2 "${common[@]}" --run-dir "$runs/opt125-perlin" --set eval.max_batches=4 --set train.log_every=5 \
  --load-checkpoint auto > "$out/opt125_perlin_resume.log" 2>&1
for f in "$runs"/*/metrics.jsonl; do cp "$f" "$out/$(basename "$(dirname "$f")")-metrics.jsonl"; done
grep -hE "step [0-9]+/[0-9]+ \||eval at|error|resumed" "$out"/*.log | cut -c1-220
cat "$out/eval_tables.md"
exit $rc
