#!/usr/bin/env python3
"""Hugging Face oracle for our model configs (tests/unit/test_model_configs.cpp).

For every configs/models/*.json, builds the matching transformers model (OPTForCausalLM or
BertForSequenceClassification) on the meta device — no memory, so opt-2.7b costs nothing — and records
  * the full parameter count,
  * the names and shapes of every parameter of the same architecture cut to 2 layers.
The C++ test builds our model with 2 layers, maps its names to HF names and requires the same set and shapes,
and derives the full-depth count from it. Our config keys are HF's keys, so the config converts 1:1.

Usage: make_hf_config_fixtures.py CONFIG_DIR OUT_JSON
"""
import glob
import json
import os
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, OPTConfig, OPTForCausalLM


def build(cfg: dict, layers=None):
    cfg = {k: v for k, v in cfg.items() if not k.startswith("_") and k not in ("family", "attention")}
    if layers is not None:
        cfg["num_hidden_layers"] = layers
    with torch.device("meta"):
        if "remove_final_layer_norm" in cfg:
            cfg["_remove_final_layer_norm"] = cfg.pop("remove_final_layer_norm")
        return OPTForCausalLM(OPTConfig(**cfg)) if family == "opt" else BertForSequenceClassification(BertConfig(**cfg))


out = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    with open(path) as f:
        cfg = json.load(f)
    family = cfg["family"]
    full = build(cfg)
    # HF ties lm_head to embed_tokens: count each tensor once, as our model does.
    count = sum(p.numel() for p in full.parameters())
    small = build(cfg, layers=2)
    names = {n: list(p.shape) for n, p in small.state_dict().items()
             if not n.endswith("position_ids") and not n.endswith("token_type_ids")}
    if family == "opt" and cfg.get("tie_word_embeddings", True):
        names.pop("lm_head.weight", None)
    out[os.path.basename(path)[:-5]] = {"family": family, "parameters": count, "two_layer_tensors": names}
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1)
print(f"wrote {len(out)} config fixtures to {sys.argv[2]}")
