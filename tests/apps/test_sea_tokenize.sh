#!/usr/bin/env bash
# test_sea_tokenize.sh — sea-tokenize end to end: ids for known text (values printed by HF's tokenizers),
# decode, the BERT pair template, and clean failures (non-zero exit, a message naming what is wrong) for an
# unknown tokenizer, a data directory without tokenizer files, invalid UTF-8 and bad ids.
# Usage: test_sea_tokenize.sh SEA_TOKENIZE_BINARY DATA_DIR
set -uo pipefail
bin=$1 data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect_output() {  # NAME EXPECTED ARGS...
  local name=$1 expected=$2; shift 2
  local got
  got=$("$bin" --data-dir "$data" "$@" 2>&1)
  if [[ "$got" == "$expected" ]]; then echo "ok   $name"; else
    echo "FAIL $name: expected '$expected', got '$got'"; failures=$((failures + 1)); fi
}
expect_failure() {  # NAME EXPECTED_TEXT ARGS...
  local name=$1 expected=$2; shift 2
  if "$bin" "$@" >"$work/$name.log" 2>&1; then
    echo "FAIL $name: exited 0"; failures=$((failures + 1)); return
  fi
  if grep -qF -- "$expected" "$work/$name.log"; then echo "ok   $name: $(grep -F -- "$expected" "$work/$name.log" | head -1 | cut -c1-150)"
  else echo "FAIL $name: message lacks '$expected':"; cat "$work/$name.log"; failures=$((failures + 1)); fi
}

expect_output opt_ids "31414 232 6 24 18 162" --tokenizer opt --text "Hello world, it's me"
expect_output gpt2_ids "15496 995" --tokenizer gpt2 --text "Hello world"
expect_output opt_decode "Hello world" --tokenizer opt --decode "31414 232"
expect_output bert_pair $'101 7592 2088 102 2117 102\n0 0 0 0 1 1' --tokenizer bert-base-uncased --text "Héllo WORLD" --pair "second"
expect_output bert_truncate $'101 1037 102 1038 102\n0 0 0 1 1' --tokenizer bert-base-uncased --text "a a a a" --pair "b b b" --max-length 5

expect_failure unknown_tokenizer "unknown tokenizer 'gtp2': use one of opt, gpt2, bert-base-uncased" --tokenizer gtp2 --text x
expect_failure no_data "tokenizer 'opt' vocabulary not found: looked for" --data-dir "$work/empty" --tokenizer opt --text x
expect_failure no_data_hint "scripts/get_data.sh" --data-dir "$work/empty" --tokenizer opt --text x
printf 'ok \xff\xfe bad' > "$work/bad.txt"
expect_failure bad_utf8 "bad.txt: invalid UTF-8 at byte offset 3" --data-dir "$data" --tokenizer opt --file "$work/bad.txt"
expect_failure bad_id "cannot decode id 99999999" --data-dir "$data" --tokenizer opt --decode "1 99999999"
expect_failure not_an_id "'x1' is not an integer id" --data-dir "$data" --tokenizer opt --decode "1 x1"
exit $failures
