// performer_estimate_cuda.cpp — the ATen-facing wrapper of the Performer (FAVOR+) estimate kernels
// (kernels/performer_estimate): sea::ops::cuda::performer_attention, called by ops::performer_attention for
// Backend::Cuda. It checks the inputs (sea::Error naming the tensor and the constraint), makes them
// contiguous, allocates the outputs (ops::kernel_output, poisoned in tests) and the scratch with ATen (so the
// caching allocator owns all memory), and runs the kernels on the current stream inside an autograd function:
// the forward kernel saves its output, the per-row denominators and the key stabiliser; the backward kernel
// recomputes the features from q and k and returns dq, dk, dv in the inputs' type (the projection gets none).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <limits>

#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/current_stream.h"
#include "performer_estimate/performer_params.h"
#include "sea/ops/backend.h"
#include "sea/util/error.h"

namespace sea::ops::cuda {
namespace {

namespace kern = sea::kernels;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

kern::DType kernel_dtype(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return kern::DType::F32;
    case at::kBFloat16: return kern::DType::BF16;
    case at::kHalf: return kern::DType::F16;
    default: fail("performer (cuda): unsupported dtype ", type);
  }
}

kern::Strides4 strides_of(const at::Tensor& t) {  // t: (N, H, T, ·), last dim contiguous
  kern::Strides4 s;
  s.n = t.stride(0);
  s.h = t.stride(1);
  s.t = t.stride(2);
  return s;
}

// What the autograd function takes besides q, k, v (none of it gets a gradient).
struct PerformerConfig {
  at::Tensor projection;    // W: (m, D) fp32, contiguous, on q's device
  at::Tensor projection_t;  // Wᵀ: (D, m) fp32, contiguous
  at::Tensor key_valid;     // (N, T) bool, contiguous, on q's device; or undefined
  FeatureKernel kernel = FeatureKernel::Relu;
  bool causal = false;
};

// q, k: (N, H, T, D); v: (N, H, T, Dv); all contiguous, on one CUDA device, one dtype.
kern::PerformerProblem make_problem(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const PerformerConfig& cfg) {
  kern::PerformerProblem p;
  p.N = q.size(0);
  p.H = q.size(1);
  p.T = q.size(2);
  p.D = static_cast<int>(q.size(3));
  p.m = static_cast<int>(cfg.projection.size(0));
  p.Dv = static_cast<int>(v.size(3));
  p.chunk_rows = kern::performer_chunk_rows(p.D, p.m);
  p.kernel = cfg.kernel == FeatureKernel::Softmax ? kern::PerformerFeatureKernel::Softmax
                                                  : kern::PerformerFeatureKernel::Relu;
  p.causal = cfg.causal;
  p.dtype = kernel_dtype(q.scalar_type());
  p.q = q.data_ptr();
  p.q_stride = strides_of(q);
  p.k = k.data_ptr();
  p.k_stride = strides_of(k);
  p.v = v.data_ptr();
  p.v_stride = strides_of(v);
  p.projection = cfg.projection.data_ptr<float>();
  p.projection_t = cfg.projection_t.data_ptr<float>();
  if (cfg.key_valid.defined()) {
    p.key_valid = reinterpret_cast<const uint8_t*>(cfg.key_valid.data_ptr<bool>());
    p.key_valid_stride_n = cfg.key_valid.stride(0);
  }
  return p;
}

at::Tensor float_scratch(int64_t count, const at::Tensor& like) {
  return at::empty({count}, like.options().dtype(at::kFloat));
}

class PerformerAttentionFunction : public torch::autograd::Function<PerformerAttentionFunction> {
 public:
  // q, k: (N, H, T, D); v: (N, H, T, Dv) -> out (N, H, T, Dv) fp32.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const PerformerConfig& cfg) {
    kern::PerformerForwardParams params;
    params.problem = make_problem(q, k, v, cfg);
    const kern::PerformerProblem& p = params.problem;
    const auto f32 = q.options().dtype(at::kFloat);
    at::Tensor out = ops::kernel_output({p.N, p.H, p.T, p.Dv}, f32);
    at::Tensor den = ops::kernel_output({p.N, p.H, p.T}, f32);
    at::Tensor key_stabiliser = at::empty({kern::performer_key_stabiliser_words(p)}, q.options().dtype(at::kLong));
    at::Tensor state = float_scratch(kern::performer_state_floats(p), q);
    params.out = out.data_ptr<float>();
    params.out_stride = strides_of(out);
    params.den = den.data_ptr<float>();
    params.key_stabiliser = reinterpret_cast<unsigned long long*>(key_stabiliser.data_ptr<int64_t>());
    params.state = state.data_ptr<float>();
    {
      DeviceScope scope(q);
      check_launch(kern::launch_performer_forward(params, current_stream(q)), "performer_attention (forward)");
    }
    ctx->save_for_backward({q, k, v, out});
    ctx->saved_data["projection"] = cfg.projection;
    ctx->saved_data["projection_t"] = cfg.projection_t;
    ctx->saved_data["has_key_valid"] = cfg.key_valid.defined();
    if (cfg.key_valid.defined()) ctx->saved_data["key_valid"] = cfg.key_valid;
    ctx->saved_data["den"] = den;
    ctx->saved_data["key_stabiliser"] = key_stabiliser;
    ctx->saved_data["softmax"] = cfg.kernel == FeatureKernel::Softmax;
    ctx->saved_data["causal"] = cfg.causal;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3];
    at::Tensor grad_out = grad_outputs[0];
    if (!grad_out.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    grad_out = grad_out.to(at::kFloat).contiguous();  // dout: (N, H, T, Dv)
    SEA_CHECK(grad_out.sizes() == out.sizes() && grad_out.device() == out.device(),
              "performer (cuda): the output's gradient has shape ", grad_out.sizes(), " on ", grad_out.device(),
              ", expected ", out.sizes(), " on ", out.device());

    PerformerConfig cfg;
    cfg.projection = ctx->saved_data["projection"].toTensor();
    cfg.projection_t = ctx->saved_data["projection_t"].toTensor();
    if (ctx->saved_data["has_key_valid"].toBool()) cfg.key_valid = ctx->saved_data["key_valid"].toTensor();
    cfg.kernel = ctx->saved_data["softmax"].toBool() ? FeatureKernel::Softmax : FeatureKernel::Relu;
    cfg.causal = ctx->saved_data["causal"].toBool();
    const at::Tensor den = ctx->saved_data["den"].toTensor();
    const at::Tensor key_stabiliser = ctx->saved_data["key_stabiliser"].toTensor();

    kern::PerformerBackwardParams params;
    params.problem = make_problem(q, k, v, cfg);
    const kern::PerformerProblem& p = params.problem;
    at::Tensor grad_q = ops::kernel_output(q.sizes(), q.options());
    at::Tensor grad_k = ops::kernel_output(k.sizes(), k.options());
    at::Tensor grad_v = ops::kernel_output(v.sizes(), v.options());
    at::Tensor state = float_scratch(kern::performer_state_floats(p), q);
    const bool softmax = cfg.kernel == FeatureKernel::Softmax;
    at::Tensor stabiliser_partial = float_scratch(softmax ? kern::performer_stabiliser_partial_floats(p) : 0, q);
    at::Tensor key_grad_row = float_scratch(softmax ? kern::performer_key_grad_row_floats(p) : 0, q);

    params.grad_out = grad_out.data_ptr<float>();
    params.grad_out_stride = strides_of(grad_out);
    params.out = out.data_ptr<float>();
    params.out_stride = strides_of(out);
    params.den = den.data_ptr<float>();
    params.key_stabiliser = reinterpret_cast<const unsigned long long*>(key_stabiliser.data_ptr<int64_t>());
    params.grad_q = grad_q.data_ptr();
    params.grad_q_stride = strides_of(grad_q);
    params.grad_k = grad_k.data_ptr();
    params.grad_k_stride = strides_of(grad_k);
    params.grad_v = grad_v.data_ptr();
    params.grad_v_stride = strides_of(grad_v);
    params.state = state.data_ptr<float>();
    params.stabiliser_partial = softmax ? stabiliser_partial.data_ptr<float>() : nullptr;
    params.key_grad_row = softmax ? key_grad_row.data_ptr<float>() : nullptr;
    {
      DeviceScope scope(q);
      check_launch(kern::launch_performer_backward(params, current_stream(q)), "performer_attention (backward)");
    }
    return {grad_q, grad_k, grad_v, at::Tensor()};
  }
};

}  // namespace

