#!/usr/bin/env bash
# test_sea_bench.sh — sea-bench on the CPU at tiny sizes, as CTest runs it: the table has every row, the JSON
# parses and has the fields the GPU report relies on, SEA's steps run (both directions, both passes), and bad
# flags exit non-zero naming the bad value. Usage: test_sea_bench.sh SEA_BENCH_BINARY
set -uo pipefail
bench=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
tiny=(--device cpu --heads 2 --head-dim 16 --reps 1)

# 1. The layer methods, forward, causal (the CPU defaults for direction and pass).
if "$bench" "${tiny[@]}" --seq-lens 64,128 --methods none,performer,perlin --json "$work/layers.json" \
    > "$work/layers.md" 2> "$work/layers.err"; then
  echo "ok   layers: exit 0"
else
  fail "layers: exit code $?"; cat "$work/layers.err"
fi
for m in none performer perlin; do
  for T in 64 128; do
    line=$(grep -E "^\| $m \| causal \| $T \| [0-9.]+ \|" "$work/layers.md")
    [[ -n $line ]] || { fail "layers: no measured row for $m T=$T"; cat "$work/layers.md"; }
  done
done
grep -q "^## Targets (causal rows)" "$work/layers.md" || fail "layers: no targets section"
python3 - "$work/layers.json" <<'EOF' || fail "layers: JSON check"
import json, sys
doc = json.load(open(sys.argv[1]))
for key in ["command", "date_utc", "torch_version", "device", "settings", "configs", "rows", "targets", "complete"]:
    assert key in doc, f"missing top-level key {key}"
assert doc["complete"] is True
assert "--methods none,performer,perlin" in doc["command"], doc["command"]
for key in ["name", "copy_bandwidth_gbs", "cuda_runtime"]:
    assert key in doc["device"], f"missing device.{key}"
assert doc["settings"]["dtype"] == "fp32" and doc["settings"]["passes"] == ["fwd"], doc["settings"]
rows = doc["rows"]
assert len(rows) == 6, f"{len(rows)} rows"
for r in rows:
    for key in ["method", "direction", "T", "forward", "forward_backward", "speedup_fwd_vs_sdpa", "config"]:
        assert key in r, f"row lacks {key}: {r}"
    assert r["forward"]["ok"], f"{r['method']} T={r['T']} failed: {r['forward']['error']}"
    assert r["forward"]["ms"] > 0 and r["forward"]["runs"] == 1
    assert r["forward_backward"] is None
assert [r for r in rows if r["method"] == "perlin"][0]["config"]["path"] == "sparse"
assert any(t["status"] == "n/a" for t in doc["targets"])
print("ok   layers: JSON has", len(rows), "rows and", len(doc["targets"]), "targets")
EOF

# 2. sdpa and SEA's steps, both directions and passes, fp32 on the CPU.
if "$bench" "${tiny[@]}" --seq-lens 128 --methods sdpa,perlin,sea:performer,sea:predictor,sea:topk,sea:sparse \
    --directions causal,bidirectional --passes fwd,fwdbwd --json "$work/steps.json" \
    > "$work/steps.md" 2> "$work/steps.err"; then
  echo "ok   steps: exit 0"
else
  fail "steps: exit code $?"; cat "$work/steps.err"
fi
python3 - "$work/steps.json" <<'EOF' || { fail "steps: JSON check"; cat "$work/steps.md"; }
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {(r["method"], r["direction"]): r for r in doc["rows"]}
assert len(rows) == 12, sorted(rows)
for (method, direction), r in rows.items():
    assert r["forward"]["ok"], f"{method} {direction} fwd: {r['forward']['error']}"
    if method == "sea:topk":
        assert r["forward_backward"] is None
    else:
        assert r["forward_backward"]["ok"], f"{method} {direction} fwdbwd: {r['forward_backward']['error']}"
    assert r["speedup_fwd_vs_sdpa"] > 0
sparse = rows[("sea:sparse", "causal")]
# bytes = 4·N·H·T·D·4 (fp32 Q, K, V, O) + N·H·T·ceil(64/32)·4 + N·H·T·4 + N·T·8 with N=1, H=2, T=128, D=16
expected = 4 * 2 * 128 * 16 * 4 + 2 * 128 * 2 * 4 + 2 * 128 * 4 + 128 * 8
assert sparse["forward"]["bytes"] == expected, sparse["forward"]["bytes"]
assert sparse["gbs"] > 0 and sparse["x_floor"] is None  # no copy bandwidth on the CPU
assert rows[("sdpa", "causal")]["forward"]["note"], "sdpa row should name its backend"
assert rows[("sea:predictor", "causal")]["config"]["step"] == "predictor"
print("ok   steps: 12 rows, both passes, sparse bytes and GB/s")
EOF

# 3. Bad input: non-zero exit and a message naming the bad value.
expect_failure() {
  local name=$1 expected=$2; shift 2
  if "$bench" "$@" > "$work/$name.log" 2>&1; then fail "$name: exited 0"; return; fi
  if ! grep -qF -- "$expected" "$work/$name.log"; then
    fail "$name: message lacks '$expected':"; cat "$work/$name.log"; return
  fi
  echo "ok   $name: $(grep -F -- "$expected" "$work/$name.log" | head -1 | cut -c1-160)"
}
expect_failure unknown_method "unknown method 'flash9'" "${tiny[@]}" --seq-lens 64 --methods none,flash9
expect_failure bad_dtype "'bf17'" "${tiny[@]}" --seq-lens 64 --methods none --dtype bf17
expect_failure bad_seq_len "'12x'" "${tiny[@]}" --seq-lens 64,12x --methods none
expect_failure bad_direction "'sideways'" "${tiny[@]}" --seq-lens 64 --methods none --directions sideways
expect_failure bad_pass "'backward'" "${tiny[@]}" --seq-lens 64 --methods none --passes backward
expect_failure bad_kernels "'fastest'" "${tiny[@]}" --seq-lens 64 --methods perlin --kernels fastest
expect_failure both_direction_flags "not both" "${tiny[@]}" --seq-lens 64 --methods none --bidirectional \
  --directions causal
expect_failure bad_set "perlin" "${tiny[@]}" --seq-lens 64 --methods perlin --set perlin.kk=3

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all sea-bench checks passed"
