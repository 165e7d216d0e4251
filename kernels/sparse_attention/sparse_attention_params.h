// sparse_attention_params.h — the POD parameters of SEA's sparse attention kernels (forward, backward) and
// their launchers. No LibTorch here: src/ops/cuda/sparse_attention_cuda.cpp checks tensors and fills these.
//
// The sparse layout (include/sea/ops/topk_mask.h): for each (n, h, t) a bitset of kept compressed cells,
// kept_bits (N, H, T, W) uint32, W = ceil(K / 32). Query row t of sample n sees L_t = row_len[n, t] keys,
// addressed by rank r in [0, L_t); rank r is at position rank_to_key[n, r] (identity without padding). Cell c
// of the row holds ranks [start(c), start(c + 1)), start(c) = floor((2·L_t·c + K) / (2K)), so consecutive
// kept cells are one contiguous run of ranks, and a run is contiguous rows of K and V (no padding).
//
// Forward: out[n,h,t] = σ[n,h,t] · Σ_j softmax_j(scale · q_t·k_j) v_j over the kept keys j of the row (zero
// when none), σ = row_scale (1 when null). Accumulation in fp32 whatever the element type.
// Backward: dq, dk, dv and dσ from dout, the forward's log-sum-exp and its unscaled fp32 output; every key's
// gradient is a sum over the rows that kept it, gathered (never scattered with atomics), so the backward is
// deterministic: two runs give bitwise the same gradients.
#pragma once

#include "common/kernel_types.h"

namespace sea::kernels {

// Which forward kernel runs: Rows = one warp per query row (sparse_attention_fwd.cu, every type and option);
// Tiles = 64-row blocks sharing K/V tiles, tensor cores (sparse_attention_fwd_tiled.cu; bf16/fp16 without
// thinning); Auto = Tiles where supported, else Rows.
enum class SparseForwardKernel : int { Auto = 0, Rows = 1, Tiles = 2 };

struct SparseAttentionForwardParams {
  DType dtype = DType::F32;
  SparseForwardKernel kernel = SparseForwardKernel::Auto;
  int N = 0, H = 0, T = 0, D = 0, K = 0, W = 0;
  const void* q = nullptr;  // (N, H, T, D), rows 16-byte aligned
  const void* k = nullptr;
  const void* v = nullptr;
  Strides4 q_stride, k_stride, v_stride;
  const uint32_t* kept_bits = nullptr;   // (N, H, T, W) contiguous
  const int32_t* row_len = nullptr;      // (N, T) contiguous
  const int32_t* rank_to_key = nullptr;  // (N, T) contiguous, or null: rank == position
  const float* row_scale = nullptr;      // (N, H, T) contiguous, or null: 1
  float scale = 1.f;                     // score scale
  double thin_k = 0, thin_oversample = 1;  // k_oversample thinning inside kept cells when thin_oversample > 1

  void* out = nullptr;        // (N, H, T, D) element type, contiguous
  bool causal = false;        // only narrows which rows the backward scans for a key (row_len encodes causality)
  float* lse2 = nullptr;      // (N, H, T) log2-sum-exp2 of the kept scores · scale · log2(e) (-inf: no key), or null
  float* out_f32 = nullptr;   // (N, H, T, D) the unscaled fp32 output (for the backward), or null
};

struct SparseAttentionBackwardParams {
  SparseAttentionForwardParams fwd;  // the forward's inputs (out, lse and out_f32 as the forward wrote them)
  const void* dout = nullptr;        // (N, H, T, D) element type, contiguous
  const int32_t* valid_keys = nullptr;  // (N,) number of valid keys of each sample
  void* dq = nullptr;                // (N, H, T, D) element type, contiguous
  void* dk = nullptr;
  void* dv = nullptr;
  float* drow_scale = nullptr;       // (N, H, T), or null when row_scale is null
  float* delta = nullptr;            // (N, H, T) scratch: σ · (dout · out_f32) per row, written by the dq pass
  // Column-pass row segments (sparse_attention_backward_segments): with S > 1, S warps share a key block's
  // rows and write fp32 partial dk, dv here, (2, S, N, H, T, D) by key rank; a last pass adds them in order.
  int segments = 1;
  float* partials = nullptr;
};

// How many row segments the column pass splits each key block's rows into: enough warps to fill an H100
// (≈ 4096) when N·H·T alone gives few key blocks (short sequences), else 1. The wrapper sizes `partials`.
inline int sparse_attention_backward_segments(int N, int H, int T, int D) {
  const long long keys_per_warp = 1024 / D;
  const long long warps = (static_cast<long long>(T) + keys_per_warp - 1) / keys_per_warp * H * N;
  const long long wanted = (4096 + warps - 1) / warps;
  const long long row_groups = (T + 31) / 32;  // no point in segments shorter than one ballot of 32 rows
  return static_cast<int>(wanted < 1 ? 1 : wanted > 16 ? (row_groups < 16 ? row_groups : 16)
                                                       : (wanted > row_groups ? row_groups : wanted));
}

// Head dims the kernels are instantiated for (others use the ATen reference).
inline bool sparse_attention_supports_head_dim(int D) { return D == 16 || D == 32 || D == 64 || D == 128; }

// True when the tiled forward can run these parameters (bf16/fp16, no k_oversample thinning, a supported D,
// and its shared memory, which grows by 4 bytes per 64 keys, within a block's limit: T up to ≈ 2.5M).
bool sparse_attention_forward_tiled_supported(const SparseAttentionForwardParams& params);

// Runs the kernel params.kernel names (Auto: tiled where supported); cudaErrorInvalidValue when Tiles is asked
// for parameters it does not support.
cudaError_t launch_sparse_attention_forward(const SparseAttentionForwardParams& params, cudaStream_t stream);
cudaError_t launch_sparse_attention_forward_tiled(const SparseAttentionForwardParams& params, cudaStream_t stream);
cudaError_t launch_sparse_attention_backward(const SparseAttentionBackwardParams& params, cudaStream_t stream);

}  // namespace sea::kernels
