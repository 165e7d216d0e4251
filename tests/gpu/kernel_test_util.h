// kernel_test_util.h — what the kernel-vs-reference tests share (tests/gpu/test_*_kernel.cpp):
//
//  * SEA_SKIP_WITHOUT_KERNELS(): skip, with the reason, where there is no GPU or the build has no kernels
//    (the CPU CI compiles these tests and reports them skipped).
//  * PoisonOutputs: while alive, every kernel output buffer is filled with NaN / 0xA5A5A5A5 before the
//    launch (ops/backend.h), so an element a kernel forgets to write fails the comparison.
//  * expect_within_aten_error: the FlashAttention-style accuracy criterion. The oracle is the ATen reference
//    run in fp64 (`exact`); the kernel's error against it must be at most 2× the error that the same ATen
//    reference makes in the kernel's own precision (`aten`), plus a floor of a few fp32 ulps of the result's
//    scale (which only matters when ATen itself is near-exact). When the result is a sum of terms that cancel
//    (with one visible key, dq and dk are exactly 0 and both implementations return rounding noise of the
//    terms), the caller passes `term_scale`, the magnitude of those terms, and the floor uses it.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>

#include "sea/ops/backend.h"

namespace sea::test {

#define SEA_SKIP_WITHOUT_KERNELS()                                                                   \
  do {                                                                                               \
    if (!::sea::ops::cuda_kernels_compiled()) GTEST_SKIP() << "this build has no CUDA kernels";     \
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";                                           \
  } while (false)

class PoisonOutputs {
 public:
  PoisonOutputs() : was_(ops::poison_outputs()) { ops::set_poison_outputs(true); }
  ~PoisonOutputs() { ops::set_poison_outputs(was_); }

 private:
  bool was_;
};

struct ErrorReport {
  double kernel = 0, aten = 0, scale = 0, bound = 0;
  bool finite = true;
};

// Max abs errors of `kernel` and `aten` against `exact` (any dtypes/devices; compared in fp64 on the CPU).
inline ErrorReport error_against(const at::Tensor& kernel, const at::Tensor& aten, const at::Tensor& exact,
                                 double term_scale = 0) {
  at::Tensor e = exact.detach().to(at::kCPU, at::kDouble);
  at::Tensor k = kernel.detach().to(at::kCPU, at::kDouble), a = aten.detach().to(at::kCPU, at::kDouble);
  ErrorReport r;
  r.finite = at::isfinite(k).all().item<bool>();
  r.kernel = e.numel() ? (k - e).abs().max().item<double>() : 0.0;
  r.aten = e.numel() ? (a - e).abs().max().item<double>() : 0.0;
  r.scale = e.numel() ? e.abs().max().item<double>() : 0.0;
  r.bound = 2.0 * r.aten + 4.0 * std::numeric_limits<float>::epsilon() * std::max({r.scale, term_scale, 1e-30});
  return r;
}

inline void expect_within_aten_error(const at::Tensor& kernel, const at::Tensor& aten, const at::Tensor& exact,
                                     const std::string& what, double term_scale = 0) {
  ASSERT_EQ(kernel.sizes(), exact.sizes()) << what;
  const ErrorReport r = error_against(kernel, aten, exact, term_scale);
  EXPECT_TRUE(r.finite) << what << ": the kernel output has NaN/Inf (an unwritten, poisoned element?)";
  EXPECT_LE(r.kernel, r.bound) << what << ": kernel error " << r.kernel << " vs ATen's " << r.aten
                               << " in the same precision (scale " << r.scale << ")";
}

}  // namespace sea::test
