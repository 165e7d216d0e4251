// layer_norm.cu — layer norm over short rows (layer_norm_params.h): forward, and a deterministic backward in
// two passes (per-block weight/bias partial sums, then their sum in block order).
//
// Lane layout: a row of W elements is read by LPR = W / E lanes, E = 16 / sizeof(T), one 16-byte slice each,
// the LPR lanes of a row adjacent in the warp; a warp holds 32 / LPR rows at a time. Row sums are xor
// shuffles over the row's lanes; the statistics are fp32, the variance two-pass (from the row in registers).
#include "common/vector_io.cuh"
#include "layer_norm/layer_norm_params.h"

namespace sea::kernels {
namespace layer_norm {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxW = 256;

// Sum over the LPR adjacent lanes of one row.
template <int LPR>
__device__ __forceinline__ float row_sum(float x) {
#pragma unroll
  for (int o = LPR / 2; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// This lane's slice of the affine weight and bias (1 and 0 when absent).
template <typename T, int E>
__device__ __forceinline__ void load_affine(const LayerNormForwardParams& p, int sub, float (&w)[E], float (&b)[E]) {
  if (p.weight) {
    load_slice<T, E>(static_cast<const T*>(p.weight) + sub * E, w);
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e) w[e] = 1.f;
  }
  if (p.bias) {
    load_slice<T, E>(static_cast<const T*>(p.bias) + sub * E, b);
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e) b[e] = 0.f;
  }
}

template <typename T, int LPR>
__global__ void __launch_bounds__(kThreads) layer_norm_forward_kernel(const LayerNormForwardParams p) {
  constexpr int E = 16 / static_cast<int>(sizeof(T));
  constexpr int kRowsPerWarp = 32 / LPR;
  const int lane = threadIdx.x & 31, sub = lane % LPR, slot = lane / LPR;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * kThreads) >> 5;
  const float inv_w = 1.f / static_cast<float>(p.W);
  float w[E], b[E];
  load_affine<T, E>(p, sub, w, b);

  for (int64_t base = warp * kRowsPerWarp; base < p.rows; base += warps * kRowsPerWarp) {
    const int64_t row = base + slot;
    const bool ok = row < p.rows;
    float x[E];
    if (ok) {
      load_slice<T, E>(static_cast<const T*>(p.x) + row * p.W + sub * E, x);
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) x[e] = 0.f;
    }
    float s = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) s += x[e];
    const float mean = row_sum<LPR>(s) * inv_w;
    float v = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) v = fmaf(x[e] - mean, x[e] - mean, v);
    const float rstd = rsqrtf(row_sum<LPR>(v) * inv_w + p.eps);
    if (!ok) continue;
    float y[E];
#pragma unroll
    for (int e = 0; e < E; ++e) y[e] = fmaf((x[e] - mean) * rstd, w[e], b[e]);
    store_slice<T, E>(static_cast<T*>(p.y) + row * p.W + sub * E, y);
    if (sub == 0) {
      if (p.mean) p.mean[row] = mean;
      if (p.rstd) p.rstd[row] = rstd;
    }
  }
}

// Pass 1: block `blockIdx.x` takes rows [start, end) (a fixed split of the rows), writes dx, and its fp32
// partial sums of dweight and dbias over those rows, (blocks, W) each, summed in a fixed order.
template <typename T, int LPR>
__global__ void __launch_bounds__(kThreads) layer_norm_backward_kernel(const LayerNormBackwardParams bp) {
  constexpr int E = 16 / static_cast<int>(sizeof(T));
  constexpr int kRowsPerWarp = 32 / LPR;
  const LayerNormForwardParams& p = bp.fwd;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, sub = lane % LPR, slot = lane / LPR;
  const int64_t per_block = (p.rows + bp.blocks - 1) / bp.blocks;
  const int64_t start = blockIdx.x * per_block, end = min(p.rows, start + per_block);
  const float inv_w = 1.f / static_cast<float>(p.W);
  float w[E], unused[E];
  load_affine<T, E>(p, sub, w, unused);
  float dw[E], db[E];
#pragma unroll
  for (int e = 0; e < E; ++e) dw[e] = db[e] = 0.f;

  for (int64_t base = start + warp * kRowsPerWarp; base < end; base += kWarps * kRowsPerWarp) {
    const int64_t row = base + slot;
    const bool ok = row < end;
    float x[E], dy[E];
    float mean = 0.f, rstd = 0.f;
    if (ok) {
      load_slice<T, E>(static_cast<const T*>(p.x) + row * p.W + sub * E, x);
      load_slice<T, E>(static_cast<const T*>(bp.dy) + row * p.W + sub * E, dy);
      mean = p.mean[row], rstd = p.rstd[row];
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) x[e] = dy[e] = 0.f;
    }
    float xhat[E], g[E], sum_g = 0.f, sum_gx = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      xhat[e] = (x[e] - mean) * rstd;
      g[e] = dy[e] * w[e];
      sum_g += g[e];
      sum_gx = fmaf(g[e], xhat[e], sum_gx);
      dw[e] = fmaf(dy[e], xhat[e], dw[e]);
      db[e] += dy[e];
    }
    const float mean_g = row_sum<LPR>(sum_g) * inv_w, mean_gx = row_sum<LPR>(sum_gx) * inv_w;
    if (!ok) continue;
    float dx[E];
