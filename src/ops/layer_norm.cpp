// layer_norm.cpp — ops::layer_norm: picks the backend (backend.h) and applies autocast's fp32 rule for the
// kernel path; the reference is at::layer_norm itself.
#include "sea/ops/layer_norm.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include "sea/util/error.h"
#if SEA_WITH_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

namespace sea::ops {

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                      Backend backend) {
  SEA_CHECK(x.dim() >= 1, "layer_norm: x must have at least one dim, got a scalar");
  const int64_t W = x.size(-1);
  SEA_CHECK(!weight.defined() || (weight.dim() == 1 && weight.size(0) == W),
            "layer_norm: weight must be (", W, ",) for x ", x.sizes(), ", got ", weight.sizes());
  SEA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == W),
            "layer_norm: bias must be (", W, ",) for x ", x.sizes(), ", got ", bias.sizes());
  if (resolve_backend(backend, x, "layer_norm") == Backend::Cuda) {
#if SEA_WITH_CUDA
    at::Tensor xk = x, wk = weight, bk = bias;
    if (at::autocast::is_autocast_enabled(at::kCUDA)) {  // autocast runs layer_norm in fp32
      xk = x.to(at::kFloat);
      if (wk.defined()) wk = wk.to(at::kFloat);
      if (bk.defined()) bk = bk.to(at::kFloat);
    }
    const bool supported = cuda::layer_norm_supported(xk, wk, bk);
    SEA_CHECK(backend == Backend::Auto || supported,
              "layer_norm: the CUDA kernel takes fp32 rows of 4 … 128 and bf16/fp16 rows of 8 … 256 values "
              "(a power of two times 16 bytes) with weight and bias of x's type; got x ", x.sizes(), " ",
              xk.scalar_type());
    if (supported) return cuda::layer_norm(xk, wk, bk, eps);
#endif
  }
  return at::layer_norm(x, {W}, weight, bias, eps);
}

}  // namespace sea::ops
