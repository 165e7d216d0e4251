#!/usr/bin/env bash
# test_data_parallel.sh — data-parallel sea-train on the CPU over Gloo (issue 8): two processes launched the
# torchrun way (RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT), each with half the batch, must
# train exactly what one process does with the combined batch (fp32): the same loss terms and gradient norm at
# every step (the gradients averaged across ranks) and the same parameters after the steps, for a SEA (perlin)
# student distilled from a dense teacher. Then a checkpoint written by 2 ranks is resumed by 1 process and one
# written by 1 process is resumed by 2 ranks, both landing where an uninterrupted single-process run lands.
# Plus the launcher errors (RANK missing, out of range) name the variable.
# Usage: test_data_parallel.sh SEA_TRAIN SOURCE_DIR DATA_DIR   (SEA_TEST_KEEP=1 keeps the work directory)
set -uo pipefail
train=$1 src=$2 data=$3
work=$(mktemp -d)
[[ -n ${SEA_TEST_KEEP:-} ]] && echo "work dir kept: $work" || trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }
export OMP_NUM_THREADS=1 SEA_DATA_DIR=$data
unset RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR MASTER_PORT
head -c 30000 "$data/wikitext-2-raw/wiki.valid.raw" > "$work/train.txt"

common=(--model "$src/configs/models/opt-test.json" --set 'model_set=["vocab_size=50272","max_position_embeddings=64"]'
        --seq-len 32 --device cpu --precision fp32 --seed 7 --set data.seed=7 --set "data.train_file=$work/train.txt"
        --set "data.cache_dir=$work/cache" --set train.log_every=1 --set eval.every=1 --set eval.max_batches=5 --set data.eval_batch_size=2 ${SEA_TEST_EXTRA:-})
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The dense teacher (one process).
"$train" "${common[@]}" --method none --steps 6 --batch-size 4 --set train.lr=2e-3 --run-dir "$work/teacher" \
  > "$work/teacher.log" 2>&1 || { fail "teacher training"; tail -20 "$work/teacher.log"; exit 1; }

student=(--teacher "$work/teacher" --set init=fresh --method perlin --k 8 --predictor-length 8 --set train.lr=1e-3
         --set train.schedule=constant --set checkpoint.every=1 --set checkpoint.keep_last=10
         --set train.grad_bucket_mb=0.002)  # 2 kB buckets: many, most started during the backward
# two_ranks RUN_DIR STEPS [sea-train args...]: the same command in 2 processes, batch 2 each.
two_ranks() {
  local dir=$1 steps=$2; shift 2
  local port; port=$(free_port)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$train" "${common[@]}" "${student[@]}" --steps "$steps" --batch-size 2 --run-dir "$dir" "$@" \
      > "$dir.rank$r.log" 2>&1 &
  done
  local rc=0; wait -n || rc=1; wait -n || rc=1
  return $rc
}
one_rank() {
  local dir=$1 steps=$2; shift 2
  "$train" "${common[@]}" "${student[@]}" --steps "$steps" --batch-size 4 --run-dir "$dir" "$@" > "$dir.log" 2>&1
}

# AdamW's first step moves every parameter by about ±lr whatever its gradient's size, so parameters whose
# gradient is only rounding noise move by a random sign. The comparison therefore starts from a single-process
# checkpoint at step 2 (warm AdamW moments), and the fresh start is compared at step 1, before any update.
one_rank "$work/base" 2 || { fail "single-process steps 1-2"; tail -20 "$work/base.log"; }
for d in single dp dp_then_1 one_then_dp; do cp -r "$work/base" "$work/$d"; done
one_rank "$work/single" 6 --load-checkpoint auto || { fail "single-process steps 3-6"; tail -20 "$work/single.log"; }
two_ranks "$work/dp" 6 --load-checkpoint auto && ok "2 ranks over Gloo resumed a 1-process checkpoint and ran steps 3-6" \
  || { fail "2-rank run"; tail -20 "$work/dp.rank0.log" "$work/dp.rank1.log"; }
