// kernel_types.h — what every kernel family's parameter struct shares: the element type tag and the launch
// result. Plain C++ (no LibTorch, no device code), included by the kernels and by their wrappers in src/ops/cuda.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sea::kernels {

// Element type of the floating-point tensors a kernel reads and writes (accumulation is always fp32).
enum class DType : int { F32 = 0, BF16 = 1, F16 = 2 };

// Strides of an (N, H, T, D) tensor in elements; the last dimension is contiguous.
struct Strides4 {
  int64_t n = 0, h = 0, t = 0;
};

}  // namespace sea::kernels
