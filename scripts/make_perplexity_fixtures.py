#!/usr/bin/env python3
"""Hugging Face oracle for our perplexity evaluation (tests/data/test_perplexity_parity.cpp).

Loads the tiny random OPT that make_hf_parity_fixtures.py saved (opt_pre_ln/hf) with transformers and
computes, on a fixed pseudo-random token stream:
  * the reference's perplexity (SEA_SPEC.md §5.1): non-overlapping T-token windows, remainder dropped,
    each window's HF loss (mean over its T-1 shifted targets), ppl = exp(mean of the window losses);
  * the sliding-window perplexity of Hugging Face's perplexity guide (docs: "Perplexity of fixed-length
    models"): windows every `stride` tokens, labels of the tokens already scored set to -100. The guide
    weights each window's mean loss by (trg_len - 1); we weight it by the number of targets the loss really
    averaged, so that every token counts once and the result is the exact token-level perplexity.

Usage: make_perplexity_fixtures.py HF_PARITY_DIR OUT_JSON
"""
import json
import math
import os
import sys

import torch
from transformers import OPTForCausalLM


def reference_ppl(model, ids, T):
    losses = []
    for i in range(ids.shape[1] // T):
        window = ids[:, i * T:(i + 1) * T]
        losses.append(model(window, labels=window).loss.item())
    return math.exp(sum(losses) / len(losses)), len(losses)


def sliding_ppl(model, ids, T, stride):
    seq_len = ids.shape[1]
    nll_sum, n_tokens, prev_end, windows = 0.0, 0, 0, 0
    for begin in range(0, seq_len, stride):
        end = min(begin + T, seq_len)
        trg_len = end - prev_end
        input_ids = ids[:, begin:end]
        target_ids = input_ids.clone()
        target_ids[:, :-trg_len] = -100
        n_scored = int((target_ids[:, 1:] != -100).sum())
        if n_scored > 0:
            nll_sum += model(input_ids, labels=target_ids).loss.item() * n_scored
            n_tokens += n_scored
            windows += 1
        prev_end = end
        if end == seq_len:
            break
    return math.exp(nll_sum / n_tokens), windows, n_tokens


def main():
    parity_dir, out_path = sys.argv[1], sys.argv[2]
    model_dir = os.path.join(parity_dir, "opt_pre_ln", "hf")
    model = OPTForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(4, vocab, (1, 301), generator=g)  # odd length: the last window is partial
    cases = []
    with torch.no_grad():
        for T in (64, 32, 17):
            ppl, windows = reference_ppl(model, ids, T)
            cases.append({"window": T, "stride": 0, "perplexity": ppl, "windows": windows})
        for T, stride in ((64, 16), (64, 63), (32, 8), (17, 5), (64, 1)):
            ppl, windows, n_tokens = sliding_ppl(model, ids, T, stride)
            cases.append({"window": T, "stride": stride, "perplexity": ppl, "windows": windows,
                          "scored_tokens": n_tokens})
    with open(out_path, "w") as fh:
        json.dump({"model_dir": model_dir, "tokens": ids[0].tolist(), "cases": cases}, fh, indent=1)
    print(f"wrote {len(cases)} perplexity cases to {out_path}")


if __name__ == "__main__":
    main()
