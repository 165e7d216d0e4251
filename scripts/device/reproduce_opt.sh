#!/usr/bin/env bash
# reproduce_opt.sh — the paper's OPT / Wikitext-2 experiment (Table 2, dynamic k, long context) at our scale,
# as a resumable pipeline of stages for the GPU machine (issue 7, items 1, 2, 5). Runs from the repository root
# of the machine's copy of the checkout; every stage keeps its state in $SEA_REPRO_DIR (default
# build-device/repro, git-ignored, kept between calls on the same machine) and returns small JSON to $OUT.
#
#   run(command="bash scripts/device/reproduce_opt.sh all", carry=[".deps", "data/cache", "data/tokenizers", "data/wikitext-2", "data/wikitext-2-raw"], timeout_s=600)
#
# repeated, back to back, until it prints "PIPELINE COMPLETE" (docs/notes/reproduce_opt.md: about 3 calls on one
# H100). Stages, in the order `all` runs them:
#   build         sea-train + sea-bench in build-device/ (configured as scripts/device/bench.sh does)
#   teacher       dense OPT (opt-125m architecture) trained from scratch: sea-train --method none
#   bench         sea-bench, one attention layer, inference (forward), causal, at T = 2048 and the long lengths:
#                 sdpa (flash), none (materialised T×T, the paper's "vanilla"), perlin, performer, reformer;
#                 random weights (sea-bench cannot load a trained layer)
#   perlin        SEA student (k 64, K 64) distilled from the teacher
#   performer     Performer student, same KD, same steps
#   reformer      Reformer student, same KD, same steps
#   eval          perplexity of every finished model on the whole Wikitext-2 valid and test splits at T = 2048
#   dynamic-k     the SEA student evaluated at k = 16 … 256 without retraining
#   attention-map sea-attention-map on the first paragraph of the Wikitext-2 valid split (teacher + SEA student,
#                 first / middle / last layer), returned as $OUT/attention_map.tar.gz for
#                 scripts/render_attention.py (issue 7, item 4)
#   long-context  teacher, SEA student, and the SEA student's weights with dense attention at T = 4096, 8192,
#                 16384, the position tables grown by sea-train --extend-positions (SEA_SPEC.md §5.1; OPT positions
#                 linear, SEA's V_I nearest, docs/TRAINING.md "Long context"); perplexity, seconds per window and peak memory of the
#                 whole model
#   status        only writes the summary
# A finished stage is skipped (idempotent). Training stages resume from their newest checkpoint
# (--load-checkpoint auto) and run under `timeout` with what is left of the call's budget, so a call ends in
# time and the next one continues (losing at most one checkpoint interval); a first step that runs out of GPU
# memory is retried once at half the micro-batch and twice the accumulation. Evaluation stages are idempotent
# per item (model, k, length). The settings are pinned by the pipeline's first call (a later call with other
# SEA_REPRO_* values prints a WARNING). A fresh machine has no build-device/: the pipeline then starts over
# under a new id (printed on the first line of every call).
#
# Returned in $OUT (two files): repro_summary.json — every stage's state so far (status, commands, resolved
# configs, seeds, steps, throughput, loss curve, results, log tails), the host (GPU, date, torch, commit) and the
# settings; repro_call.log — this call's progress and the tails of its logs. scripts/results/opt_report.py turns
# the summaries of one or more calls into Markdown tables and plots.
#
# Environment (defaults are the GPU sizes; tests/apps/test_reproduce_opt.sh uses tiny ones on the CPU):
#   SEA_REPRO_SECONDS (540)            the call's budget; no stage starts past it, training is stopped at it
#   SEA_REPRO_RESERVE_SECONDS (15)     kept at the end for the summary
#   SEA_REPRO_MIN_TRAIN_SECONDS (90)   a training stage with less time left is deferred to the next call
#   SEA_REPRO_MIN_EVAL_SECONDS (20)    likewise for an evaluation item
#   SEA_REPRO_DIR (build-device/repro) SEA_REPRO_BUILD_DIR (build-device) SEA_REPRO_TRAIN_BIN SEA_REPRO_BENCH_BIN
#   SEA_REPRO_DEVICE (cuda)            SEA_REPRO_SEED (42: --seed, data.seed)
#   SEA_REPRO_MODEL (opt-125m)         SEA_REPRO_MODEL_SET ("": comma-separated model_set, e.g. vocab_size=50272)
#   SEA_REPRO_SEQ_LEN (2048)
#   SEA_REPRO_TEACHER_STEPS (1000) _BATCH (8) _ACCUM (1) _LR (5e-4, cosine) _WARMUP (60) _CKPT_EVERY (150)
#   SEA_REPRO_STUDENT_STEPS (200)  _BATCH (2) _ACCUM (2) _LR (1e-4, constant) _CKPT_EVERY (25)
#   SEA_REPRO_K (64) SEA_REPRO_PREDICTOR_LENGTH (64) SEA_REPRO_NBF (8) SEA_REPRO_REFORMER_BUCKET (64)
#   SEA_REPRO_REFORMER_HASHES (8)      SEA_REPRO_TRAIN_EVAL_BATCHES (4: the end-of-training quick look)
#   SEA_REPRO_EVAL_BATCH (4) SEA_REPRO_EVAL_BATCHES (0 = whole splits)
#   SEA_REPRO_DYNAMIC_K (16,32,64,128,256)
#   SEA_REPRO_LONG_SEQ_LENS (4096,8192,16384) SEA_REPRO_LONG_EVAL_BATCHES (0)
#   SEA_REPRO_BENCH_SEQ_LENS (2048,4096,8192,16384) SEA_REPRO_BENCH_METHODS (sdpa,none,perlin,performer,reformer)
#   SEA_REPRO_BENCH_REPS ("" = sea-bench's default)
#   SEA_REPRO_MAP_TOKENS (160: the attention map's text, template included) SEA_REPRO_MAP_BIN
#   SEA_REPRO_SET ("": extra `--set key=value` for every sea-train call, space-separated)
#   SEA_REPRO_COMMIT                   the commit the run is of, recorded in the summary (the machine's .git may be stale)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
t_start=$(date +%s)

