#!/usr/bin/env bash
# test_reproduce_glue.sh — scripts/device/reproduce_glue.sh (the BERT / GLUE reproduction driver for the GPU
# machine) end to end on the CPU at a tiny size, then scripts/results/glue_report.py on what it returned
# (issue 7 item 3). No network and no MiniLM: the "pretrained teacher" is a random tiny BERT (configs/models/
# bert-test.json with the bert-base-uncased vocabulary) written as an HF directory with upstream-style names (no
# "bert." prefix) and a classifier, which `prepare` must strip and cast to fp16 as it does for MiniLM.
#   prepare  the carry dir for stsb, mrpc, rte: one fp16 weights file, per-task configs (STS-B: 1 output), the
#            GLUE files, the vocab, MANIFEST.sha256;
#   setup    on a corrupted copy of the carry: fails, naming the file;
#   call 1   `all` for stsb + mrpc with a budget of a few seconds: the stsb teacher is stopped by the budget (or,
#            on a fast machine, finishes); no student starts on an unfinished teacher;
#   call 2   `all` without the carry (the inputs stay on the machine): the teacher resumes, every student of both
#            tasks (SEA k 7/13/25, Performer, Reformer) trains, and since the training's final evaluations cover one
#            batch only, the eval stage runs `sea-train --eval` for all 12 models (two batches each, to save time:
#            SEA_GLUE_EVAL_MAX_BATCHES; call 4 checks whole splits);
#   call 3   `all` again: nothing runs, PIPELINE COMPLETE;
#   call 4   a fresh pipeline, rte with SEA k 7 only, final evaluation on the whole split: the eval stage takes it
#            from the training run and runs nothing;
#   report   glue_report.py over the four calls' files: the table has every method and the tasks' metrics.
# Usage: test_reproduce_glue.sh SEA_TRAIN SOURCE_DIR DATA_DIR   (KEEP_WORK=1 keeps the work dir, printed first)
set -uo pipefail
train=$1 src=$2 data=$3
work=$(mktemp -d); echo "work $work"
trap "rm -rf $work" EXIT; [[ -n ${KEEP_WORK:-} ]] && trap - EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }
export OMP_NUM_THREADS=1  # tiny steps on a shared 2-core machine: spinning OpenMP threads only slow them down
driver=$src/scripts/device/reproduce_glue.sh
t0=$(date +%s)

# --- a tiny random "pretrained" BERT, upstream names (no bert. prefix), with a classifier to drop -------------
python3 - "$src" "$work/tiny" <<'EOF' || { echo "FAIL cannot write the tiny BERT"; exit 1; }
import json, os, sys
import numpy as np
src, out = sys.argv[1:]
sys.path.insert(0, os.path.join(src, "scripts"))
import fetch_bert_teacher as fbt
cfg = json.load(open(os.path.join(src, "configs/models/bert-test.json")))
cfg = {k: v for k, v in cfg.items() if k not in ("_comment", "family")}
cfg.update(vocab_size=30522, model_type="bert", architectures=["BertForSequenceClassification"])
rng = np.random.default_rng(0)
tensors = []
for name, shape in sorted(fbt.expected_tensors(cfg).items()):
    if name.endswith("LayerNorm.weight"):
        x = np.ones(shape, "<f4")
    else:
        x = (rng.standard_normal(shape) * 0.05).astype("<f4")
    tensors.append((name[len("bert."):], "F32", shape, x.tobytes()))
tensors.append(("classifier.weight", "F32", [2, cfg["hidden_size"]], np.zeros([2, cfg["hidden_size"]], "<f4").tobytes()))
tensors.append(("classifier.bias", "F32", [2], np.zeros([2], "<f4").tobytes()))
os.makedirs(out)
fbt.write_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
EOF

# --- prepare ---------------------------------------------------------------------------------------------------
carry=$work/carry
SEA_GLUE_TEACHER_SRC=$work/tiny SEA_GLUE_SOURCE_DATA=$data SEA_GLUE_CARRY_DIR=$carry SEA_GLUE_TASKS="stsb mrpc rte" \
  bash "$driver" prepare > "$work/prepare.txt" 2>&1 || { fail "prepare"; cat "$work/prepare.txt"; exit 1; }
