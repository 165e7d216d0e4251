// sparse_attention_bwd.cu — SEA's sparse attention backward, in two deterministic passes (no atomics):
//
//  1. Row pass (one warp per query row, the forward's lane layout): recomputes each kept key's probability
//     P_j = exp2(s_j − lse2) from the saved log2-sum-exp2, and with dp_j = dout·v_j and
//     δ = σ · (dout · out_f32) (= dout · out, from the fp32 unscaled output, so the difference below does not
//     lose the bf16 rounding of `out`):
//        dS_j = P_j (σ dp_j − δ),  dq = scale · Σ_j dS_j k_j,  dσ = Σ_j P_j dp_j  (= dout · unscaled out).
//     It writes dq, dσ and δ (for pass 2).
//  2. Column pass (one warp per block of 1024/D consecutive key ranks of one head, 16 at D = 64): scans the rows that can see
//     the block (causal: from the block's first key on), finds with a ballot those whose kept cells cover any
//     of its keys, and for each such row adds that row's terms to the keys' gradients, which stay in
//     registers:  dv_j += σ P_j dout,  dk_j += scale · dS_j q.
//     Every key gradient is a sum in row order, so two runs give bitwise the same result. Short sequences
//     give too few key blocks to fill the GPU: then S warps share a block's rows (segments) and write fp32
//     partials, which a last pass adds in segment order (still deterministic).
#include "sparse_attention/sparse_attention_common.cuh"

#include <algorithm>