#pragma unroll
    for (int e = 0; e < E; ++e) dx[e] = rstd * (g[e] - mean_g - xhat[e] * mean_gx);
    store_slice<T, E>(static_cast<T*>(bp.dx) + row * p.W + sub * E, dx);
  }

  // Sum over the warp's row slots (lanes with the same sub), then over the warps in order.
#pragma unroll
  for (int e = 0; e < E; ++e) {
#pragma unroll
    for (int o = LPR; o < 32; o <<= 1) {
      dw[e] += __shfl_xor_sync(0xffffffffu, dw[e], o);
      db[e] += __shfl_xor_sync(0xffffffffu, db[e], o);
    }
  }
  __shared__ float s_dw[kWarps][kMaxW], s_db[kWarps][kMaxW];
  if (lane < LPR) {
#pragma unroll
    for (int e = 0; e < E; ++e) s_dw[warp][sub * E + e] = dw[e], s_db[warp][sub * E + e] = db[e];
  }
  __syncthreads();
  for (int c = threadIdx.x; c < p.W; c += kThreads) {
    float tw = 0.f, tb = 0.f;
    for (int i = 0; i < kWarps; ++i) tw += s_dw[i][c], tb += s_db[i][c];
    bp.dweight_partial[static_cast<int64_t>(blockIdx.x) * p.W + c] = tw;
    bp.dbias_partial[static_cast<int64_t>(blockIdx.x) * p.W + c] = tb;
  }
}

// Pass 2: dweight, dbias = the partials summed over the blocks in block order.
template <typename T>
__global__ void layer_norm_affine_grad_kernel(const LayerNormBackwardParams bp) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= bp.fwd.W) return;
  float tw = 0.f, tb = 0.f;
  for (int i = 0; i < bp.blocks; ++i) {
    tw += bp.dweight_partial[static_cast<int64_t>(i) * bp.fwd.W + c];
    tb += bp.dbias_partial[static_cast<int64_t>(i) * bp.fwd.W + c];
  }
  if (bp.dweight) static_cast<T*>(bp.dweight)[c] = from_float<T>(tw);
  if (bp.dbias) static_cast<T*>(bp.dbias)[c] = from_float<T>(tb);
}

int elems_per_slice(DType dtype) { return dtype == DType::F32 ? 4 : 8; }

// Runs body with the compile-time lanes per row LPR = W / E.
template <typename F>
cudaError_t dispatch_lanes(int lanes, F&& body) {
  switch (lanes) {
    case 1: return body(std::integral_constant<int, 1>{});
    case 2: return body(std::integral_constant<int, 2>{});
    case 4: return body(std::integral_constant<int, 4>{});
    case 8: return body(std::integral_constant<int, 8>{});
    case 16: return body(std::integral_constant<int, 16>{});
    case 32: return body(std::integral_constant<int, 32>{});
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace
}  // namespace layer_norm

bool layer_norm_supports(DType dtype, int W) {
  const int E = layer_norm::elems_per_slice(dtype);
  const int lanes = W / E;
  return W > 0 && W % E == 0 && lanes <= 32 && (lanes & (lanes - 1)) == 0 && W <= layer_norm::kMaxW;
}

int layer_norm_backward_blocks(int64_t rows) {
  const int64_t wanted = (rows + 255) / 256;  // ≥ 256 rows per block, at most 1024 blocks
  return static_cast<int>(wanted < 1 ? 1 : wanted > 1024 ? 1024 : wanted);
}

cudaError_t launch_layer_norm_forward(const LayerNormForwardParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  if (!layer_norm_supports(p.dtype, p.W)) return cudaErrorInvalidValue;
  const int lanes = p.W / layer_norm::elems_per_slice(p.dtype);
  return SEA_DISPATCH_DTYPE(p.dtype, scalar_t, [&] {
    return layer_norm::dispatch_lanes(lanes, [&](auto lpr) {
      constexpr int LPR = decltype(lpr)::value;
      const int64_t rows_per_block = static_cast<int64_t>(layer_norm::kWarps) * (32 / LPR);
      const int64_t wanted = (p.rows + rows_per_block - 1) / rows_per_block;
      const int blocks = static_cast<int>(wanted > 8192 ? 8192 : wanted);
      layer_norm::layer_norm_forward_kernel<scalar_t, LPR><<<blocks, layer_norm::kThreads, 0, stream>>>(p);
      return cudaGetLastError();
    });
  });
}

cudaError_t launch_layer_norm_backward(const LayerNormBackwardParams& b, cudaStream_t stream) {
  if (b.fwd.rows == 0) return cudaSuccess;
  if (!layer_norm_supports(b.fwd.dtype, b.fwd.W) || b.blocks < 1) return cudaErrorInvalidValue;
  const int lanes = b.fwd.W / layer_norm::elems_per_slice(b.fwd.dtype);
  return SEA_DISPATCH_DTYPE(b.fwd.dtype, scalar_t, [&] {
    const cudaError_t e = layer_norm::dispatch_lanes(lanes, [&](auto lpr) {
      constexpr int LPR = decltype(lpr)::value;
      layer_norm::layer_norm_backward_kernel<scalar_t, LPR><<<b.blocks, layer_norm::kThreads, 0, stream>>>(b);
      return cudaGetLastError();
    });
    if (e != cudaSuccess) return e;
    layer_norm::layer_norm_affine_grad_kernel<scalar_t><<<(b.fwd.W + 127) / 128, 128, 0, stream>>>(b);
    return cudaGetLastError();
  });
}

}  // namespace sea::kernels
