// precision.h — the type SEA computes softmaxes, feature maps and losses in: fp32 for fp16/bf16/fp32 inputs
// (as the reference forces), fp64 for fp64 inputs (so finite-difference gradient tests are exact).
#pragma once

#include <ATen/core/Tensor.h>

namespace sea::ops {

inline at::ScalarType compute_type(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// t in at least fp32.
inline at::Tensor to_compute(const at::Tensor& t) { return t.to(compute_type(t)); }

}  // namespace sea::ops