budget=${SEA_REPRO_SECONDS:-540}
reserve=${SEA_REPRO_RESERVE_SECONDS:-15}
min_train=${SEA_REPRO_MIN_TRAIN_SECONDS:-90}
min_eval=${SEA_REPRO_MIN_EVAL_SECONDS:-20}
build=${SEA_REPRO_BUILD_DIR:-build-device}
repro=${SEA_REPRO_DIR:-$root/build-device/repro}
mkdir -p "$repro"
repro=$(cd "$repro" && pwd)
out=${OUT:-$repro/out}
mkdir -p "$out" "$repro/state" "$repro/logs" "$repro/runs"
train_bin=${SEA_REPRO_TRAIN_BIN:-$build/apps/sea-train}
bench_bin=${SEA_REPRO_BENCH_BIN:-$build/apps/sea-bench}
map_bin=${SEA_REPRO_MAP_BIN:-$(dirname "$train_bin")/sea-attention-map}
map_tokens=${SEA_REPRO_MAP_TOKENS:-160}
device=${SEA_REPRO_DEVICE:-cuda}
seed=${SEA_REPRO_SEED:-42}
model=${SEA_REPRO_MODEL:-opt-125m}
model_set=${SEA_REPRO_MODEL_SET:-}
T=${SEA_REPRO_SEQ_LEN:-2048}
teacher_steps=${SEA_REPRO_TEACHER_STEPS:-1000}
teacher_batch=${SEA_REPRO_TEACHER_BATCH:-8}
teacher_accum=${SEA_REPRO_TEACHER_ACCUM:-1}
teacher_lr=${SEA_REPRO_TEACHER_LR:-5e-4}
teacher_warmup=${SEA_REPRO_TEACHER_WARMUP:-60}
teacher_ckpt=${SEA_REPRO_TEACHER_CKPT_EVERY:-150}
student_steps=${SEA_REPRO_STUDENT_STEPS:-200}
student_batch=${SEA_REPRO_STUDENT_BATCH:-2}
student_accum=${SEA_REPRO_STUDENT_ACCUM:-2}
student_lr=${SEA_REPRO_STUDENT_LR:-1e-4}
student_ckpt=${SEA_REPRO_STUDENT_CKPT_EVERY:-25}
k=${SEA_REPRO_K:-64}
K=${SEA_REPRO_PREDICTOR_LENGTH:-64}
nbf=${SEA_REPRO_NBF:-8}
bucket=${SEA_REPRO_REFORMER_BUCKET:-64}
hashes=${SEA_REPRO_REFORMER_HASHES:-8}
train_eval_batches=${SEA_REPRO_TRAIN_EVAL_BATCHES:-4}
eval_batch=${SEA_REPRO_EVAL_BATCH:-4}
eval_batches=${SEA_REPRO_EVAL_BATCHES:-0}
dynamic_k=${SEA_REPRO_DYNAMIC_K:-16,32,64,128,256}
long_lens=${SEA_REPRO_LONG_SEQ_LENS:-4096,8192,16384}
long_eval_batches=${SEA_REPRO_LONG_EVAL_BATCHES:-0}
bench_lens=${SEA_REPRO_BENCH_SEQ_LENS:-2048,4096,8192,16384}
bench_methods=${SEA_REPRO_BENCH_METHODS:-sdpa,none,perlin,performer,reformer}
bench_reps=${SEA_REPRO_BENCH_REPS:-}
read -r -a extra_sets <<< "${SEA_REPRO_SET:-}"
export SEA_DATA_DIR=${SEA_DATA_DIR:-$root/data}
# Freed CPU memory stays in the process (docs/TRAINING.md, "CPU speed note"); harmless on the GPU machine.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-17179869184}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-17179869184}
export MALLOC_TOP_PAD_=${MALLOC_TOP_PAD_:-1073741824}

call_log=$out/repro_call.log
: > "$call_log"
say() { echo "[repro $(( $(date +%s) - t_start ))s] $*" | tee -a "$call_log"; }
remaining() { echo $(( budget - reserve - ($(date +%s) - t_start) )); }
tmo() { local r; r=$(remaining); echo $(( r > 1 ? r : 1 )); }  # a timeout of 0 would mean none
now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
all_stages=(build teacher bench perlin performer reformer eval dynamic-k attention-map long-context)
students=(perlin performer reformer)

# ---------------------------------------------------------------------------------------------------------------
# The Python side: stage records and the summary. One file, written per call.
helper=$repro/.repro_helper.py
cat > "$helper" <<'PY'
import glob, json, os, struct, sys, time
sys.path.insert(0, os.environ["SEA_REPRO_LIB"])
from repro_common import load, dump, checkpoints, tail as _tail

