#!/usr/bin/env python3
"""Hugging Face oracle for our tokenizers and text loaders (tests/data/test_tokenizer_parity.cpp).

Builds the tokenizers exactly as a user gets them from the Hub (transformers AutoTokenizer over a folder with
the vocabulary files and the Hub's tokenizer_config.json for facebook/opt-125m, gpt2, bert-base-uncased) and
records their token ids on real text from the data directory:
  * Wikitext-2: every split present (raw valid/test, tokenized train/valid/test), loaded as the Hugging Face
    `wikitext` dataset does (one row per line, the line's "\\n" kept, blank lines as "") and joined with
    "\\n\\n" as SEA's reference does; encoded with add_special_tokens=False by OPT and GPT-2, and by BERT.
  * GLUE: every dev file (and MRPC's labelled test file), read as the GLUE processors of transformers do
    (tab-separated, no quoting, utf-8-sig), with the texts of each example; BERT ids and token types with
    the model template and truncation to 256 (SEA_SPEC.md §5.2); OPT ids of every sentence.
  * A synthetic stress text (scripts, whitespace kinds, contractions, controls, CJK, accents, long words,
    special tokens written in the text) and pair-truncation cases at awkward lengths.
The texts are stored next to the ids, so the C++ test checks our loaders and our tokenizers separately.

Usage: make_tokenizer_fixtures.py DATA_DIR OUT_DIR
"""
import copy
import csv
import json
import os
import sys
import tempfile
import time

import tokenizers
import transformers
from transformers import AutoTokenizer

PINNED_TRANSFORMERS = "5.23.0"  # scripts/bootstrap.sh
PINNED_TOKENIZERS = "0.23.3"

