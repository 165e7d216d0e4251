// topk_mask_params.h — the parameter struct and launcher of the grouped top-k kernels (topk_mask.cu), SEA's
// second operator on the GPU: which cells of the compressed estimate (N, H, T, K) are kept, written directly
// as the kept-cell bitset the sparse attention kernel reads. Plain C++ (no LibTorch, no device code); the
// wrapper src/ops/cuda/topk_mask_cuda.cpp checks the tensors and fills it. Semantics: ops::grouped_topk_mask
// (include/sea/ops/topk_mask.h), the ATen reference, except which of several equal estimates at a group's
// budget edge is kept (here: the lowest flat index within the group, see topk_mask.cu).
#pragma once

#include <cstdint>

#include "common/kernel_types.h"

namespace sea::kernels {

// Which cells compete in one top-k (ops::KFlattenDim; the numbers are this header's own).
enum class TopkMode : int {
  Query = 0,        // the K cells of one (n, h, t); budget round(k·K·o / L_t)
  Head = 1,         // the T·K cells of one (n, h); budget round(k·K·o), padded rows' cells never kept
  Batch = 2,        // the H·T·K cells of one sample n; budget round(H·k·K·o), padded rows' cells never kept
  CausalBatch = 3,  // the H·K cells of one (n, t), heads flattened (flat index h·K + c); budget round(H·k·K·o / L_t)
};

struct TopkMaskParams {
  const float* estimate = nullptr;  // estimate: (N, H, T, K) fp32, last dimension contiguous (strides below)
  const int32_t* row_len = nullptr;  // row_len: (N, T) int32 contiguous; L_t, 0 = padded query row
  int32_t* kept_bits = nullptr;      // kept_bits: (N, H, T, W) int32 contiguous, W = ceil(K / 32); every word
                                     // is written; cell c is bit (c % 32) of word c / 32, unused high bits 0
  Strides4 estimate_strides;         // element strides of estimate's n, h, t dimensions
  int64_t N = 0, H = 0, T = 0, K = 0;
  double k = 0;             // keys per head and row the budget aims at (> 0)
  double k_oversample = 1;  // budget multiplier (>= 1)
  TopkMode mode = TopkMode::CausalBatch;
};

// Launches the selection on `stream` and returns cudaGetLastError(); validates nothing. The wrapper ensures
// the group size (K, H·K, T·K or H·T·K by mode) and the number of groups (N·H·T, N·T, N·H or N) are below
// 2^31. An empty output (N, H, T or K zero) launches nothing.
cudaError_t launch_topk_mask(const TopkMaskParams& p, cudaStream_t stream);

}  // namespace sea::kernels