def tail(path):
    return _tail(path, 25)

def train_facts(run, target):
    facts = {"run_dir": run, "steps_target": target}
    ck = checkpoints(run)
    facts["steps_done"] = ck[-1][0] if ck else 0
    facts["newest_checkpoint"] = ck[-1][1] if ck else None
    rc = load(os.path.join(run, "run_config.json"))
    if rc is not None:
        facts["run_config"] = rc
        facts["seed"] = rc.get("seed")
        facts["data_seed"] = rc.get("data", {}).get("seed")
    steps, evals = [], []
    try:
        with open(os.path.join(run, "metrics.jsonl")) as f:
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    continue
                if "eval" in j:
                    evals.append(j)
                elif "loss" in j:
                    steps.append(j)
    except OSError:
        pass
    if steps:
        rates = sorted(s["tokens"] / s["seconds"] for s in steps if s.get("seconds"))
        facts["tokens_per_s_median"] = rates[len(rates) // 2] if rates else None
        facts["seconds_per_step_median"] = sorted(s["seconds"] for s in steps)[len(steps) // 2]
        facts["tokens_per_step"] = steps[-1].get("tokens")
        every = max(1, len(steps) // 100)
        keys = ("step", "loss", "task", "hidden_kd", "logit_kd", "attention", "grad_norm", "lr_factor")
        facts["curve"] = [{k: s[k] for k in keys if k in s} for s in steps[::every]] + \
                         ([{k: steps[-1][k] for k in keys if k in steps[-1]}] if (len(steps) - 1) % every else [])
        facts["skipped_steps"] = sum(1 for s in steps if s.get("skipped"))
    if evals:
        facts["train_evals"] = [dict(e["eval"], step=e["step"]) for e in evals]
    return facts

def cmd_record(args):
    """record STATE_FILE key=value ... : merges the facts into the stage's state JSON."""
    path, pairs = args[0], args[1:]
    rec = load(path, {}) or {}
    kind, run, target, evals, bench = None, None, None, {}, None
    for p in pairs:
        key, _, value = p.partition("=")
        if key == "kind": kind = value
        elif key == "run": run = value
        elif key == "target": target = int(value)
        elif key.startswith("eval:"): evals[key[5:]] = value
        elif key == "bench": bench = value
        elif key == "commands":
            cmds = open(value).read().splitlines() if os.path.exists(value) else []
            rec["commands"] = rec.get("commands", []) + [c for c in cmds if c not in rec.get("commands", [])]
        elif key == "log_tail": rec["log_tail"] = tail(value)
        elif key == "seconds": rec["seconds"] = round(rec.get("seconds", 0) + float(value), 1)  # summed over calls
        elif key == "rc": rec["rc"] = int(value)
        elif key.startswith("json:"): rec[key[5:]] = json.loads(value)
        else: rec[key] = value.strip()
    if kind == "train" and run:
        rec.update(train_facts(run, target))
    if evals:
        results = rec.get("results", {})
        for name, path_ in evals.items():
            doc = load(path_)
            if doc is not None:
                results[name] = doc
        rec["results"] = results
    if bench:
        doc = load(bench)
        if doc is not None:
            rec["sea_bench"] = doc
    rec["updated_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    dump(path, rec)

def cmd_collect(args):
    """collect REPRO_DIR OUT_JSON CALL_JSON: every stage's state + the pipeline + this call."""
    repro, out, call = args
    doc = {"tool": "scripts/device/reproduce_opt.sh", "schema": 1}
    doc.update(load(os.path.join(repro, "pipeline.json"), {}))
    doc["call"] = load(call, {})
    doc["stages"] = {}
    for path in sorted(glob.glob(os.path.join(repro, "state", "*.json"))):
        doc["stages"][os.path.basename(path)[:-5]] = load(path, {})
    dump(out, doc)
    # The one-line-per-stage table for the console (the device tool shows the output's tail).
    rows = []
    for name in doc["call"].get("all_stages", []):
        s = doc["stages"].get(name, {})
        extra = ""
        if "steps_done" in s:
            extra = f"step {s['steps_done']}/{s.get('steps_target')}"
            if s.get("tokens_per_s_median"): extra += f", {s['tokens_per_s_median']:.0f} tok/s"
        if s.get("results"):
            bits = []
            for key, r in s["results"].items():
                ppl = {x.get("split"): x.get("perplexity") for x in r.get("results", [])} if isinstance(r, dict) else {}
                if ppl.get("valid") is not None:
                    bits.append(f"{key} {ppl['valid']:.4g}")
            extra += (", " if extra else "") + "valid ppl: " + ", ".join(bits) if bits else ""
        rows.append(f"  {name:<13} {s.get('status', 'pending'):<9} {extra} {s.get('note', '')}".rstrip())
    print("\n".join(rows))

def cmd_shape(args):
    """shape MODEL_CONFIG MODEL_SET: 'heads head_dim' of the model (for sea-bench)."""
    cfg = load(args[0])
    for item in filter(None, (args[1] if len(args) > 1 else "").split(",")):
        key, _, value = item.partition("=")
        cfg[key] = json.loads(value)
    print(cfg["num_attention_heads"], cfg["hidden_size"] // cfg["num_attention_heads"], cfg["num_hidden_layers"])

def cmd_json_list(args):
    """json-list a,b,c: a JSON list of strings (model_set)."""
    print(json.dumps([x for x in args[0].split(",") if x]))

if __name__ == "__main__":
    {"record": cmd_record, "collect": cmd_collect, "shape": cmd_shape,
     "json-list": cmd_json_list}[sys.argv[1]](sys.argv[2:])
PY
py() { SEA_REPRO_LIB="$root/scripts/device" python3 "$helper" "$@"; }

# ---------------------------------------------------------------------------------------------------------------
# The pipeline's identity (a fresh machine starts a fresh pipeline) and the host.
if [[ ! -f $repro/pipeline.json ]]; then
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
  [[ -n $gpu ]] || gpu="none ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) cores)"
  # The device tool copies the working tree, and the copy's .git can be older than it: the caller names the
  # commit (SEA_REPRO_COMMIT=<hash>, typed into the run command); else git's answer, marked as unverified.
  commit=${SEA_REPRO_COMMIT:-"$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown) (git in the copy; unverified)"}
  torch_v=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo unknown)
  python3 - "$repro/pipeline.json" "$gpu" "$commit" "$torch_v" "$(hostname)" <<'PY'
import json, os, sys, time, uuid
path, gpu, commit, torch_v, host = sys.argv[1:]
json.dump({"pipeline_id": uuid.uuid4().hex[:12], "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "host": {"gpu": gpu, "hostname": host, "git_commit": commit, "python_torch": torch_v}},
          open(path, "w"), indent=1)
PY
fi

# The settings as this call resolved them (recorded in the summary).
settings_json=$(python3 - <<PY
import json
print(json.dumps({"device": "$device", "seed": $seed, "model": "$model", "model_set": "$model_set", "seq_len": $T,
  "teacher": {"steps": $teacher_steps, "batch": $teacher_batch, "grad_accum": $teacher_accum, "lr": "$teacher_lr",
              "schedule": "cosine", "warmup_steps": $teacher_warmup, "min_lr_ratio": 0.1, "checkpoint_every": $teacher_ckpt},
  "students": {"steps": $student_steps, "batch": $student_batch, "grad_accum": $student_accum, "lr": "$student_lr",
               "schedule": "constant", "checkpoint_every": $student_ckpt},
  "perlin": {"k": $k, "predictor_length": $K, "nb_feature_factor": $nbf, "context_output_method": "mix"},
  "performer": {"nb_feature_factor": $nbf}, "reformer": {"bucket_size": $bucket, "n_hashes": $hashes},
  "eval": {"batch": $eval_batch, "max_batches": $eval_batches, "train_eval_batches": $train_eval_batches},
  "dynamic_k": "$dynamic_k", "long_seq_lens": "$long_lens", "long_eval_batches": $long_eval_batches,
  "bench": {"seq_lens": "$bench_lens", "methods": "$bench_methods", "reps": "$bench_reps"},
  "extra_sets": "${SEA_REPRO_SET:-}", "budget_s": $budget}))
PY
)

# ---------------------------------------------------------------------------------------------------------------
# Helpers for the stages.
# run_item STAGE LOG SECONDS CMD...: appends the command to the stage's command list and runs it under timeout.
run_item() {
  local stage=$1 log=$2 secs=$3; shift 3
  printf '%q ' "$@" | sed 's/ $//' >> "$repro/logs/$stage.commands"; echo >> "$repro/logs/$stage.commands"
  echo "== $(now_utc) $*" >> "$log"
  timeout --signal=TERM --kill-after=10 "$secs" "$@" >> "$log" 2>&1
}
# record STAGE key=value...: updates the stage's state file (status, facts).
record() { local stage=$1; shift; py record "$repro/state/$stage.json" "$@"; }
status_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('status',''))" "$repro/state/$1.json" 2>/dev/null; }
done_marker() { [[ -f $repro/runs/$1/DONE ]]; }

have_binaries() { [[ -x $train_bin && -x $bench_bin ]]; }

stage_build() {
  if have_binaries; then
    [[ $(status_of build) == done ]] || record build status=done note="binaries present" train_bin="$train_bin" bench_bin="$bench_bin"
    say "build: present ($train_bin, $bench_bin)"; return 0
  fi
  local log=$repro/logs/build.log start; start=$(date +%s)
  if [[ ! -f .deps/READY ]]; then
    record build status=failed note="no $train_bin and no .deps/ to build it: carry .deps (scripts/device/prepare_deps.sh)"
    say "build: FAILED (no binaries, no .deps)"; return 1
  fi
  say "build: configuring $build as scripts/device/bench.sh does, building sea-train and sea-bench"
  local torch_prefix; torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  run_item build "$log" "$(tmo)" cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEA_CUDA=ON \
      "-DCMAKE_PREFIX_PATH=$torch_prefix;$root/.deps/debian/usr" "-DSEA_TEST_DATA_DIR=$root/data" \
    && run_item build "$log" "$(tmo)" cmake --build "$build" -j "$(getconf _NPROCESSORS_ONLN)" --target sea-train sea-bench sea-attention-map
  local rc=$?
  if [[ $rc -eq 0 ]] && have_binaries; then
    record build status=done seconds=$(( $(date +%s) - start )) commands="$repro/logs/build.commands"
    say "build: done in $(( $(date +%s) - start )) s"
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
    record build status=partial rc=$rc seconds=$(( $(date +%s) - start )) commands="$repro/logs/build.commands" \
      log_tail="$log" note="stopped by the call's budget; the next call continues the build"
    say "build: stopped by the budget (the next call continues it)"
  else
    record build status=failed rc=$rc seconds=$(( $(date +%s) - start )) commands="$repro/logs/build.commands" \
      log_tail="$log"
    say "build: FAILED (rc $rc)"; grep -E "error|FAILED" "$log" | head -20 | tee -a "$call_log"; return 1
  fi
}

common_train_args() {  # the settings every training run shares
  printf '%s\n' --seq-len "$T" --device "$device" --seed "$seed" --set "data.seed=$seed" \
    --set "checkpoint.keep_last=2" --set "eval.max_batches=$train_eval_batches" --set "train.log_every=25"
  local s; for s in "${extra_sets[@]}"; do printf '%s\n' --set "$s"; done
}

# train_stage NAME: the teacher or a student, resumable, time-boxed. If the first step runs out of GPU memory
# (no checkpoint yet), it retries once with half the micro-batch and twice the accumulation (the same tokens per
# optimizer step); the micro-batch chosen is kept in the run directory for the calls that resume it.
train_stage() {
  local name=$1 run=$repro/runs/$1 log=$repro/logs/$1.log target args=() mb acc
  if done_marker "$name"; then say "$name: already done ($(cat "$run/DONE"))"; return 0; fi
  have_binaries || { record "$name" status=blocked note="no binaries (build stage)"; say "$name: blocked (no binaries)"; return 0; }
  if [[ $name != teacher ]] && ! done_marker teacher; then
    record "$name" status=blocked note="the teacher is not finished"; say "$name: blocked (teacher not finished)"; return 0
  fi
  if [[ $name == teacher ]]; then target=$teacher_steps mb=$teacher_batch acc=$teacher_accum
  else target=$student_steps mb=$student_batch acc=$student_accum; fi
  [[ -f $run/MICROBATCH ]] && read -r mb acc < "$run/MICROBATCH"
  local attempt note_oom="" rc=0 secs=0 start before status note step
  for attempt in 1 2; do
    local rem; rem=$(remaining)
    if (( rem < min_train )); then
      record "$name" status=deferred note="${rem}s left in this call (< ${min_train}s): next call. $note_oom"
      say "$name: deferred (${rem}s left)"; return 0
    fi
    mapfile -t args < <(common_train_args)
    args+=(--steps "$target" --batch-size "$mb" --set "train.grad_accum=$acc")
    if [[ $name == teacher ]]; then
      args+=(--model "$model" --method none --set "train.lr=$teacher_lr" --set train.schedule=cosine
             --set "train.warmup_steps=$teacher_warmup" --set train.min_lr_ratio=0.1 --set "checkpoint.every=$teacher_ckpt")
      [[ -z $model_set ]] || args+=(--set "model_set=$(py json-list "$model_set")")
    else
      args+=(--teacher "$repro/runs/teacher" --set "train.lr=$student_lr" --set "checkpoint.every=$student_ckpt")
      case $name in
        perlin) args+=(--method perlin --k "$k" --predictor-length "$K" --set "attention.nb_feature_factor=$nbf"
                       --set attention.context_output_method=mix) ;;
        performer) args+=(--method performer --set "attention.nb_feature_factor=$nbf") ;;
        reformer) args+=(--method reformer --set "attention.bucket_size=$bucket" --set "attention.n_hashes=$hashes") ;;
      esac
    fi
    before=$(ls -d "$run"/checkpoints/step-* 2>/dev/null | tail -1 | sed 's/.*step-0*//')
    say "$name: training to step $target from step ${before:-0}, micro-batch $mb x $acc (up to ${rem}s)"
    start=$(date +%s)
    [[ -n $(status_of "$name") ]] || record "$name" started_utc="$(now_utc)"
    local lines_before=0; [[ -f $log ]] && lines_before=$(wc -l < "$log")
    run_item "$name" "$log" "$rem" "$train_bin" "${args[@]}" --run-dir "$run" --load-checkpoint auto
    rc=$? secs=$(( secs + $(date +%s) - start ))
    step=$(ls -d "$run"/checkpoints/step-* 2>/dev/null | tail -1 | sed 's/.*step-0*//')
    step=${step:-0}
    if [[ $rc -ne 0 && $rc -ne 124 && $rc -ne 137 && $step -eq 0 && $mb -gt 1 ]] &&
       tail -n +"$((lines_before + 1))" "$log" | grep -q "out of memory"; then
      note_oom="micro-batch $mb ran out of memory; retried with $((mb / 2)) x $((acc * 2)) (same tokens per step)."
      say "$name: $note_oom"
      mb=$((mb / 2)) acc=$((acc * 2))
      mkdir -p "$run" && echo "$mb $acc" > "$run/MICROBATCH"
      continue
    fi
    break
  done
  status=failed note="sea-train exit code $rc. $note_oom"
  if [[ $rc -eq 0 && $step -ge $target ]]; then
    status=done note="$note_oom"
    echo "step $step, $(now_utc)" > "$run/DONE"
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
    status=partial note="stopped by the call's budget at step $step/$target; the next call resumes. $note_oom"
  fi
  record "$name" status=$status note="$note" rc=$rc seconds=$secs kind=train run="$run" target="$target" \
    commands="$repro/logs/$name.commands" log_tail="$log" resumed_from_step="${before:-0}" \
    micro_batch="$mb" grad_accum="$acc" finished_utc="$( [[ $status == done ]] && now_utc )"
  say "$name: $status (step $step/$target, ${secs}s, rc $rc)"
  [[ $status == failed ]] && grep -E "error|Error" "$log" | tail -5 | tee -a "$call_log"
  return 0
}

# eval_item STAGE KEY DIR CMD...: one evaluation (skipped when its eval.json exists), under the call's budget.
# Returns 0 done/skipped, 1 failed, 2 out of time.
eval_item() {
  local stage=$1 key=$2 dir=$3; shift 3
  if [[ -f $dir/eval.json && -f $dir/DONE ]]; then return 0; fi
  local rem; rem=$(remaining)
  (( rem >= min_eval )) || return 2
  mkdir -p "$dir"
  run_item "$stage" "$repro/logs/$stage.log" "$rem" "$@" --run-dir "$dir" --log-level warn
  local rc=$?
  if [[ $rc -eq 0 && -f $dir/eval.json ]]; then
    touch "$dir/DONE"; say "$stage: $key done"; return 0
  fi
  [[ $rc -eq 124 || $rc -eq 137 ]] && { say "$stage: $key stopped by the budget"; return 2; }
  say "$stage: $key FAILED (rc $rc)"; tail -3 "$repro/logs/$stage.log" | tee -a "$call_log"; return 1
}

# finish_eval_stage STAGE TOTAL DONE FAILED OUT_OF_TIME MISSING NOTE EVAL_ARGS...
finish_eval_stage() {
  local stage=$1 total=$2 ndone=$3 nfail=$4 oot=$5 missing=$6 note=$7; shift 7
  local status=done
  if (( ndone == 0 && nfail == 0 && oot == 0 )) && [[ -n $missing ]]; then status=blocked
  elif (( nfail > 0 )); then status=failed
  elif (( oot > 0 )); then status=deferred
  elif (( ndone < total )); then status=partial
  fi
  [[ $status == deferred && $ndone -gt 0 ]] && status=partial
  [[ -n $missing ]] && note="waiting for: $missing. $note"
  record "$stage" status=$status note="$note" commands="$repro/logs/$stage.commands" log_tail="$repro/logs/$stage.log" \
    "json:items_done=$ndone" "json:items_total=$total" "$@"
  say "$stage: $status ($ndone/$total items) $note"
}

stage_eval() {
  local ndone=0 nfail=0 oot=0 total=0 missing="" sets=() m
  have_binaries || { record eval status=blocked note="no binaries"; return 0; }
  [[ $(status_of eval) == done ]] && { say "eval: already done"; return 0; }
  for m in teacher "${students[@]}"; do
    total=$((total + 1))
    if ! done_marker "$m"; then missing+="$m "; continue; fi
    local extra=(); local s; for s in "${extra_sets[@]}"; do extra+=(--set "$s"); done
    eval_item eval "$m" "$repro/eval/$m" "$train_bin" --eval --load-checkpoint "$repro/runs/$m" --seq-len "$T" \
      --batch-size "$eval_batch" --device "$device" --max-batches "$eval_batches" "${extra[@]}"
    case $? in 0) ndone=$((ndone + 1)); sets+=("eval:$m=$repro/eval/$m/eval.json") ;; 1) nfail=$((nfail + 1)) ;; 2) oot=$((oot + 1)) ;; esac
  done
  finish_eval_stage eval "$total" "$ndone" "$nfail" "$oot" "$missing" "T=$T, whole splits unless SEA_REPRO_EVAL_BATCHES" "${sets[@]}"
}

