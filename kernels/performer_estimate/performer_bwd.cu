// performer_bwd.cu — the Performer (FAVOR+) estimate, backward: gradients of ops::performer_attention with
// respect to q, k and v (the projection gets none), recomputing the features from q and k (nothing per
// position is stored by the forward but its output and per-row denominators). Launched by the autograd
// function in src/ops/cuda/performer_estimate_cuda.cpp; the forward is performer_fwd.cu, whose key-state
// passes (launch_performer_key_state, launch_performer_chunk_scan) this file reuses.
//
// Gradient (per (n, h); g_t = dout_t / den_t, dden_t = −(dout_t · out_t) / den_t, both 0 on rows that have no
// key in the non-causal form; P, zP the key prefix state before the chunk; R, r the query suffix state after it):
//   dφq_t = Σ_j g_t[j] S_t[:, j] + dden_t (z_t + ε)
//         = (g Pᵀ)_t + dden_t (zP + ε) + Σ_{s≤t in chunk} M[t, s] φk_s,       M[t, s] = g_t·v_s + dden_t (s ≤ t)
//   dφk_s = Σ_{t≥s} φq_t (g_t·v_s + dden_t) = (v Rᵀ)_s + r + Σ_{t≥s in chunk} M[t, s] φq_t
//   dv_s  = Σ_{t≥s} (φq_t·φk_s) g_t        = (φk R)_s + Σ_{t≥s in chunk} A[t, s] g_t,   A[t, s] = φq_t·φk_s
// with R = Σ_{t in later chunks} φq_t g_tᵀ (m × Dv) and r = Σ_{later} dden_t φq_t (non-causal: P, zP, R, r are
// totals over all rows, ε = 0 and there is no in-chunk term). Keys at invalid positions get dφk = 0.
// Feature maps (u = dash − c²|x|²/2 − s, e = m^-½ exp(u), φ = e + m^-½·1e-4 for Softmax):
//   Relu:    d dash = dφ · [dash > 0];                                  dx = c · d dash · W
//   Softmax: du = dφ · e;  d dash = du;  d diag = ds = −Σ du;           dx = c · d dash · W + d diag · c² · x
//            and ds flows to the dash element that attains the stabiliser s (its max): for queries the row's
//            first maximal feature; for keys the first maximal (t, feature) over the valid keys of the (n, h),
//            whose ds = −Σ_{valid t, i} du is a sum over the whole sequence (added by a last small kernel).
//            Ties: PyTorch's amax would split the gradient evenly between equal maxima; we give it all to the
//            first one (ties have probability 0 with real-valued inputs).
//
// Passes (one block of 256 threads per (chunk, n·H + h) unless stated):
//   1. key state: launch_performer_key_state (forward's passes 2–3): P, zP per chunk (or the total).
//   2. grad_query_kernel: φk, the q pre-activations, M, dφq = g·Pᵀ + M·φk + dden (zP + ε), feature backward,
//      dq = c·d dash·W + coef·q. Value columns go through in tiles of 64.
//   3. query_state_kernel + launch_performer_chunk_scan: per chunk Σ φq gᵀ (m × Dv) and Σ dden φq (column Dv),
//      scanned to exclusive suffixes (causal) or the total (non-causal), overwriting the key state.
//   4. grad_key_value_kernel: φq, φk and k pre-activations, Aᵀ, M; dφk = v·Rᵀ + r + Mᵀ·φq, dv = [φk | Aᵀ]·[R ; g],
//      feature backward, dk = c·d dash·W + coef·k; Softmax: per-chunk partial of the key ds, and the row of the
//      key argmax kept in fp32 scratch instead of dk.
//   5. key_stabiliser_grad_kernel (Softmax; one block per (n, h)): ds_key = Σ partials (fp64), then
//      dk[t*] = row + c · ds_key · W[i*].
// fp32 throughout; deterministic (no floating-point atomics, fixed reduction orders).
#include <cmath>
#include <type_traits>

#include "common/numeric.cuh"
#include "performer_estimate/performer_common.cuh"

