#!/usr/bin/env python3
"""Hugging Face oracle for the C++ model parity tests (tests/parity/).

Builds tiny random OPT and BERT models with `transformers`, saves each as an HF checkpoint directory
(config.json + model.safetensors, one of them sharded), and next to it `io.safetensors` with the inputs
(including padding) and HF's outputs in fp32: logits, the embedding output, every layer's output and the
final hidden state. The C++ test loads the checkpoint with our reader and must reproduce the outputs.

Usage: make_hf_parity_fixtures.py OUT_DIR
Cases (one sub-directory each):
  opt_pre_ln     OPT, pre-LayerNorm (opt-125m/1.3b/2.7b style)
  opt_350m_style OPT, post-LayerNorm, word_embed_proj_dim < hidden_size (project_in / project_out)
  opt_sharded    opt_pre_ln's model saved as several shards + model.safetensors.index.json
  bert_cls       BertForSequenceClassification, 3 labels, sentence pairs (token_type_ids)
  bert_reg       BertForSequenceClassification, num_labels = 1 (regression, STS-B style)
  bert_base      BertModel (no classifier): the C++ side loads it with a fresh head, compares hidden states
Each case has two input sets: "nopad" (no attention mask) and "pad" (rows with left and right padding).
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel, OPTConfig, OPTForCausalLM

N, T = 3, 17


def perturb(model: torch.nn.Module, seed: int) -> None:
    """Moves every parameter away from its textbook init so that a swapped or missing tensor shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                p.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.15 * noise)


def inputs(vocab: int, seed: int, pad_id: int, with_types: bool):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (N, T), generator=g)
    mask = torch.ones(N, T, dtype=torch.long)
    mask[1, :5] = 0   # left padding (OPT style)
    mask[2, -4:] = 0  # right padding (BERT style)
    ids_pad = ids.masked_fill(mask == 0, pad_id)
    types = torch.zeros(N, T, dtype=torch.long)
    if with_types:
        types[:, T // 2:] = 1  # second segment of a pair
    return ids, ids_pad, mask, types


def run(model, ids, mask, types, layer_modules, first_layer):
    """Runs the model and records the input of layer 0 and every layer's output through hooks."""
    captured = {}

    def pre_hook(_mod, args, kwargs):
        captured["hidden_state.0"] = (args[0] if args else kwargs["hidden_states"]).detach().clone()

    def make_hook(i):
        def hook(_mod, _args, out):
            captured[f"hidden_state.{i + 1}"] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        return hook

    handles = [first_layer.register_forward_pre_hook(pre_hook, with_kwargs=True)]
    handles += [m.register_forward_hook(make_hook(i)) for i, m in enumerate(layer_modules)]
    kwargs = {"input_ids": ids}
    if mask is not None:
        kwargs["attention_mask"] = mask
    if types is not None:
        kwargs["token_type_ids"] = types
    with torch.no_grad():
        out = model(**kwargs)
    for h in handles:
        h.remove()
    return out, captured


def save_case(out_dir, name, model, layer_modules, vocab, pad_id, is_bert, seed, shard=False):
    case = os.path.join(out_dir, name)
    os.makedirs(case, exist_ok=True)
    model.eval()
    io = {}
    ids, ids_pad, mask, types = inputs(vocab, seed, pad_id, with_types=is_bert)
    for tag, (x, m) in {"nopad": (ids, None), "pad": (ids_pad, mask)}.items():
        out, hidden = run(model, x, m, types if is_bert else None, layer_modules, layer_modules[0])
        io[f"{tag}.input_ids"] = x
        io[f"{tag}.attention_mask"] = m if m is not None else torch.ones_like(x)
        if is_bert:
            io[f"{tag}.token_type_ids"] = types.clone()
        if hasattr(out, "logits"):
            io[f"{tag}.logits"] = out.logits
        if hasattr(out, "last_hidden_state") and out.last_hidden_state is not None:
            io[f"{tag}.last_hidden_state"] = out.last_hidden_state
        for k, v in hidden.items():
            io[f"{tag}.{k}"] = v
    io = {k: v.contiguous().clone() for k, v in io.items()}
    save_file(io, os.path.join(case, "io.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__})
    model.save_pretrained(os.path.join(case, "hf"), safe_serialization=True,
                          **({"max_shard_size": "100KB"} if shard else {}))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)

    opt_common = dict(vocab_size=1000, hidden_size=64, num_hidden_layers=3, ffn_dim=128, num_attention_heads=4,
                      max_position_embeddings=64, dropout=0.0, attention_dropout=0.0, pad_token_id=1,
                      attn_implementation="eager")
    opt = OPTForCausalLM(OPTConfig(word_embed_proj_dim=64, do_layer_norm_before=True, **opt_common))
    perturb(opt, 1)
    save_case(out_dir, "opt_pre_ln", opt, opt.model.decoder.layers, 1000, 1, False, seed=10)
    save_case(out_dir, "opt_sharded", opt, opt.model.decoder.layers, 1000, 1, False, seed=10, shard=True)

    opt350 = OPTForCausalLM(OPTConfig(word_embed_proj_dim=32, do_layer_norm_before=False, **opt_common))
    perturb(opt350, 2)
    save_case(out_dir, "opt_350m_style", opt350, opt350.model.decoder.layers, 1000, 1, False, seed=11)

    bert_common = dict(vocab_size=1000, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                       intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0,
                       attn_implementation="eager")
    bert = BertForSequenceClassification(BertConfig(num_labels=3, **bert_common))
    perturb(bert, 3)
    save_case(out_dir, "bert_cls", bert, bert.bert.encoder.layer, 1000, 0, True, seed=12)

    bert_reg = BertForSequenceClassification(BertConfig(num_labels=1, **bert_common))
    perturb(bert_reg, 4)
    save_case(out_dir, "bert_reg", bert_reg, bert_reg.bert.encoder.layer, 1000, 0, True, seed=13)

    bert_base = BertModel(BertConfig(**bert_common))
    perturb(bert_base, 5)
    save_case(out_dir, "bert_base", bert_base, bert_base.encoder.layer, 1000, 0, True, seed=14)

    with open(os.path.join(out_dir, "DONE.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__}, f)
    print(f"HF parity fixtures written to {out_dir} (transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