grep -q "first call's upload" "$work/prepare.txt" || fail "prepare did not print the upload size"
(cd "$carry" && sha256sum -c --quiet MANIFEST.sha256) || fail "MANIFEST.sha256 does not match the carry"
python3 - "$carry" "$src" <<'EOF' && ok "prepare: fp16 weights without the classifier, per-task configs, GLUE files" || fail "prepare checks"
import json, os, sys
carry, src = sys.argv[1:]
sys.path.insert(0, os.path.join(src, "scripts"))
import fetch_bert_teacher as fbt
header, _ = fbt.read_header(os.path.join(carry, "teacher/model.safetensors"))
names = [k for k in header if k != "__metadata__"]
assert names and all(n.startswith("bert.") for n in names), names[:5]
assert all(header[n]["dtype"] == "F16" for n in names)
for task, n in (("stsb", 1), ("mrpc", 2), ("rte", 2)):
    c = json.load(open(os.path.join(carry, "teacher", task, "config.json")))
    assert c["num_labels"] == n and c["architectures"] == ["BertModel"], (task, c)
    assert (c.get("problem_type") == "regression") == (n == 1)
for f in ("data/glue/STS-B/train.tsv", "data/glue/STS-B/dev.tsv", "data/glue/MRPC/train.tsv",
          "data/glue/MRPC/original/msr_paraphrase_test.txt", "data/glue/RTE/dev.tsv",
          "data/tokenizers/bert-base-uncased/vocab.txt", "carry.json"):
    assert os.path.exists(os.path.join(carry, f)), f
assert not os.path.exists(os.path.join(carry, "data/glue/CoLA"))
assert json.load(open(os.path.join(carry, "carry.json")))["tasks"] == ["stsb", "mrpc", "rte"]
EOF

# --- common settings of the device calls ---------------------------------------------------------------------
export SEA_GLUE_COMMIT=abc123 SEA_GLUE_TRAIN_BIN=$train SEA_GLUE_DEVICE=cpu SEA_GLUE_SEED=7 SEA_GLUE_SEQ_LEN=64 SEA_GLUE_BATCH=8 \
  SEA_GLUE_EVAL_BATCH=64 SEA_GLUE_TEACHER_STEPS=stsb=150,mrpc=20,rte=20 SEA_GLUE_TEACHER_LR=1e-3 \
  SEA_GLUE_TEACHER_CKPT_EVERY=10 SEA_GLUE_STUDENT_STEPS=4 SEA_GLUE_STUDENT_CKPT_EVERY=2 \
  SEA_GLUE_PREDICTOR_LENGTH=64 SEA_GLUE_RESERVE_SECONDS=1 SEA_GLUE_MIN_TRAIN_SECONDS=1 SEA_GLUE_MIN_EVAL_SECONDS=1
repro=$work/repro

# --- setup on a corrupted carry: refused ------------------------------------------------------------------------
cp -a "$carry" "$work/bad" && chmod -R u+w "$work/bad"
printf 'X' | dd of="$work/bad/data/glue/RTE/dev.tsv" bs=1 seek=100 conv=notrunc 2>/dev/null
mkdir -p "$work/outbad"
if OUT=$work/outbad SEA_GLUE_DIR=$work/badrepro SEA_GLUE_CARRY_DIR=$work/bad SEA_GLUE_TASKS=rte \
    bash "$driver" setup > "$work/bad.txt" 2>&1; then
  fail "setup accepted a corrupted carry"
else
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"]["setup"]; assert s["status"]=="failed" and "RTE/dev.tsv" in s["note"], s' \
    "$work/outbad/glue_summary.json" && ok "setup: a corrupted file is refused and named" || { fail "setup summary"; cat "$work/bad.txt"; }
fi

# --- call 1: a budget too short for the stsb teacher ------------------------------------------------------------
mkdir -p "$work/out1"
OUT=$work/out1 SEA_GLUE_DIR=$repro SEA_GLUE_CARRY_DIR=$carry SEA_GLUE_TASKS="stsb mrpc" SEA_GLUE_SECONDS=9 \
  SEA_GLUE_TRAIN_EVAL_BATCHES=1 SEA_GLUE_EVAL_MAX_BATCHES=2 bash "$driver" all > "$work/call1.txt" 2>&1