namespace sea::kernels {

using namespace performer;  // the shared helpers (performer_common.cuh)

namespace {

// ==== backward-only helpers ===============================================================================

__device__ __forceinline__ void store_element(void* base, DType dtype, int64_t i, float x) {
  switch (dtype) {
    case DType::BF16: static_cast<__nv_bfloat16*>(base)[i] = from_float<__nv_bfloat16>(x); break;
    case DType::F16: static_cast<__half*>(base)[i] = from_float<__half>(x); break;
    default: static_cast<float*>(base)[i] = x; break;
  }
}

// Per-row scalars of the chunk (C rows, C / 8 per warp): den[r] = the forward's denominator where row r carries
// a gradient (r < rows and, non-causal, den > 0), else 0; dden[r] = −(dout_r · out_r) / den_r there, else 0.
// Each warp reads its rows' dout and out together (independent loads), then reduces each row.
template <int C>
__device__ __forceinline__ void load_row_scalars(const PerformerBackwardParams& bp, int64_t n, int64_t h, int64_t t0,
                                                 int rows, float* den, float* dden) {
  constexpr int kRowsPerWarp = C / kWarps;
  const PerformerProblem& p = bp.problem;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float d[kRowsPerWarp], dot[kRowsPerWarp];
  bool live[kRowsPerWarp];
  const float* g_row[kRowsPerWarp];
  const float* o_row[kRowsPerWarp];
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int r = warp + i * kWarps;
    d[i] = r < rows ? bp.den[(n * p.H + h) * p.T + t0 + r] : 0.f;
    live[i] = r < rows && (p.causal || d[i] > 0.f);  // uniform over the warp
    dot[i] = 0.f;
    g_row[i] = bp.grad_out + row_offset(bp.grad_out_stride, n, h, t0 + (live[i] ? r : 0));
    o_row[i] = bp.out + row_offset(bp.out_stride, n, h, t0 + (live[i] ? r : 0));
  }
  for (int j = lane; j < p.Dv; j += 32) {
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      if (live[i]) dot[i] = fmaf(g_row[i][j], o_row[i][j], dot[i]);
    }
  }
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const float total = warp_sum(dot[i]);
    if (lane == 0) {
      const int r = warp + i * kWarps;
      den[r] = live[i] ? d[i] : 0.f;
      dden[r] = live[i] ? -total / d[i] : 0.f;
    }
  }
}

// g = dout / den for the chunk's rows, columns [j0, j0 + w), into dst (C × ld); 0 on rows with den[r] = 0.
__device__ __forceinline__ void load_g_tile(float* dst, int ld, const PerformerBackwardParams& bp, int64_t n,
                                            int64_t h, int64_t t0, int C, int j0, int w, const float* den) {
  const int64_t base = row_offset(bp.grad_out_stride, n, h, t0);
  batched_copy(
      C, w,
      [&](int r, int j) {
        const float d = den[r];
        return d != 0.f ? bp.grad_out[base + r * bp.grad_out_stride.t + j0 + j] / d : 0.f;
      },
      [&](int r, int j, float value) { dst[r * ld + j] = value; });
}

// Copies columns [j0, j0 + w) of the chunk state `st` (m × (Dv + 1), row stride ld_state) into dst (m × ld).
__device__ __forceinline__ void load_state_tile(float* dst, int ld, const float* st, int ld_state, int m, int j0,
                                                int w) {
  batched_copy(
      m, w, [&](int f, int j) { return st[f * ld_state + j0 + j]; },
      [&](int f, int j, float value) { dst[f * ld + j] = value; });
}

