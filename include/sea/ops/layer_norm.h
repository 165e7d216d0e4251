// layer_norm.h — layer norm over the last dim for SEA's predictor, whose rows are short (K/4, K and 2·D
// values: 16, 64 and 128 at the defaults) and many (heads × channels × queries). Two backends (backend.h):
//   Reference  at::layer_norm (the oracle)
//   Cuda       kernels/layer_norm: a row is a few lanes of one warp; deterministic backward. ATen's CUDA
//              kernel spends a block of 128 threads per row, which made these norms a fifth of the SEA
//              layer's time at T = 32k (docs/RESULTS.md).
// Auto takes the kernel for CUDA tensors in fp32/bf16/fp16 whose normalised size it supports (fp32: 4 … 128,
// bf16/fp16: 8 … 256, powers of two times 16 bytes) and weight/bias of x's type; the reference otherwise.
// Under CUDA autocast the kernel runs in fp32 on fp32-cast inputs, as autocast runs at::layer_norm.
#pragma once

#include <ATen/core/Tensor.h>

#include "sea/ops/backend.h"

namespace sea::ops {

// x: (..., W); weight, bias: (W,) or undefined. Differentiable in x, weight and bias on both backends.
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                      Backend backend = Backend::Auto);

}  // namespace sea::ops
