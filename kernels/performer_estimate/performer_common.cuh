// performer_common.cuh — the code that the Performer (FAVOR+) estimate's forward (performer_fwd.cu) and
// backward (performer_bwd.cu) share, in one place so that both recompute bitwise the same features: the
// feature-map scalars, element loads and row offsets, the packed key stabiliser, the block-wide tile copy and
// product, the dash product and the feature maps, and the launch helpers (feature_consts, the chunk-size
// dispatch, the shared-memory opt-in). CUDA only: included by those two .cu files, nothing else.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "common/numeric.cuh"
#include "performer_estimate/performer_params.h"

namespace sea::kernels::performer {

// ==== device helpers =======================================================================================

constexpr int kThreads = kPerformerThreads;
constexpr int kWarps = kThreads / 32;
constexpr int kTile = kPerformerValueTile;

// Scalars of the feature maps, computed on the host in double and rounded once, as the reference does.
struct FeatureConsts {
  float c;        // D^-1/4
  float c_sq;     // c²
  float half_c2;  // c²/2
  float ratio;    // m^-1/2
};

__device__ __forceinline__ float load_element(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::BF16: return to_float(static_cast<const __nv_bfloat16*>(base)[i]);
    case DType::F16: return to_float(static_cast<const __half*>(base)[i]);
    default: return static_cast<const float*>(base)[i];
  }
}

__device__ __forceinline__ int64_t row_offset(const Strides4& s, int64_t n, int64_t h, int64_t t) {
  return n * s.n + h * s.h + t * s.t;
}

__device__ __forceinline__ bool key_is_valid(const PerformerProblem& p, int64_t n, int64_t t) {
  if (t >= p.T) return false;
  return p.key_valid == nullptr || p.key_valid[n * p.key_valid_stride_n + t] != 0;
}

// Packed key stabiliser: order-preserving float bits in the high word, 0xFFFFFFFF − flat index in the low word,
// so that the 64-bit max is the largest value and, among equal values, the smallest index. 0 = no valid key.
__device__ __forceinline__ unsigned long long pack_stabiliser(float value, int64_t flat_index) {
  const unsigned bits = __float_as_uint(value);
  const unsigned ordered = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<unsigned long long>(ordered) << 32) |
         static_cast<unsigned long long>(0xFFFFFFFFu - static_cast<unsigned>(flat_index));
}

__device__ __forceinline__ float stabiliser_value(unsigned long long key) {
  if (key == 0ull) return 0.f;  // no valid key: the reference's masked_fill(isinf, 0)
  const unsigned ordered = static_cast<unsigned>(key >> 32);
  const unsigned bits = (ordered & 0x80000000u) ? (ordered & 0x7FFFFFFFu) : ~ordered;
  return __uint_as_float(bits);
}

__device__ __forceinline__ int64_t stabiliser_index(unsigned long long key) {
  if (key == 0ull) return -1;
  return static_cast<int64_t>(0xFFFFFFFFu - static_cast<unsigned>(key & 0xFFFFFFFFull));
}

// Block-wide copy of a rows × cols tile: store(r, j, load(r, j)) for every r < rows, j < cols, element
// r·cols + j going to thread (r·cols + j) % kThreads. Each thread issues kCopyBatch independent loads before
// it writes any (a tile costs a few global-memory latencies, not one per element), and walks its (r, j)
// incrementally (no division per element).
constexpr int kCopyBatch = 8;
template <class Load, class Store>
__device__ __forceinline__ void batched_copy(int rows, int cols, Load&& load, Store&& store) {
  const int count = rows * cols;
  const int step_r = kThreads / cols, step_j = kThreads % cols;
  int r = static_cast<int>(threadIdx.x) / cols, j = static_cast<int>(threadIdx.x) % cols;
  for (int base = threadIdx.x; base < count; base += kThreads * kCopyBatch) {
    float values[kCopyBatch];
    int rs[kCopyBatch], js[kCopyBatch];
#pragma unroll
    for (int u = 0; u < kCopyBatch; ++u) {
      rs[u] = r;
      js[u] = j;
      values[u] = base + u * kThreads < count ? load(r, j) : 0.f;
      r += step_r;
      j += step_j;
      if (j >= cols) {
        j -= cols;
        ++r;
      }
    }
#pragma unroll
    for (int u = 0; u < kCopyBatch; ++u) {
      if (base + u * kThreads < count) store(rs[u], js[u], values[u]);
    }
  }
}