// Feature-map backward in place, one warp per row: dphi (C × ld) holds dφ and becomes d dash; pre (C × ld) holds
// the pre-activations (ReLU: dash; Softmax: e). Softmax: coef[r] = d diag · c² = −Σ du · c², row_sum[r] = Σ du
// (may be null), and, when row_argmax is given (queries), ds = −Σ du is added to d dash at the row's argmax.
// Rows with !row_ok[r] get d dash = 0 and coef = 0.
__device__ __forceinline__ void feature_backward_in_place(float* dphi, const float* pre, int ld, int C,
                                                          const PerformerProblem& p, const FeatureConsts& fc,
                                                          const int* row_ok, const int* row_argmax, float* coef,
                                                          float* row_sum) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int r = warp; r < C; r += kWarps) {
    float* row = dphi + r * ld;
    const float* pre_row = pre + r * ld;
    if (!row_ok[r]) {  // uniform over the warp
      for (int f = lane; f < p.m; f += 32) row[f] = 0.f;
      if (lane == 0) {
        coef[r] = 0.f;
        if (row_sum != nullptr) row_sum[r] = 0.f;
      }
      continue;
    }
    if (p.kernel == PerformerFeatureKernel::Relu) {
      for (int f = lane; f < p.m; f += 32) row[f] = pre_row[f] > 0.f ? row[f] : 0.f;
      if (lane == 0) {
        coef[r] = 0.f;
        if (row_sum != nullptr) row_sum[r] = 0.f;
      }
      continue;
    }
    float sum = 0.f;
    for (int f = lane; f < p.m; f += 32) {
      const float du = row[f] * pre_row[f];
      row[f] = du;
      sum += du;
    }
    sum = warp_sum(sum);
    __syncwarp();
    if (lane == 0) {
      if (row_argmax != nullptr) row[row_argmax[r]] -= sum;  // ds = −Σ du to the stabiliser's element
      coef[r] = -sum * fc.c_sq;
      if (row_sum != nullptr) row_sum[r] = sum;
    }
  }
}

// ==== backward kernels ====================================================================================

