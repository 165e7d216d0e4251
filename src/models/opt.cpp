// opt.cpp — OPT causal LM (see opt.h). Mirrors HF modeling_opt.py step by step.
#include "sea/models/opt.h"

#include "sea/models/context_extension.h"

#include <ATen/ATen.h>

#include "sea/models/layers_common.h"

namespace sea::models {
OPTDecoderLayerImpl::OPTDecoderLayerImpl(const OPTConfig& c, int64_t layer_index) : config_(c) {
  SelfAttentionOptions a;
  a.layer_index = layer_index;
  a.hidden_size = c.hidden_size;
  a.num_heads = c.num_attention_heads;
  a.bias = c.enable_bias;
  a.prescale_q = true;
  a.causal = true;
  a.max_positions = c.max_position_embeddings;
  a.attention_dropout = c.attention_dropout;
  a.attention = c.attention;
  self_attn = register_module("self_attn", SelfAttention(a));
  auto ln = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).elementwise_affine(c.layer_norm_elementwise_affine));
  };
  self_attn_layer_norm = register_module("self_attn_layer_norm", ln());
  fc1 = register_module("fc1", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.ffn_dim).bias(c.enable_bias)));
  fc2 = register_module("fc2", torch::nn::Linear(torch::nn::LinearOptions(c.ffn_dim, c.hidden_size).bias(c.enable_bias)));
  final_layer_norm = register_module("final_layer_norm", ln());
}

torch::Tensor OPTDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                                           const attention::TeacherSignals& teacher, bool return_artefacts,
                                           attention::AttentionOutputs* attention) {
  const bool pre_ln = config_.do_layer_norm_before;
  auto drop = [&](const torch::Tensor& t) { return at::dropout(t, config_.dropout, is_training()); };

  torch::Tensor h = pre_ln ? self_attn_layer_norm->forward(x) : x;
  SelfAttentionResult a = self_attn->forward(h, key_padding_mask, teacher, return_artefacts);
  h = x + drop(a.hidden);
  if (!pre_ln) h = self_attn_layer_norm->forward(h);

  torch::Tensor residual = h;
  torch::Tensor f = pre_ln ? final_layer_norm->forward(h) : h;
  f = fc2->forward(apply_activation(config_.activation_function, fc1->forward(f)));
  h = residual + drop(f);
  if (!pre_ln) h = final_layer_norm->forward(h);

  if (attention) *attention = std::move(a.attention);
  return h;
}

void OPTForCausalLMImpl::extend_positions(int64_t max_positions) {
  torch::NoGradGuard no_grad;
  const at::Tensor& w = embed_positions->weight;  // (P + 2, E)
  at::Tensor grown = at::cat({w.slice(0, 0, kPositionOffset),
                              interpolate_positions_linear(w.slice(0, kPositionOffset), max_positions)},
                             0);
  embed_positions->weight.set_data(grown.contiguous());
  embed_positions->options.num_embeddings(max_positions + kPositionOffset);
  config_.max_position_embeddings = max_positions;
}

OPTForCausalLMImpl::OPTForCausalLMImpl(const OPTConfig& c) : config_(c) {
  c.validate("OPT config");
  embed_tokens = register_module(
      "embed_tokens", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.word_embed_proj_dim).padding_idx(c.pad_token_id)));
  embed_positions = register_module(
      "embed_positions", torch::nn::Embedding(c.max_position_embeddings + kPositionOffset, c.hidden_size));
  if (c.word_embed_proj_dim != c.hidden_size) {
    project_in = register_module("project_in", torch::nn::Linear(torch::nn::LinearOptions(c.word_embed_proj_dim, c.hidden_size).bias(false)));
  }
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(OPTDecoderLayer(c, i));
  if (c.has_final_layer_norm()) {
    final_layer_norm = register_module(
        "final_layer_norm",
        torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).elementwise_affine(c.layer_norm_elementwise_affine)));
  }
  if (c.word_embed_proj_dim != c.hidden_size) {
    project_out = register_module("project_out", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.word_embed_proj_dim).bias(false)));
  }
  if (!c.tie_word_embeddings) {
    lm_head_weight = register_parameter("lm_head_weight", at::empty({c.vocab_size, c.word_embed_proj_dim}));
  }
  init_weights_like_hf(*this, c.init_std);
  if (lm_head_weight.defined()) {
    torch::NoGradGuard g;
    lm_head_weight.normal_(0.0, c.init_std);
  }
}

ModelOutput OPTForCausalLMImpl::forward(const ModelInputs& in, const ForwardOptions& opt) {
  torch::Tensor key_padding = check_inputs(in, config_.vocab_size, config_.max_position_embeddings, "OPT");
  SEA_CHECK(opt.teacher.empty() || static_cast<int64_t>(opt.teacher.size()) == config_.num_hidden_layers,
            "OPT: teacher signals given for ", opt.teacher.size(), " layers, the model has ", config_.num_hidden_layers);
  const auto& ids = in.input_ids;

  // Positions count real tokens only (left padding shifts them), padding positions get index 1, as HF.
  torch::Tensor mask = in.attention_mask.defined() ? in.attention_mask.to(at::kLong) : at::ones_like(ids);
  torch::Tensor positions = (at::cumsum(mask, 1) * mask - 1) + kPositionOffset;  // (N, T)

  torch::Tensor h = embed_tokens->forward(ids);  // (N, T, word_embed_proj_dim)
  if (project_in) h = project_in->forward(h);
  h = h + embed_positions->forward(positions);  // (N, T, E)

  ModelOutput out;
  if (opt.output_hidden_states) out.hidden_states.push_back(h);
  static const attention::TeacherSignals kNoTeacher;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    attention::AttentionOutputs a;
    h = layers->ptr<OPTDecoderLayerImpl>(i)->forward(h, key_padding, opt.teacher.empty() ? kNoTeacher : opt.teacher[i],
                                                     opt.output_attentions, &a);
    record_layer(out, opt, h, std::move(a));
  }
  if (final_layer_norm) h = final_layer_norm->forward(h);
  if (project_out) h = project_out->forward(h);
  out.last_hidden_state = h;
  out.logits = at::linear(h, lm_head_weight.defined() ? lm_head_weight : embed_tokens->weight);
  return out;
}

SelfAttentionImpl& OPTForCausalLMImpl::self_attention(int64_t layer) {
  SEA_CHECK(layer >= 0 && layer < config_.num_hidden_layers, "OPT: layer ", layer, " out of range [0, ",
            config_.num_hidden_layers, ")");
  return *layers[layer]->as<OPTDecoderLayerImpl>()->self_attn;
}

torch::Tensor OPTForCausalLMImpl::self_attention_input(int64_t layer, const torch::Tensor& layer_input) {
  auto* l = layers[layer]->as<OPTDecoderLayerImpl>();
  return config_.do_layer_norm_before ? l->self_attn_layer_norm->forward(layer_input) : layer_input;
}

}  // namespace sea::models
