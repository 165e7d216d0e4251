// sparse_attention_fwd.cu — SEA's sparse attention forward: one warp per query row (n, h, t) walks the row's
// kept runs of keys (sparse_attention_common.cuh) in chunks of 32, computes the scores with coalesced
// 16-byte loads of whole key rows, keeps an online softmax in fp32, accumulates the values, and writes
// σ · softmax · V plus, for the backward, the row's log2-sum-exp2 and the unscaled fp32 output.
//
// A block holds 8 warps = 8 consecutive rows of one head: the SEA mask of neighbouring rows overlaps (same
// cells, nearly the same cell boundaries), so their key and value rows are served from the SM's L1 after
// the first warp reads them.
#include "sparse_attention/sparse_attention_common.cuh"

namespace sea::kernels {
namespace sparse {
namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T, int D>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    sparse_attention_forward_kernel(const SparseAttentionForwardParams p) {
  using LL = LaneLayout<T, D>;
  constexpr int E = LL::kElemsPerLane, LPK = LL::kLanesPerKey, KPS = LL::kKeysPerStep, STEPS = LL::kStepsPerChunk;
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

  float q[E];
  load_slice<T, E>(row_ptr<T>(p.q, p.q_stride, n, h, t) + sub * E, q);

  float acc[E];
#pragma unroll
  for (int i = 0; i < E; ++i) acc[i] = 0.f;
  float m_run = -INFINITY;  // running max of the scores (log2 domain), warp-uniform
  float l_part = 0.f;       // this group's share of the softmax denominator

  if (L > 0) {
    for_each_kept_run(bits, p.W, p.K, L, [&](int r0, int r1) {
      for (int base = r0; base < r1; base += 32) {
        float s[STEPS];
        int pos[STEPS];
#pragma unroll
        for (int i = 0; i < STEPS; ++i) {
          const int r = base + i * KPS + group;
          const bool ok = r < r1 && (!thin || thin_keep(r, L, p.thin_k, p.thin_oversample));
          pos[i] = ok ? key_position(p.rank_to_key, n, p.T, r) : -1;
          float part = 0.f;
          if (ok) {
            float kx[E];
            load_slice<T, E>(row_ptr<T>(p.k, p.k_stride, n, h, pos[i]) + sub * E, kx);
#pragma unroll
            for (int e = 0; e < E; ++e) part = fmaf(q[e], kx[e], part);
          }
          part = key_sum<LPK>(part);
          s[i] = ok ? part * score_scale : -INFINITY;
        }
        float m_chunk = s[0];
#pragma unroll
        for (int i = 1; i < STEPS; ++i) m_chunk = fmaxf(m_chunk, s[i]);
        m_chunk = warp_max(m_chunk);
        const float m_new = fmaxf(m_run, m_chunk);
        if (m_new == -INFINITY) continue;  // nothing kept in this chunk (thinning)
        const float alpha = exp2f(m_run - m_new);  // 0 on the first chunk
#pragma unroll
        for (int e = 0; e < E; ++e) acc[e] *= alpha;
        l_part *= alpha;
        m_run = m_new;
#pragma unroll
        for (int i = 0; i < STEPS; ++i) {
          if (pos[i] < 0) continue;
          const float prob = exp2f(s[i] - m_new);
          l_part += prob;
          float vx[E];
          load_slice<T, E>(row_ptr<T>(p.v, p.v_stride, n, h, pos[i]) + sub * E, vx);
#pragma unroll
          for (int e = 0; e < E; ++e) acc[e] = fmaf(prob, vx[e], acc[e]);
        }
      }
    });
  }

  const float l = group_sum<LPK>(l_part);
#pragma unroll
  for (int e = 0; e < E; ++e) acc[e] = group_sum<LPK>(acc[e]);
  const bool any = l > 0.f;
  const float inv = any ? 1.f / l : 0.f;
  const float sigma = p.row_scale ? p.row_scale[row] : 1.f;
  float unscaled[E], scaled[E];
#pragma unroll
  for (int e = 0; e < E; ++e) {
    unscaled[e] = acc[e] * inv;
    scaled[e] = unscaled[e] * sigma;
  }
  if (group == 0) {
    store_slice<T, E>(static_cast<T*>(p.out) + row * D + sub * E, scaled);
    if (p.out_f32) {
      float* o = p.out_f32 + row * D + sub * E;
#pragma unroll
      for (int e = 0; e < E; ++e) o[e] = unscaled[e];
    }
  }
  if (lane == 0 && p.lse2) p.lse2[row] = any ? m_run + log2f(l) : -INFINITY;
}

template <typename T, int D>
cudaError_t launch_for(const SparseAttentionForwardParams& p, cudaStream_t stream) {
  const dim3 grid((p.T + kWarpsPerBlock - 1) / kWarpsPerBlock, p.H, p.N);
  sparse_attention_forward_kernel<T, D><<<grid, kWarpsPerBlock * 32, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace
}  // namespace sparse

cudaError_t launch_sparse_attention_forward(const SparseAttentionForwardParams& p, cudaStream_t stream) {
  if (p.T == 0 || p.H == 0 || p.N == 0) return cudaSuccess;
  if (p.kernel == SparseForwardKernel::Tiles ||
      (p.kernel == SparseForwardKernel::Auto && sparse_attention_forward_tiled_supported(p))) {
    return launch_sparse_attention_forward_tiled(p, stream);
  }
  return SEA_DISPATCH_DTYPE(p.dtype, scalar_t, [&] {
    return SEA_DISPATCH_HEAD_DIM(p.D, kHeadDim, [&] { return sparse::launch_for<scalar_t, kHeadDim>(p, stream); });
  });
}

}  // namespace sea::kernels
