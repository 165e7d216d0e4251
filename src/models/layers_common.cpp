// layers_common.cpp — activations and weight init shared by OPT and BERT.
#include "sea/models/layers_common.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "sea/util/error.h"

namespace sea::models {

void check_activation(const std::string& name, const std::string& where) {
  SEA_CHECK(name == "relu" || name == "gelu" || name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "silu",
            where, ": unsupported activation '", name, "' (supported: relu, gelu, gelu_new, gelu_pytorch_tanh, silu)");
}

torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x) {
  if (name == "relu") return at::relu(x);
  if (name == "gelu") return at::gelu(x, "none");
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (name == "silu") return at::silu(x);
  sea::fail("unsupported activation '", name, "'");
}

void init_weights_like_hf(torch::nn::Module& root, double std) {
  torch::NoGradGuard no_grad;
  for (auto& module : root.modules(/*include_self=*/false)) {  // callable from a constructor
    if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* emb = module->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
      if (auto pad = emb->options.padding_idx()) emb->weight[*pad].zero_();
    } else if (auto* ln = module->as<torch::nn::LayerNorm>()) {
      if (ln->weight.defined()) ln->weight.fill_(1.0);
      if (ln->bias.defined()) ln->bias.zero_();
    }
  }
}

}  // namespace sea::models