grep -q "data parallel: rank 0 of 2 (gloo on cpu" "$work/dp.rank0.log" && ok "rank 0 joined the Gloo group" \
  || { fail "rank 0 log lacks the group line"; head -5 "$work/dp.rank0.log"; }
grep -q "\[info\]" "$work/dp.rank1.log" && fail "rank 1 logged at info level (only rank 0 should)"
line=$(grep -o "[0-9]* gradient buckets of at most 0.002 MB; [0-9]* started during the backward" "$work/dp.rank0.log" | head -1)
n_all=$(echo "$line" | awk '{print $1}') n_bw=$(echo "$line" | awk '{print $9}')
[[ -n $line && $n_all -gt 10 && $n_bw -gt 0 ]] && ok "overlap: $n_bw of $n_all buckets started during the backward" \
  || fail "overlap: '$line'"
[[ $(ls "$work/dp/checkpoints") == $(ls "$work/single/checkpoints") ]] && ok "checkpoints written by rank 0, as one process writes them" \
  || fail "checkpoints: $(ls "$work/dp/checkpoints") vs $(ls "$work/single/checkpoints")"
# Resume across world sizes: 2 ranks -> 1 process, and 1 process -> 2 ranks.
two_ranks "$work/dp_then_1" 4 --load-checkpoint auto || fail "2-rank steps 3-4"
one_rank "$work/dp_then_1" 6 --load-checkpoint auto || { fail "1-process resume of a 2-rank checkpoint"; tail -20 "$work/dp_then_1.log"; }
one_rank "$work/one_then_dp" 4 --load-checkpoint auto || fail "1-process steps 3-4"
two_ranks "$work/one_then_dp" 6 --load-checkpoint auto || { fail "2-rank resume of a 1-process checkpoint"; tail -20 "$work/one_then_dp.rank0.log"; }
# A fresh 2-rank start: its first step (the same initial weights on every rank) against the base run's.
two_ranks "$work/dp_fresh" 1 || { fail "fresh 2-rank run"; tail -20 "$work/dp_fresh.rank0.log"; }
# Frozen weights (lr 1e-30): every step's gradient is taken at the same parameters, so 2 ranks and 1 process
# must agree at every step, with nothing to drift. Two micro-batches per step: the buckets start during the second
# one's backward and must carry the first one's gradient too.
one_rank "$work/frozen1" 4 --set train.lr=1e-30 --set train.grad_accum=2 || fail "frozen 1-process run"
two_ranks "$work/frozen2" 4 --set train.lr=1e-30 --set train.grad_accum=2 || fail "frozen 2-rank run"

python3 - "$work" <<'PY' || fail "data-parallel runs differ from the single-process run"
import json, os, sys
import numpy as np
from safetensors.numpy import load_file
work = sys.argv[1]
KEYS = ("loss", "task", "hidden_kd", "logit_kd", "attention", "grad_norm")

def steps(run):
    out = {}
    for line in open(os.path.join(work, run, "metrics.jsonl")):
        j = json.loads(line)
        if "loss" in j:
            out[j["step"]] = j
    return out

def params(run, step=6):
    return load_file(os.path.join(work, run, "checkpoints", f"step-{step:08d}", "model.safetensors"))

# Moving weights: each comparison is of the first step from a common state (1e-5 relative; parameters 1e-6).
# Further on the runs drift apart: the mean over 4 rows and the average of two 2-row means round differently in
# fp32, and training amplifies that (the gradient norm by 1e-5 within two steps on some CPUs). The frozen runs
# check the gradients at every step instead. A wrong shard, weight or average gives differences of order 1.
def same_step(run, ref, got, s):
    for key in KEYS:
        a, b = ref[s][key], got[s][key]
        assert abs(a - b) <= 1e-5 * abs(a) + 1e-7, f"{run} step {s} {key}: reference {a} vs {b}"
    assert got[s]["tokens"] == ref[s]["tokens"], (run, s, got[s]["tokens"], ref[s]["tokens"])

