#!/usr/bin/env bash
# test_cli_errors.sh — the apps fail cleanly on bad input: non-zero exit, a message naming the key / file /
# tensor at fault, and nothing written. Usage: test_cli_errors.sh SEA_SMOKE_BINARY SOURCE_DIR FIXTURE_DIR
set -uo pipefail
smoke=$1 src=$2 fixtures=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect_failure NAME EXPECTED_TEXT ARGS... : must exit non-zero, print EXPECTED_TEXT, and not create $work/out.
expect_failure() {
  local name=$1 expected=$2; shift 2
  local log=$work/$name.log
  if "$smoke" "$@" --save "$work/out" >"$log" 2>&1; then
    echo "FAIL $name: exited 0"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$expected" "$log"; then
    echo "FAIL $name: message lacks '$expected':"; cat "$log"; failures=$((failures + 1)); return
  fi
  if [[ -e $work/out ]]; then
    echo "FAIL $name: wrote $work/out"; failures=$((failures + 1)); return
  fi
  echo "ok   $name: $(grep -F -- "$expected" "$log" | head -1 | cut -c1-160)"
}

cfg=$src/configs/models/opt-test.json
expect_failure unknown_key "unknown key(s) 'hiden_size'" --model "$cfg" --set hiden_size=32
expect_failure bad_type "'num_hidden_layers' must be an integer" --model "$cfg" --set num_hidden_layers=two
expect_failure bad_value "not divisible by num_attention_heads 3" --model "$cfg" --set num_attention_heads=3
expect_failure missing_config "no such file" --model "$work/nope.json"
expect_failure too_long "exceeds max_position_embeddings = 256" --model "$cfg" --seq-len 300

if [[ -d $fixtures/hf_parity/opt_pre_ln/hf ]]; then
  cp -r "$fixtures/hf_parity/opt_pre_ln/hf" "$work/corrupt"
  truncate -s 1000 "$work/corrupt/model.safetensors"
  expect_failure corrupt_weights "$work/corrupt/model.safetensors" --hf-dir "$work/corrupt"
  cp -r "$fixtures/hf_parity/opt_pre_ln/hf" "$work/reshaped"
  python3 - "$work/reshaped/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["ffn_dim"] = 96; json.dump(c, open(sys.argv[1], "w"))
PY
  expect_failure shape_mismatch "model.decoder.layers.0.fc1.weight: checkpoint [128, 64] vs model [96, 64]" \
    --hf-dir "$work/reshaped"
  rm "$work/corrupt/model.safetensors"
  expect_failure missing_weights "no weights in" --hf-dir "$work/corrupt"
else
  echo "skip checkpoint cases: no fixtures in $fixtures"
fi

# And the success path writes a loadable checkpoint.
if "$smoke" --model "$cfg" --seq-len 16 --save "$work/good" >"$work/good.log" 2>&1 && [[ -f $work/good/model.safetensors ]] \
   && "$smoke" --hf-dir "$work/good" --seq-len 16 >>"$work/good.log" 2>&1; then
  echo "ok   save_and_reload"
else
  echo "FAIL save_and_reload"; cat "$work/good.log"; failures=$((failures + 1))
fi
exit $failures
