// layers_common.h — small pieces the model families share: activation by name, HF-style weight init.
#pragma once

#include <torch/nn/module.h>

#include <string>

namespace sea::models {

// Activations as named in HF configs: relu, gelu (erf), gelu_new / gelu_pytorch_tanh (tanh approximation),
// silu. check_activation() throws sea::Error for any other name; `where` names the config in the message.
void check_activation(const std::string& name, const std::string& where);
torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x);

// HF's _init_weights: Linear and Embedding weights ~ N(0, std), biases 0, LayerNorm weight 1 / bias 0,
// the embedding row of padding_idx 0. Applied to every submodule of `root`.
void init_weights_like_hf(torch::nn::Module& root, double std);

}  // namespace sea::models