stage_dynamic_k() {
  local ndone=0 nfail=0 oot=0 total=0 sets=() kk
  have_binaries || { record dynamic-k status=blocked note="no binaries"; return 0; }
  [[ $(status_of dynamic-k) == done ]] && { say "dynamic-k: already done"; return 0; }
  if ! done_marker perlin; then record dynamic-k status=blocked note="the SEA student is not finished"; say "dynamic-k: blocked"; return 0; fi
  local extra=(); local s; for s in "${extra_sets[@]}"; do extra+=(--set "$s"); done
  IFS=, read -r -a ks <<< "$dynamic_k"
  for kk in "${ks[@]}"; do
    total=$((total + 1))
    eval_item dynamic-k "k=$kk" "$repro/dynamic-k/k$kk" "$train_bin" --eval --load-checkpoint "$repro/runs/perlin" \
      --k "$kk" --seq-len "$T" --batch-size "$eval_batch" --device "$device" --max-batches "$eval_batches" "${extra[@]}"
    case $? in 0) ndone=$((ndone + 1)); sets+=("eval:$kk=$repro/dynamic-k/k$kk/eval.json") ;; 1) nfail=$((nfail + 1)) ;; 2) oot=$((oot + 1)) ;; esac
  done
  finish_eval_stage dynamic-k "$total" "$ndone" "$nfail" "$oot" "" "trained k=$k, T=$T" "${sets[@]}"
}

