// vector_io.cuh — 16-byte row-slice loads and stores with fp32 conversion, for kernels whose lanes each read
// one 16-byte slice of a row (E = 16 / sizeof(T) elements): the sparse attention and layer norm kernels.
#pragma once

#include "common/numeric.cuh"

namespace sea::kernels {

// x[0..E) = the 16-byte slice at p (16-byte aligned), as fp32.
template <typename T, int E>
__device__ __forceinline__ void load_slice(const T* p, float (&x)[E]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  if constexpr (sizeof(T) == 4) {
    x[0] = __uint_as_float(raw.x), x[1] = __uint_as_float(raw.y), x[2] = __uint_as_float(raw.z),
    x[3] = __uint_as_float(raw.w);
  } else {
    const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < E; ++i) x[i] = to_float<T>(h[i]);
  }
}

template <typename T, int E>
__device__ __forceinline__ void store_slice(T* p, const float (&x)[E]) {
  uint4 raw;
  T* h = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < E; ++i) h[i] = from_float<T>(x[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

}  // namespace sea::kernels
