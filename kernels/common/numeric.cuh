// numeric.cuh — device helpers shared by the kernels: fp32 <-> storage-type conversion, the DType switch that
// instantiates a kernel for each element type, warp reductions. Device code only (included by .cu files).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "common/kernel_types.h"

namespace sea::kernels {

template <typename T>
__device__ __forceinline__ float to_float(T x);
template <>
__device__ __forceinline__ float to_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }
template <>
__device__ __forceinline__ float to_float<__half>(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }

__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

}  // namespace sea::kernels

// SEA_DISPATCH_DTYPE(dtype, scalar_t, ...) runs the body with scalar_t = float / __nv_bfloat16 / __half.
#define SEA_DISPATCH_DTYPE(DTYPE, SCALAR, ...)                   \
  [&] {                                                          \
    switch (DTYPE) {                                             \
      case ::sea::kernels::DType::BF16: {                        \
        using SCALAR = __nv_bfloat16;                            \
        return __VA_ARGS__();                                    \
      }                                                          \
      case ::sea::kernels::DType::F16: {                         \
        using SCALAR = __half;                                   \
        return __VA_ARGS__();                                    \
      }                                                          \
      default: {                                                 \
        using SCALAR = float;                                    \
        return __VA_ARGS__();                                    \
      }                                                          \
    }                                                            \
  }()

// SEA_DISPATCH_HEAD_DIM(d, D, ...) runs the body with the compile-time head dim D in {16, 32, 64, 128};
// cudaErrorInvalidValue for any other d.
#define SEA_DISPATCH_HEAD_DIM(HEAD_DIM, D, ...)          \
  [&]() -> cudaError_t {                                 \
    switch (HEAD_DIM) {                                  \
      case 16: {                                         \
        constexpr int D = 16;                            \
        return __VA_ARGS__();                            \
      }                                                  \
      case 32: {                                         \
        constexpr int D = 32;                            \
        return __VA_ARGS__();                            \
      }                                                  \
      case 64: {                                         \
        constexpr int D = 64;                            \
        return __VA_ARGS__();                            \
      }                                                  \
      case 128: {                                        \
        constexpr int D = 128;                           \
        return __VA_ARGS__();                            \
      }                                                  \
      default:                                           \
        return cudaErrorInvalidValue;                    \
    }                                                    \
  }()
