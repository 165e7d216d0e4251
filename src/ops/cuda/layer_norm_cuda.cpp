// layer_norm_cuda.cpp — the ATen-facing wrapper of the short-row layer norm kernels (kernels/layer_norm):
// sea::ops::cuda::layer_norm, called by ops::layer_norm for Backend::Cuda. It checks the inputs, makes x and
// the affine parameters contiguous (and 16-byte aligned), allocates outputs and scratch with ATen
// (ops::kernel_output, poisoned in tests), and runs the kernels on the current stream inside an autograd
// function that saves x, the weight and the per-row mean and rstd for the backward.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>

#include "layer_norm/layer_norm_params.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/current_stream.h"
#include "sea/ops/backend.h"
#include "sea/util/error.h"

namespace sea::ops::cuda {
namespace {

namespace kern = sea::kernels;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool kernel_type(at::ScalarType type, kern::DType* out) {
  switch (type) {
    case at::kFloat: *out = kern::DType::F32; return true;
    case at::kBFloat16: *out = kern::DType::BF16; return true;
    case at::kHalf: *out = kern::DType::F16; return true;
    default: return false;
  }
}

// Contiguous and 16-byte aligned (the kernels read 16-byte slices); an empty tensor stays as it is.
at::Tensor kernel_layout(const at::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return t;
  at::Tensor c = t.contiguous();
  return reinterpret_cast<uintptr_t>(c.data_ptr()) % 16 == 0 ? c : c.clone();
}

// x: (rows, W) contiguous; weight, bias: (W,) or empty (= absent).
kern::LayerNormForwardParams forward_params(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                            double eps) {
  kern::LayerNormForwardParams p;
  kernel_type(x.scalar_type(), &p.dtype);
  p.W = static_cast<int>(x.size(-1));
  p.rows = p.W ? x.numel() / p.W : 0;
  p.x = x.data_ptr();
  p.weight = weight.numel() ? weight.data_ptr() : nullptr;
  p.bias = bias.numel() ? bias.data_ptr() : nullptr;
  p.eps = static_cast<float>(eps);
  return p;
}

class LayerNormFunction : public torch::autograd::Function<LayerNormFunction> {
 public:
  // weight, bias: (W,) or empty tensors standing for "absent" (autograd functions take no undefined inputs).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, double eps) {
    kern::LayerNormForwardParams p = forward_params(x, weight, bias, eps);
    at::Tensor y = kernel_output(x.sizes(), x.options());
    at::Tensor mean = kernel_output({p.rows}, x.options().dtype(at::kFloat));
    at::Tensor rstd = kernel_output({p.rows}, x.options().dtype(at::kFloat));
    p.y = y.data_ptr(), p.mean = mean.data_ptr<float>(), p.rstd = rstd.data_ptr<float>();
    DeviceScope scope(x);
    check_launch(kern::launch_layer_norm_forward(p, current_stream(x)), "layer_norm forward");
    ctx->save_for_backward({x, weight, bias, mean, rstd});
    ctx->saved_data["eps"] = eps;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &bias = saved[2];
    kern::LayerNormBackwardParams b;
    b.fwd = forward_params(x, weight, bias, ctx->saved_data["eps"].toDouble());
    b.fwd.mean = saved[3].data_ptr<float>();
    b.fwd.rstd = saved[4].data_ptr<float>();
    at::Tensor dy = kernel_layout(grad_outputs[0].to(x.scalar_type()));
    b.dy = dy.data_ptr();
    at::Tensor dx = kernel_output(x.sizes(), x.options());
    b.dx = dx.data_ptr();
    b.blocks = kern::layer_norm_backward_blocks(b.fwd.rows);
    at::Tensor partial = kernel_output({2, b.blocks, b.fwd.W}, x.options().dtype(at::kFloat));
    b.dweight_partial = partial[0].data_ptr<float>();
    b.dbias_partial = partial[1].data_ptr<float>();
    at::Tensor dweight, dbias;
    if (weight.numel()) dweight = kernel_output({b.fwd.W}, x.options()), b.dweight = dweight.data_ptr();
    if (bias.numel()) dbias = kernel_output({b.fwd.W}, x.options()), b.dbias = dbias.data_ptr();
    DeviceScope scope(x);
    check_launch(kern::launch_layer_norm_backward(b, current_stream(x)), "layer_norm backward");
    return {dx, dweight, dbias, at::Tensor()};
  }
};

}  // namespace

bool layer_norm_supported(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  kern::DType dtype;
  if (!x.is_cuda() || x.dim() < 1 || !kernel_type(x.scalar_type(), &dtype)) return false;
  for (const at::Tensor& t : {weight, bias}) {
    if (t.defined() && (t.scalar_type() != x.scalar_type() || t.device() != x.device())) return false;
  }
  return kern::layer_norm_supports(dtype, static_cast<int>(x.size(-1)));
}

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps) {
  SEA_CHECK(layer_norm_supported(x, weight, bias),
            "layer_norm (cuda): unsupported input: x ", x.sizes(), " ", x.scalar_type(), " on ", x.device(),
            " (fp32 rows of 4 … 128, bf16/fp16 rows of 8 … 256 values, a power of two times 16 bytes; weight "
            "and bias of x's type on its device)");
  const auto empty = x.options().dtype(x.scalar_type());
  at::Tensor w = weight.defined() ? kernel_layout(weight) : at::empty({0}, empty);
  at::Tensor b = bias.defined() ? kernel_layout(bias) : at::empty({0}, empty);
  return LayerNormFunction::apply(kernel_layout(x), w, b, eps);
}

}  // namespace sea::ops::cuda