# The interpretability figure's data (issue 7, item 4): the teacher's and the SEA student's attention on one real
# text, the first paragraph of the Wikitext-2 valid split cut to $map_tokens tokens, at the first, middle and last
# layer, at the student's trained k. Rendered off the machine: tar xzf attention_map.tar.gz; python3
# scripts/render_attention.py attention-map --layer L --head H (docs/RESULTS.md).
stage_attention_map() {
  [[ $(status_of attention-map) == done ]] && { say "attention-map: already done"; return 0; }
  if [[ ! -x $map_bin ]]; then record attention-map status=blocked note="no $map_bin (build stage)"; say "attention-map: blocked (no binary)"; return 0; fi
  if ! done_marker teacher || ! done_marker perlin; then
    record attention-map status=blocked note="waiting for the teacher and the SEA student"; say "attention-map: blocked"; return 0
  fi
  local rem; rem=$(remaining)
  (( rem >= min_eval )) || { record attention-map status=deferred note="${rem}s left"; say "attention-map: deferred"; return 0; }
  local cfg=configs/models/$model.json; [[ -f $cfg ]] || cfg=$model
  local heads head_dim layers; read -r heads head_dim layers <<< "$(py shape "$cfg" "$model_set")"
  local dir=$repro/attention-map text=$repro/attention-map.txt start; start=$(date +%s)
  # The first line of the raw valid split that is neither empty nor a "= heading =".
  awk 'NF && $1 != "=" { sub(/^ +/, ""); print; exit }' "$SEA_DATA_DIR/wikitext-2-raw/wiki.valid.raw" > "$text"
  rm -rf "$dir"
  local l map_layers=() seen=" "  # first, middle, last (once each: a 2-layer model has no separate middle)
  for l in 0 $(( layers / 2 )) $(( layers - 1 )); do [[ $seen == *" $l "* ]] || { map_layers+=(--layer "$l"); seen+="$l "; }; done
  run_item attention-map "$repro/logs/attention-map.log" "$rem" "$map_bin" --teacher "$repro/runs/teacher" \
    --student "$repro/runs/perlin" --text-file "$text" --max-tokens "$(( map_tokens < T ? map_tokens : T ))" --out "$dir" --device "$device" \
    "${map_layers[@]}" --log-level warn
  local rc=$?
  if [[ $rc -eq 0 ]] && tar czf "$out/attention_map.tar.gz" -C "$repro" attention-map; then
    record attention-map status=done rc=0 seconds=$(( $(date +%s) - start )) commands="$repro/logs/attention-map.commands" \
      note="$(du -k "$out/attention_map.tar.gz" | cut -f1) kB in \$OUT/attention_map.tar.gz; layers${seen% }" \
      "json:manifest=$(cat "$dir/attention_map.json")"
    say "attention-map: done"
  else
    record attention-map status=failed rc=$rc commands="$repro/logs/attention-map.commands" log_tail="$repro/logs/attention-map.log"
    say "attention-map: FAILED (rc $rc)"; tail -3 "$repro/logs/attention-map.log" | tee -a "$call_log"
  fi
}