def same_params(run, step, ref_run):
    p, q = params(run, step), params(ref_run, step)
    assert sorted(p) == sorted(q), (run, set(p) ^ set(q))
    # Left out: the bias of the predictor CNN's last convolution (one value per layer). It shifts all K logits of
    # SEA's estimate equally, and a softmax ignores that shift, so its true gradient is zero and what backward
    # returns is rounding noise, which AdamW scales up to steps of about lr. Every other tensor must agree.
    free = [k for k in p if k.endswith("attention_predictor_cnn.conv_out.conv.bias")]
    assert len(free) == 2, free
    worst, where = max((float(np.max(np.abs(p[k].astype(np.float64) - q[k]))), k) for k in p if k not in free)
    assert worst <= 1e-6, f"{run}: {where} at step {step} differs from {ref_run} by up to {worst}"
    return worst

f1, f2 = steps("frozen1"), steps("frozen2")
assert sorted(f1) == sorted(f2) == [1, 2, 3, 4], (sorted(f1), sorted(f2))
for s in f1:
    same_step("frozen2", f1, f2, s)
assert len({round(f1[s]["loss"], 6) for s in f1}) == 4, "the frozen run's steps should see different batches"
assert f1[1]["tokens"] == 2 * 4 * 32, f1[1]["tokens"]
print("ok   frozen weights, 2 micro-batches per step: 4 steps of loss terms and gradient norms on 2 ranks equal "
      "one process's (within 1e-5)")
same_step("dp_fresh", steps("base"), steps("dp_fresh"), 1)
print("ok   fresh 2-rank start: step 1 loss terms and gradient norm equal the single process's (within 1e-5)")
# (run, its step, the reference run, and the common state both start from)
cases = (("dp", 3, "single", "the 1-process checkpoint at step 2"),
         ("one_then_dp", 5, "single", "the 1-process checkpoint at step 4"),
         ("dp_then_1", 5, "dp", "the 2-rank checkpoint at step 4"))
for run, s1, ref_run, start in cases:
    got, ref = steps(run), steps(ref_run)
    assert sorted(got) == [1, 2, 3, 4, 5, 6], (run, sorted(got))
    same_step(run, ref, got, s1)
    worst = same_params(run, s1, ref_run)
    ranks = {"dp": "2 ranks", "one_then_dp": "2 ranks", "dp_then_1": "1 process"}[run]
    other = {"single": "1 process", "dp": "2 ranks"}[ref_run]
    print(f"ok   {run}: step {s1} on {ranks} from {start} equals the one on {other} "
          f"(loss terms and gradient norm within 1e-5, parameters within {worst:.1e})")
