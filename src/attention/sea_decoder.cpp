// sea_decoder.cpp — SEA's causal and bidirectional CNN decoders (see sea_decoder.h).
#include "sea/attention/sea_decoder.h"

#include <ATen/ATen.h>

#include "sea/ops/layer_norm.h"

namespace sea::attention {
namespace {
torch::nn::Conv2d conv2d(int64_t cin, int64_t cout, int64_t kernel, int64_t stride_t, int64_t pad, int64_t dilation) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(cin, cout, kernel).stride({stride_t, 1}).padding(pad).dilation(dilation).bias(true));
}

// Zeroes rows (dim 2) where valid (N, T') is false.
// Area resize of the last dim, W_in -> W_out, with adaptive average pooling's windows: output j is the mean of
// inputs [floor(j·W_in/W_out), ceil((j+1)·W_in/W_out)). Written as a product with a (W_in, W_out) averaging
// matrix rather than at::adaptive_avg_pool2d over (T, K), whose CUDA kernel walks the T rows serially in a few
// blocks: at T = 65,535 on an H100 it ran for minutes.
at::Tensor area_resize_weights(int64_t w_in, int64_t w_out) {
  at::Tensor weights = at::zeros({w_in, w_out}, at::kDouble);
  auto acc = weights.accessor<double, 2>();
  for (int64_t j = 0; j < w_out; ++j) {
    const int64_t start = (j * w_in) / w_out, end = ((j + 1) * w_in + w_out - 1) / w_out;
    for (int64_t i = start; i < end; ++i) acc[i][j] = 1.0 / static_cast<double>(end - start);
  }
  return weights;  // (W_in, W_out)
}

at::Tensor zero_rows(const at::Tensor& x, const at::Tensor& valid) {
  return x * valid.to(x.scalar_type()).view({valid.size(0), 1, valid.size(1), 1});
}
}  // namespace

CausalConv2dImpl::CausalConv2dImpl(int64_t cin, int64_t cout, int64_t kernel, int64_t dilation, int64_t width_pad)
    : time_pad_((kernel - 1) * dilation), width_pad_(width_pad) {
  conv = register_module("conv", conv2d(cin, cout, kernel, 1, 0, dilation));
}

at::Tensor CausalConv2dImpl::forward(const at::Tensor& x) {
  // Pad the past (top) only: output row t sees rows t − i·dilation.
  return conv->forward(at::constant_pad_nd(x, {width_pad_, width_pad_, time_pad_, 0}));
}

CausalMaskDecoderImpl::CausalMaskDecoderImpl(int64_t H, int64_t ch, int64_t K, ops::Backend kernels)
    : K_(K), kernels_(kernels) {
  norm_in = register_module("norm_in", torch::nn::LayerNorm(torch::nn::LayerNormOptions({K / 4})));
  conv1 = register_module("conv1", CausalConv2d(H * ch, H * ch, 3, 2, 2));
  conv2 = register_module("conv2", CausalConv2d(H * ch, H * ch, 3, 2, 2));
  conv_out = register_module("conv_out", CausalConv2d(H * ch, H, 1, 1, 1));
  norm_out = register_module("norm_out", torch::nn::LayerNorm(torch::nn::LayerNormOptions({K})));
}

at::Tensor CausalMaskDecoderImpl::forward(const at::Tensor& x) {
  at::Tensor y = ops::layer_norm(x, norm_in->weight, norm_in->bias, norm_in->options.eps(), kernels_);
  y = at::relu(conv1->forward(y));
  y = at::relu(conv2->forward(y));
  y = y.repeat_interleave(4, /*dim=*/3);                       // nearest ×4 in width: (N, 2H, T, K)
  y = conv_out->forward(y);                                    // (N, H, T, K + 2)
  if (!area_weights_.defined() || area_weights_.device() != y.device() ||
      area_weights_.scalar_type() != y.scalar_type() || area_weights_.size(0) != y.size(3)) {
    area_weights_ = area_resize_weights(y.size(3), K_).to(y.device(), y.scalar_type());
  }
  y = at::matmul(y, area_weights_);                            // area resize in width: (N, H, T, K)
  return ops::layer_norm(y, norm_out->weight, norm_out->bias, norm_out->options.eps(), kernels_);
}

BidirectionalMaskDecoderImpl::BidirectionalMaskDecoderImpl(int64_t H, int64_t ch, int64_t K) : K_(K) {
  conv1 = register_module("conv1", conv2d(H * ch, H * ch, 3, 2, 1, 1));
  conv2 = register_module("conv2", conv2d(H * ch, H * ch, 3, 1, 1, 1));
  conv_out = register_module("conv_out", conv2d(H * ch, H, 3, 1, 1, 1));
}

at::Tensor BidirectionalMaskDecoderImpl::forward(const at::Tensor& x, const at::Tensor& row_valid) {
  const int64_t T = x.size(2);
  at::Tensor y = row_valid.defined() ? zero_rows(x, row_valid) : x;
  y = at::relu(conv1->forward(y));  // (N, 4H, ceil(T/2), K/2)
  at::Tensor half_valid;
  if (row_valid.defined()) {
    // Half-resolution row i stands for input row 2i.
    half_valid = row_valid.slice(1, 0, T, 2);
    y = zero_rows(y, half_valid);
  }
  y = at::relu(conv2->forward(y));
  if (half_valid.defined()) y = zero_rows(y, half_valid);
  y = y.repeat_interleave(2, /*dim=*/2);                       // nearest ×2 in time: 2·ceil(T/2) rows
  y = conv_out->forward(y).slice(2, 0, T);                     // (N, H, T, K/2)
  return at::upsample_bilinear2d(y, {T, K_}, /*align_corners=*/false);
}

}  // namespace sea::attention