// 2. dq for one chunk.
template <int TM>
__global__ void __launch_bounds__(kThreads)
    grad_query_kernel(const PerformerBackwardParams bp, const PerformerSmemPlan plan, const FeatureConsts fc) {
  constexpr int C = 16 * TM;
  const PerformerProblem& p = bp.problem;
  extern __shared__ float smem[];
  __shared__ int query_ok[C], key_ok[C];
  const int64_t nh = blockIdx.y;  // n·H + h (32-bit division below: N·H ≤ 65535)
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const int64_t chunk = blockIdx.x, num_chunks = gridDim.x;
  const int64_t t0 = chunk * C;
  const int rows = static_cast<int>(min(static_cast<int64_t>(C), p.T - t0));
  const int m = p.m, Dv = p.Dv, ld_state = Dv + 1;
  const bool causal = p.causal;
  const int ld_m = plan.ld_m, ld_tile = plan.ld_tile, ld_c = plan.ld_c;
  float* x = smem + plan.x;           // phase 1: k rows, then q rows
  float* g_tile = smem + plan.x;      // phase 2 (x is dead): g tile
  float* v_tile = smem + plan.region_b;  // phase 2: v tile
  float* pre_q = smem + plan.phi_a;
  float* phi_k = smem + plan.phi_b;
  float* dphi = smem + plan.phi_c;    // first a scratch for q's dash, then dφq, then d dash
  float* s_tile = smem + plan.right;  // key state tile (m × w)
  float* M = smem + plan.mat;
  float* z = smem + plan.vec_m;
  float* den = smem + plan.vec_c0;
  float* dden = smem + plan.vec_c1;
  float* coef = smem + plan.vec_c2;
  int* argmax = reinterpret_cast<int*>(smem + plan.vec_c3);

  for (int r = threadIdx.x; r < C; r += kThreads) {
    query_ok[r] = r < rows;
    key_ok[r] = key_is_valid(p, n, t0 + r);
  }
  if (causal) {
    const float key_s =
        p.kernel == PerformerFeatureKernel::Softmax ? stabiliser_value(bp.key_stabiliser[nh]) : 0.f;
    load_rows(x, plan.ld_x, p.k, p.dtype, row_offset(p.k_stride, n, h, t0), p.k_stride.t, rows, C, 0, p.D);
    __syncthreads();
    compute_dash<TM>(x, plan.ld_x, p, fc, phi_k, ld_m);
    __syncthreads();
    features_in_place(phi_k, ld_m, nullptr, 0, x, plan.ld_x, C, p, fc, key_ok, /*is_query=*/false, key_s, nullptr);
    __syncthreads();
  }
  load_rows(x, plan.ld_x, p.q, p.dtype, row_offset(p.q_stride, n, h, t0), p.q_stride.t, rows, C, 0, p.D);
  __syncthreads();
  compute_dash<TM>(x, plan.ld_x, p, fc, dphi, ld_m);
  __syncthreads();
  // φq itself is not needed here (it lands in dphi and is overwritten): only its pre-activations and argmax.
  features_in_place(dphi, ld_m, pre_q, ld_m, x, plan.ld_x, C, p, fc, query_ok, /*is_query=*/true, 0.f, argmax);
  load_row_scalars<C>(bp, n, h, t0, rows, den, dden);
  const float* st = bp.state + (nh * num_chunks + (causal ? chunk : 0)) * static_cast<int64_t>(m) * ld_state;
  for (int f = threadIdx.x; f < m; f += kThreads) z[f] = st[f * ld_state + Dv] + (causal ? 1e-6f : 0.f);
  __syncthreads();

  // dφq = dden ⊗ (z + ε), then + g·Pᵀ over the value tiles; M = g·vᵀ (causal).
  for (int r = threadIdx.x / 32; r < C; r += kWarps) {
    for (int f = threadIdx.x % 32; f < m; f += 32) dphi[r * ld_m + f] = dden[r] * z[f];
  }
  if (causal) {
    for (int idx = threadIdx.x; idx < C * C; idx += kThreads) M[(idx / C) * ld_c + idx % C] = 0.f;
  }
  for (int j0 = 0; j0 < Dv; j0 += kTile) {
    const int w = min(kTile, Dv - j0);
    load_g_tile(g_tile, ld_tile, bp, n, h, t0, C, j0, w, den);
    load_state_tile(s_tile, ld_tile, st, ld_state, m, j0, w);
    if (causal) {
      load_rows(v_tile, ld_tile, p.v, p.dtype, row_offset(p.v_stride, n, h, t0), p.v_stride.t, rows, C, j0, w);
    }
    __syncthreads();
    // (C × m) += g (C × w) · Pᵀ (w × m)
    with_tile_for(m, [&](auto tn) {
      block_gemm<TM, decltype(tn)::value, false, true>(C, m, w, g_tile, ld_tile, s_tile, ld_tile,
                                                       [&](int t, int f, float acc) { dphi[t * ld_m + f] += acc; });
    });
    if (causal) {
      // (C × C) += g (C × w) · vᵀ (w × C)
      block_gemm<TM, TM, false, true>(C, C, w, g_tile, ld_tile, v_tile, ld_tile,
                                      [&](int t, int s, float acc) { M[t * ld_c + s] += acc; });
    }
    __syncthreads();
  }
  if (causal) {
    for (int idx = threadIdx.x; idx < C * C; idx += kThreads) {
      const int t = idx / C, s = idx - t * C;
      M[t * ld_c + s] = s <= t ? M[t * ld_c + s] + dden[t] : 0.f;
    }
    __syncthreads();
    // (C × m) += M (C × C) · φk (C × m)
    with_tile_for(m, [&](auto tn) {
      block_gemm<TM, decltype(tn)::value, false, false>(C, m, C, M, ld_c, phi_k, ld_m,
                                                        [&](int t, int f, float acc) { dphi[t * ld_m + f] += acc; });
    });
    __syncthreads();
  }

  feature_backward_in_place(dphi, pre_q, ld_m, C, p, fc, query_ok, argmax, coef, nullptr);
  __syncthreads();

  // dq = c · d dash (C × m) · W (m × D) + coef · q
  const int64_t q_base = row_offset(p.q_stride, n, h, t0);
  const int64_t dq_base = row_offset(bp.grad_q_stride, n, h, t0);
  block_gemm<TM, 4, false, false>(C, p.D, m, dphi, ld_m, p.projection, p.D, [&](int t, int d, float acc) {
    if (t >= rows) return;
    float value = fc.c * acc;
    if (coef[t] != 0.f) value += coef[t] * load_element(p.q, p.dtype, q_base + t * p.q_stride.t + d);
    store_element(bp.grad_q, p.dtype, dq_base + t * bp.grad_q_stride.t + d, value);
  });
}