// Copies rows [0, rows) × columns [col0, col0 + cols) of one (n, h) slice (row r at base + r·row_stride) into
// dst (C × ld) as fp32; rows in [rows, C) are zero.
__device__ __forceinline__ void load_rows(float* dst, int ld, const void* src, DType dtype, int64_t base,
                                          int64_t row_stride, int rows, int C, int col0, int cols) {
  batched_copy(
      C, cols,
      [&](int r, int j) { return r < rows ? load_element(src, dtype, base + r * row_stride + col0 + j) : 0.f; },
      [&](int r, int j, float value) { dst[r * ld + j] = value; });
}

// Block-wide product: epilogue(r, c, Σ_{k<K} a(r, k)·b(k, c)) once for every r < rows_a, c < cols_b, by the
// thread that owns (r, c). A is stored rows_a × K (a(r, k) = A[r·lda + k]) or, with kATransposed, K × rows_a
// (a(r, k) = A[k·lda + r]); B is stored K × cols_b (b(k, c) = B[k·ldb + c]) or, with kBTransposed, cols_b × K
// (b(k, c) = B[c·ldb + k]). Thread (tx, ty) = (tid % 16, tid / 16) owns rows r0 + ty + 16i (i < TM) and
// columns c0 + tx + 16j (j < TN) of each 16TM × 16TN output tile; out-of-range rows and columns are clamped
// for the loads and dropped at the epilogue. The sum runs over k in order with fmaf (deterministic).
// Odd shared-memory leading dimensions make every load conflict-free. No barrier inside: the caller syncs.
template <int TM, int TN, bool kATransposed, bool kBTransposed, class Epilogue>
__device__ __forceinline__ void block_gemm(int rows_a, int cols_b, int K, const float* A, int lda, const float* B,
                                           int ldb, Epilogue&& epilogue) {
  if (rows_a <= 0 || cols_b <= 0) return;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int a_step = kATransposed ? lda : 1;
  const int b_step = kBTransposed ? 1 : ldb;
  for (int r0 = 0; r0 < rows_a; r0 += 16 * TM) {
    for (int c0 = 0; c0 < cols_b; c0 += 16 * TN) {
      int a_off[TM], b_off[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) {
        const int r = min(r0 + ty + 16 * i, rows_a - 1);
        a_off[i] = kATransposed ? r : r * lda;
      }
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int c = min(c0 + tx + 16 * j, cols_b - 1);
        b_off[j] = kBTransposed ? c * ldb : c;
      }
      float acc[TM][TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) {
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;
      }
      const float* a_k = A;
      const float* b_k = B;
#pragma unroll 4
      for (int k = 0; k < K; ++k) {
        float a[TM], b[TN];
#pragma unroll
        for (int i = 0; i < TM; ++i) a[i] = a_k[a_off[i]];
#pragma unroll
        for (int j = 0; j < TN; ++j) b[j] = b_k[b_off[j]];
#pragma unroll
        for (int i = 0; i < TM; ++i) {
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        a_k += a_step;
        b_k += b_step;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i) {
#pragma unroll
        for (int j = 0; j < TN; ++j) {
          const int r = r0 + ty + 16 * i, c = c0 + tx + 16 * j;
          if (r < rows_a && c < cols_b) epilogue(r, c, acc[i][j]);
        }
      }
    }
  }
}

// Calls body(std::integral_constant<int, T>{}) with T = ceil(n / 16) clamped to [1, 4]: the register tile that
// covers n rows or columns (in 16·T steps) with the least waste (n = 33 features: 48, not 64).
template <class Body>
__device__ __forceinline__ void with_tile_for(int n, Body&& body) {
  if (n <= 16) {
    body(std::integral_constant<int, 1>{});
  } else if (n <= 32) {
    body(std::integral_constant<int, 2>{});
  } else if (n <= 48) {
    body(std::integral_constant<int, 3>{});
  } else {
    body(std::integral_constant<int, 4>{});
  }
}

// The product behind dash: epilogue(r, f, Σ_d x[r][d]·Wᵀ[d][f]) for the chunk's C rows and the m features, with
// x (C × ldx, shared) and Wᵀ (D × m, global). The column tile is fitted to m; the value of each element does
// not depend on it (a sequential fmaf over d), so every kernel gets bitwise the same dash.
template <int TM, class Epilogue>
__device__ __forceinline__ void dash_gemm(const float* x, int ldx, const PerformerProblem& p, Epilogue&& epilogue) {
  with_tile_for(p.m, [&](auto tn) {
    block_gemm<TM, decltype(tn)::value, false, false>(16 * TM, p.m, p.D, x, ldx, p.projection_t, p.m, epilogue);
  });
}

