#!/usr/bin/env python3
"""Tokenizer throughput: SEA's C++ tokenizers (sea-tokenize --bench) against Hugging Face's fast tokenizers on
the same text, in one run on one machine. Prints a markdown table (for docs/RESULTS.md) and writes JSON.

Workloads:
  * whole text: the Wikitext-2 raw valid split as the reference joins it, encoded in one call (what the
    LM data loader does; HF: tokenizer(text, add_special_tokens=False), single-threaded inside);
  * lines: the QNLI dev questions and sentences (10,926 short texts), one encode per text for SEA
    (single thread), one batched call for HF (its Rust side spreads a batch over all cores).
Median of R timed runs after one warm-up run, for both.

Usage: bench_tokenizers.py SEA_TOKENIZE_BINARY DATA_DIR [OUT_JSON] [--runs R]
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import hub_tokenizer, wikitext_join, wikitext_rows  # noqa: E402


def hf_time(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("data_dir")
    ap.add_argument("out_json", nargs="?")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    text = wikitext_join(wikitext_rows(os.path.join(args.data_dir, "wikitext-2-raw", "wiki.valid.raw")))[0]
    with open(os.path.join(args.data_dir, "glue", "QNLI", "dev.tsv"), encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter="\t", quotechar=None))[1:]
    lines = [t for r in rows for t in (r[1], r[2])]
    tmp = tempfile.mkdtemp(prefix="sea-bench-tok-")
    text_file, lines_file = os.path.join(tmp, "wikitext.txt"), os.path.join(tmp, "lines.txt")
    with open(text_file, "w", encoding="utf-8") as f:
        f.write(text)
    with open(lines_file, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    results = []
    for name in ["opt", "bert-base-uncased"]:
        hf = hub_tokenizer(name, args.data_dir)
        for mode, path in [("whole text", text_file), ("lines", lines_file)]:
            cmd = [args.binary, "--tokenizer", name, "--data-dir", args.data_dir, "--file", path,
                   "--bench", str(args.runs)] + (["--lines"] if mode == "lines" else [])
            sea = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            if mode == "whole text":
                hf_seconds = hf_time(lambda: hf(text, add_special_tokens=False), args.runs)
                n_bytes = len(text.encode("utf-8"))
            else:
                hf_seconds = hf_time(lambda: hf(lines, add_special_tokens=False), args.runs)
                n_bytes = sum(len(l.encode("utf-8")) for l in lines)
            assert n_bytes == sea["bytes"] or mode == "lines", (n_bytes, sea["bytes"])
            results.append({"tokenizer": name, "mode": mode, "bytes": n_bytes, "tokens": sea["tokens"],
                            "sea_mb_per_s": n_bytes / sea["median_seconds"] / 1e6,
                            "hf_mb_per_s": n_bytes / hf_seconds / 1e6,
                            "sea_seconds": sea["median_seconds"], "hf_seconds": hf_seconds})

    print(f"| tokenizer | workload | MB | SEA MB/s (1 thread) | HF fast MB/s | SEA / HF |")
    print("|---|---|---|---|---|---|")
    for r in results:
        hf_note = " (batch, all cores)" if r["mode"] == "lines" else ""
        print(f"| {r['tokenizer']} | {r['mode']} | {r['bytes'] / 1e6:.2f} | {r['sea_mb_per_s']:.1f} | "
              f"{r['hf_mb_per_s']:.1f}{hf_note} | {r['sea_mb_per_s'] / r['hf_mb_per_s']:.1f}x |")
    if args.out_json:
        with open(args.out_json, "w") as f:
            json.dump({"cpu_count": os.cpu_count(), "runs": args.runs, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
