// bert.h — BERT encoder + pooler + sequence classification/regression head (HF
// BertForSequenceClassification), attention behind the Attention interface, bidirectional with key padding.
//
// Our parameter names are flatter than HF's (hf_bert_adapter.h maps them):
//   embeddings.{word_embeddings, position_embeddings, token_type_embeddings, layer_norm}
//   layers.<i>.{self_attn.{q,k,v,out}_proj, attn_layer_norm, fc1, fc2, ffn_layer_norm}
//   pooler, classifier
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "sea/models/bert_config.h"
#include "sea/models/model.h"
#include "sea/models/self_attention.h"

namespace sea::models {

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertConfig& config);
  // ids, token_type_ids: (N, T) -> (N, T, E); token_type_ids may be undefined (zeros).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& token_type_ids);

  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(BertEmbeddings);

class BertLayerImpl : public torch::nn::Module {
 public:
  // layer_index: position in the stack (seeds per-layer random state such as Performer projections).
  BertLayerImpl(const BertConfig& config, int64_t layer_index);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                        const attention::TeacherSignals& teacher, bool return_artefacts,
                        attention::AttentionOutputs* attention);

  SelfAttention self_attn{nullptr};
  torch::nn::LayerNorm attn_layer_norm{nullptr}, ffn_layer_norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertLayer);

class BertForSequenceClassificationImpl : public ModelImpl {
 public:
  explicit BertForSequenceClassificationImpl(const BertConfig& config);

  // logits: (N, num_labels); with num_labels = 1 it is a regression score.
  ModelOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) override;
  std::string family() const override { return "bert"; }
  json config_json() const override { return config_.to_json(); }
  int64_t num_layers() const override { return config_.num_hidden_layers; }
  SelfAttentionImpl& self_attention(int64_t layer) override;
  torch::Tensor self_attention_input(int64_t layer, const torch::Tensor& layer_input) override;
  const BertConfig& config() const { return config_; }

  BertEmbeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear pooler{nullptr}, classifier{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertForSequenceClassification);

}  // namespace sea::models