// dash = c · x · Wᵀ for the chunk's C rows into dst (C × ldd, shared).
template <int TM>
__device__ __forceinline__ void compute_dash(const float* x, int ldx, const PerformerProblem& p,
                                             const FeatureConsts& fc, float* dst, int ldd) {
  dash_gemm<TM>(x, ldx, p, [&](int r, int f, float acc) { dst[r * ldd + f] = fc.c * acc; });
}

// Turns the dash rows held in buf (C × ldb) into features φ, in place, one warp per row:
//   Relu:    φ = max(dash, 0) + 1e-3,                      pre = dash
//   Softmax: e = ratio · exp(dash − c²|x|²/2 − s), φ = e + ratio·1e-4,  pre = e
// with s the row max of dash (is_query) or key_stabiliser (keys). Rows with !row_ok[r] become 0 (φ and pre).
// pre (C × ldp) and row_argmax (C; the first feature reaching the row max, queries with Softmax) may be null.
// x (C × ldx) holds the rows' inputs (for |x|²).
__device__ __forceinline__ void features_in_place(float* buf, int ldb, float* pre, int ldp, const float* x, int ldx,
                                                  int C, const PerformerProblem& p, const FeatureConsts& fc,
                                                  const int* row_ok, bool is_query, float key_stabiliser,
                                                  int* row_argmax) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int m = p.m;
  for (int r = warp; r < C; r += kWarps) {
    float* row = buf + r * ldb;
    float* pre_row = pre != nullptr ? pre + r * ldp : nullptr;
    if (!row_ok[r]) {  // uniform over the warp
      for (int f = lane; f < m; f += 32) {
        row[f] = 0.f;
        if (pre_row != nullptr) pre_row[f] = 0.f;
      }
      if (row_argmax != nullptr && lane == 0) row_argmax[r] = 0;
      continue;
    }
    if (p.kernel == PerformerFeatureKernel::Relu) {
      for (int f = lane; f < m; f += 32) {
        const float d = row[f];
        if (pre_row != nullptr) pre_row[f] = d;
        row[f] = fmaxf(d, 0.f) + 1e-3f;
      }
      if (row_argmax != nullptr && lane == 0) row_argmax[r] = 0;
      continue;
    }
    float sq = 0.f;
    for (int d = lane; d < p.D; d += 32) {
      const float xv = x[r * ldx + d];
      sq = fmaf(xv, xv, sq);
    }
    const float diag = warp_sum(sq) * fc.half_c2;
    float s = key_stabiliser;
    if (is_query) {
      float mx = -INFINITY;
      for (int f = lane; f < m; f += 32) mx = fmaxf(mx, row[f]);
      s = warp_max(mx);
      if (row_argmax != nullptr) {
        unsigned first = 0xFFFFFFFFu;
        for (int f = lane; f < m; f += 32) {
          if (row[f] == s) {
            first = static_cast<unsigned>(f);
            break;
          }
        }
        first = __reduce_min_sync(0xFFFFFFFFu, first);
        if (lane == 0) row_argmax[r] = first == 0xFFFFFFFFu ? 0 : static_cast<int>(first);
      }
    }
    for (int f = lane; f < m; f += 32) {
      const float e = fc.ratio * expf((row[f] - diag) - s);
      if (pre_row != nullptr) pre_row[f] = e;
      row[f] = e + fc.ratio * 1e-4f;
    }
  }
}

// ==== launch helpers ======================================================================================

inline FeatureConsts feature_consts(const PerformerProblem& p) {
  const double c = std::pow(static_cast<double>(p.D), -0.25);
  FeatureConsts fc;
  fc.c = static_cast<float>(c);
  fc.c_sq = static_cast<float>(c * c);
  fc.half_c2 = static_cast<float>(c * c / 2.0);
  fc.ratio = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.m)));
  return fc;
}

// Calls body(std::integral_constant<int, TM>) for the chunk size C = 16·TM.
template <class Body>
cudaError_t dispatch_chunk_rows(int chunk_rows, Body&& body) {
  switch (chunk_rows) {
    case 64: return body(std::integral_constant<int, 4>{});
    case 32: return body(std::integral_constant<int, 2>{});
    case 16: return body(std::integral_constant<int, 1>{});
    default: return cudaErrorInvalidValue;
  }
}

template <class Kernel>
cudaError_t allow_smem(Kernel kernel, int64_t bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

}  // namespace sea::kernels::performer