// 3. Query state of one chunk: state[f][j] = Σ_t φq[t][f] g[t][j] (j < Dv), state[f][Dv] = Σ_t φq[t][f] dden[t].
template <int TM>
__global__ void __launch_bounds__(kThreads)
    query_state_kernel(const PerformerBackwardParams bp, const PerformerSmemPlan plan, const FeatureConsts fc) {
  constexpr int C = 16 * TM;
  const PerformerProblem& p = bp.problem;
  extern __shared__ float smem[];
  __shared__ int query_ok[C];
  const int64_t nh = blockIdx.y;  // n·H + h (32-bit division below: N·H ≤ 65535)
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const int64_t chunk = blockIdx.x, num_chunks = gridDim.x;
  const int64_t t0 = chunk * C;
  const int rows = static_cast<int>(min(static_cast<int64_t>(C), p.T - t0));
  const int m = p.m, Dv = p.Dv, ld_state = Dv + 1;
  float* x = smem + plan.x;
  float* phi_q = smem + plan.phi_a;
  float* g_tile = smem + plan.region_b;
  float* den = smem + plan.vec_c0;
  float* dden = smem + plan.vec_c1;

  for (int r = threadIdx.x; r < C; r += kThreads) query_ok[r] = r < rows;
  load_rows(x, plan.ld_x, p.q, p.dtype, row_offset(p.q_stride, n, h, t0), p.q_stride.t, rows, C, 0, p.D);
  __syncthreads();
  compute_dash<TM>(x, plan.ld_x, p, fc, phi_q, plan.ld_m);
  __syncthreads();
  features_in_place(phi_q, plan.ld_m, nullptr, 0, x, plan.ld_x, C, p, fc, query_ok, /*is_query=*/true, 0.f, nullptr);
  load_row_scalars<C>(bp, n, h, t0, rows, den, dden);
  __syncthreads();

  float* st = bp.state + (nh * num_chunks + chunk) * static_cast<int64_t>(m) * ld_state;
  for (int f = threadIdx.x; f < m; f += kThreads) {
    float r_sum = 0.f;
    for (int t = 0; t < C; ++t) r_sum = fmaf(phi_q[t * plan.ld_m + f], dden[t], r_sum);
    st[f * ld_state + Dv] = r_sum;
  }
  for (int j0 = 0; j0 < Dv; j0 += kTile) {
    const int w = min(kTile, Dv - j0);
    load_g_tile(g_tile, plan.ld_tile, bp, n, h, t0, C, j0, w, den);
    __syncthreads();
    // (m × w) = φqᵀ (m × C) · g (C × w)
    with_tile_for(m, [&](auto tm_f) {
      block_gemm<decltype(tm_f)::value, 4, true, false>(
          m, w, C, phi_q, plan.ld_m, g_tile, plan.ld_tile,
          [&](int f, int j, float acc) { st[f * ld_state + j0 + j] = acc; });
    });
    __syncthreads();
  }
}

