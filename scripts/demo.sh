#!/usr/bin/env bash
# demo.sh — THE main job for a newcomer: a real, short end-to-end SEA run on a CPU (about 10 minutes on
# 2 cores, build included). It installs what is missing, fetches the data, builds sea-train, then
#   1. trains a small dense OPT teacher (configs/models/opt-mini.json) on Wikitext-2 from scratch,
#   2. distils a SEA (perlin) student from it,
#   3. evaluates both on Wikitext-2 valid and test (the first SEA_DEMO_EVAL_BATCHES batches of each, to stay
#      short; pass 0 for the whole splits) and prints one table: perplexity and peak memory.
# Both checkpoints stay in $SEA_DEMO_DIR (default build/demo): teacher/ and student/, each a run directory
# with run_config.json, train.log, metrics.jsonl and checkpoints/. docs/TRAINING.md has the full-size
# commands for GPUs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SEA_BUILD_DIR:-$root/build}
out=${SEA_DEMO_DIR:-$build/demo}
teacher_steps=${SEA_DEMO_TEACHER_STEPS:-250}
student_steps=${SEA_DEMO_STUDENT_STEPS:-120}
eval_batches=${SEA_DEMO_EVAL_BATCHES:-30}

[[ "${SEA_SKIP_BOOTSTRAP:-0}" == 1 ]] || bash "$root/scripts/bootstrap.sh"
data=${SEA_DATA_DIR:-$root/data}
if [[ -z "${SEA_DATA_MIRROR:-}" && -d "$root/../shared/data" ]]; then
  export SEA_DATA_MIRROR="$root/../shared/data"  # the offline mirror beside the checkout, when there is one
fi
bash "$root/scripts/get_data.sh" "$data"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} > /dev/null
cmake --build "$build" -j "${SEA_JOBS:-$(nproc)}" --target sea-train

# glibc returns every large tensor (the 50k-vocabulary logits are ~100 MB) to the kernel on free and faults
# it back in on the next step; keeping freed memory in the process halves a CPU step's time (docs/TRAINING.md).
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-17179869184}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-17179869184}
export MALLOC_TOP_PAD_=${MALLOC_TOP_PAD_:-1073741824}
export SEA_DATA_DIR=$data
train="$build/apps/sea-train"
common=(--seq-len 128 --batch-size 8 --device cpu --set eval.max_batches="$eval_batches" --set train.log_every=25)

echo "== 1/3 dense teacher: opt-mini, $teacher_steps steps =="
"$train" --model "$root/configs/models/opt-mini.json" --method none --steps "$teacher_steps" "${common[@]}" \
  --run-dir "$out/teacher" --set train.lr=2e-3 --set train.schedule=cosine --set train.warmup_steps=20 \
  --set train.min_lr_ratio=0.1

echo "== 2/3 SEA student distilled from the teacher: k 16, predictor length 32, $student_steps steps =="
"$train" --teacher "$out/teacher" --method perlin --k 16 --predictor-length 32 --steps "$student_steps" \
  "${common[@]}" --run-dir "$out/student" --set train.lr=1e-4

echo "== 3/3 evaluation =="
for who in teacher student; do
  "$train" --eval --load-checkpoint "$out/$who" --seq-len 128 --batch-size 8 --device cpu \
    --max-batches "$eval_batches" --run-dir "$out/$who-eval" --log-level warn > /dev/null
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("\n| model | attention | valid ppl | test ppl | peak memory (RSS, MB) | checkpoint |")
print("|---|---|---|---|---|---|")
for who in ("teacher", "student"):
    e = json.load(open(f"{out}/{who}-eval/eval.json"))
    ppl = {r["split"]: r["perplexity"] for r in e["results"]}
    method = e["method"] + (f" (k {e['k']})" if e["k"] is not None else "")
    partial = " *" if any(r.get("partial") for r in e["results"]) else ""
    print(f"| {who} | {method} | {ppl['valid']:.1f}{partial} | {ppl['test']:.1f}{partial} | "
          f"{e['memory']['peak_rss_mb']:.0f} | {e['model']} |")
print("\n* on the first batches of each split only (SEA_DEMO_EVAL_BATCHES=0 evaluates all of it).")
PY