echo "call 1: exit $?"
python3 - "$work/out1/glue_summary.json" <<'EOF' || { fail "call 1 summary"; cat "$work/call1.txt"; }
import json, sys
d = json.load(open(sys.argv[1]))
st = d["stages"]
assert st["setup"]["status"] == "done" and "verified" in st["setup"]["note"], st["setup"]
assert st["build"]["status"] == "done", st["build"]
t = st["stsb/teacher"]
assert t["status"] in ("partial", "done", "deferred"), t
for m in ("perlin-k7", "performer"):
    s = st.get(f"stsb/{m}", {})
    assert s.get("status") in (None, "blocked", "deferred") or t["status"] == "done", (m, s)
print(f"ok   call 1: stsb teacher {t['status']} at step {t.get('steps_done')}/{t.get('steps_target')}")
EOF
step1=0
[[ -f $repro/runs/stsb/teacher/DONE ]] || step1=$(ls -d "$repro"/runs/stsb/teacher/checkpoints/step-* 2>/dev/null | tail -1 | sed 's/.*step-0*//')

# --- call 2: everything, without the carry ------------------------------------------------------------------------
mkdir -p "$work/out2"
start=$(date +%s)
OUT=$work/out2 SEA_GLUE_DIR=$repro SEA_GLUE_CARRY_DIR=$work/not-carried SEA_GLUE_TASKS="stsb mrpc" SEA_GLUE_SECONDS=600 \
  SEA_GLUE_TRAIN_EVAL_BATCHES=1 SEA_GLUE_EVAL_MAX_BATCHES=2 bash "$driver" all > "$work/call2.txt" 2>&1