// 4. dk and dv for one chunk.
template <int TM>
__global__ void __launch_bounds__(kThreads)
    grad_key_value_kernel(const PerformerBackwardParams bp, const PerformerSmemPlan plan, const FeatureConsts fc) {
  constexpr int C = 16 * TM;
  const PerformerProblem& p = bp.problem;
  extern __shared__ float smem[];
  __shared__ int query_ok[C], key_ok[C];
  const int64_t nh = blockIdx.y;  // n·H + h (32-bit division below: N·H ≤ 65535)
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const int64_t chunk = blockIdx.x, num_chunks = gridDim.x;
  const int64_t t0 = chunk * C;
  const int rows = static_cast<int>(min(static_cast<int64_t>(C), p.T - t0));
  const int m = p.m, Dv = p.Dv, ld_state = Dv + 1;
  const bool causal = p.causal;
  const bool softmax = p.kernel == PerformerFeatureKernel::Softmax;
  const int ld_m = plan.ld_m, ld_tile = plan.ld_tile, ld_c = plan.ld_c, ld_left = plan.ld_left;
  float* x = smem + plan.x;       // phase 1: q rows, then k rows
  float* v_tile = smem + plan.x;  // phase 2 (x is dead): v tile
  float* M = smem + plan.mat;     // phase 2: M (C × C)
  float* phi_q = smem + plan.phi_a;
  float* pre_k = smem + plan.phi_b;
  float* dphi = smem + plan.phi_c;
  float* left = smem + plan.left;    // C × (m + C): [φk | Aᵀ]
  float* right = smem + plan.right;  // (m + C) × tile: [suffix state tile ; g tile]
  float* r_vec = smem + plan.vec_m;
  float* den = smem + plan.vec_c0;
  float* dden = smem + plan.vec_c1;
  float* coef = smem + plan.vec_c2;
  float* row_sum = smem + plan.vec_c3;

  const unsigned long long key_word = softmax ? bp.key_stabiliser[nh] : 0ull;
  const float key_s = stabiliser_value(key_word);
  const int64_t argmax_index = stabiliser_index(key_word);
  // (index < 2^32: 32-bit division)
  const int64_t argmax_row =
      argmax_index >= 0 ? static_cast<int64_t>(static_cast<unsigned>(argmax_index) / static_cast<unsigned>(m)) : -1;

  for (int r = threadIdx.x; r < C; r += kThreads) {
    query_ok[r] = r < rows;
    key_ok[r] = key_is_valid(p, n, t0 + r);
  }
  load_rows(x, plan.ld_x, p.q, p.dtype, row_offset(p.q_stride, n, h, t0), p.q_stride.t, rows, C, 0, p.D);
  __syncthreads();
  compute_dash<TM>(x, plan.ld_x, p, fc, phi_q, ld_m);
  __syncthreads();
  features_in_place(phi_q, ld_m, nullptr, 0, x, plan.ld_x, C, p, fc, query_ok, /*is_query=*/true, 0.f, nullptr);
  load_row_scalars<C>(bp, n, h, t0, rows, den, dden);
  __syncthreads();
  load_rows(x, plan.ld_x, p.k, p.dtype, row_offset(p.k_stride, n, h, t0), p.k_stride.t, rows, C, 0, p.D);
  __syncthreads();
  compute_dash<TM>(x, plan.ld_x, p, fc, left, ld_left);
  __syncthreads();
  features_in_place(left, ld_left, pre_k, ld_m, x, plan.ld_x, C, p, fc, key_ok, /*is_query=*/false, key_s, nullptr);
  __syncthreads();
  if (causal) {
    // Aᵀ[s][t] = φq_t · φk_s for s ≤ t (0 otherwise), into left's columns [m, m + C).
    block_gemm<TM, TM, false, true>(C, C, m, phi_q, ld_m, left, ld_left, [&](int t, int s, float acc) {
      left[s * ld_left + m + t] = s <= t ? acc : 0.f;
    });
  }
  const float* st = bp.state + (nh * num_chunks + (causal ? chunk : 0)) * static_cast<int64_t>(m) * ld_state;
  for (int f = threadIdx.x; f < m; f += kThreads) r_vec[f] = st[f * ld_state + Dv];
  if (causal) {
    for (int idx = threadIdx.x; idx < C * C; idx += kThreads) M[(idx / C) * ld_c + idx % C] = 0.f;
  }
  __syncthreads();
  for (int s = threadIdx.x / 32; s < C; s += kWarps) {
    for (int f = threadIdx.x % 32; f < m; f += 32) dphi[s * ld_m + f] = r_vec[f];
  }

  const int64_t dv_base = row_offset(bp.grad_v_stride, n, h, t0);
  for (int j0 = 0; j0 < Dv; j0 += kTile) {
    const int w = min(kTile, Dv - j0);
    load_state_tile(right, ld_tile, st, ld_state, m, j0, w);
    load_g_tile(right + m * ld_tile, ld_tile, bp, n, h, t0, C, j0, w, den);
    load_rows(v_tile, ld_tile, p.v, p.dtype, row_offset(p.v_stride, n, h, t0), p.v_stride.t, rows, C, j0, w);
    __syncthreads();
    // (C × m) += v (C × w) · Rᵀ (w × m)
    with_tile_for(m, [&](auto tn) {
      block_gemm<TM, decltype(tn)::value, false, true>(C, m, w, v_tile, ld_tile, right, ld_tile,
                                                       [&](int s, int f, float acc) { dphi[s * ld_m + f] += acc; });
    });
    if (causal) {
      // (C × C) += g (C × w) · vᵀ (w × C)
      block_gemm<TM, TM, false, true>(C, C, w, right + m * ld_tile, ld_tile, v_tile, ld_tile,
                                      [&](int t, int s, float acc) { M[t * ld_c + s] += acc; });
    }
    // dv (C × w) = [φk | Aᵀ] (C × (m + C)) · [R ; g] ((m + C) × w)
    block_gemm<TM, 4, false, false>(C, w, causal ? m + C : m, left, ld_left, right, ld_tile,
                                    [&](int s, int j, float acc) {
                                      if (s < rows) store_element(bp.grad_v, p.dtype, dv_base + s * bp.grad_v_stride.t + j0 + j, acc);
                                    });
    __syncthreads();
  }
  if (causal) {
    for (int idx = threadIdx.x; idx < C * C; idx += kThreads) {
      const int t = idx / C, s = idx - t * C;
      M[t * ld_c + s] = s <= t ? M[t * ld_c + s] + dden[t] : 0.f;
    }
    __syncthreads();
    // (C × m) += Mᵀ (C × C) · φq (C × m)
    with_tile_for(m, [&](auto tn) {
      block_gemm<TM, decltype(tn)::value, true, false>(C, m, C, M, ld_c, phi_q, ld_m,
                                                       [&](int s, int f, float acc) { dphi[s * ld_m + f] += acc; });
    });
    __syncthreads();
  }

  feature_backward_in_place(dphi, pre_k, ld_m, C, p, fc, key_ok, nullptr, coef, row_sum);
  __syncthreads();
  if (softmax && threadIdx.x < 32) {
    float sum = 0.f;
    for (int r = threadIdx.x; r < C; r += 32) sum += row_sum[r];
    sum = warp_sum(sum);
    if (threadIdx.x == 0) bp.stabiliser_partial[nh * num_chunks + chunk] = -sum;  // this chunk's share of ds
  }

  // dk = c · d dash (C × m) · W (m × D) + coef · k; the key argmax's row goes to fp32 scratch (finished in 5.)
  const int64_t k_base = row_offset(p.k_stride, n, h, t0);
  const int64_t dk_base = row_offset(bp.grad_k_stride, n, h, t0);
  block_gemm<TM, 4, false, false>(C, p.D, m, dphi, ld_m, p.projection, p.D, [&](int s, int d, float acc) {
    if (s >= rows) return;
    float value = fc.c * acc;
    if (coef[s] != 0.f) value += coef[s] * load_element(p.k, p.dtype, k_base + s * p.k_stride.t + d);
    if (t0 + s == argmax_row) {
      bp.key_grad_row[nh * p.D + d] = value;
    } else {
      store_element(bp.grad_k, p.dtype, dk_base + s * bp.grad_k_stride.t + d, value);
    }
  });
}