namespace sea::kernels {
namespace sparse {
namespace {

constexpr int kWarpsPerBlock = 8;

// Keys per warp in the column pass: 1024 / D (16 at D = 64), so that the block's k, v and their gradient
// accumulators take 128 fp32 registers per lane at every head dim and element type.
template <typename T, int D>
struct ColumnBlock {
  static constexpr int kKeys = 1024 / D;
  static constexpr int kSteps = kKeys / LaneLayout<T, D>::kKeysPerStep;
  static_assert(kSteps * LaneLayout<T, D>::kKeysPerStep == kKeys, "column block must be whole key steps");
};

template <typename T, int D>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    sparse_attention_dq_kernel(const SparseAttentionBackwardParams b) {
  using LL = LaneLayout<T, D>;
  constexpr int E = LL::kElemsPerLane, LPK = LL::kLanesPerKey, KPS = LL::kKeysPerStep, STEPS = LL::kStepsPerChunk;
  const SparseAttentionForwardParams& p = b.fwd;
  const int lane = threadIdx.x & 31;
  const int t = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  const int h = blockIdx.y, n = blockIdx.z;
  if (t >= p.T) return;
  const int group = lane / LPK, sub = lane % LPK;
  const int64_t row = (static_cast<int64_t>(n) * p.H + h) * p.T + t;
  const int L = p.row_len[static_cast<int64_t>(n) * p.T + t];
  const uint32_t* bits = p.kept_bits + row * p.W;
  const bool thin = p.thin_oversample > 1.0;
  const float score_scale = p.scale * kLog2e;
  const float lse2 = p.lse2[row];
  const float sigma = p.row_scale ? p.row_scale[row] : 1.f;

  float q[E], dout[E], o[E];
  load_slice<T, E>(row_ptr<T>(p.q, p.q_stride, n, h, t) + sub * E, q);
  load_slice<T, E>(static_cast<const T*>(b.dout) + row * D + sub * E, dout);
  {
    const float* of = p.out_f32 + row * D + sub * E;
#pragma unroll
    for (int e = 0; e < E; ++e) o[e] = of[e];
  }
  float dot = 0.f;
#pragma unroll
  for (int e = 0; e < E; ++e) dot = fmaf(dout[e], o[e], dot);
  const float delta = sigma * key_sum<LPK>(dot);

  float dq[E];
#pragma unroll
  for (int e = 0; e < E; ++e) dq[e] = 0.f;
  float dsigma_part = 0.f;

  if (L > 0 && lse2 != -INFINITY) {
    for_each_kept_run(bits, p.W, p.K, L, [&](int r0, int r1) {
      for (int base = r0; base < r1; base += 32) {
#pragma unroll
        for (int i = 0; i < STEPS; ++i) {
          const int r = base + i * KPS + group;
          const bool ok = r < r1 && (!thin || thin_keep(r, L, p.thin_k, p.thin_oversample));
          float kx[E], vx[E];
          float s_part = 0.f, dp_part = 0.f;
          if (ok) {
            const int pos = key_position(p.rank_to_key, n, p.T, r);
            load_slice<T, E>(row_ptr<T>(p.k, p.k_stride, n, h, pos) + sub * E, kx);
            load_slice<T, E>(row_ptr<T>(p.v, p.v_stride, n, h, pos) + sub * E, vx);
#pragma unroll
            for (int e = 0; e < E; ++e) {
              s_part = fmaf(q[e], kx[e], s_part);
              dp_part = fmaf(dout[e], vx[e], dp_part);
            }
          }
          const float s = key_sum<LPK>(s_part) * score_scale;
          const float dp = key_sum<LPK>(dp_part);
          if (ok) {
            const float prob = exp2f(s - lse2);
            const float ds = prob * (sigma * dp - delta);
            dsigma_part = fmaf(prob, dp, dsigma_part);
#pragma unroll
            for (int e = 0; e < E; ++e) dq[e] = fmaf(ds, kx[e], dq[e]);
          }
        }
      }
    });
  }

#pragma unroll
  for (int e = 0; e < E; ++e) dq[e] = group_sum<LPK>(dq[e]) * p.scale;
  const float dsigma = group_sum<LPK>(dsigma_part);
  if (group == 0) store_slice<T, E>(static_cast<T*>(b.dq) + row * D + sub * E, dq);
  if (lane == 0) {
    b.delta[row] = delta;
    if (b.drow_scale) b.drow_scale[row] = dsigma;
  }
}

// Warps per block of the column pass: fewer than the row pass, because each warp keeps its running sums in
// shared memory (8 KB).
constexpr int kColumnWarpsPerBlock = 4;

template <typename T, int D>
__global__ void __launch_bounds__(kColumnWarpsPerBlock * 32)
    sparse_attention_dkdv_kernel(const SparseAttentionBackwardParams b) {
  using LL = LaneLayout<T, D>;
  constexpr int E = LL::kElemsPerLane, LPK = LL::kLanesPerKey, KPS = LL::kKeysPerStep;
  constexpr int STEPS = ColumnBlock<T, D>::kSteps, KB = ColumnBlock<T, D>::kKeys;
  const SparseAttentionForwardParams& p = b.fwd;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int block = blockIdx.x * kColumnWarpsPerBlock + warp;
  const int h = blockIdx.y, n = blockIdx.z % p.N, segment = blockIdx.z / p.N;
  const int valid = b.valid_keys[n];
  const int b0 = block * KB;  // first rank of this warp's keys
  if (b0 >= valid) return;
  const int group = lane / LPK, sub = lane % LPK;
  const bool thin = p.thin_oversample > 1.0;
  const float score_scale = p.scale * kLog2e;
  const int last = min(b0 + KB, valid) - 1;  // last rank of the block

  float kx[STEPS][E], vx[STEPS][E], dk[STEPS][E], dv[STEPS][E];
  int rank[STEPS];
#pragma unroll
  for (int i = 0; i < STEPS; ++i) {
    rank[i] = b0 + i * KPS + group;
    if (rank[i] <= last) {
      const int pos = key_position(p.rank_to_key, n, p.T, rank[i]);
      load_slice<T, E>(row_ptr<T>(p.k, p.k_stride, n, h, pos) + sub * E, kx[i]);
      load_slice<T, E>(row_ptr<T>(p.v, p.v_stride, n, h, pos) + sub * E, vx[i]);
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) kx[i][e] = vx[i][e] = 0.f;
    }
#pragma unroll
    for (int e = 0; e < E; ++e) dk[i][e] = dv[i][e] = 0.f;
  }
  // Two-level sums: dk, dv (registers) collect one ballot group of 32 rows, then go into these running totals,
  // so a key seen by thousands of rows is summed in blocks (rounding error ~ 32 + rows/32 additions, not rows).
  static_assert(STEPS * E == 32, "column block holds 32 values per lane for each of dk and dv");
  __shared__ float totals[kColumnWarpsPerBlock][2 * STEPS * E][32];
#pragma unroll
  for (int j = 0; j < 2 * STEPS * E; ++j) totals[warp][j][lane] = 0.f;
  auto flush = [&] {
#pragma unroll
    for (int i = 0; i < STEPS; ++i) {
#pragma unroll
      for (int e = 0; e < E; ++e) {
        totals[warp][i * E + e][lane] += dk[i][e];
        totals[warp][STEPS * E + i * E + e][lane] += dv[i][e];
        dk[i][e] = dv[i][e] = 0.f;
      }
    }
  };

