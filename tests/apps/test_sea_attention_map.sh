#!/usr/bin/env bash
# test_sea_attention_map.sh — sea-attention-map and scripts/render_attention.py as a user runs them (issue 7,
# item 4). Trains a tiny dense OPT teacher and two SEA students from it with sea-train (a few steps, CPU), saves
# a random tiny BERT teacher/student pair with sea-smoke, dumps the attention of one sentence, and checks the
# dump against the definitions (docs/ATTENTION.md), not against stored outputs:
#   shapes; tokens round-trip to the text; teacher rows sum to 1 over the visible keys (j <= t for OPT); Â rows
#   sum to 1; the decompressed estimate equals Â gathered through the cell map cell(r) = floor(((2r+1)K-1)/(2L))
#   and is 0 on invisible keys; the kept mask is the kept cells through the same map; sparse probabilities are
#   zero outside the kept mask and their rows sum to 1 (scaler off) or to s_prob in (0, 1] (scaler on); rows
#   with t + 1 <= k keep every key; dynamic k changes the mask; the dense and sparse paths agree; bad input
#   fails naming the culprit and writes nothing; the renderer writes a PNG of the expected size.
# Usage: test_sea_attention_map.sh SEA_TRAIN SEA_ATTENTION_MAP SEA_SMOKE SOURCE_DIR DATA_DIR
set -uo pipefail
train=$1 amap=$2 smoke=$3 src=$4 data=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

text="The tower is 324 metres tall, about the same height as an 81-storey building."
K=8 k=4

# 1. Tiny checkpoints: a dense OPT teacher (run dir), SEA students distilled from it (scaler on and off).
head -c 30000 "$data/wikitext-2-raw/wiki.valid.raw" > "$work/train.txt"
common=(--seq-len 32 --batch-size 2 --device cpu --set data.dir="$data" --set data.train_file="$work/train.txt"
        --set data.cache_dir="$work/cache" --set eval.max_batches=1 --set train.lr=1e-3 --seed 3)
"$train" --model "$src/configs/models/opt-test.json" --set 'model_set=["vocab_size=50272"]' "${common[@]}" \
    --method none --steps 3 --run-dir "$work/teacher" > "$work/teacher.log" 2>&1 \
  || { fail "training the teacher"; cat "$work/teacher.log"; exit 1; }
for variant in on off; do
  scaler=true; [[ $variant == off ]] && scaler=false
  "$train" --teacher "$work/teacher" --method perlin --k $k --predictor-length $K "${common[@]}" --steps 2 \
      --set attention.partial_attention_scaler=$scaler --run-dir "$work/student_$variant" \
      > "$work/student_$variant.log" 2>&1 || { fail "training the student (scaler $variant)"; cat "$work/student_$variant.log"; exit 1; }
done
student_ckpt=$(ls -d "$work"/student_off/checkpoints/step-* | tail -1)
# A random BERT pair (bidirectional layers), vocabulary of the bert-base-uncased tokenizer.
bert=(--model "$src/configs/models/bert-test.json" --set vocab_size=30522 --seq-len 16 --batch 1)
"$smoke" "${bert[@]}" --save "$work/bert_teacher" > "$work/bert_teacher.log" 2>&1 || { fail "bert teacher"; cat "$work/bert_teacher.log"; }
"$smoke" "${bert[@]}" --method perlin --set attention.k=3 --set attention.predictor_length=6 \
    --save "$work/bert_student" > "$work/bert_student.log" 2>&1 || { fail "bert student"; cat "$work/bert_student.log"; }

# run NAME ARGS... : sea-attention-map must succeed, writing $work/NAME.
run() {
  local name=$1; shift
  if "$amap" --device cpu --data-dir "$data" --out "$work/$name" "$@" > "$work/$name.log" 2>&1; then
    echo "ok   $name: exit 0"
  else
    fail "$name: exit code $?"; cat "$work/$name.log"
  fi
}
run opt_on --teacher "$work/teacher" --student "$work/student_on" --text "$text"            # run dirs
printf '%s\n' "$text" > "$work/sentence.txt"
run opt_off --teacher "$work/teacher" --student "$student_ckpt" --text-file "$work/sentence.txt" --layer 1
run opt_on_dense --teacher "$work/teacher" --student "$work/student_on" --text "$text" --path dense
run opt_k1 --teacher "$work/teacher" --student "$work/student_on" --text "$text" --k 1
run opt_k64 --teacher "$work/teacher" --student "$work/student_on" --text "$text" --k 64
run bert --teacher "$work/bert_teacher" --student "$work/bert_student" --text "$text" --layer 0 --layer 1