rc=$?
echo "call 2: exit $rc, $(( $(date +%s) - start )) s"
[[ $rc -eq 0 ]] || fail "call 2 exit code $rc"
grep -q "PIPELINE COMPLETE" "$work/call2.txt" && ok "call 2: PIPELINE COMPLETE" \
  || { fail "call 2 did not complete"; cat "$work/call2.txt"; tail -30 "$repro"/logs/*.log; }
n=$(find "$work/out2" -type f | wc -l)
[[ $n -eq 2 && -f $work/out2/glue_summary.json && -f $work/out2/glue_call.log ]] && ok "call 2: \$OUT holds 2 files" \
  || fail "call 2: \$OUT has $n files: $(ls "$work/out2")"
python3 - "$work/out2/glue_summary.json" "$repro" "${step1:-0}" <<'EOF' || fail "call 2 summary checks"
import json, math, sys
d, repro, step1 = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3] or 0)
for key in ("pipeline_id", "host", "call", "stages", "inputs"):
    assert key in d, f"summary lacks {key}"
assert d["host"]["gpu"] and d["host"]["git_commit"], d["host"]
assert d["inputs"]["tasks"] == ["stsb", "mrpc", "rte"] and len(d["inputs"]["teacher_weights_sha256"]) == 64
call = d["call"]
assert call["settings"]["seed"] == 7 and call["settings"]["device"] == "cpu" and call["settings"]["seq_len"] == 64
assert call["started_utc"] and call["finished_utc"] and call["settings_differ_from_first_call"] == []
assert d["host"]["git_commit"] == "abc123", d["host"]
st = d["stages"]
assert "inputs already verified" in open(sys.argv[1].replace("glue_summary.json", "glue_call.log")).read()
methods = ["perlin-k7", "perlin-k13", "perlin-k25", "performer", "reformer"]
for task, tsteps, nl in (("stsb", 150, 1), ("mrpc", 20, 2)):
    t = st[f"{task}/teacher"]
    assert t["status"] == "done" and t["steps_done"] == tsteps, (task, t.get("status"), t.get("steps_done"))
    rc = t["run_config"]
    assert rc["attention"]["method"] == "none" and rc["init"].endswith(f"inputs/init/{task}"), rc["init"]
    assert rc["train"]["schedule"] == "cosine" and rc["train"]["warmup_steps"] == tsteps // 10
    assert rc["data"]["task"] == task and rc["data"]["seq_len"] == 64 and t["seed"] == 7 and t["data_seed"] == 7
    assert any("--load-checkpoint auto" in c for c in t["commands"]), t["commands"]
    assert all(math.isfinite(c["loss"]) for c in t["curve"]) and t["curve"][-1]["step"] == tsteps
    for m in methods:
        s = st[f"{task}/{m}"]
        assert s["status"] == "done" and s["steps_done"] == 4, (task, m, s.get("status"))
        a = s["run_config"]["attention"]
        assert s["run_config"]["teacher"].endswith(f"runs/{task}/teacher"), s["run_config"]["teacher"]
        if m.startswith("perlin"):
            assert a["method"] == "perlin" and a["k"] == int(m[8:]) and a["predictor_length"] == 64, a
            assert a["k_flatten_dim"] == "causal_batch" and a["context_output_method"] == "norm", a
        else:
            assert a["method"] == m, a
        assert s["tokens_per_s_median"] > 0 and s["seconds_per_step_median"] > 0
    ev = st[f"{task}/eval"]
    assert ev["status"] == "done" and set(ev["results"]) == {"teacher", *methods}, ev.get("results", {}).keys()
    for m, e in ev["results"].items():
        assert e["source"] == "sea-train --eval", (task, m, e["source"])
        r = e["results"][0]
        assert r["partial"] and r["examples"] == 128, (task, m, r)  # SEA_GLUE_EVAL_MAX_BATCHES=2 of 64
        if task == "stsb":
            assert r["split"] == "dev" and math.isfinite(r["pearson"]) and math.isfinite(r["spearman"]), r
        else:
            assert r["split"] == "test" and 0 <= r["f1"] <= 1 and 0 <= r["accuracy"] <= 1, r
    assert len(ev["commands"]) == 6 and all("--eval" in c for c in ev["commands"]), ev["commands"]
assert st["stsb/reformer"]["run_config"]["attention"]["bucket_size"] == 7
if step1:
    assert st["stsb/teacher"]["resumed_from_step"] == str(step1), (st["stsb/teacher"]["resumed_from_step"], step1)
steps = [json.loads(l)["step"] for l in open(f"{repro}/runs/stsb/teacher/metrics.jsonl") if '"loss"' in l]
assert steps == list(range(1, 151)), steps[:5]
print("ok   call 2 summary: 2 teachers + 10 students trained, 12 evaluations (sea-train --eval), configs as set")
EOF

# --- call 3: nothing left to do ------------------------------------------------------------------------------------
mkdir -p "$work/out3"
cmds_before=$(cat "$repro"/logs/*.commands | wc -l)
OUT=$work/out3 SEA_GLUE_DIR=$repro SEA_GLUE_CARRY_DIR=$work/not-carried SEA_GLUE_TASKS="stsb mrpc" SEA_GLUE_SECONDS=600 \
  SEA_GLUE_TRAIN_EVAL_BATCHES=1 SEA_GLUE_EVAL_MAX_BATCHES=2 bash "$driver" all > "$work/call3.txt" 2>&1
cmds_after=$(cat "$repro"/logs/*.commands | wc -l)
[[ $cmds_before -eq $cmds_after ]] && grep -q "PIPELINE COMPLETE" "$work/call3.txt" \
  && ok "call 3: every stage skipped, PIPELINE COMPLETE" || { fail "call 3 ran $((cmds_after - cmds_before)) commands"; cat "$work/call3.txt"; }
# A changed setting is reported (status: no work, only the summary).
mkdir -p "$work/out3b"
OUT=$work/out3b SEA_GLUE_DIR=$repro SEA_GLUE_CARRY_DIR=$work/not-carried SEA_GLUE_TASKS="stsb mrpc" SEA_GLUE_SECONDS=600 \
  SEA_GLUE_TRAIN_EVAL_BATCHES=1 SEA_GLUE_EVAL_MAX_BATCHES=2 SEA_GLUE_STUDENT_LR=1e-4 bash "$driver" status > "$work/call3b.txt" 2>&1
grep -q "WARNING: settings differ from this pipeline's first call in: students" "$work/call3b.txt" \
  && ok "a changed setting is reported" || { fail "no settings warning"; cat "$work/call3b.txt"; }

# --- call 4: a fresh pipeline, final evaluation reused ----------------------------------------------------------------
mkdir -p "$work/out4"
OUT=$work/out4 SEA_GLUE_DIR=$work/repro4 SEA_GLUE_CARRY_DIR=$carry SEA_GLUE_TASKS=rte SEA_GLUE_METHODS=perlin-k7 \
  SEA_GLUE_SECONDS=600 SEA_GLUE_TRAIN_EVAL_BATCHES=0 bash "$driver" all > "$work/call4.txt" 2>&1
grep -q "PIPELINE COMPLETE" "$work/call4.txt" || { fail "call 4 did not complete"; cat "$work/call4.txt"; }
python3 - "$work/out4/glue_summary.json" "$work/out2/glue_summary.json" <<'EOF' || fail "call 4 checks"
import json, sys
d, d2 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["pipeline_id"] != d2["pipeline_id"]
ev = d["stages"]["rte/eval"]
assert ev["status"] == "done" and set(ev["results"]) == {"teacher", "perlin-k7"}, ev
assert not ev.get("commands"), ev.get("commands")
for m, e in ev["results"].items():
    assert e["source"].startswith("final evaluation"), e["source"]
    r = e["results"][0]
    assert r["split"] == "dev" and r["examples"] == 277 and not r["partial"] and 0 <= r["accuracy"] <= 1, r
print("ok   call 4: rte teacher + SEA k 7; the whole-split final evaluations reused (no eval command)")
EOF

# --- the report -------------------------------------------------------------------------------------------------------
if python3 "$src/scripts/results/glue_report.py" "$work/out1" "$work/out2" "$work/out3" "$work/out4" \
    --out "$work/report.md" --json "$work/report.json" --plot "$work/glue.png" > "$work/report.txt" 2>&1; then
  ok "glue_report.py: exit 0"
else
  fail "glue_report.py"; cat "$work/report.txt"
fi
python3 - "$work/report.md" "$work/report.json" <<'EOF' || { fail "report checks"; cat "$work/report.md"; }
import json, re, sys
md, data = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
main = md.split("## Metrics")[1].split("## ")[0]
header = [l for l in main.splitlines() if l.startswith("| model")][0]
for col in ("CoLA (Matthews)", "SST-2 (acc)", "MRPC (F1 / acc)", "STS-B (Pearson / Spearman)", "RTE (acc)"):
    assert col in header, (col, header)
num, pair = r"-?[0-9]+\.[0-9]", r"(-?[0-9]+\.[0-9]|n/a) / (-?[0-9]+\.[0-9]|n/a)"
for label in ("teacher (dense)", "SEA k=7", "SEA k=13", "SEA k=25", "Performer", "Reformer"):
    row = [l for l in main.splitlines() if l.startswith(f"| {label} |")]
    assert row, f"no row {label}"
    cells = [c.strip() for c in row[0].strip("|").split("|")][1:]
    assert cells[0] == "—" and cells[1] == "—", cells                      # CoLA, SST-2 not run
    assert re.fullmatch(pair + r" \*", cells[2]) and re.fullmatch(pair + r" \*", cells[3]), cells  # partial: *
    if label in ("teacher (dense)", "SEA k=7"):
        assert re.fullmatch(num, cells[4]), cells                            # RTE from call 4: whole split
    else:
        assert cells[4] == "—", cells
assert "not run yet: CoLA, SST-2" in md and "\n* partial" in md
assert "## Difference to the task's teacher" in md and "## Training" in md
assert set(data["tasks"]) == {"stsb", "mrpc", "rte"} and "pearson" in data["tasks"]["stsb"]["perlin-k13"]
print("ok   report: 6 methods x 5 tasks, MRPC F1/acc, STS-B Pearson/Spearman, RTE acc, missing tasks marked")
EOF

echo "total $(( $(date +%s) - t0 )) s"
if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed; call 2's output:"; tail -40 "$work/call2.txt"
  exit 1
fi
echo "all reproduce_glue checks passed"