HUB_CONFIGS = {
    "opt": ({"vocab.json", "merges.txt"},
            {"tokenizer_class": "GPT2Tokenizer", "add_bos_token": True, "add_prefix_space": False,
             "bos_token": "</s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
             "errors": "replace"}),
    "gpt2": ({"vocab.json", "merges.txt"},
             {"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False, "bos_token": "<|endoftext|>",
              "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}),
    "bert-base-uncased": ({"vocab.txt"}, {"tokenizer_class": "BertTokenizer", "do_lower_case": True}),
}

# GLUE dev files: task -> (relative path, text_a column, text_b column or None, label column, has header)
GLUE_FILES = {
    "CoLA/dev.tsv": (3, None, 1, False),
    "SST-2/dev.tsv": (0, None, 1, True),
    "MRPC/dev.tsv": (3, 4, 0, True),
    "MRPC/original/msr_paraphrase_test.txt": (3, 4, 0, True),
    "STS-B/dev.tsv": (7, 8, 9, True),
    "RTE/dev.tsv": (1, 2, 3, True),
    "WNLI/dev.tsv": (1, 2, 3, True),
    "QNLI/dev.tsv": (1, 2, 3, True),
    "MNLI/dev_matched.tsv": (8, 9, -1, True),
    "MNLI/dev_mismatched.tsv": (8, 9, -1, True),
    "QQP/dev.tsv": (3, 4, 5, True),
}

STRESS_TEXT = (
    "Hello world! It's a test: they'll, we've, I'm, you'd, she's; IT'S LOUD'LL 'tis ''quoted''.\n"
    "  two  spaces,\tTabs\t\tand\r\nCRLF \n\n\n three newlines   \n trailing spaces   \n"
    "Numbers 3.14159, 1,000,000 and ½ ² ³ ٣ 五 Ⅻ; dates 2024-11-23.\n"
    "Accents: café naïve résumé Ångström Øre İstanbul ΣΑΣ ǅ ﬁ Straße ẞ K Å.\n"
    "Scripts: Привет мир, Γειά σου, שלום, مرحبا, नमस्ते, こんにちは, 안녕하세요, 你好世界, ไทย.\n"
    "Combining: e\u0301 a\u0308\u0301 n\u0303 \u0041\u030a x\u0323\u0307 Hangul \u1100\u1161\u11a8.\n"
    "Spaces: a\u00a0b c\u2003d e\u3000f g\u2028h i\u2029j k\u0085l m\u200bn o\ufeffp q\u1680 r.\n"
    "Controls: \x01\x02\x7f and \u00ad soft hyphen, \ufffd replacement, \x00 nul.\n"
    "Emoji: 👍🏽 👨‍👩‍👧 🇩🇪 ❤️ and symbols © ® ™ € £ ¥ § ¶ † ‡ • … ‰ ′ ″.\n"
    "Punctuation: «quotes» „low“ ‘single’ — en–dash ¿qué? ¡sí! ・ 。、 《书》.\n"
    "Specials inline: <s>x</s> <pad><unk> [CLS] a [SEP] b [MASK] [PAD] <|endoftext|> </s></s>.\n"
    "Long word: " + "supercalifragilistic" * 6 + " and " + "=" * 300 + " end " + "ab" * 70 + ".\n"
    "Code: def f(x):\n    return x**2  # comment\n\tif a<=b && c!=d: pass\n"
    " @-@ @,@ @.@ <unk> = = Heading = = \n"
)


def hub_tokenizer(name, data_dir):
    files, config = HUB_CONFIGS[name]
    folder = tempfile.mkdtemp(prefix=f"tok-{name}-")
    for f in files:
        os.symlink(os.path.abspath(os.path.join(data_dir, "tokenizers", name, f)), os.path.join(folder, f))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as fh:
        json.dump(config, fh)
    return AutoTokenizer.from_pretrained(folder)


def wikitext_rows(path):
    # What datasets' `wikitext` builder yields: each line with its "\n", whitespace-only lines as "".
    with open(path, encoding="utf-8") as f:
        return [row if row.strip() else "" for row in f]


def wikitext_join(rows, chunk=50000):
    return ["\n\n".join(rows[i:i + chunk]) for i in range(0, len(rows), chunk)]


# Label names in id order, as Hugging Face's `glue` dataset features (ClassLabel) define them.
HF_LABEL_NAMES = {"RTE": ["entailment", "not_entailment"], "QNLI": ["entailment", "not_entailment"],
                  "MNLI": ["entailment", "neutral", "contradiction"]}


def label_id(task, label):
    names = HF_LABEL_NAMES.get(task)
    return float(names.index(label)) if names else float(label)


def read_glue(path, a, b, label, header):
    with open(path, encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter="\t", quotechar=None))
    if header:
        rows = rows[1:]
    out = []
    for r in rows:
        out.append({"a": r[a], "b": r[b] if b is not None else None, "label": r[label]})
    return out


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    toks = {name: hub_tokenizer(name, data_dir) for name in HUB_CONFIGS}
    cases = []
    timings = {}

    # Wikitext-2: the joined text of each split present, by every tokenizer.
    for rel in ["wikitext-2-raw/wiki.train.raw", "wikitext-2-raw/wiki.valid.raw", "wikitext-2-raw/wiki.test.raw",
                "wikitext-2/train.txt", "wikitext-2/valid.txt", "wikitext-2/test.txt"]:
        path = os.path.join(data_dir, rel)
        if not os.path.exists(path):
            continue
        chunks = wikitext_join(wikitext_rows(path))
        big = "train" in rel
        for name, tok in toks.items():
            if big and name != "opt":
                continue  # the train split is 11 MB: one tokenizer is enough
            t0 = time.perf_counter()
            ids = [i for chunk in chunks for i in tok(chunk, add_special_tokens=False)["input_ids"]]
            timings[f"{name}:{rel}"] = time.perf_counter() - t0
            cases.append({"name": f"wikitext {rel} / {name}", "kind": "wikitext", "source": rel,
                          "tokenizer": name, "ids": ids})
        with open(os.path.join(out_dir, os.path.basename(rel) + ".joined.txt"), "w", encoding="utf-8") as fh:
            fh.write("".join(chunks) if len(chunks) == 1 else "\x00".join(chunks))

    # GLUE: every dev file present.
    for rel, (a, b, label, header) in GLUE_FILES.items():
        path = os.path.join(data_dir, "glue", rel)
        if not os.path.exists(path):
            continue
        if label == -1:
            with open(path, encoding="utf-8-sig") as f:
                label = len(f.readline().rstrip("\n").split("\t")) - 1
        examples = read_glue(path, a, b, label, header)
        for ex in examples:
            ex["label_id"] = label_id(rel.split("/")[0], ex["label"])
        bert = toks["bert-base-uncased"]
        for ex in examples:
            enc = bert(ex["a"], ex["b"], truncation=True, max_length=256) if ex["b"] is not None else \
                bert(ex["a"], truncation=True, max_length=256)
            ex["bert_ids"] = enc["input_ids"]
            ex["bert_type_ids"] = enc["token_type_ids"]
            ex["opt_ids_a"] = toks["opt"](ex["a"], add_special_tokens=False)["input_ids"]
            if ex["b"] is not None:
                ex["opt_ids_b"] = toks["opt"](ex["b"], add_special_tokens=False)["input_ids"]
        cases.append({"name": f"glue {rel}", "kind": "glue", "source": "glue/" + rel, "examples": examples})

    # Synthetic stress text, whole and line by line, by every tokenizer (including the model template).
    for name, tok in toks.items():
        cases.append({"name": f"stress / {name}", "kind": "text", "tokenizer": name, "text": STRESS_TEXT,
                      "ids": tok(STRESS_TEXT, add_special_tokens=False)["input_ids"]})
        for i, line in enumerate(STRESS_TEXT.split("\n")):
            enc = tok(line)
            cases.append({"name": f"stress line {i} / {name} (template)", "kind": "template", "tokenizer": name,
                          "a": line, "b": None, "max_length": 0, "ids": enc["input_ids"],
                          "type_ids": enc.get("token_type_ids")})

    # Pair truncation (longest first) at awkward lengths, with both templates that have pairs. Older tokenizers
    # releases split an over-long pair differently (the GPU machine's gives the first sequence the smaller
    # half); we follow the pinned release, so these cases are only generated there (CI).
    words = STRESS_TEXT.split()
    truncation_oracle = tokenizers.__version__ == PINNED_TOKENIZERS
    if not truncation_oracle:
        print(f"note: tokenizers {tokenizers.__version__} is not the pinned {PINNED_TOKENIZERS}: "
              "pair-truncation cases skipped", file=sys.stderr)
    for name in ["bert-base-uncased", "opt"] if truncation_oracle else []:
        tok = toks[name]
        for la, lb, max_len in [(40, 3, 16), (3, 40, 16), (30, 30, 17), (30, 31, 17), (31, 30, 18),
                                (5, 5, 64), (200, 1, 9), (1, 200, 9), (12, 12, 5)]:
            a, b = " ".join(words[:la]), " ".join(words[-lb:])
            # The expected ids are those of the Rust `tokenizers` truncation (LongestFirst); transformers
            # must agree with it at the pinned version.
            backend = copy.deepcopy(tok.backend_tokenizer)
            backend.enable_truncation(max_len, strategy="longest_first")
            enc = backend.encode(a, b, add_special_tokens=True)
            via_transformers = tok(a, b, truncation="longest_first", max_length=max_len)["input_ids"]
            if via_transformers != enc.ids:
                message = (f"transformers {transformers.__version__} truncates ({la}, {lb}) -> {max_len} for {name} "
                           f"as {via_transformers}, tokenizers as {enc.ids}")
                if transformers.__version__ == PINNED_TRANSFORMERS:
                    raise SystemExit(message)
                print("warning:", message, file=sys.stderr)
            cases.append({"name": f"truncation {la}/{lb} to {max_len} / {name}", "kind": "template",
                          "tokenizer": name, "a": a, "b": b, "max_length": max_len, "ids": enc.ids,
                          "type_ids": enc.type_ids if name == "bert-base-uncased" else None})

    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as fh:
        json.dump({"cases": cases, "hf_seconds": timings}, fh, ensure_ascii=False)
    print(f"wrote {len(cases)} cases to {out_dir}")


if __name__ == "__main__":
    main()