# 2. The dumps against the definitions.
python3 - "$work" "$text" $K $k <<'EOF' || fail "dump checks"
import json, os, sys
import numpy as np
from safetensors.numpy import load_file

work, text, K_trained, k_trained = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
errors = []

def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond

def cell(r, L, K):
    """docs/ATTENTION.md: key of rank r in a row of L visible keys lies in cell floor(((2r+1)K-1)/(2L))."""
    return ((2 * r + 1) * K - 1) // (2 * L)

def load(name):
    d = os.path.join(work, name)
    man = json.load(open(os.path.join(d, "attention_map.json")))
    tok = json.load(open(os.path.join(d, "tokens.json"), encoding="utf-8"))
    layers = {int(l): load_file(os.path.join(d, f)) for l, f in man["files"].items()}
    return man, tok, layers

def check_dump(name, causal, scaler, expect_layers, K_expected, k_expected):
    man, tok, layers = load(name)
    T, H = len(tok["ids"]), 4
    check(len(tok["tokens"]) == T and man["seq_len"] == T, f"{name}: {len(tok['tokens'])} tokens, T {man['seq_len']}")
    check(sorted(layers) == expect_layers and man["layers"] == expect_layers, f"{name}: layers {sorted(layers)}")
    check(man["causal"] == causal and man["predictor_length"] == K_expected and man["k"] == k_expected,
          f"{name}: manifest {man}")
    K = K_expected
    vis = np.tril(np.ones((T, T), bool)) if causal else np.ones((T, T), bool)
    L = vis.sum(1)  # visible keys per row
    cells = np.zeros((T, T), int)
    for t in range(T):
        for j in range(T):
            if vis[t, j]:
                cells[t, j] = cell(j, L[t], K)  # rank = position (no padding)
    for l, a in layers.items():
        shapes = {n: a[n].shape for n in a}
        want = {"teacher_probs": (H, T, T), "estimate_compressed": (H, T, K), "estimate_decompressed": (H, T, T),
                "sparse_probs": (H, T, T), "kept_mask": (H, T, T), "kept_cells": (H, T, K)}
        if not check(shapes == want, f"{name} layer {l}: shapes {shapes}, want {want}"):
            continue
        tp, est, dec = a["teacher_probs"], a["estimate_compressed"], a["estimate_decompressed"]
        sp, kept, kc = a["sparse_probs"], a["kept_mask"].astype(bool), a["kept_cells"].astype(bool)
        check(tp.dtype == np.float32 and sp.dtype == np.float32, f"{name} layer {l}: dtypes {tp.dtype} {sp.dtype}")
        check(np.allclose(tp.sum(-1), 1, atol=1e-5), f"{name} layer {l}: teacher row sums {tp.sum(-1).min()}..{tp.sum(-1).max()}")
        check(np.all(tp[:, ~vis] == 0), f"{name} layer {l}: teacher attends to invisible keys")
        check(np.all(est >= 0) and np.allclose(est.sum(-1), 1, atol=1e-5), f"{name} layer {l}: Â rows not a softmax")
        # Decompression: a gather of Â through the cell map, 0 where the key is not visible.
        gathered = np.take_along_axis(est, np.broadcast_to(cells, (H, T, T)), axis=-1)
        check(np.array_equal(dec[:, vis], gathered[:, vis]), f"{name} layer {l}: decompressed != Â through the cell map, "
              f"max diff {np.abs(dec - gathered)[:, vis].max()}")
        check(np.all(dec[:, ~vis] == 0), f"{name} layer {l}: decompressed non-zero on invisible keys")
        # Per row, each cell's keys all carry that cell's value: the mean over a cell's keys gives Â back.
        for t in range(T):
            for c in np.unique(cells[t, vis[t]]):
                sel = vis[t] & (cells[t] == c)
                check(np.allclose(dec[:, t, sel].mean(-1), est[:, t, c]), f"{name} layer {l}: row {t} cell {c}")
        # Kept keys = kept cells through the same map (k_oversample 1).
        check(np.array_equal(kept[:, vis], np.take_along_axis(kc, np.broadcast_to(cells, (H, T, T)), -1)[:, vis])
              and not kept[:, ~vis].any(), f"{name} layer {l}: kept mask != kept cells through the cell map")
        check(np.all(sp[~kept] == 0), f"{name} layer {l}: sparse probs outside the kept mask, max {np.abs(sp[~kept]).max()}")
        check(np.all(sp >= 0), f"{name} layer {l}: negative sparse probs")
        rows = sp.sum(-1)       # (H, T)
        has = kept.any(-1)      # rows with at least one kept key
        check(np.all(rows[~has] == 0), f"{name} layer {l}: rows without kept keys do not sum to 0")
        if scaler:
            # s_prob = sigmoid(...) in (0, 1), different per row: the rows are not all normalised.
            check(np.all(rows[has] > 0) and np.all(rows[has] <= 1 + 1e-6) and not np.allclose(rows[has], 1, atol=1e-3),
                  f"{name} layer {l}: rows sum {rows[has].min()}..{rows[has].max()}, want s_prob in (0, 1)")
        else:
            check(np.allclose(rows[has], 1, atol=1e-5), f"{name} layer {l}: sparse rows sum {rows[has].min()}..{rows[has].max()}, want 1")
        # Rows that see at most k keys keep all of them (the budget covers every cell; causal).
        if causal:
            dense_rows = L <= k_expected
            check(np.array_equal(kept[:, dense_rows], np.broadcast_to(vis[dense_rows], kept[:, dense_rows].shape)),
                  f"{name} layer {l}: rows with t + 1 <= k do not keep every key")
        check(has.any() and kept.sum() < vis.sum() * H or k_expected >= T,
              f"{name} layer {l}: nothing selected or everything kept at k {k_expected} < T {T}")
    return man, tok, layers