// 5. The key stabiliser's gradient (Softmax), one block per (n, h).
__global__ void __launch_bounds__(kThreads)
    key_stabiliser_grad_kernel(const PerformerBackwardParams bp, const FeatureConsts fc, int64_t num_chunks) {
  const PerformerProblem& p = bp.problem;
  __shared__ double partial[kThreads];
  const int64_t nh = blockIdx.x;  // n·H + h
  const int64_t n = static_cast<int>(nh) / static_cast<int>(p.H), h = static_cast<int>(nh) % static_cast<int>(p.H);
  const unsigned long long key_word = bp.key_stabiliser[nh];
  if (key_word == 0ull) return;  // no valid key: s is the constant 0, and dk has no argmax row
  const int64_t index = stabiliser_index(key_word);
  const int64_t t_star = static_cast<unsigned>(index) / static_cast<unsigned>(p.m);  // index < 2^32
  const int64_t f_star = static_cast<unsigned>(index) % static_cast<unsigned>(p.m);

  double sum = 0.0;
  for (int64_t c = threadIdx.x; c < num_chunks; c += kThreads) sum += bp.stabiliser_partial[nh * num_chunks + c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  const float ds = static_cast<float>(partial[0]);
  const int64_t dk_row = row_offset(bp.grad_k_stride, n, h, t_star);
  for (int d = threadIdx.x; d < p.D; d += kThreads) {
    const float value = bp.key_grad_row[nh * p.D + d] + fc.c * (ds * p.projection[f_star * p.D + d]);
    store_element(bp.grad_k, p.dtype, dk_row + d, value);
  }
}

}  // namespace

