#!/usr/bin/env python3
"""transformers reads the checkpoints our C++ writer produced (config.json + model.safetensors) and, on the
fixture inputs, reproduces HF's reference outputs. Together with test_hf_parity this shows that our format is
HF's format in both directions.

Usage: check_hf_loads_sea.py FIXTURE_DIR SAVED_DIR
"""
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

fixtures, saved = sys.argv[1], sys.argv[2]
failures = 0
for case in sorted(os.listdir(saved)):
    path = os.path.join(saved, case)
    io = load_file(os.path.join(fixtures, case, "io.safetensors"))
    is_bert = case.startswith("bert")
    cls = AutoModelForSequenceClassification if is_bert else AutoModelForCausalLM
    model = cls.from_pretrained(path, attn_implementation="eager").eval()
    kwargs = {"input_ids": io["pad.input_ids"], "attention_mask": io["pad.attention_mask"]}
    if is_bert:
        kwargs["token_type_ids"] = io["pad.token_type_ids"]
    with torch.no_grad():
        out = model(**kwargs, output_hidden_states=True)
    if "pad.logits" in io:
        ref, got = io["pad.logits"], out.logits
        if not is_bert:
            valid = io["pad.attention_mask"].bool().unsqueeze(-1)
            ref, got = ref * valid, got * valid
        err = ((got - ref).abs().max() / ref.abs().max()).item()
    else:  # bert_base: saved with a fresh head; compare the last layer's hidden state
        ref = io[f"pad.hidden_state.{model.config.num_hidden_layers}"]
        valid = io["pad.attention_mask"].bool().unsqueeze(-1)
        err = (((out.hidden_states[-1] - ref) * valid).abs().max() / ref.abs().max()).item()
    ok = err < 1e-4
    failures += not ok
    print(f"{case}: transformers on our checkpoint, max rel error {err:.2e} {'ok' if ok else 'FAIL'}")
sys.exit(1 if failures else 0)
