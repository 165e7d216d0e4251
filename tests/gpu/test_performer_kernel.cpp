// test_performer_kernel.cpp — the Performer (FAVOR+) estimate's CUDA kernels (kernels/performer_estimate,
// wrapper src/ops/cuda/performer_estimate_cuda.cpp) against the ATen reference ops::performer_attention.
//
// Oracle: the reference in fp64 (from the inputs as the kernel sees them: bf16/fp16 inputs are rounded first,
// then cast to fp64). The kernel's error must stay within 2× the error of the reference run in the kernel's own
// precision (tests/gpu/kernel_test_util.h), for the output and for dq, dk, dv (backward through autograd with a
// random upstream gradient). Sweep: T = 1, 97, 1025, 4097; N = 1, 2; H = 1, 12; D = 64 (and 32); Dv = D, 2D;
// Relu causal and Softmax non-causal (SEA's two configurations) plus Relu non-causal and Softmax causal; no
// padding, trailing padding, interior padded keys, an entirely padded sample; fp32, bf16, fp16; m = 33 (the
// default), 133 and 266 (chunks of 64, 32 and 16 rows). Every kernel output is poisoned before the launch.
// At T = 1, dq is rounding noise in both implementations (the output does not depend on q there) and gets a
// looser bound (see check_case). The kernels are deterministic: two runs are bitwise equal.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gpu/kernel_test_util.h"
#include "sea/ops/backend.h"
#include "sea/ops/performer_estimate.h"
#include "sea/util/error.h"