# Items, per length L (the training length T first, then the long ones): teacher@L and perlin@L (each model with
# its own method) and perlin-dense@L (the SEA student's weights with dense attention, --method none: the same
# model, SEA vs dense); batch 1, so that seconds per window compare across L. Above T, sea-train grows the loaded
# model's position tables to L (--extend-positions).
stage_long_context() {
  local ndone=0 nfail=0 oot=0 total=0 missing="" sets=() src L item
  have_binaries || { record long-context status=blocked note="no binaries"; return 0; }
  [[ $(status_of long-context) == done ]] && { say "long-context: already done"; return 0; }
  local extra=(); local s; for s in "${extra_sets[@]}"; do extra+=(--set "$s"); done
  IFS=, read -r -a lens <<< "$long_lens"
  for L in "$T" "${lens[@]}"; do
    for src in teacher perlin; do
      local items=("$src"); [[ $src == perlin ]] && items+=(perlin-dense)
      total=$((total + ${#items[@]}))
      if ! done_marker "$src"; then [[ $missing == *"$src "* ]] || missing+="$src "; continue; fi
      # Past the trained length, sea-train grows the position tables after loading (--extend-positions:
      # OPT positions linear, SEA's V_I nearest; models::extend_positions).
      local mdir=$repro/runs/$src grow=()
      [[ $L != "$T" ]] && grow=(--extend-positions "$L")
      for item in "${items[@]}"; do
        local dir=$repro/long/$item-T$L method=()
        [[ $item == perlin-dense ]] && method=(--method none)
        eval_item long-context "$item T=$L" "$dir" "$train_bin" --eval --load-checkpoint "$mdir" "${method[@]}" \
          "${grow[@]}" --seq-len "$L" --batch-size 1 --device "$device" --max-batches "$long_eval_batches" "${extra[@]}"
        case $? in
          0) ndone=$((ndone + 1)); sets+=("eval:$item@$L=$dir/eval.json") ;;
          1) nfail=$((nfail + 1)) ;;
          2) oot=$((oot + 1)) ;;
        esac
      done
    done
  done
  finish_eval_stage long-context "$total" "$ndone" "$nfail" "$oot" "$missing" \
    "positions interpolated from the trained table (linear / nearest), no fine-tuning at the new length; perlin-dense = the SEA student's weights with dense attention" "${sets[@]}"
}