  const int64_t head_rows = (static_cast<int64_t>(n) * p.H + h) * p.T;
  // This warp's rows: segment `segment` of the rows that can see the block (causal: from its first key on).
  const int first_row = p.causal ? key_position(p.rank_to_key, n, p.T, b0) : 0;
  const int seg_len = ((p.T - first_row + b.segments - 1) / b.segments + 31) / 32 * 32;
  const int t_begin = first_row + segment * seg_len, t_end = min(p.T, t_begin + seg_len);
  for (int t_base = t_begin; t_base < t_end; t_base += 32) {
    // Which of these 32 rows keep a cell that covers one of the block's keys?
    const int t_lane = t_base + lane;
    bool touches = false;
    if (t_lane < t_end) {
      const int L = p.row_len[static_cast<int64_t>(n) * p.T + t_lane];
      if (L > b0) {
        const int hi = min(last, L - 1);
        touches = any_kept(p.kept_bits + (head_rows + t_lane) * p.W, cell_of_rank(b0, L, p.K),
                           cell_of_rank(hi, L, p.K));
      }
    }
    unsigned rows = __ballot_sync(0xffffffffu, touches);
    const bool any_rows = rows != 0;
    while (rows) {
      const int t = t_base + __ffs(rows) - 1;
      rows &= rows - 1;
      const int64_t row = head_rows + t;
      const int L = p.row_len[static_cast<int64_t>(n) * p.T + t];
      const uint32_t* bits = p.kept_bits + row * p.W;
      const float lse2 = p.lse2[row], delta = b.delta[row];
      const float sigma = p.row_scale ? p.row_scale[row] : 1.f;
      float q[E], dout[E];
      load_slice<T, E>(row_ptr<T>(p.q, p.q_stride, n, h, t) + sub * E, q);
      load_slice<T, E>(static_cast<const T*>(b.dout) + row * D + sub * E, dout);
#pragma unroll
      for (int i = 0; i < STEPS; ++i) {
        const int r = rank[i];
        const bool kept = r <= last && r < L && bit_set(bits, cell_of_rank(r, L, p.K)) &&
                          (!thin || thin_keep(r, L, p.thin_k, p.thin_oversample));
        float s_part = 0.f, dp_part = 0.f;
#pragma unroll
        for (int e = 0; e < E; ++e) {
          s_part = fmaf(q[e], kx[i][e], s_part);
          dp_part = fmaf(dout[e], vx[i][e], dp_part);
        }
        const float s = key_sum<LPK>(s_part) * score_scale;
        const float dp = key_sum<LPK>(dp_part);
        if (kept) {
          const float prob = exp2f(s - lse2);
          const float ds = prob * (sigma * dp - delta);
          const float w = sigma * prob;
#pragma unroll
          for (int e = 0; e < E; ++e) {
            dv[i][e] = fmaf(w, dout[e], dv[i][e]);
            dk[i][e] = fmaf(ds, q[e], dk[i][e]);
          }
        }
      }
    }
    if (any_rows) flush();
  }
  flush();

#pragma unroll
  for (int i = 0; i < STEPS; ++i) {
#pragma unroll
    for (int e = 0; e < E; ++e) {
      dk[i][e] = totals[warp][i * E + e][lane];
      dv[i][e] = totals[warp][STEPS * E + i * E + e][lane];
    }
  }
#pragma unroll
  for (int i = 0; i < STEPS; ++i) {
    if (rank[i] > last) continue;
    if (b.segments > 1) {  // partial sums by rank, added in segment order by the reduce pass
      const int64_t slot = (static_cast<int64_t>(segment) * p.N * p.H * p.T + head_rows + rank[i]) * D + sub * E;
      const int64_t dv_offset = static_cast<int64_t>(b.segments) * p.N * p.H * p.T * D;
#pragma unroll
      for (int e = 0; e < E; ++e) {
        b.partials[slot + e] = dk[i][e];
        b.partials[dv_offset + slot + e] = dv[i][e];
      }
      continue;
    }
    const int pos = key_position(p.rank_to_key, n, p.T, rank[i]);
    const int64_t out_row = head_rows + pos;
#pragma unroll
    for (int e = 0; e < E; ++e) dk[i][e] *= p.scale;
    store_slice<T, E>(static_cast<T*>(b.dk) + out_row * D + sub * E, dk[i]);
    store_slice<T, E>(static_cast<T*>(b.dv) + out_row * D + sub * E, dv[i]);
  }
}

// dk, dv = the sum over segments of the column pass's partials, in segment order (deterministic); one thread
// per (n, h, rank, slice of E elements). Ranks past the sample's valid keys have no key: nothing to write.
template <typename T, int D>
__global__ void sparse_attention_dkdv_reduce_kernel(const SparseAttentionBackwardParams b) {
  constexpr int E = LaneLayout<T, D>::kElemsPerLane, SLICES = D / E;
  const SparseAttentionForwardParams& p = b.fwd;
  const int64_t total = static_cast<int64_t>(p.N) * p.H * p.T * SLICES;
  const int64_t plane = static_cast<int64_t>(p.N) * p.H * p.T * D;  // one segment's partials
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int slice = static_cast<int>(i % SLICES);
    const int64_t row = i / SLICES;  // (n, h, rank)
    const int rank = static_cast<int>(row % p.T);
    const int n = static_cast<int>(row / (static_cast<int64_t>(p.H) * p.T));
    if (rank >= b.valid_keys[n]) continue;
    float dk[E], dv[E];
#pragma unroll
    for (int e = 0; e < E; ++e) dk[e] = dv[e] = 0.f;
    for (int s = 0; s < b.segments; ++s) {
      const float* part = b.partials + s * plane + row * D + slice * E;
#pragma unroll
      for (int e = 0; e < E; ++e) {
        dk[e] += part[e];
        dv[e] += part[static_cast<int64_t>(b.segments) * plane + e];
      }
    }
#pragma unroll
    for (int e = 0; e < E; ++e) dk[e] *= p.scale;
    const int64_t out_row = row - rank + key_position(p.rank_to_key, n, p.T, rank);
    store_slice<T, E>(static_cast<T*>(b.dk) + out_row * D + slice * E, dk);
    store_slice<T, E>(static_cast<T*>(b.dv) + out_row * D + slice * E, dv);
  }
}

template <typename T, int D>
cudaError_t launch_for(const SparseAttentionBackwardParams& b, cudaStream_t stream) {
  const SparseAttentionForwardParams& p = b.fwd;
  const dim3 rows_grid((p.T + kWarpsPerBlock - 1) / kWarpsPerBlock, p.H, p.N);
  sparse_attention_dq_kernel<T, D><<<rows_grid, kWarpsPerBlock * 32, 0, stream>>>(b);
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  constexpr int KB = ColumnBlock<T, D>::kKeys;
  const int blocks = (p.T + KB - 1) / KB;
  const dim3 cols_grid((blocks + kColumnWarpsPerBlock - 1) / kColumnWarpsPerBlock, p.H, p.N * b.segments);
  sparse_attention_dkdv_kernel<T, D><<<cols_grid, kColumnWarpsPerBlock * 32, 0, stream>>>(b);
  status = cudaGetLastError();
  if (status != cudaSuccess || b.segments <= 1) return status;
  constexpr int kSlices = D / LaneLayout<T, D>::kElemsPerLane;
  const long long work = static_cast<long long>(p.N) * p.H * p.T * kSlices;
  const int reduce_blocks = static_cast<int>(std::min<long long>((work + 255) / 256, 65535));
  sparse_attention_dkdv_reduce_kernel<T, D><<<reduce_blocks, 256, 0, stream>>>(b);
  return cudaGetLastError();
}

}  // namespace
}  // namespace sparse

cudaError_t launch_sparse_attention_backward(const SparseAttentionBackwardParams& b, cudaStream_t stream) {
  const SparseAttentionForwardParams& p = b.fwd;
  if (p.T == 0 || p.H == 0 || p.N == 0) return cudaSuccess;
  return SEA_DISPATCH_DTYPE(p.dtype, scalar_t, [&] {
    return SEA_DISPATCH_HEAD_DIM(p.D, kHeadDim, [&] { return sparse::launch_for<scalar_t, kHeadDim>(b, stream); });
  });
}

}  // namespace sea::kernels