namespace {

using namespace sea;
using sea::test::expect_within_aten_error;
using sea::test::PoisonOutputs;

enum class Padding { None, Trailing, Interior, WholeSample };

struct Case {
  int64_t N, H, T, D, Dv;
  ops::FeatureKernel kernel;
  bool causal;
  Padding padding;
  at::ScalarType dtype;
  bool backward;
  double nb_feature_factor = 8.0;  // m = int(D ln D / factor): 8 -> 33, 2 -> 133, 1 -> 266 for D = 64
};

const char* padding_name(Padding p) {
  switch (p) {
    case Padding::None: return "nopad";
    case Padding::Trailing: return "trailing";
    case Padding::Interior: return "interior";
    case Padding::WholeSample: return "wholesample";
  }
  return "?";
}

const char* dtype_name(at::ScalarType t) {
  return t == at::kFloat ? "f32" : t == at::kBFloat16 ? "bf16" : t == at::kHalf ? "f16" : "other";
}

std::string case_name(const Case& c) {
  return std::string(c.kernel == ops::FeatureKernel::Relu ? "Relu" : "Softmax") + (c.causal ? "_causal" : "_full") +
         "_N" + std::to_string(c.N) + "_H" + std::to_string(c.H) + "_T" + std::to_string(c.T) + "_D" +
         std::to_string(c.D) + "_Dv" + std::to_string(c.Dv) + "_m" +
         std::to_string(ops::performer_num_features(c.D, c.nb_feature_factor)) + "_" + padding_name(c.padding) + "_" +
         dtype_name(c.dtype) + (c.backward ? "_fwdbwd" : "_fwd");
}

// key_valid (N, T) bool on `device`, or undefined for Padding::None.
//   Trailing:    sample n keeps its first max(1, T − (n + 1)·T/4) keys.
//   Interior:    about one key in five is padded, scattered (position 0 of sample 0 included, so that causal rows
//                with no valid key before them occur).
//   WholeSample: sample 0 has no valid key at all; the others are trailing-padded.
at::Tensor key_valid_for(const Case& c, const at::Device& device) {
  if (c.padding == Padding::None) return {};
  at::Tensor valid = at::ones({c.N, c.T}, at::kBool);
  auto a = valid.accessor<bool, 2>();
  for (int64_t n = 0; n < c.N; ++n) {
    const int64_t keep = std::max<int64_t>(1, c.T - (n + 1) * c.T / 4);
    for (int64_t t = 0; t < c.T; ++t) {
      switch (c.padding) {
        case Padding::Trailing: a[n][t] = t < keep; break;
        case Padding::Interior: a[n][t] = (t * 7 + n * 3 + 2) % 5 != 2; break;
        case Padding::WholeSample: a[n][t] = n == 0 ? false : t < keep; break;
        case Padding::None: break;
      }
    }
  }
  return valid.to(device);
}

struct Inputs {
  at::Tensor q, k, v, projection, key_valid, grad_out;
};

Inputs make_inputs(const Case& c, uint64_t seed) {
  const at::Device device(at::kCUDA);
  at::manual_seed(seed);
  const auto f32 = at::TensorOptions().device(device).dtype(at::kFloat);
  const int64_t m = ops::performer_num_features(c.D, c.nb_feature_factor);
  Inputs in;
  in.q = at::randn({c.N, c.H, c.T, c.D}, f32);
  // OPT (the Relu configuration) feeds q already scaled by D^-1/2; BERT (Softmax) feeds raw q, k, so that the
  // features estimate exp(q·k/√D).
  if (c.kernel == ops::FeatureKernel::Relu) in.q = in.q / std::sqrt(static_cast<double>(c.D));
  in.k = at::randn({c.N, c.H, c.T, c.D}, f32);
  in.v = at::randn({c.N, c.H, c.T, c.Dv}, f32);
  in.q = in.q.to(c.dtype);
  in.k = in.k.to(c.dtype);
  in.v = in.v.to(c.dtype);
  in.projection = ops::orthogonal_random_projection(m, c.D, seed + 1).to(device);
  in.key_valid = key_valid_for(c, device);
  in.grad_out = at::randn({c.N, c.H, c.T, c.Dv}, f32);
  return in;
}

at::Tensor run_op(const Case& c, const Inputs& in, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& projection, ops::Backend backend) {
  return ops::performer_attention(q, k, v, projection, c.kernel, c.causal, in.key_valid, /*chunk_size=*/128, backend);
}

struct Result {
  at::Tensor out, dq, dk, dv;
};

// Forward (and, if c.backward, backward with in.grad_out) with q, k, v cast to `type`.
Result run(const Case& c, const Inputs& in, at::ScalarType type, ops::Backend backend) {
  const bool fp64 = type == at::kDouble;
  const at::Tensor projection = fp64 ? in.projection.to(at::kDouble) : in.projection;
  auto leaf = [&](const at::Tensor& t) { return t.detach().to(type).requires_grad_(c.backward); };
  at::Tensor q = leaf(in.q), k = leaf(in.k), v = leaf(in.v);
  Result r;
  at::Tensor out = run_op(c, in, q, k, v, projection, backend);
  r.out = out.detach();
  if (c.backward) {
    out.backward(fp64 ? in.grad_out.to(at::kDouble) : in.grad_out);
    r.dq = q.grad();
    r.dk = k.grad();
    r.dv = v.grad();
  }
  return r;
}

void check_case(const Case& c, uint64_t seed) {
  const std::string what = case_name(c);
  const Inputs in = make_inputs(c, seed);
  Result got;
  {
    PoisonOutputs poison;
    got = run(c, in, c.dtype, ops::Backend::Cuda);
  }
  const Result aten = run(c, in, c.dtype, ops::Backend::Reference);
  const Result exact = run(c, in, at::kDouble, ops::Backend::Reference);
  EXPECT_EQ(got.out.scalar_type(), at::kFloat) << what;
  expect_within_aten_error(got.out, aten.out, exact.out, what + ": out");
  if (!c.backward) return;
  ASSERT_TRUE(got.dq.defined() && got.dk.defined() && got.dv.defined()) << what;
  EXPECT_EQ(got.dq.scalar_type(), c.dtype) << what;
  EXPECT_EQ(got.dk.scalar_type(), c.dtype) << what;
  EXPECT_EQ(got.dv.scalar_type(), c.dtype) << what;
  if (c.T > 1) {
    expect_within_aten_error(got.dq, aten.dq, exact.dq, what + ": dq");
  } else {
    // With one position the output does not depend on q (non-causal: out = v exactly; causal: only through the
    // 1e-6 term), so dq is the rounding noise of a cancellation in both implementations: comparing the two
    // noise levels is not meaningful. A wrong formula would be far off, so a loose bound still catches bugs.
    const sea::test::ErrorReport r = sea::test::error_against(got.dq, aten.dq, exact.dq);
    EXPECT_TRUE(r.finite) << what << ": dq has NaN/Inf";
    EXPECT_LE(r.kernel, 8.0 * r.bound) << what << ": dq error " << r.kernel << " vs ATen's " << r.aten;
  }
  expect_within_aten_error(got.dk, aten.dk, exact.dk, what + ": dk");
  expect_within_aten_error(got.dv, aten.dv, exact.dv, what + ": dv");
}

std::vector<Case> cases() {
  using ops::FeatureKernel;
  const auto Relu = FeatureKernel::Relu, Softmax = FeatureKernel::Softmax;
  const auto f32 = at::kFloat, bf16 = at::kBFloat16, f16 = at::kHalf;
  return {
      // Relu, causal (SEA's OPT configuration).
      {2, 12, 1, 64, 64, Relu, true, Padding::None, f32, true},
      {2, 12, 97, 64, 128, Relu, true, Padding::Trailing, f32, true},
      {2, 12, 1025, 64, 128, Relu, true, Padding::Interior, f32, true},
      {1, 12, 1025, 64, 128, Relu, true, Padding::None, bf16, true},
      {2, 1, 97, 64, 64, Relu, true, Padding::WholeSample, f16, true},
      {1, 12, 4097, 64, 128, Relu, true, Padding::Trailing, f32, true},
      {1, 12, 4097, 64, 128, Relu, true, Padding::None, bf16, false},
      // Softmax, non-causal (SEA's BERT configuration).
      {2, 12, 1, 64, 64, Softmax, false, Padding::None, f32, true},
      {2, 12, 97, 64, 128, Softmax, false, Padding::Trailing, f32, true},
      {2, 12, 1025, 64, 128, Softmax, false, Padding::WholeSample, f32, true},
      {2, 12, 1025, 64, 128, Softmax, false, Padding::Interior, bf16, true},
      {1, 12, 97, 32, 64, Softmax, false, Padding::None, f16, true},
      {2, 12, 4097, 64, 128, Softmax, false, Padding::Trailing, f32, false},
      // The other two combinations.
      {2, 1, 1025, 32, 64, Relu, false, Padding::Trailing, f32, true},
      {2, 12, 1025, 64, 128, Softmax, true, Padding::Interior, f32, true},
      {1, 1, 97, 64, 128, Softmax, true, Padding::Trailing, f16, true},
      {2, 12, 1, 64, 64, Softmax, true, Padding::WholeSample, f32, true},
      // More features: m = 133 (chunks of 32 rows) and m = 266 (chunks of 16 rows).
      {1, 2, 97, 64, 64, Relu, true, Padding::Interior, f32, true, 2.0},
      {2, 2, 200, 64, 128, Softmax, false, Padding::Interior, f32, true, 1.0},
      {1, 2, 200, 64, 128, Softmax, true, Padding::WholeSample, f32, true, 1.0},
  };
}

class PerformerKernel : public ::testing::TestWithParam<Case> {};

TEST_P(PerformerKernel, MatchesReference) {
  SEA_SKIP_WITHOUT_KERNELS();
  const Case& c = GetParam();
  check_case(c, static_cast<uint64_t>(c.T * 131 + c.N * 17 + c.H * 7 + c.D + c.Dv));
}

INSTANTIATE_TEST_SUITE_P(Sweep, PerformerKernel, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return case_name(info.param); });