at::Tensor performer_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& projection, FeatureKernel kernel, bool causal,
                               const at::Tensor& key_valid) {
  SEA_CHECK(q.defined() && k.defined() && v.defined() && projection.defined(),
            "performer (cuda): q, k, v and the projection must be defined tensors");
  SEA_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 && v.size(0) == q.size(0) &&
                v.size(1) == q.size(1) && v.size(2) == q.size(2),
            "performer (cuda): expected q, k (N, H, T, D) and v (N, H, T, Dv); got q ", q.sizes(), ", k ", k.sizes(),
            ", v ", v.sizes());
  SEA_CHECK(q.is_cuda(), "performer (cuda): q must be on a CUDA device, got ", q.device());
  SEA_CHECK(k.device() == q.device() && v.device() == q.device(), "performer (cuda): q, k, v must be on one device; got q ",
            q.device(), ", k ", k.device(), ", v ", v.device());
  const at::ScalarType type = q.scalar_type();
  SEA_CHECK(type == at::kFloat || type == at::kBFloat16 || type == at::kHalf,
            "performer (cuda): q must be fp32, bf16 or fp16, got ", type);
  SEA_CHECK(k.scalar_type() == type && v.scalar_type() == type, "performer (cuda): q, k, v must share one dtype; got q ",
            type, ", k ", k.scalar_type(), ", v ", v.scalar_type());
  SEA_CHECK(projection.dim() == 2 && projection.size(1) == q.size(3) && at::isFloatingType(projection.scalar_type()),
            "performer (cuda): the projection must be a floating (m, D) matrix with D = ", q.size(3), "; got ",
            projection.sizes(), " ", projection.scalar_type());
  const int64_t N = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), m = projection.size(0), Dv = v.size(3);
  SEA_CHECK(D >= 1 && D <= kern::kPerformerMaxHeadDim, "performer (cuda): head dim D = ", D, " of q, k is outside [1, ",
            kern::kPerformerMaxHeadDim, "] (use kernels 'reference')");
  SEA_CHECK(m >= 1 && m <= kern::kPerformerMaxFeatures, "performer (cuda): the projection has m = ", m,
            " features, outside [1, ", kern::kPerformerMaxFeatures, "] (use kernels 'reference')");
  SEA_CHECK(kern::performer_chunk_rows(static_cast<int>(D), static_cast<int>(m)) > 0,
            "performer (cuda): D = ", D, " with m = ", m, " features does not fit the kernels' shared memory "
            "(use kernels 'reference')");
  SEA_CHECK(Dv >= 1 && Dv <= (1 << 20), "performer (cuda): v's head dim Dv = ", Dv, " is out of range");
  SEA_CHECK(N * H <= 65535, "performer (cuda): N·H = ", N * H, " exceeds 65535 (batch × heads of q ", q.sizes(), ")");
  SEA_CHECK(T < (int64_t{1} << 31) && T * m < (int64_t{1} << 32) - 1,
            "performer (cuda): sequence length T = ", T, " with m = ", m, " features is too long");
  at::Tensor valid;
  if (key_valid.defined()) {
    SEA_CHECK(key_valid.dim() == 2 && key_valid.size(0) == N && key_valid.size(1) == T &&
                  key_valid.scalar_type() == at::kBool,
              "performer (cuda): key_valid must be a bool (N, T) = (", N, ", ", T, ") tensor; got ", key_valid.sizes(),
              " ", key_valid.scalar_type());
    SEA_CHECK(key_valid.is_cpu() || key_valid.device() == q.device(), "performer (cuda): key_valid is on ",
              key_valid.device(), ", q on ", q.device());
    valid = key_valid.to(q.device()).contiguous();
  }

  PerformerConfig cfg;
  cfg.projection = projection.detach().to(q.device(), at::kFloat).contiguous();
  cfg.projection_t = cfg.projection.t().contiguous();
  cfg.key_valid = valid;
  cfg.kernel = kernel;
  cfg.causal = causal;
  return PerformerAttentionFunction::apply(q.contiguous(), k.contiguous(), v.contiguous(), cfg);
}

}  // namespace sea::ops::cuda
