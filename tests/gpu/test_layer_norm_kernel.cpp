// test_layer_norm_kernel.cpp — the short-row layer norm kernels (kernels/layer_norm) against at::layer_norm,
// forward and backward (dx, dweight, dbias), with the kernel tests' criterion (kernel_test_util.h): error
// against at::layer_norm in fp64 at most 2× that of at::layer_norm in the same precision. Outputs poisoned.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "gpu/kernel_test_util.h"
#include "sea/ops/layer_norm.h"
#include "test_util.h"

namespace {

using namespace sea;

struct Result {
  at::Tensor y, dx, dw, db;
};

// x: (rows, W) as built by the caller (possibly a strided view); affine when `affine`.
Result run(const at::Tensor& x_in, const at::Tensor& w_in, const at::Tensor& b_in, const at::Tensor& dy,
           at::ScalarType dtype, ops::Backend backend) {
  at::Tensor x = x_in.detach().to(dtype).requires_grad_(true);
  at::Tensor w = w_in.defined() ? w_in.detach().to(dtype).requires_grad_(true) : at::Tensor();
  at::Tensor b = b_in.defined() ? b_in.detach().to(dtype).requires_grad_(true) : at::Tensor();
  Result r;
  r.y = ops::layer_norm(x, w, b, 1e-5, backend);
  r.y.backward(dy.to(dtype));
  r.dx = x.grad();
  if (w.defined()) r.dw = w.grad();
  if (b.defined()) r.db = b.grad();
  r.y = r.y.detach();
  return r;
}

void check(int64_t rows, int64_t W, at::ScalarType dtype, bool affine, bool strided, uint64_t seed = 1) {
  SCOPED_TRACE(message("rows ", rows, " W ", W, " ", dtype, affine ? " affine" : "", strided ? " strided" : ""));
  at::manual_seed(seed);
  const auto f32 = at::TensorOptions().device(at::kCUDA);
  // Rows with a mean far from 0 and a spread unlike 1, as the predictor's activations have.
  at::Tensor x = strided ? at::randn({W, rows}, f32).t() : at::randn({rows, W}, f32);
  x = x * 3 + 1.5;
  at::Tensor w = affine ? at::randn({W}, f32) : at::Tensor();
  at::Tensor b = affine ? at::randn({W}, f32) : at::Tensor();
  at::Tensor dy = at::randn({rows, W}, f32);
  test::PoisonOutputs poison;
  Result kernel = run(x, w, b, dy, dtype, ops::Backend::Cuda);
  Result aten = run(x, w, b, dy, dtype, ops::Backend::Reference);
  Result exact = run(x, w, b, dy, at::kDouble, ops::Backend::Reference);
  test::expect_within_aten_error(kernel.y, aten.y, exact.y, "y");
  test::expect_within_aten_error(kernel.dx, aten.dx, exact.dx, "dx");
  if (affine) {
    test::expect_within_aten_error(kernel.dw, aten.dw, exact.dw, "dweight");
    test::expect_within_aten_error(kernel.db, aten.db, exact.db, "dbias");
  }
}

TEST(LayerNormKernel, EverySupportedWidthAndType) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (int64_t W : {4, 16, 64, 128}) check(1025, W, at::kFloat, true, false);
  for (int64_t W : {8, 16, 64, 128, 256}) check(1025, W, at::kBFloat16, true, false);
  for (int64_t W : {16, 64}) check(1025, W, at::kHalf, true, false);
}

TEST(LayerNormKernel, AwkwardRowCountsStridesAndNoAffine) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (int64_t rows : {1, 97, 24 * 1025}) {
    check(rows, 16, at::kBFloat16, true, rows == 97);
    check(rows, 64, at::kFloat, rows != 1, false);
  }
  check(300, 128, at::kFloat, false, true);
}

TEST(LayerNormKernel, BackwardIsDeterministic) {
  SEA_SKIP_WITHOUT_KERNELS();
  at::manual_seed(3);
  const auto f32 = at::TensorOptions().device(at::kCUDA);
  at::Tensor x = at::randn({50000, 16}, f32), w = at::randn({16}, f32), b = at::randn({16}, f32);
  at::Tensor dy = at::randn({50000, 16}, f32);
  Result a = run(x, w, b, dy, at::kBFloat16, ops::Backend::Cuda);
  Result c = run(x, w, b, dy, at::kBFloat16, ops::Backend::Cuda);
  EXPECT_TRUE(at::equal(a.dx, c.dx));
  EXPECT_TRUE(at::equal(a.dw, c.dw));
  EXPECT_TRUE(at::equal(a.db, c.db));
}

TEST(LayerNormKernel, AutoFallsBackAndCudaRefuses) {
  SEA_SKIP_WITHOUT_KERNELS();
  const auto f32 = at::TensorOptions().device(at::kCUDA);
  at::Tensor x = at::randn({10, 48}, f32);  // 48 fp32 values: 12 lanes, not a power of two
  at::Tensor w = at::ones({48}, f32), b = at::zeros({48}, f32);
  EXPECT_TRUE(at::allclose(ops::layer_norm(x, w, b, 1e-5), at::layer_norm(x, {48}, w, b, 1e-5)));
  EXPECT_NE(test::error_of([&] { ops::layer_norm(x, w, b, 1e-5, ops::Backend::Cuda); }).find("CUDA kernel takes"),
            std::string::npos);
}

}  // namespace