# OPT: the tokens round-trip ("</s>" + the text, byte-level BPE) and the models' shapes.
man, tok, on = check_dump("opt_on", True, True, [0, 1], K_trained, k_trained)
check(tok["ids"][0] == 2 and tok["tokens"][0] == "</s>" and "".join(tok["tokens"][1:]) == text,
      f"opt tokens do not round-trip: {tok['tokens']}")
check(tok["text"] == text, "tokens.json text")
check_dump("opt_off", True, False, [1], K_trained, k_trained)
_, _, dense = check_dump("opt_on_dense", True, True, [0, 1], K_trained, k_trained)
for l in on:  # the dense and the sparse path give the same attention
    for n in on[l]:
        check(np.allclose(on[l][n], dense[l][n], atol=1e-5), f"dense vs sparse path: layer {l} {n} differ")
_, _, k1 = check_dump("opt_k1", True, True, [0, 1], K_trained, 1)
_, _, k64 = check_dump("opt_k64", True, True, [0, 1], K_trained, 64)
T = len(tok["ids"])
for l in on:  # dynamic k: fewer keys at k = 1, every visible key at k >= T
    n1, n4, n64 = (int(x[l]["kept_mask"].sum()) for x in (k1, on, k64))
    check(n1 < n4 < n64 == 4 * T * (T + 1) // 2, f"dynamic k: layer {l} kept keys k=1 {n1}, k=4 {n4}, k=64 {n64}")
# BERT: bidirectional rows see every key; [CLS] ... [SEP].
_, btok, _ = check_dump("bert", False, True, [0, 1], 6, 3)
check(btok["tokens"][0] == "[CLS]" and btok["tokens"][-1] == "[SEP]", f"bert tokens {btok['tokens']}")

for e in errors[:20]:
    print("  ", e)
if errors:
    sys.exit(f"{len(errors)} check(s) failed")
print(f"ok   dumps: shapes, row sums, cell map, kept mask, sparse support, dynamic k, paths, BERT (T = {T})")
EOF

# 3. Bad input: non-zero exit, a message naming the culprit, nothing written.
expect_failure() {
  local name=$1 expected=$2; shift 2
  if "$amap" --device cpu --data-dir "$data" --out "$work/err_$name" "$@" > "$work/err_$name.log" 2>&1; then
    fail "$name: exited 0"; return
  fi
  grep -qF -- "$expected" "$work/err_$name.log" || { fail "$name: message lacks '$expected':"; cat "$work/err_$name.log"; return; }
  [[ -e $work/err_$name ]] && { fail "$name: wrote $work/err_$name"; return; }
  echo "ok   $name: $(grep -F -- "$expected" "$work/err_$name.log" | head -1 | cut -c1-160)"
}
expect_failure missing_teacher "$work/nowhere" --teacher "$work/nowhere" --student "$work/student_on" --text "$text"
expect_failure missing_student "$work/nostudent" --teacher "$work/teacher" --student "$work/nostudent" --text "$text"
expect_failure dense_student "not SEA" --teacher "$work/teacher" --student "$work/teacher" --text "$text"
expect_failure bad_layer "--layer 2 is out of range" --teacher "$work/teacher" --student "$work/student_on" --text "$text" --layer 2
expect_failure no_text "give the sentence" --teacher "$work/teacher" --student "$work/student_on"
expect_failure missing_text_file "$work/none.txt" --teacher "$work/teacher" --student "$work/student_on" --text-file "$work/none.txt"
expect_failure bad_k "--k must be >= 1" --teacher "$work/teacher" --student "$work/student_on" --text "$text" --k 0
expect_failure mixed_family "is a bert model" --teacher "$work/bert_teacher" --student "$work/student_on" --text "$text"

# 4. The renderer.
render=$src/scripts/render_attention.py
if python3 -c "import matplotlib" 2>/dev/null; then
  # png_size FILE: "width height" from the IHDR chunk (fails unless FILE is a PNG).
  png_size() { python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(24); assert b[:8]==b'\x89PNG\r\n\x1a\n', 'not a PNG'; print(*struct.unpack('>II', b[16:24]))" "$1"; }
  if python3 "$render" "$work/opt_on" --layer 1 --head 2 --out "$work/one.png" > "$work/render1.log" 2>&1 \
     && python3 "$render" "$work/opt_on" --layer 0 --heads all > "$work/render2.log" 2>&1 \
     && python3 "$render" "$work/bert" --layer 1 --heads 0,3 --label-max 0 --out "$work/bert.png" > "$work/render3.log" 2>&1; then
    one=$(png_size "$work/one.png") grid=$(png_size "$work/opt_on/layer0_heads.png") && png_size "$work/bert.png" > /dev/null \
      || fail "render: output is not a PNG"
    read -r w1 h1 <<< "$one"; read -r w2 h2 <<< "$grid"
    if [[ -s $work/one.png && $w1 -gt 400 && $h2 -gt $((3 * h1)) ]]; then
      echo "ok   render: one head ${w1}x${h1}, grid of 4 heads ${w2}x${h2}, BERT grid"
    else
      fail "render: sizes one ${one} grid ${grid}"
    fi
  else
    fail "render"; cat "$work"/render*.log
  fi
  if python3 "$render" "$work/opt_on" --layer 0 --head 9 --out "$work/bad.png" > "$work/render_bad.log" 2>&1 \
     || ! grep -qF "head 9 is out of range" "$work/render_bad.log" || [[ -e $work/bad.png ]]; then
    fail "render: a bad head did not fail cleanly"; cat "$work/render_bad.log"
  else
    echo "ok   render_bad_head: $(grep -F "out of range" "$work/render_bad.log")"
  fi
else
  echo "SKIP render: python3 cannot import matplotlib (scripts/bootstrap.sh installs it: pip install matplotlib)"
fi

[[ $failures == 0 ]] && echo "all sea-attention-map checks passed" || { echo "$failures failure(s)"; exit 1; }
