// sea_decoder.h — SEA's CNN decoders f_dec: from the row decoder's (N, H·c_h, T, K/c_s) "image" (rows =
// queries, width = compressed keys, channels = heads × c_h) to the estimated-attention logits (N, H, T, K).
// SEA_SPEC.md §2.5. Used only by sea_attention.cpp.
//
// Causal (OPT), c_s = 4, c_h = 2:
//   LayerNorm(K/4) → CausalConv2d 3×3 dil 2 → ReLU → CausalConv2d 3×3 dil 2 → ReLU → nearest ×4 in width
//   → CausalConv2d 1×1 (width pad 1, 2H→H) → area-resize width K+2 → K → LayerNorm(K)
//   Row t sees input rows t, t−2, …, t−8 only.
// Bidirectional (BERT), c_s = 2, c_h = 4:
//   Conv2d 3×3 stride (2,1) → ReLU → Conv2d 3×3 → ReLU → nearest ×2 in time → Conv2d 3×3 (4H→H)
//   → first T rows → bilinear width K/2 → K
//   Two deliberate differences from the reference, both for padding invariance: rows of padded queries are
//   zeroed at the input and after each convolution at their resolution (so a padded row acts like the
//   convolution's own zero padding), and the 2·⌈T/2⌉ rows after the upsample are cropped to T instead of
//   bilinearly resized (the resize mixed all rows whenever T was odd, so one extra pad token changed every
//   output).
//
// CausalConv2d keeps only the live ks×ks taps (the reference stores a (2ks−1)×ks kernel and zeroes the lower
// half on every forward; same function, half the weights). Initialisation is PyTorch's Conv2d default.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include "sea/ops/backend.h"

namespace sea::attention {

class CausalConv2dImpl : public torch::nn::Module {
 public:
  CausalConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t dilation, int64_t width_pad);
  at::Tensor forward(const at::Tensor& x);  // (N, C, T, W) -> (N, C', T, W + 2·width_pad − dilation·(kernel−1))

  torch::nn::Conv2d conv{nullptr};

 private:
  int64_t time_pad_, width_pad_;
};
TORCH_MODULE(CausalConv2d);

class CausalMaskDecoderImpl : public torch::nn::Module {
 public:
  // kernels: the backend of the two layer norms (ops::layer_norm; rows of K/4 and K values, one per head
  // channel and query, which ATen's CUDA kernel handles slowly).
  CausalMaskDecoderImpl(int64_t num_heads, int64_t channels_per_head, int64_t predictor_length,
                        ops::Backend kernels = ops::Backend::Auto);
  at::Tensor forward(const at::Tensor& x);  // (N, H·c_h, T, K/4) -> (N, H, T, K)

  torch::nn::LayerNorm norm_in{nullptr}, norm_out{nullptr};
  CausalConv2d conv1{nullptr}, conv2{nullptr}, conv_out{nullptr};

 private:
  int64_t K_;
  ops::Backend kernels_;
  at::Tensor area_weights_;  // (K + 2, K) averaging matrix of the width resize, cached per device and type (not state)
};
TORCH_MODULE(CausalMaskDecoder);

class BidirectionalMaskDecoderImpl : public torch::nn::Module {
 public:
  BidirectionalMaskDecoderImpl(int64_t num_heads, int64_t channels_per_head, int64_t predictor_length);
  // x: (N, H·c_h, T, K/2); row_valid: (N, T) bool or undefined -> (N, H, T, K)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& row_valid);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_out{nullptr};

 private:
  int64_t K_;
};
TORCH_MODULE(BidirectionalMaskDecoder);

}  // namespace sea::attention