ref_p = params("single")
# The evaluation after each of those steps (eval.every 1; 5 batches of 2 windows: on 2 ranks rank 0 scores batches
# 0, 2, 4 and rank 1 batches 1, 3, and the sums are reduced): sharded and whole give the same perplexity (1e-5).
def eval_at(run, step):
    evals = [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl")) if '"eval"' in l]
    return [e for e in evals if e["step"] == step][-1]["eval"]
for run, s1, ref_run, _ in cases:
    e1, e2 = eval_at(ref_run, s1), eval_at(run, s1)
    assert e2["windows"] == e1["windows"] == 10 and e2["scored_tokens"] == e1["scored_tokens"], (e1, e2)
    assert abs(e2["perplexity"] - e1["perplexity"]) <= 1e-5 * e1["perplexity"], (run, e1["perplexity"], e2["perplexity"])
print(f"ok   evaluation sharded over 2 ranks: {e1['windows']} windows, the perplexity of one process")
# The comparison can fail: the parameters moved by far more than the tolerance over those steps.
moved = max(float(np.max(np.abs(load_file(os.path.join(work, "base", "checkpoints", "step-00000002",
                                                       "model.safetensors"))[k].astype(np.float64) - ref_p[k])))
            for k in ref_p)
assert moved > 1e-3, f"the parameters barely moved over steps 3-6 ({moved}): the comparison proves nothing"
PY

# GLUE (WNLI: 635 examples, so a global batch of 8 leaves a last batch of 3 that the ranks split 1 + 2 and weight
# 1/3, 2/3). A learning rate of 1e-30 keeps the weights fixed, so every step's loss and gradient norm depend only
# on the batch and must equal the single process's exactly enough (1e-5) at all 82 steps, the uneven one
# included; then the sharded dev evaluation (71 examples in 9 batches) must give the same accuracy.
if [[ -d $data/glue/WNLI ]]; then
  glue=(--dataset glue --subset wnli --model "$src/configs/models/bert-test.json" --set 'model_set=["vocab_size=30522"]'
        --method none --seq-len 64 --device cpu --set "data.cache_dir=$work/cache"
        --precision fp32 --seed 7 --set data.seed=7 --set train.lr=1e-30 --set train.log_every=20
        --set data.eval_batch_size=8 --set eval.max_batches=0 --set checkpoint.every=0 --steps 82)
  "$train" "${glue[@]}" --batch-size 8 --run-dir "$work/glue1" > "$work/glue1.log" 2>&1 || { fail "GLUE single"; tail -5 "$work/glue1.log"; }
  port=$(free_port)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 MASTER_PORT=$port "$train" "${glue[@]}" --batch-size 4 --run-dir "$work/glue2" \
      > "$work/glue2.rank$r.log" 2>&1 &
  done
  wait -n && wait -n || { fail "GLUE 2 ranks"; tail -5 "$work/glue2.rank0.log" "$work/glue2.rank1.log"; }
  python3 - "$work/glue1/metrics.jsonl" "$work/glue2/metrics.jsonl" <<'PY' || fail "GLUE: 2 ranks differ from 1 process"
import json, sys
def read(p):
    lines = [json.loads(l) for l in open(p)]
    return {j["step"]: j for j in lines if "loss" in j}, [j["eval"] for j in lines if "eval" in j]
(a, ea), (b, eb) = read(sys.argv[1]), read(sys.argv[2])
assert sorted(a) == sorted(b) == list(range(1, 83)), (len(a), len(b))
tokens = sorted(j["tokens"] for j in a.values())
assert tokens[0] < 0.5 * tokens[len(tokens) // 2], f"no short (3-example) batch among the steps: {tokens[:3]}"
for s in a:
    for key in ("loss", "grad_norm"):
        assert abs(a[s][key] - b[s][key]) <= 1e-5 * abs(a[s][key]) + 1e-7, (s, key, a[s][key], b[s][key])
    assert a[s]["tokens"] == b[s]["tokens"], (s, a[s]["tokens"], b[s]["tokens"])
assert ea[-1]["examples"] == eb[-1]["examples"] == 71, (ea[-1], eb[-1])
assert ea[-1]["accuracy"] == eb[-1]["accuracy"], (ea[-1]["accuracy"], eb[-1]["accuracy"])
print(f"ok   GLUE WNLI: 82 steps (one epoch + 2, its 3-example batch split 1 + 2) equal to one process; "
      f"sharded dev accuracy {eb[-1]['accuracy']:.4f} on 71 examples as one process")
PY
else
  echo "skip GLUE data-parallel check: no $data/glue/WNLI"
fi

# Launcher errors name the variable.
WORLD_SIZE=2 "$train" "${common[@]}" "${student[@]}" --steps 1 --batch-size 2 --run-dir "$work/err" > "$work/err1.log" 2>&1
[[ $? -ne 0 ]] && grep -q "RANK is not" "$work/err1.log" && ok "WORLD_SIZE without RANK: refused" \
  || { fail "WORLD_SIZE without RANK"; tail -3 "$work/err1.log"; }
RANK=2 WORLD_SIZE=2 "$train" "${common[@]}" "${student[@]}" --steps 1 --batch-size 2 --run-dir "$work/err" > "$work/err2.log" 2>&1
[[ $? -ne 0 ]] && grep -q "RANK=2 is out of range" "$work/err2.log" && ok "RANK out of range: refused" \
  || { fail "RANK out of range"; tail -3 "$work/err2.log"; }

[[ $failures -eq 0 ]] && echo "all data-parallel checks passed" || { echo "$failures failure(s)"; exit 1; }
