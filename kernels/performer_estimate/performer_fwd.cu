// performer_fwd.cu — the Performer (FAVOR+) estimate, forward: feature maps fused into chunked (causal) or
// global (non-causal) linear attention, computing ops::performer_attention (see performer_params.h for the
// formula). The wrapper is src/ops/cuda/performer_estimate_cuda.cpp; the backward is performer_bwd.cu, which
// reuses the key-state passes defined here.
//
// Rows are cut into chunks of C = 16·TM rows (64, 32 or 16, performer_chunk_rows); every kernel but the scan
// runs one block of 256 threads per (chunk, n·H + h), so N = 1, H = 12, T = 8192 gives 1536 blocks.
//   1. key_stabiliser_kernel (Softmax only): max over the chunk's valid (t, feature) of dash = c·k·Wᵀ, folded
//      into one 64-bit word per (n, h) by atomicMax (value bits << 32 | ~index: ties keep the first index).
//   2. key_state_kernel: φk of the chunk on the fly, then its partial sums Σ φk vᵀ (m × Dv) and Σ φk (m) into
//      the scratch state (one m × (Dv + 1) block per chunk, column Dv holding Σ φk).
//   3. chunk_scan_kernel: exclusive prefix over the chunks (causal), or the total into chunk slot 0.
//   4. output_kernel: φq (and, causal, φk and the masked chunk-local A = φq φkᵀ) on the fly, then
//      out = ([φq | A] · [P ; v]) / den with P the prefix (or total) state, den = φq·(z + ε) + Σ_s A[t, s].
//      den is written for the backward.
// All arithmetic is fp32; products are block-wide register-tiled loops over shared memory (block_gemm).
// Deterministic: no floating-point atomics (the stabiliser's atomicMax is order-independent).
#include <cmath>
#include <type_traits>

#include "common/numeric.cuh"
#include "performer_estimate/performer_common.cuh"

namespace sea::kernels {

using namespace performer;  // the shared helpers (performer_common.cuh)

namespace {

// ==== forward kernels =====================================================================================

// 1. Key stabiliser (Softmax): atomicMax of the chunk's best packed (dash, t·m + f) over its valid keys.
template <int TM>
__global__ void __launch_bounds__(kThreads)
    key_stabiliser_kernel(const PerformerProblem p, const PerformerSmemPlan plan, const FeatureConsts fc,
                          unsigned long long* key_stabiliser) {
  constexpr int C = 16 * TM;
  extern __shared__ float smem[];
  __shared__ int key_ok[C];
  __shared__ unsigned long long warp_best[kWarps];
  const int64_t nh = blockIdx.y;  // n·H + h (32-bit division below: N·H ≤ 65535)
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * C;
  const int rows = static_cast<int>(min(static_cast<int64_t>(C), p.T - t0));
  float* x = smem + plan.x;

  for (int r = threadIdx.x; r < C; r += kThreads) key_ok[r] = key_is_valid(p, n, t0 + r);
  load_rows(x, plan.ld_x, p.k, p.dtype, row_offset(p.k_stride, n, h, t0), p.k_stride.t, rows, C, 0, p.D);
  __syncthreads();

  unsigned long long best = 0ull;
  dash_gemm<TM>(x, plan.ld_x, p, [&](int r, int f, float acc) {
    if (key_ok[r]) {
      const unsigned long long key = pack_stabiliser(fc.c * acc, (t0 + r) * p.m + f);
      best = key > best ? key : best;
    }
  });
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long other = __shfl_xor_sync(0xFFFFFFFFu, best, o);
    best = other > best ? other : best;
  }
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kWarps; ++w) best = warp_best[w] > best ? warp_best[w] : best;
    if (best != 0ull) atomicMax(key_stabiliser + nh, best);
  }
}

