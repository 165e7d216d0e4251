// cuda_ops.h — the ATen-facing wrappers of the CUDA kernels (kernels/), one per operator. Internal to the
// library: the public entry points in include/sea/ops/ resolve a Backend (backend.h) and call these for
// Backend::Cuda. Each wrapper checks shapes, dtypes, devices and contiguity (raising sea::Error that names
// the constraint), fills the kernel's POD parameter struct, launches on the current CUDA stream, and checks
// the launch. Compiled only when SEA_WITH_CUDA (src/CMakeLists.txt).
//
// Semantics are those of the ATen references, exactly; the differences are numeric (fp32 accumulation
// order) and, for top-k, which of several equal estimates is kept.
#pragma once

#include <ATen/core/Tensor.h>

#include "sea/ops/layer_norm.h"
#include "sea/ops/performer_estimate.h"
#include "sea/ops/sparse_attention.h"
#include "sea/ops/topk_mask.h"

namespace sea::ops::cuda {

// Performer estimate (ops::performer_attention): q, k (N, H, T, D) and v (N, H, T, Dv) in fp32/bf16/fp16,
// projection (m, D) fp32, key_valid (N, T) bool or undefined. Returns (N, H, T, Dv) fp32. Differentiable in
// q, k and v (an autograd function with the backward kernels); the projection gets no gradient.
at::Tensor performer_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& projection, FeatureKernel kernel, bool causal,
                               const at::Tensor& key_valid);

// Grouped top-k (ops::grouped_topk_bits): estimate (N, H, T, K) fp32 (>= 0 on valid rows), row_len (N, T)
// int64. Returns the kept-cell bitset (N, H, T, ceil(K/32)) int32 (see topk_mask.h). Forward only.
at::Tensor grouped_topk_bits(const at::Tensor& estimate, const at::Tensor& row_len, double k, double k_oversample,
                             KFlattenDim mode);

// Sparse attention (ops::sparse_attention): q, k, v (N, H, T, D) of one type (fp32/bf16/fp16), kept_bits
// (N, H, T, ceil(K/32)) int32, row_scale (N, H, T) or undefined. Returns the context (N, H, T, D) in q's type.
// Differentiable in q, k, v and row_scale. sparse_attention_supported says whether the kernel takes these
// shapes (head dim 16, 32, 64 or 128, v's head dim equal to q's, one element type); Auto falls back to the
// reference otherwise.
bool sparse_attention_supported(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
at::Tensor sparse_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& kept_bits,
                            int64_t K, const KeyLayout& layout, const at::Tensor& row_scale,
                            const SparseAttentionOptions& options);

// Layer norm (ops::layer_norm) over x's last dim (W): x in fp32/bf16/fp16, weight and bias (W,) of x's type or
// undefined. Returns x's shape and type. Differentiable in x, weight and bias (deterministic backward).
// layer_norm_supported says whether the kernel takes these (kernels/layer_norm/layer_norm_params.h).
bool layer_norm_supported(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps);

}  // namespace sea::ops::cuda
