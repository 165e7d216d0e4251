// bert.cpp — BERT for sequence classification (see bert.h). Mirrors HF modeling_bert.py.
#include "sea/models/bert.h"

#include <ATen/ATen.h>

#include "sea/models/layers_common.h"

namespace sea::models {
namespace {
torch::nn::LayerNorm make_layer_norm(const BertConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}
}  // namespace

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& c) : dropout_(c.hidden_dropout_prob) {
  word_embeddings = register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  token_type_embeddings = register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
  layer_norm = register_module("layer_norm", make_layer_norm(c));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& ids, const torch::Tensor& token_type_ids) {
  const int64_t T = ids.size(1);
  torch::Tensor types = token_type_ids.defined() ? token_type_ids : at::zeros_like(ids);
  const int64_t type_vocab = token_type_embeddings->options.num_embeddings();
  SEA_CHECK(types.min().item<int64_t>() >= 0 && types.max().item<int64_t>() < type_vocab,
            "BERT: token_type_ids must be in [0, ", type_vocab, ")");
  torch::Tensor positions = at::arange(T, ids.options()).unsqueeze(0);  // (1, T)
  torch::Tensor h = word_embeddings->forward(ids) + token_type_embeddings->forward(types) +
                    position_embeddings->forward(positions);
  return at::dropout(layer_norm->forward(h), dropout_, is_training());
}

BertLayerImpl::BertLayerImpl(const BertConfig& c, int64_t layer_index) : config_(c) {
  SelfAttentionOptions a;
  a.layer_index = layer_index;
  a.hidden_size = c.hidden_size;
  a.num_heads = c.num_attention_heads;
  a.bias = true;
  a.prescale_q = false;
  a.causal = false;
  a.max_positions = c.max_position_embeddings;
  a.attention_dropout = c.attention_probs_dropout_prob;
  a.attention = c.attention;
  self_attn = register_module("self_attn", SelfAttention(a));
  attn_layer_norm = register_module("attn_layer_norm", make_layer_norm(c));
  fc1 = register_module("fc1", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  fc2 = register_module("fc2", torch::nn::Linear(c.intermediate_size, c.hidden_size));
  ffn_layer_norm = register_module("ffn_layer_norm", make_layer_norm(c));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                                     const attention::TeacherSignals& teacher, bool return_artefacts,
                                     attention::AttentionOutputs* attention) {
  const double p = config_.hidden_dropout_prob;
  SelfAttentionResult a = self_attn->forward(x, key_padding_mask, teacher, return_artefacts);
  torch::Tensor h = attn_layer_norm->forward(at::dropout(a.hidden, p, is_training()) + x);
  torch::Tensor f = fc2->forward(apply_activation(config_.hidden_act, fc1->forward(h)));
  h = ffn_layer_norm->forward(at::dropout(f, p, is_training()) + h);
  if (attention) *attention = std::move(a.attention);
  return h;
}

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(const BertConfig& c) : config_(c) {
  c.validate("BERT config");
  embeddings = register_module("embeddings", BertEmbeddings(c));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(BertLayer(c, i));
  pooler = register_module("pooler", torch::nn::Linear(c.hidden_size, c.hidden_size));
  classifier = register_module("classifier", torch::nn::Linear(c.hidden_size, c.num_labels));
  init_weights_like_hf(*this, c.initializer_range);
}

ModelOutput BertForSequenceClassificationImpl::forward(const ModelInputs& in, const ForwardOptions& opt) {
  torch::Tensor key_padding = check_inputs(in, config_.vocab_size, config_.max_position_embeddings, "BERT");
  SEA_CHECK(opt.teacher.empty() || static_cast<int64_t>(opt.teacher.size()) == config_.num_hidden_layers,
            "BERT: teacher signals given for ", opt.teacher.size(), " layers, the model has ", config_.num_hidden_layers);

  torch::Tensor h = embeddings->forward(in.input_ids, in.token_type_ids);  // (N, T, E)
  ModelOutput out;
  if (opt.output_hidden_states) out.hidden_states.push_back(h);
  static const attention::TeacherSignals kNoTeacher;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    attention::AttentionOutputs a;
    h = layers->ptr<BertLayerImpl>(i)->forward(h, key_padding, opt.teacher.empty() ? kNoTeacher : opt.teacher[i],
                                               opt.output_attentions, &a);
    record_layer(out, opt, h, std::move(a));
  }
  out.last_hidden_state = h;
  // The pooler reads the first token ([CLS]) of each sequence.
  torch::Tensor pooled = at::tanh(pooler->forward(h.select(1, 0)));  // (N, E)
  out.logits = classifier->forward(at::dropout(pooled, config_.effective_classifier_dropout(), is_training()));
  return out;
}

SelfAttentionImpl& BertForSequenceClassificationImpl::self_attention(int64_t layer) {
  SEA_CHECK(layer >= 0 && layer < config_.num_hidden_layers, "BERT: layer ", layer, " out of range [0, ",
            config_.num_hidden_layers, ")");
  return *layers[layer]->as<BertLayerImpl>()->self_attn;
}

torch::Tensor BertForSequenceClassificationImpl::self_attention_input(int64_t /*layer*/,
                                                                       const torch::Tensor& layer_input) {
  return layer_input;  // post-LN: the block reads the layer's input directly
}

}  // namespace sea::models
