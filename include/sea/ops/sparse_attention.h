// sparse_attention.h — SEA's third operator: softmax attention restricted to the kept keys, each row's
// probabilities multiplied by a per-row scaler (SEA_SPEC.md §2.9). Two implementations with one semantics:
//
//  * masked_dense_attention: builds the (N, H, T, T) scores and masks them. Simple; the oracle, and what
//    training uses (the distillation losses need the T×T student scores anyway).
//  * sparse_attention: never builds anything T×T. Two backends (backend.h):
//    - Reference (ATen): rows are processed in chunks; the kept cells of a chunk are expanded to (row, head,
//      key) entries with the discretisation of topk_mask.h, and scores, a segmented softmax and the weighted
//      sum of values are computed on those entries only. Memory is linear in T (entries per chunk ≈ rows·H·k).
//    - Cuda (kernels/sparse_attention): fused kernels, forward (tiled, tensor cores, for bf16/fp16) and
//      backward; the only extra memory is one fp32 log-sum-exp per (row, head) kept for the backward.
//      Probabilities on request (want_probs) come from the reference.
//
// Both: q, k, v (N, H, T, D); rows with no kept key give zero; softmax in fp32; result in v's dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include "sea/ops/topk_mask.h"

namespace sea::ops {

struct SparseAttentionResult {
  at::Tensor context;  // (N, H, T, D)
  at::Tensor probs;    // on request: the scaled probabilities (dense: (N, H, T, T); sparse: a COO tensor of that shape)
  at::Tensor scores;   // dense only: unmasked q·kᵀ·scale (N, H, T, T), at least fp32; SEA's loss reuses them
};

// key_mask: (N, H, T, T) bool (dense_key_mask); row_scale: (N, H, T) or undefined (= 1).
SparseAttentionResult masked_dense_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& key_mask, double scale, const at::Tensor& row_scale,
                                             bool want_probs);

// The CUDA forward kernel (kernels/sparse_attention): Rows = one warp per query row (every dtype and option);
// Tiles = blocks of 64 rows sharing K/V tiles through shared memory, tensor-core products (bf16/fp16, no
// k_oversample thinning); Auto = Tiles where it applies, else Rows. The reference ignores it.
enum class SparseForwardKernel { Auto, Rows, Tiles };

struct SparseAttentionOptions {
  double scale = 1.0;
  double k = 0;             // the budget the mask was built with (for the k_oversample thinning)
  double k_oversample = 1.0;
  int64_t query_chunk = 128;  // rows per chunk (reference)
  bool want_probs = false;
  Backend backend = Backend::Auto;
  SparseForwardKernel forward_kernel = SparseForwardKernel::Auto;
};

// kept_bits: (N, H, T, ceil(K/32)) int32, the bitset of kept cells (grouped_topk_bits); row_scale: (N, H, T)
// or undefined. Differentiable in q, k, v and row_scale on both backends.
SparseAttentionResult sparse_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const at::Tensor& kept_bits, int64_t K, const KeyLayout& layout,
                                       const at::Tensor& row_scale, const SparseAttentionOptions& options);

}  // namespace sea::ops