stage_bench() {
  [[ $(status_of bench) == done ]] && { say "bench: already done"; return 0; }
  have_binaries || { record bench status=blocked note="no binaries"; return 0; }
  local rem; rem=$(remaining)
  (( rem >= min_eval + 15 )) || { record bench status=deferred note="${rem}s left"; say "bench: deferred"; return 0; }
  local cfg=configs/models/$model.json; [[ -f $cfg ]] || cfg=$model
  local shape; shape=$(py shape "$cfg" "$model_set") || { record bench status=failed note="cannot read $cfg"; return 0; }
  local heads head_dim layers note=""; read -r heads head_dim layers <<< "$shape"
  local dev=$device methods=$bench_methods
  if [[ $device == cpu ]]; then
    note="CPU run (no CUDA): fp32 on the host CPU; sdpa is ATen's CPU SDPA, not flash — not comparable to the paper"
  elif ! nvidia-smi > /dev/null 2>&1; then
    record bench status=skipped note="device $device requested but no GPU visible (nvidia-smi failed)"
    say "bench: skipped (no GPU)"; return 0
  fi
  local args=(--device "$dev" --methods "$methods" --seq-lens "$bench_lens" --directions causal --passes fwd
              --heads "$heads" --head-dim "$head_dim" --set "perlin.k=$k" --set "perlin.predictor_length=$K"
              --set "perlin.nb_feature_factor=$nbf" --set "performer.nb_feature_factor=$nbf"
              --set "reformer.bucket_size=$bucket" --set "reformer.n_hashes=$hashes"
              --time-budget $(( rem - 15 )) --json "$repro/bench/bench.json")
  [[ -z $bench_reps ]] || args+=(--reps "$bench_reps")
  mkdir -p "$repro/bench"
  say "bench: sea-bench $methods at T=$bench_lens (${heads} heads of ${head_dim})"
  local start; start=$(date +%s)
  run_item bench "$repro/logs/bench.log" "$rem" "$bench_bin" "${args[@]}"
  local rc=$? status=failed
  cp "$repro/logs/bench.log" "$repro/bench/bench.log" 2>/dev/null
  if [[ $rc -eq 0 ]]; then status=done
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then status=partial; note="stopped by the budget; $note"
  fi
  # Rows that sea-bench itself skipped for the time budget make the stage partial (it is re-run next call).
  if [[ $status == done ]] && grep -q "skipped (time budget)" "$repro/logs/bench.log"; then status=partial; fi
  [[ $status == partial ]] && mv "$repro/bench/bench.json" "$repro/bench/bench.partial.json" 2>/dev/null
  local j=$repro/bench/bench.json; [[ -f $j ]] || j=$repro/bench/bench.partial.json
  record bench status=$status note="$note" rc=$rc seconds=$(( $(date +%s) - start )) bench="$j" \
    commands="$repro/logs/bench.commands" log_tail="$repro/logs/bench.log" \
    "json:weights=\"random (sea-bench builds the layer; it cannot load a trained one)\""
  say "bench: $status (rc $rc)"
}

