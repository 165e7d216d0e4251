// performer_params.h — the plain parameter structs of the Performer (FAVOR+) estimate kernels, forward and
// backward, with the host-side arithmetic both the kernels' launchers and the ATen wrapper need: how many rows
// one chunk holds, how the dynamic shared memory of each kernel is laid out, and how much scratch memory the
// wrapper must allocate. Plain C++ (no LibTorch, no device code): included by performer_fwd.cu,
// performer_bwd.cu and src/ops/cuda/performer_estimate_cuda.cpp.
//
// What the kernels compute is ops::performer_attention (include/sea/ops/performer_estimate.h), exactly:
//   φ(x) = ReLU(c·x·Wᵀ) + 1e-3                                   (Relu)
//   φ(x) = m^-½ (exp(c·x·Wᵀ − c²|x|²/2 − s) + 1e-4)               (Softmax; s: row max for queries, max over the
//                                                                 valid keys' positions and features per (n, h))
//   non-causal: out = φq (φkᵀ v) / (φq · Σφk)                      (0 where the denominator is not > 0)
//   causal:     out_t = φq_t S_t / (φq_t · z_t + 1e-6 Σ_i φq_t[i]),  S_t = Σ_{s≤t} φk_s v_sᵀ,  z_t = Σ_{s≤t} φk_s
// with c = D^-¼ and keys at invalid positions removed. Rows are cut into chunks of `chunk_rows` (64, 32 or 16)
// and every kernel runs one block of 256 threads per (chunk, n·H + h); see performer_fwd.cu / performer_bwd.cu
// for the passes. Per (n, h) the scratch holds one m × (Dv + 1) state per chunk (O(T/C · m · Dv)), never a
// per-position m × Dv state.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "common/kernel_types.h"

namespace sea::kernels {

enum class PerformerFeatureKernel : int { Relu = 0, Softmax = 1 };

// Threads per block (a 16 × 16 grid for the block-wide products) and the number of value columns (of v, dout)
// one inner step handles. Shared by the launchers and the shared-memory plans below.
constexpr int kPerformerThreads = 256;
constexpr int kPerformerValueTile = 64;
// Dynamic shared memory a block may use: sm_90's opt-in maximum (227 KiB) less room for static shared memory.
constexpr int64_t kPerformerSmemBudgetBytes = 227 * 1024 - 2048;
// Largest head dim and feature count the kernels take (the wrapper raises sea::Error beyond).
constexpr int kPerformerMaxHeadDim = 128;
constexpr int kPerformerMaxFeatures = 400;  // every D ≤ 128 with m ≤ 400 fits (larger m get smaller chunks)

// Shape and inputs of one call, common to forward and backward.
struct PerformerProblem {
  int64_t N = 0, H = 0, T = 0;
  int D = 0;   // head dim of q and k
  int m = 0;   // number of random features (rows of the projection)
  int Dv = 0;  // head dim of v (and of the output)
  int chunk_rows = 0;  // rows per chunk: performer_chunk_rows(D, m)
  PerformerFeatureKernel kernel = PerformerFeatureKernel::Relu;
  bool causal = false;