TEST(PerformerKernelRuns, AreBitwiseDeterministic) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (const Case& c : {Case{2, 12, 1025, 64, 128, ops::FeatureKernel::Softmax, true, Padding::Interior, at::kFloat, true},
                        Case{2, 3, 777, 64, 64, ops::FeatureKernel::Relu, false, Padding::Trailing, at::kBFloat16, true}}) {
    const Inputs in = make_inputs(c, 5);
    PoisonOutputs poison;
    const Result a = run(c, in, c.dtype, ops::Backend::Cuda);
    const Result b = run(c, in, c.dtype, ops::Backend::Cuda);
    const std::string what = case_name(c);
    EXPECT_TRUE(at::equal(a.out, b.out)) << what;
    EXPECT_TRUE(at::equal(a.dq, b.dq)) << what;
    EXPECT_TRUE(at::equal(a.dk, b.dk)) << what;
    EXPECT_TRUE(at::equal(a.dv, b.dv)) << what;
  }
}

TEST(PerformerKernelRuns, RejectsWhatItDoesNotTake) {
  SEA_SKIP_WITHOUT_KERNELS();
  const auto opts = at::TensorOptions().device(at::kCUDA);
  auto call = [](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& w,
                 const at::Tensor& valid) {
    return ops::performer_attention(q, k, v, w, ops::FeatureKernel::Relu, true, valid, 128, ops::Backend::Cuda);
  };
  const at::Tensor q = at::randn({1, 2, 8, 64}, opts), v = at::randn({1, 2, 8, 64}, opts);
  const at::Tensor w = ops::orthogonal_random_projection(33, 64, 1);
  EXPECT_NO_THROW(call(q, q, v, w, {}));
  // Head dim beyond the kernels' limit.
  const at::Tensor big = at::randn({1, 2, 8, 256}, opts);
  EXPECT_THROW(call(big, big, v, ops::orthogonal_random_projection(33, 256, 1), {}), sea::Error);
  // Mixed dtypes.
  EXPECT_THROW(call(q, q.to(at::kHalf), v, w, {}), sea::Error);
  // key_valid of the wrong shape or type.
  EXPECT_THROW(call(q, q, v, w, at::ones({1, 7}, opts.dtype(at::kBool))), sea::Error);
  EXPECT_THROW(call(q, q, v, w, at::ones({1, 8}, opts.dtype(at::kFloat))), sea::Error);
  // A projection that does not match D.
  EXPECT_THROW(call(q, q, v, ops::orthogonal_random_projection(33, 32, 1), {}), sea::Error);
}

}  // namespace