# ---------------------------------------------------------------------------------------------------------------
(( $# > 0 )) || { sed -n '2,30p' "$0"; exit 2; }
requested=()
for a in "$@"; do
  case $a in
    all) requested+=("${all_stages[@]}") ;;
    build|teacher|bench|perlin|performer|reformer|eval|dynamic-k|attention-map|long-context|status) requested+=("$a") ;;
    *) echo "unknown stage '$a' (stages: ${all_stages[*]} all status)"; exit 2 ;;
  esac
done
call_json=$repro/call.json
# The settings are pinned when the pipeline starts: a later call with other settings is reported (a finished
# stage is not redone; an unfinished one continues with the new values), so keep the environment the same.
python3 - "$call_json" "$(now_utc)" "$budget" "$settings_json" "$repro/pipeline.json" "${all_stages[*]}" \
    "${requested[@]}" <<'PY' | tee -a "$call_log"
import json, sys
path, started, budget, settings, pipeline, all_stages, *req = sys.argv[1:]
settings = json.loads(settings)
p = json.load(open(pipeline))
pinned = p.setdefault("settings", settings)
ignore = {"budget_s"}
changed = sorted(k for k in set(pinned) | set(settings) if k not in ignore and pinned.get(k) != settings.get(k))
if changed:
    print("WARNING: settings differ from the pipeline's first call in: " + ", ".join(changed)
          + " (finished stages keep their old settings)")
json.dump(p, open(pipeline, "w"), indent=1)
json.dump({"started_utc": started, "budget_s": int(budget), "stages_requested": req, "all_stages": all_stages.split(),
           "settings": settings, "settings_changed": changed}, open(path, "w"), indent=1)
PY
say "pipeline $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pipeline_id"])' "$repro/pipeline.json") in $repro; budget ${budget}s; stages: ${requested[*]}"

rc=0
for stage in "${requested[@]}"; do
  case $stage in
    build) stage_build || rc=1 ;;
    teacher|perlin|performer|reformer) train_stage "$stage" ;;
    eval) stage_eval ;;
    dynamic-k) stage_dynamic_k ;;
    attention-map) stage_attention_map ;;
    long-context) stage_long_context ;;
    bench) stage_bench ;;
    status) ;;
  esac
done

python3 - "$call_json" "$(now_utc)" "$(( $(date +%s) - t_start ))" <<'PY'
import json, sys
path, finished, elapsed = sys.argv[1:]
d = json.load(open(path)); d.update(finished_utc=finished, elapsed_s=int(elapsed)); json.dump(d, open(path, "w"), indent=1)
PY
echo "== stages (status after this call)" | tee -a "$call_log"
py collect "$repro" "$out/repro_summary.json" "$call_json" | tee -a "$call_log"
pending=$(python3 - "$out/repro_summary.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(s for s in d["call"]["all_stages"] if d["stages"].get(s, {}).get("status") != "done"))
PY
)
if [[ -z $pending ]]; then
  say "PIPELINE COMPLETE: every stage done ($out/repro_summary.json)"
else
  say "pending: $pending -> run the same command again"
fi
exit $rc