// 2. Key state of one chunk: state[f][j] = Σ_r φk[r][f] v[r][j] (j < Dv), state[f][Dv] = Σ_r φk[r][f].
template <int TM>
__global__ void __launch_bounds__(kThreads)
    key_state_kernel(const PerformerProblem p, const PerformerSmemPlan plan, const FeatureConsts fc,
                     const unsigned long long* key_stabiliser, float* state) {
  constexpr int C = 16 * TM;
  extern __shared__ float smem[];
  __shared__ int key_ok[C];
  const int64_t nh = blockIdx.y;  // n·H + h (32-bit division below: N·H ≤ 65535)
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const int64_t chunk = blockIdx.x, num_chunks = gridDim.x;
  const int64_t t0 = chunk * C;
  const int rows = static_cast<int>(min(static_cast<int64_t>(C), p.T - t0));
  const int m = p.m, Dv = p.Dv, ld_state = Dv + 1;
  float* x = smem + plan.x;
  float* phi_k = smem + plan.phi_a;
  float* v_tile = smem + plan.region_b;
  const float key_s =
      p.kernel == PerformerFeatureKernel::Softmax ? stabiliser_value(key_stabiliser[nh]) : 0.f;

  for (int r = threadIdx.x; r < C; r += kThreads) key_ok[r] = key_is_valid(p, n, t0 + r);
  load_rows(x, plan.ld_x, p.k, p.dtype, row_offset(p.k_stride, n, h, t0), p.k_stride.t, rows, C, 0, p.D);
  __syncthreads();
  compute_dash<TM>(x, plan.ld_x, p, fc, phi_k, plan.ld_m);
  __syncthreads();
  features_in_place(phi_k, plan.ld_m, nullptr, 0, x, plan.ld_x, C, p, fc, key_ok, /*is_query=*/false, key_s,
                    nullptr);
  __syncthreads();

  float* st = state + (nh * num_chunks + chunk) * static_cast<int64_t>(m) * ld_state;
  for (int f = threadIdx.x; f < m; f += kThreads) {
    float z = 0.f;
    for (int r = 0; r < C; ++r) z += phi_k[r * plan.ld_m + f];
    st[f * ld_state + Dv] = z;
  }
  for (int j0 = 0; j0 < Dv; j0 += kTile) {
    const int w = min(kTile, Dv - j0);
    load_rows(v_tile, plan.ld_tile, p.v, p.dtype, row_offset(p.v_stride, n, h, t0), p.v_stride.t, rows, C, j0, w);
    __syncthreads();
    // (m × w) = φkᵀ (m × C) · v (C × w)
    with_tile_for(m, [&](auto tm_f) {
      block_gemm<decltype(tm_f)::value, 4, true, false>(
          m, w, C, phi_k, plan.ld_m, v_tile, plan.ld_tile,
          [&](int f, int j, float acc) { st[f * ld_state + j0 + j] = acc; });
    });
    __syncthreads();
  }
}

// 3. In-place scan over the chunk states of each (n, h): thread e walks element e through the chunks.
__global__ void __launch_bounds__(kThreads)
    chunk_scan_kernel(float* state, int64_t num_chunks, int64_t elems, int mode) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (e >= elems) return;
  float* base = state + static_cast<int64_t>(blockIdx.y) * num_chunks * elems + e;
  constexpr int kBatch = 16;  // loads in flight per thread (the chain of dependent rounds is num_chunks / kBatch)
  float running = 0.f;
  if (mode == static_cast<int>(PerformerScan::TotalInFirst)) {
    for (int64_t c0 = 0; c0 < num_chunks; c0 += kBatch) {
      float vals[kBatch];
#pragma unroll
      for (int u = 0; u < kBatch; ++u) vals[u] = c0 + u < num_chunks ? base[(c0 + u) * elems] : 0.f;
#pragma unroll
      for (int u = 0; u < kBatch; ++u) running += vals[u];
    }
    base[0] = running;
    return;
  }
  const bool reverse = mode == static_cast<int>(PerformerScan::ExclusiveSuffix);
  for (int64_t c0 = 0; c0 < num_chunks; c0 += kBatch) {
    float vals[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int64_t c = c0 + u, slot = reverse ? num_chunks - 1 - c : c;
      vals[u] = c < num_chunks ? base[slot * elems] : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int64_t c = c0 + u, slot = reverse ? num_chunks - 1 - c : c;
      if (c < num_chunks) {
        base[slot * elems] = running;
        running += vals[u];
      }
    }
  }
}