cudaError_t launch_performer_backward(const PerformerBackwardParams& params, cudaStream_t stream) {
  const PerformerProblem& p = params.problem;
  if (p.N * p.H <= 0 || p.T <= 0) return cudaSuccess;
  const int64_t num_chunks = performer_num_chunks(p.T, p.chunk_rows);
  const int64_t heads = p.N * p.H;
  const dim3 grid(static_cast<unsigned>(num_chunks), static_cast<unsigned>(heads));
  const FeatureConsts fc = feature_consts(p);

  // 1. Key prefix (or total) states.
  cudaError_t err = launch_performer_key_state(p, params.key_stabiliser, params.state, stream);
  if (err != cudaSuccess) return err;

  // 2. dq (reads the key states).
  err = dispatch_chunk_rows(p.chunk_rows, [&](auto tm) -> cudaError_t {
    constexpr int TM = decltype(tm)::value;
    const PerformerSmemPlan plan = performer_smem_plan(PerformerKernelId::GradQuery, 16 * TM, p.D, p.m);
    const int64_t bytes = static_cast<int64_t>(plan.floats) * sizeof(float);
    cudaError_t e = allow_smem(grad_query_kernel<TM>, bytes);
    if (e != cudaSuccess) return e;
    grad_query_kernel<TM><<<grid, kThreads, bytes, stream>>>(params, plan, fc);
    return cudaGetLastError();
  });
  if (err != cudaSuccess) return err;

  // 3. Query suffix (or total) states, overwriting the key states (stream order: after 2.).
  err = dispatch_chunk_rows(p.chunk_rows, [&](auto tm) -> cudaError_t {
    constexpr int TM = decltype(tm)::value;
    const PerformerSmemPlan plan = performer_smem_plan(PerformerKernelId::QueryState, 16 * TM, p.D, p.m);
    const int64_t bytes = static_cast<int64_t>(plan.floats) * sizeof(float);
    cudaError_t e = allow_smem(query_state_kernel<TM>, bytes);
    if (e != cudaSuccess) return e;
    query_state_kernel<TM><<<grid, kThreads, bytes, stream>>>(params, plan, fc);
    return cudaGetLastError();
  });
  if (err != cudaSuccess) return err;
  err = launch_performer_chunk_scan(params.state, heads, num_chunks, static_cast<int64_t>(p.m) * (p.Dv + 1),
                                    p.causal ? PerformerScan::ExclusiveSuffix : PerformerScan::TotalInFirst, stream);
  if (err != cudaSuccess) return err;

  // 4. dk, dv.
  err = dispatch_chunk_rows(p.chunk_rows, [&](auto tm) -> cudaError_t {
    constexpr int TM = decltype(tm)::value;
    const PerformerSmemPlan plan = performer_smem_plan(PerformerKernelId::GradKeyValue, 16 * TM, p.D, p.m);
    const int64_t bytes = static_cast<int64_t>(plan.floats) * sizeof(float);
    cudaError_t e = allow_smem(grad_key_value_kernel<TM>, bytes);
    if (e != cudaSuccess) return e;
    grad_key_value_kernel<TM><<<grid, kThreads, bytes, stream>>>(params, plan, fc);
    return cudaGetLastError();
  });
  if (err != cudaSuccess) return err;

  // 5. The key stabiliser's share of dk (Softmax).
  if (p.kernel == PerformerFeatureKernel::Softmax) {
    key_stabiliser_grad_kernel<<<static_cast<unsigned>(heads), kThreads, 0, stream>>>(params, fc, num_chunks);
    err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  return cudaGetLastError();
}

}  // namespace sea::kernels