  DType dtype = DType::F32;  // element type of q, k, v (and of dq, dk, dv)
  const void* q = nullptr;  // q: (N, H, T, D)
  Strides4 q_stride;
  const void* k = nullptr;  // k: (N, H, T, D)
  Strides4 k_stride;
  const void* v = nullptr;  // v: (N, H, T, Dv)
  Strides4 v_stride;
  const float* projection = nullptr;    // W: (m, D) fp32, contiguous
  const float* projection_t = nullptr;  // Wᵀ: (D, m) fp32, contiguous
  const uint8_t* key_valid = nullptr;   // (N, T) bool, row stride key_valid_stride_n; nullptr: every key is valid
  int64_t key_valid_stride_n = 0;
};

struct PerformerForwardParams {
  PerformerProblem problem;
  float* out = nullptr;  // out: (N, H, T, Dv) fp32
  Strides4 out_stride;
  float* den = nullptr;  // den: (N, H, T) fp32, contiguous: each row's denominator (saved for the backward)
  // (N·H) packed key stabiliser (Softmax only; saved for the backward): 0 when the (n, h) has no valid key,
  // else (order-preserving bits of the max) << 32 | (0xFFFFFFFF − (t·m + feature) of its first occurrence).
  unsigned long long* key_stabiliser = nullptr;
  float* state = nullptr;  // scratch: performer_state_floats(...) floats
};

struct PerformerBackwardParams {
  PerformerProblem problem;
  const float* grad_out = nullptr;  // dout: (N, H, T, Dv) fp32
  Strides4 grad_out_stride;
  const float* out = nullptr;  // the forward's output: (N, H, T, Dv) fp32
  Strides4 out_stride;
  const float* den = nullptr;                         // the forward's den: (N, H, T) fp32, contiguous
  const unsigned long long* key_stabiliser = nullptr;  // the forward's (N·H) packed key stabiliser (Softmax)
  void* grad_q = nullptr;  // dq: (N, H, T, D), dtype
  Strides4 grad_q_stride;
  void* grad_k = nullptr;  // dk: (N, H, T, D), dtype
  Strides4 grad_k_stride;
  void* grad_v = nullptr;  // dv: (N, H, T, Dv), dtype
  Strides4 grad_v_stride;
  float* state = nullptr;              // scratch: performer_state_floats(...) floats
  float* stabiliser_partial = nullptr;  // scratch (Softmax): performer_stabiliser_partial_floats(...) floats
  float* key_grad_row = nullptr;       // scratch (Softmax): performer_key_grad_row_floats(...) floats
};

// Runs the forward passes on `stream`. Validates nothing (the wrapper does). Returns cudaGetLastError().
cudaError_t launch_performer_forward(const PerformerForwardParams& params, cudaStream_t stream);
// Runs the backward passes on `stream` (writes every element of dq, dk, dv). Returns cudaGetLastError().
cudaError_t launch_performer_backward(const PerformerBackwardParams& params, cudaStream_t stream);

// Used by both launchers (defined in performer_fwd.cu): the key-side chunk states of `problem` — per chunk the
// sums Σ φk vᵀ (m × Dv) and Σ φk (column Dv) of its rows — scanned to exclusive prefixes (causal) or to one
// total in chunk slot 0 (non-causal). `key_stabiliser` is read for the Softmax kernel.
cudaError_t launch_performer_key_state(const PerformerProblem& problem, const unsigned long long* key_stabiliser,
                                       float* state, cudaStream_t stream);
// Scans the per-chunk states of `state` ((N·H) × num_chunks × elems floats) in place.
enum class PerformerScan : int { ExclusivePrefix = 0, ExclusiveSuffix = 1, TotalInFirst = 2 };
cudaError_t launch_performer_chunk_scan(float* state, int64_t num_heads, int64_t num_chunks, int64_t elems,
                                        PerformerScan mode, cudaStream_t stream);

// ---- host-side sizes ------------------------------------------------------------------------------------

inline int performer_odd(int x) { return x | 1; }  // odd leading dimensions keep shared memory conflict-free

inline int64_t performer_num_chunks(int64_t T, int chunk_rows) { return (T + chunk_rows - 1) / chunk_rows; }

// Shared-memory layouts (offsets in floats). Each kernel's launcher builds its plan and passes it by value.
struct PerformerSmemPlan {
  int ld_x = 0, ld_m = 0, ld_c = 0, ld_tile = 0, ld_left = 0;  // leading dimensions
  // Buffers (offsets); unused ones stay 0.
  int x = 0;        // C × ld_x          q or k rows (first phase); later reused (region) by some kernels
  int region_b = 0;  // second part of the reused region (value tile / M), see the kernels
  int phi_a = 0;    // C × ld_m          φ or pre-activations
  int phi_b = 0;    // C × ld_m
  int phi_c = 0;    // C × ld_m
  int left = 0;     // C × ld_left       [φ | intra-chunk matrix]
  int right = 0;    // (m + C) × ld_tile [state tile ; value tile]
  int mat = 0;      // C × ld_c
  int vec_m = 0;    // m
  int vec_c0 = 0, vec_c1 = 0, vec_c2 = 0, vec_c3 = 0;  // C each
  int floats = 0;   // total
};

enum class PerformerKernelId : int { KeyStabiliser, KeyState, Output, QueryState, GradQuery, GradKeyValue };

inline PerformerSmemPlan performer_smem_plan(PerformerKernelId id, int C, int D, int m) {
  PerformerSmemPlan p;
  p.ld_x = performer_odd(D);
  p.ld_m = performer_odd(m);
  p.ld_c = performer_odd(C);
  p.ld_tile = performer_odd(kPerformerValueTile);
  p.ld_left = performer_odd(m + C);
  int at = 0;
  auto take = [&](int64_t n) {
    const int o = at;
    at += static_cast<int>(n);
    return o;
  };
  const int x_size = C * p.ld_x, phi_size = C * p.ld_m, tile_size = C * p.ld_tile, mat_size = C * p.ld_c;
  switch (id) {
    case PerformerKernelId::KeyStabiliser:
      p.x = take(x_size);
      break;
    case PerformerKernelId::KeyState:
      p.x = take(x_size);
      p.phi_a = take(phi_size);       // φk
      p.region_b = take(tile_size);   // v tile
      break;
    case PerformerKernelId::Output:
      p.x = take(x_size);
      p.left = take(C * p.ld_left);   // [φq | A]
      p.phi_a = take(phi_size);       // φk
      p.right = take((m + C) * p.ld_tile);  // [state tile ; v tile]
      p.vec_m = take(m);              // z (+ε)
      p.vec_c0 = take(C);             // den
      break;
    case PerformerKernelId::QueryState:
      p.x = take(x_size);
      p.phi_a = take(phi_size);       // φq
      p.region_b = take(tile_size);   // g tile
      p.vec_c0 = take(C);             // den (0: row gets no gradient)
      p.vec_c1 = take(C);             // dden
      break;
    case PerformerKernelId::GradQuery: {
      // region: x (q or k rows) first, then the g tile (at x) and the v tile (at region_b).
      const int region = std::max(x_size, 2 * tile_size);
      p.x = take(region);
      p.region_b = p.x + tile_size;
      p.phi_a = take(phi_size);       // pre-activations of q
      p.phi_b = take(phi_size);       // φk
      p.phi_c = take(phi_size);       // dφq → d dash
      p.right = take(m * p.ld_tile);  // state tile
      p.mat = take(mat_size);         // M
      p.vec_m = take(m);              // z (+ε)
      p.vec_c0 = take(C);             // den
      p.vec_c1 = take(C);             // dden
      p.vec_c2 = take(C);             // diag coefficient
      p.vec_c3 = take(C);             // argmax of each query row (int)
      break;
    }
    case PerformerKernelId::GradKeyValue: {
      // region: x (q or k rows) first, then the v tile (at x) and M (at region_b).
      const int region = std::max(x_size, tile_size + mat_size);
      p.x = take(region);
      p.region_b = p.x + tile_size;
      p.mat = p.region_b;
      p.phi_a = take(phi_size);       // φq
      p.phi_b = take(phi_size);       // pre-activations of k
      p.phi_c = take(phi_size);       // dφk → d dash
      p.left = take(C * p.ld_left);   // [φk | Aᵀ]
      p.right = take((m + C) * p.ld_tile);  // [suffix-state tile ; g tile]
      p.vec_m = take(m);              // r
      p.vec_c0 = take(C);             // den
      p.vec_c1 = take(C);             // dden
      p.vec_c2 = take(C);             // diag coefficient
      p.vec_c3 = take(C);             // row sums for the key stabiliser
      break;
    }
  }
  p.floats = at;
  return p;
}

inline int64_t performer_smem_bytes(PerformerKernelId id, int C, int D, int m) {
  return static_cast<int64_t>(performer_smem_plan(id, C, D, m).floats) * static_cast<int64_t>(sizeof(float));
}

// Rows per chunk: the largest of 64, 32, 16 for which every kernel's shared memory fits the budget; 0 when
// none does or the sizes are out of range (the wrapper raises an error then).
inline int performer_chunk_rows(int D, int m) {
  if (D < 1 || D > kPerformerMaxHeadDim || m < 1 || m > kPerformerMaxFeatures) return 0;
  for (int C : {64, 32, 16}) {
    int64_t most = 0;
    for (PerformerKernelId id : {PerformerKernelId::KeyStabiliser, PerformerKernelId::KeyState, PerformerKernelId::Output,
                                 PerformerKernelId::QueryState, PerformerKernelId::GradQuery,
                                 PerformerKernelId::GradKeyValue}) {
      most = std::max(most, performer_smem_bytes(id, C, D, m));
    }
    if (most <= kPerformerSmemBudgetBytes) return C;
  }
  return 0;
}

// Scratch sizes (elements) the wrapper allocates for a problem with chunk_rows set.
// state: per (n, h) and chunk one m × (Dv + 1) block (forward and backward).
inline int64_t performer_state_floats(const PerformerProblem& p) {
  return p.N * p.H * performer_num_chunks(p.T, p.chunk_rows) * static_cast<int64_t>(p.m) * (p.Dv + 1);
}
// key stabiliser: one packed 64-bit word per (n, h) (Softmax; also needed, and only read, by the backward).
inline int64_t performer_key_stabiliser_words(const PerformerProblem& p) { return p.N * p.H; }
// backward, Softmax only: one partial sum per (n, h) and chunk, and one fp32 row of dk per (n, h).
inline int64_t performer_stabiliser_partial_floats(const PerformerProblem& p) {
  return p.N * p.H * performer_num_chunks(p.T, p.chunk_rows);
}
inline int64_t performer_key_grad_row_floats(const PerformerProblem& p) { return p.N * p.H * p.D; }

}  // namespace sea::kernels