// 4. Output of one chunk: out = ([φq | A] · [P ; v]) / den.
template <int TM>
__global__ void __launch_bounds__(kThreads)
    output_kernel(const PerformerForwardParams fp, const PerformerSmemPlan plan, const FeatureConsts fc) {
  constexpr int C = 16 * TM;
  const PerformerProblem& p = fp.problem;
  extern __shared__ float smem[];
  __shared__ int query_ok[C], key_ok[C];
  const int64_t nh = blockIdx.y;  // n·H + h (32-bit division below: N·H ≤ 65535)
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const int64_t chunk = blockIdx.x, num_chunks = gridDim.x;
  const int64_t t0 = chunk * C;
  const int rows = static_cast<int>(min(static_cast<int64_t>(C), p.T - t0));
  const int m = p.m, Dv = p.Dv, ld_state = Dv + 1;
  const bool causal = p.causal;
  float* x = smem + plan.x;
  float* left = smem + plan.left;  // C × (m + C): [φq | A]
  float* phi_k = smem + plan.phi_a;
  float* right = smem + plan.right;  // (m + C) × tile: [P tile ; v tile]
  float* z = smem + plan.vec_m;
  float* den = smem + plan.vec_c0;
  const int ld_left = plan.ld_left, ld_tile = plan.ld_tile;

  for (int r = threadIdx.x; r < C; r += kThreads) {
    query_ok[r] = r < rows;
    key_ok[r] = key_is_valid(p, n, t0 + r);
  }
  load_rows(x, plan.ld_x, p.q, p.dtype, row_offset(p.q_stride, n, h, t0), p.q_stride.t, rows, C, 0, p.D);
  __syncthreads();
  compute_dash<TM>(x, plan.ld_x, p, fc, left, ld_left);
  __syncthreads();
  features_in_place(left, ld_left, nullptr, 0, x, plan.ld_x, C, p, fc, query_ok, /*is_query=*/true, 0.f, nullptr);
  __syncthreads();

  if (causal) {
    const float key_s =
        p.kernel == PerformerFeatureKernel::Softmax ? stabiliser_value(fp.key_stabiliser[nh]) : 0.f;
    load_rows(x, plan.ld_x, p.k, p.dtype, row_offset(p.k_stride, n, h, t0), p.k_stride.t, rows, C, 0, p.D);
    __syncthreads();
    compute_dash<TM>(x, plan.ld_x, p, fc, phi_k, plan.ld_m);
    __syncthreads();
    features_in_place(phi_k, plan.ld_m, nullptr, 0, x, plan.ld_x, C, p, fc, key_ok, /*is_query=*/false, key_s,
                      nullptr);
    __syncthreads();
    // A[t][s] = φq_t · φk_s for s ≤ t (0 above the diagonal), into left's columns [m, m + C).
    block_gemm<TM, TM, false, true>(C, C, m, left, ld_left, phi_k, plan.ld_m, [&](int t, int s, float acc) {
      left[t * ld_left + m + s] = s <= t ? acc : 0.f;
    });
  }

  const float* st = fp.state + (nh * num_chunks + (causal ? chunk : 0)) * static_cast<int64_t>(m) * ld_state;
  for (int f = threadIdx.x; f < m; f += kThreads) z[f] = st[f * ld_state + Dv] + (causal ? 1e-6f : 0.f);
  __syncthreads();

  // den_t = φq_t · (z + ε) + Σ_{s ≤ t} A[t][s]  (causal);  φq_t · Σφk  (non-causal).
  {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int t = warp; t < C; t += kWarps) {
      const float* row = left + t * ld_left;
      float acc = 0.f;
      for (int f = lane; f < m; f += 32) acc = fmaf(row[f], z[f], acc);
      if (causal) {
        for (int s = lane; s <= t; s += 32) acc += row[m + s];
      }
      acc = warp_sum(acc);
      if (lane == 0) {
        den[t] = acc;
        if (t < rows) fp.den[nh * p.T + t0 + t] = acc;
      }
    }
  }
  __syncthreads();

  const int64_t out_base = row_offset(fp.out_stride, n, h, t0);
  for (int j0 = 0; j0 < Dv; j0 += kTile) {
    const int w = min(kTile, Dv - j0);
    batched_copy(
        m, w, [&](int f, int j) { return st[f * ld_state + j0 + j]; },
        [&](int f, int j, float value) { right[f * ld_tile + j] = value; });
    if (causal) {
      load_rows(right + m * ld_tile, ld_tile, p.v, p.dtype, row_offset(p.v_stride, n, h, t0), p.v_stride.t, rows, C,
                j0, w);
    }
    __syncthreads();
    block_gemm<TM, 4, false, false>(C, w, causal ? m + C : m, left, ld_left, right, ld_tile,
                                    [&](int t, int j, float acc) {
                                      if (t >= rows) return;
                                      const float d = den[t];
                                      const float o = causal ? acc / d : (d > 0.f ? acc / d : 0.f);
                                      fp.out[out_base + t * fp.out_stride.t + j0 + j] = o;
                                    });
    __syncthreads();
  }
}

}  // namespace

