#!/usr/bin/env python3
"""torch.nn.functional oracle for the model-level distillation loss terms (tests/unit/test_distillation_loss.cpp,
src/train/distillation_loss.cpp; SEA_SPEC.md §3.2).

Builds cases from torch's seeded generator and records, for each, the inputs and what the reference's
formula returns, computed with torch.nn.functional the way the reference code does it:
  lm_task          F.cross_entropy(logits[:, :-1] rows, input_ids[:, 1:]) (mean); with an attention mask the
                   padded targets are set to -100 and ignored (ignore_index=-100), as HF's labels are
  classification   F.cross_entropy(logits (N, C), labels) for C > 1; F.mse_loss(logits[:, 0], labels) for C = 1
  hidden_kd        mean over the L+1 hidden states of F.mse_loss(student[l], teacher[l])
  logit_kd         F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1), log_target=True,
                   reduction='batchmean') over rows (..., C) -> (rows, C); F.mse_loss for C = 1
Each case stores its inputs twice, float64 ("<case>/<input>") and rounded to float32 ("<case>/<input>.f32";
integer inputs once), and these float64 scalars:
  <case>/expected         the formula in float64 on the float64 inputs (the exact value)
  <case>/expected_f32in   the formula in float64 on the float32-rounded inputs (what an fp32 implementation
                          can reach: it only adds its own arithmetic rounding)
  <case>/scale            the size of the quantities the formula adds before they cancel: |expected|, except
                          for the KL, a difference of cross-entropy and entropy, where it is the batchmean of
                          sum_c p_t (|log p_t| + |log p_s|); fp32 rounding error is relative to this
  <case>/grad.<input>     (some cases) d expected / d <input> (logits, student), by autograd in float64
Everything goes into OUT_DIR/losses.safetensors; OUT_DIR/manifest.json lists the cases and their inputs.

Usage: make_loss_fixtures.py OUT_DIR
"""
import json
import os
import sys

import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

g = torch.Generator().manual_seed(20240502)
tensors = {}
cases = []


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def uniform(*shape, bound):
    return (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * bound


def rounded(x):
    """x rounded to float32 and back: the values an fp32 implementation actually sees."""
    return x.float().double() if x.is_floating_point() else x


def add_case(name, kind, inputs, formula, grad_of=(), scale=None, **extra):
    """inputs: {input name: tensor}; formula(**inputs) -> scalar; grad_of: the inputs whose gradients are kept;
    scale(**inputs) -> the cancellation scale (default |expected|)."""
    for key, value in inputs.items():
        tensors[f"{name}/{key}"] = value.contiguous()
        if value.is_floating_point():
            tensors[f"{name}/{key}.f32"] = value.float().contiguous()
    exact_inputs = dict(inputs)
    for key in grad_of:
        exact_inputs[key] = inputs[key].clone().requires_grad_(True)
    expected = formula(**exact_inputs)
    assert expected.dtype == torch.float64 and expected.dim() == 0 and torch.isfinite(expected), name
    if grad_of:
        expected.backward()
        for key in grad_of:
            tensors[f"{name}/grad.{key}"] = exact_inputs[key].grad.contiguous()
    tensors[f"{name}/expected"] = expected.detach()
    with torch.no_grad():
        tensors[f"{name}/expected_f32in"] = formula(**{k: rounded(v) for k, v in inputs.items()}).detach()
        tensors[f"{name}/scale"] = scale(**inputs) if scale else expected.detach().abs()
    cases.append({"name": name, "kind": kind, "inputs": sorted(inputs), "grad": list(grad_of),
                  "expected": tensors[f"{name}/expected"].item(), **extra})


# ---- the reference formulas ----
def lm_task(logits, input_ids, attention_mask=None):
    labels = input_ids.clone()
    if attention_mask is not None:
        labels[attention_mask == 0] = -100
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


def classification(logits, labels):
    if logits.shape[1] == 1:
        return F.mse_loss(logits[:, 0], labels)
    return F.cross_entropy(logits, labels)


def logit_kd(student, teacher):
    C = student.shape[-1]
    s, t = student.reshape(-1, C), teacher.reshape(-1, C)
    if C == 1:
        return F.mse_loss(s, t)
    return F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), log_target=True, reduction="batchmean")


def kl_scale(student, teacher):
    C = student.shape[-1]
    log_p_s, log_p_t = F.log_softmax(student.reshape(-1, C), -1), F.log_softmax(teacher.reshape(-1, C), -1)
    return (log_p_t.exp() * (log_p_t.abs() + log_p_s.abs())).sum() / log_p_s.shape[0]


def hidden_kd_of(layers):
    def formula(**inputs):
        terms = [F.mse_loss(inputs[f"student.{l}"], inputs[f"teacher.{l}"]) for l in range(layers)]
        return torch.stack(terms).mean()
    return formula


# ---- LM task loss (OPT) ----
def token_ids(n, t, vocab):
    return torch.randint(0, vocab, (n, t), generator=g)


N, T, V = 2, 7, 11
add_case("lm_basic", "lm_task", {"logits": randn(N, T, V, scale=2.0), "input_ids": token_ids(N, T, V)},
         lm_task, grad_of=["logits"])
mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]])  # row 1 right-padded
add_case("lm_right_padded", "lm_task",
         {"logits": randn(N, T, V, scale=2.0), "input_ids": token_ids(N, T, V), "attention_mask": mask},
         lm_task, grad_of=["logits"])
mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]])  # row 0 left-, row 1 right-padded
add_case("lm_left_and_right_padded", "lm_task",
         {"logits": randn(N, T, V, scale=3.0), "input_ids": token_ids(N, T, V), "attention_mask": mask}, lm_task)
# T = 2: a single target per sequence.
add_case("lm_t2", "lm_task", {"logits": randn(3, 2, V, scale=2.0), "input_ids": token_ids(3, 2, V)}, lm_task)
add_case("lm_t2_masked", "lm_task",
         {"logits": randn(3, 2, V, scale=2.0), "input_ids": token_ids(3, 2, V),
          "attention_mask": torch.tensor([[1, 1], [1, 0], [1, 1]])}, lm_task)

# ---- classification task loss (BERT) ----
add_case("cls_ce", "classification",
         {"logits": randn(5, 3, scale=2.0), "labels": torch.randint(0, 3, (5,), generator=g)},
         classification, grad_of=["logits"])
add_case("cls_ce_binary", "classification",
         {"logits": randn(8, 2, scale=4.0), "labels": torch.randint(0, 2, (8,), generator=g)}, classification)
# Regression (STS-B): one output, gold scores in [0, 5].
add_case("cls_mse", "classification",
         {"logits": uniform(5, 1, bound=2.5) + 2.5, "labels": uniform(5, bound=2.5) + 2.5},
         classification, grad_of=["logits"])

# ---- hidden-state KD: L+1 = 4 hidden states (N, T, E) ----
L1, N, T, E = 4, 2, 5, 6
inputs = {}
for l in range(L1):
    inputs[f"teacher.{l}"] = randn(N, T, E, scale=1.5)
    inputs[f"student.{l}"] = inputs[f"teacher.{l}"] + randn(N, T, E, scale=0.5 + 0.25 * l)
add_case("hidden_kd", "hidden_kd", inputs, hidden_kd_of(L1), grad_of=[f"student.{l}" for l in range(L1)],
         layers=L1)
add_case("hidden_kd_one_layer", "hidden_kd", {"teacher.0": randn(1, 3, 4), "student.0": randn(1, 3, 4)},
         hidden_kd_of(1), layers=1)

# ---- logit KD ----
add_case("kd_lm", "logit_kd", {"student": randn(2, 7, 11, scale=2.0), "teacher": randn(2, 7, 11, scale=2.0)},
         logit_kd, grad_of=["student"], scale=kl_scale)
add_case("kd_cls", "logit_kd", {"student": randn(5, 3, scale=2.0), "teacher": randn(5, 3, scale=2.0)},
         logit_kd, grad_of=["student"], scale=kl_scale)
# A student close to its teacher: KL ≈ 6e-4, a small difference of O(1) terms.
teacher = randn(4, 6, 3)
add_case("kd_cls_close", "logit_kd", {"student": teacher + randn(4, 6, 3, scale=0.05), "teacher": teacher},
         logit_kd, scale=kl_scale)
# Regression: one output, MSE instead of the (identically zero) KL.
add_case("kd_regression", "logit_kd", {"student": randn(6, 1, scale=2.0), "teacher": randn(6, 1, scale=2.0)},
         logit_kd, grad_of=["student"])


def large(*shape, bound):
    """Uniform in [-bound, bound] with every row holding both +bound and -bound: softmax spans exp(-2·bound)."""
    x = uniform(*shape, bound=bound)
    x[..., 0], x[..., -1] = bound, -bound
    return x


# ±50: probabilities down to e^-100 ≈ 4e-44, below fp32's smallest normal (1.2e-38). The teacher is flipped so
# that where it is most confident the student gives e^-100.
add_case("kd_large_50", "logit_kd",
         {"student": large(2, 5, 13, bound=50.0), "teacher": large(2, 5, 13, bound=50.0).flip(-1)},
         logit_kd, grad_of=["student"], scale=kl_scale)
# ±80: e^-160 underflows to exactly 0 in fp32 (a naive softmax then log gives -inf, and 0·-inf = NaN).
add_case("kd_large_80", "logit_kd",
         {"student": large(3, 17, bound=80.0), "teacher": large(3, 17, bound=80.0).flip(-1)},
         logit_kd, scale=kl_scale)

os.makedirs(sys.argv[1], exist_ok=True)
save_file(tensors, os.path.join(sys.argv[1], "losses.safetensors"), metadata={"torch": torch.__version__})
with open(os.path.join(sys.argv[1], "manifest.json"), "w") as f:
    json.dump({"torch": torch.__version__, "safetensors": safetensors.__version__, "file": "losses.safetensors",
               "cases": cases}, f, indent=1, allow_nan=False)
print(f"wrote {len(cases)} loss cases ({len(tensors)} tensors) to {sys.argv[1]}")
