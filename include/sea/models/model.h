// model.h — what every SEA model (OPT, BERT) takes and returns, and the base class the trainer and the
// apps hold. The families live in opt.h and bert.h; model_factory.h builds one from a config.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "sea/attention/attention.h"
#include "sea/util/json_config.h"

namespace sea::models {

struct ModelInputs {
  torch::Tensor input_ids;       // (N, T) int64
  torch::Tensor attention_mask;  // (N, T) int64 or bool, 1 = real token, 0 = padding; undefined = no padding
  torch::Tensor token_type_ids;  // (N, T) int64, BERT segment ids; undefined = all zeros
};

struct ForwardOptions {
  bool output_hidden_states = false;  // fill ModelOutput::hidden_states
  bool output_attentions = false;     // fill ModelOutput::attentions (per-layer artefacts)
  // Per-layer teacher signals for distillation; empty, or one entry per layer.
  std::vector<attention::TeacherSignals> teacher;
};

struct ModelOutput {
  torch::Tensor logits;  // OPT: (N, T, vocab_size); BERT classifier: (N, num_labels)
  // L+1 tensors (N, T, hidden_size): the embedding output fed to layer 0, then each layer's output.
  std::vector<torch::Tensor> hidden_states;
  // The representation the head reads: OPT after final_layer_norm/project_out (N, T, word_embed_proj_dim);
  // BERT the last layer's output (N, T, hidden_size).
  torch::Tensor last_hidden_state;
  std::vector<attention::AttentionArtefacts> attentions;  // one per layer when requested
  torch::Tensor attention_loss;  // sum of the per-layer distillation losses; undefined when none
};

class SelfAttentionImpl;  // self_attention.h

class ModelImpl : public torch::nn::Module {
 public:
  virtual ModelOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) = 0;
  virtual std::string family() const = 0;     // "opt" or "bert"
  virtual json config_json() const = 0;       // our config format, round-trips through model_factory
  virtual int64_t num_layers() const = 0;

  // Layer `layer`'s self-attention block, and the tensor that block reads when the layer's input is
  // `layer_input` (= ModelOutput::hidden_states[layer]; OPT pre-LN applies the layer's first LayerNorm).
  // A teacher uses the pair to recompute one layer's attention on demand (train/teacher.h).
  virtual SelfAttentionImpl& self_attention(int64_t layer) = 0;
  virtual torch::Tensor self_attention_input(int64_t layer, const torch::Tensor& layer_input) = 0;
};

using Model = std::shared_ptr<ModelImpl>;

// Adds one layer's results to `out` as `options` asks: its output hidden state, its attention artefacts,
// and its distillation loss (summed over layers). Shared by the model families' layer loops.
void record_layer(ModelOutput& out, const ForwardOptions& options, const torch::Tensor& hidden,
                  attention::AttentionOutputs&& attention);

// Checks the inputs shared by all families (ids 2-D int64 within [0, vocab), mask/type ids shaped like ids,
// T within max_positions) and returns the key-padding mask as (N, T) bool, or undefined when no position is
// padded. `family` names the model in errors.
torch::Tensor check_inputs(const ModelInputs& inputs, int64_t vocab_size, int64_t max_positions, const char* family);

}  // namespace sea::models