cudaError_t launch_performer_chunk_scan(float* state, int64_t num_heads, int64_t num_chunks, int64_t elems,
                                        PerformerScan mode, cudaStream_t stream) {
  if (num_heads <= 0 || num_chunks <= 0 || elems <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>((elems + kThreads - 1) / kThreads), static_cast<unsigned>(num_heads));
  chunk_scan_kernel<<<grid, kThreads, 0, stream>>>(state, num_chunks, elems, static_cast<int>(mode));
  return cudaGetLastError();
}

cudaError_t launch_performer_key_state(const PerformerProblem& p, const unsigned long long* key_stabiliser,
                                       float* state, cudaStream_t stream) {
  const int64_t num_chunks = performer_num_chunks(p.T, p.chunk_rows);
  const int64_t heads = p.N * p.H;
  const FeatureConsts fc = feature_consts(p);
  cudaError_t err = dispatch_chunk_rows(p.chunk_rows, [&](auto tm) -> cudaError_t {
    constexpr int TM = decltype(tm)::value;
    const PerformerSmemPlan plan = performer_smem_plan(PerformerKernelId::KeyState, 16 * TM, p.D, p.m);
    const int64_t bytes = static_cast<int64_t>(plan.floats) * sizeof(float);
    cudaError_t e = allow_smem(key_state_kernel<TM>, bytes);
    if (e != cudaSuccess) return e;
    key_state_kernel<TM><<<dim3(static_cast<unsigned>(num_chunks), static_cast<unsigned>(heads)), kThreads, bytes,
                           stream>>>(p, plan, fc, key_stabiliser, state);
    return cudaGetLastError();
  });
  if (err != cudaSuccess) return err;
  return launch_performer_chunk_scan(state, heads, num_chunks, static_cast<int64_t>(p.m) * (p.Dv + 1),
                                     p.causal ? PerformerScan::ExclusivePrefix : PerformerScan::TotalInFirst, stream);
}

cudaError_t launch_performer_forward(const PerformerForwardParams& params, cudaStream_t stream) {
  const PerformerProblem& p = params.problem;
  if (p.N * p.H <= 0 || p.T <= 0) return cudaSuccess;
  const int64_t num_chunks = performer_num_chunks(p.T, p.chunk_rows);
  const int64_t heads = p.N * p.H;
  const dim3 grid(static_cast<unsigned>(num_chunks), static_cast<unsigned>(heads));
  const FeatureConsts fc = feature_consts(p);

  if (p.kernel == PerformerFeatureKernel::Softmax) {
    cudaError_t err = cudaMemsetAsync(params.key_stabiliser, 0, heads * sizeof(unsigned long long), stream);
    if (err != cudaSuccess) return err;
    err = dispatch_chunk_rows(p.chunk_rows, [&](auto tm) -> cudaError_t {
      constexpr int TM = decltype(tm)::value;
      const PerformerSmemPlan plan = performer_smem_plan(PerformerKernelId::KeyStabiliser, 16 * TM, p.D, p.m);
      const int64_t bytes = static_cast<int64_t>(plan.floats) * sizeof(float);
      cudaError_t e = allow_smem(key_stabiliser_kernel<TM>, bytes);
      if (e != cudaSuccess) return e;
      key_stabiliser_kernel<TM><<<grid, kThreads, bytes, stream>>>(p, plan, fc, params.key_stabiliser);
      return cudaGetLastError();
    });
    if (err != cudaSuccess) return err;
  }

  cudaError_t err = launch_performer_key_state(p, params.key_stabiliser, params.state, stream);
  if (err != cudaSuccess) return err;

  err = dispatch_chunk_rows(p.chunk_rows, [&](auto tm) -> cudaError_t {
    constexpr int TM = decltype(tm)::value;
    const PerformerSmemPlan plan = performer_smem_plan(PerformerKernelId::Output, 16 * TM, p.D, p.m);
    const int64_t bytes = static_cast<int64_t>(plan.floats) * sizeof(float);
    cudaError_t e = allow_smem(output_kernel<TM>, bytes);
    if (e != cudaSuccess) return e;
    output_kernel<TM><<<grid, kThreads, bytes, stream>>>(params, plan, fc);
    return cudaGetLastError();
  });
  if (err != cudaSuccess) return err;
  return cudaGetLastError();
}

}  // namespace sea::kernels
