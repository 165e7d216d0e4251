// attention.h — the Attention interface: the one seam every attention method plugs into.
//
// A model projects hidden states to q, k, v, splits heads, and hands them to an AttentionMethod; it never
// branches on which method that is (registry.h builds it from the config). OPT (causal) and BERT
// (bidirectional, key padding) share the same methods; causality is a flag of the call.
//
// Methods: none (dense, this issue); performer, reformer, perlin (SEA) plug in behind the same interface.
#pragma once

#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>

namespace sea::attention {

// Per-layer signals from a dense teacher, for distillation (SEA_SPEC.md §2.1, §3.2). Each is computed on
// demand (the teacher may recompute its layer lazily so that T×T tensors are not all alive at once);
// an empty function means "not available".
struct TeacherSignals {
  std::function<torch::Tensor()> scores;   // (N, H, T, T) pre-softmax scores, mask already added
  std::function<torch::Tensor()> context;  // (N, H, T, D) attention output before out_proj
  bool any() const { return static_cast<bool>(scores) || static_cast<bool>(context); }
};

struct AttentionInputs {
  torch::Tensor q;  // (N, H, T, D)
  torch::Tensor k;  // (N, H, T, D)
  torch::Tensor v;  // (N, H, T, D)
  // Scores are (q · k) * scale. OPT passes q already multiplied by D^-1/2 and scale = 1 (as HF and the
  // SEA reference do, so feature maps see the same q); BERT passes raw q and scale = D^-1/2.
  double scale = 1.0;
  bool causal = false;
  // (N, T) bool, true = real token. Undefined = no padding; pass undefined rather than an all-true mask so
  // that methods can take their unpadded fast paths (models::check_inputs does).
  torch::Tensor key_padding_mask;
  TeacherSignals teacher;          // optional distillation signals
  bool return_artefacts = false;   // fill AttentionOutputs::artefacts for inspection
};

// What a user can inspect. Fields a method does not produce stay undefined.
struct AttentionArtefacts {
  torch::Tensor probs;                // (N, H, T, T) dense probabilities (method none)
  torch::Tensor estimated_attention;  // (N, H, T, K) SEA's compressed estimate
  torch::Tensor sparse_mask;          // SEA's selected keys (layout documented by the method)
  torch::Tensor sparse_probs;         // SEA's probabilities on the selected keys
};

struct AttentionOutputs {
  torch::Tensor context;  // (N, H, T, D); rows of queries that see no key at all are zero
  torch::Tensor loss;     // scalar per-layer distillation loss; undefined when no teacher signals
  AttentionArtefacts artefacts;
};

// Base of every method. Methods with parameters register them as usual; the model holds the method as its
// submodule "method", so its parameters appear as <layer>.self_attn.method.<name> in state dicts.
class AttentionMethodImpl : public torch::nn::Module {
 public:
  virtual AttentionOutputs forward(const AttentionInputs& inputs) = 0;
  virtual std::string name() const = 0;
  // Called once per optimizer step by the trainer (through notify_optimizer_step); Performer-based methods
  // count steps here to redraw their random features. Returns true when it redrew them.
  virtual bool on_optimizer_step() { return false; }
  // True when forward() turns TeacherSignals into a per-layer loss (SEA); a trainer skips computing the
  // teacher's per-layer signals for methods that would ignore them.
  virtual bool uses_teacher_signals() const { return false; }
};

using AttentionMethod = std::shared_ptr<AttentionMethodImpl>;

// Calls f(method) for every attention method of type M inside `root` (a model, or a method itself); returns
// how many it found.
template <typename M, typename F>
int64_t for_each_attention_method(torch::nn::Module& root, F&& f) {
  int64_t found = 0;
  if (auto* self = dynamic_cast<M*>(&root)) f(*self), ++found;
  for (const auto& m : root.modules(/*include_self=*/false)) {
    if (auto* method = dynamic_cast<M*>(m.get())) f(*method), ++found;
  }
  return found;
}

// Calls on_optimizer_step() of every attention method inside `root`; true when any redrew its features.
bool notify_optimizer_step(torch::nn::Module& root);

}  // namespace sea::attention
