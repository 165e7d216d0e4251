// sparse_attention_cuda.cpp — the ATen side of the sparse attention kernels (kernels/sparse_attention):
// checks and prepares the tensors, fills the POD parameters, and wraps forward + backward in an autograd
// function so that SEA's sparse path trains (gradients for q, k, v and the row scaler σ).
//
// Memory: inference allocates only the output. With gradients, the forward also keeps one fp32
// log2-sum-exp2 per (row, head) and the unscaled fp32 output (N, H, T, D), which make the backward exact
// and cheap; nothing T×T exists in either direction.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/current_stream.h"
#include "sea/ops/backend.h"
#include "sea/util/error.h"
#include "sparse_attention/sparse_attention_params.h"

namespace sea::ops::cuda {

namespace {

using kernels::DType;
using kernels::SparseAttentionBackwardParams;
using kernels::SparseAttentionForwardParams;

DType dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kBFloat16: return DType::BF16;
    case at::kHalf: return DType::F16;
    default: return DType::F32;
  }
}

// q, k, v as the kernels read them: last dim contiguous, rows and base 16-byte aligned (else a copy).
at::Tensor kernel_rows(const at::Tensor& t) {
  const int64_t elem = t.element_size();
  const bool ok = t.stride(3) == 1 && (t.stride(2) * elem) % 16 == 0 && (t.stride(1) * elem) % 16 == 0 &&
                  (t.stride(0) * elem) % 16 == 0 && reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
  return ok ? t : t.contiguous();
}

kernels::Strides4 strides_of(const at::Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2)}; }

// Everything the forward and backward launches share, prepared once.
struct Prepared {
  at::Tensor q, k, v, row_scale, kept_bits, row_len, rank_to_key, valid_keys;
  int64_t K = 0;
  double scale = 1, thin_k = 0, thin_oversample = 1;
  bool causal = false;
  kernels::SparseForwardKernel forward_kernel = kernels::SparseForwardKernel::Auto;

  SparseAttentionForwardParams params() const {
    SparseAttentionForwardParams p;
    p.dtype = dtype_of(q);
    p.kernel = forward_kernel;
    p.N = static_cast<int>(q.size(0)), p.H = static_cast<int>(q.size(1)), p.T = static_cast<int>(q.size(2));
    p.D = static_cast<int>(q.size(3)), p.K = static_cast<int>(K), p.W = static_cast<int>(kept_bits.size(3));
    p.q = q.data_ptr(), p.k = k.data_ptr(), p.v = v.data_ptr();
    p.q_stride = strides_of(q), p.k_stride = strides_of(k), p.v_stride = strides_of(v);
    p.kept_bits = reinterpret_cast<const uint32_t*>(kept_bits.data_ptr<int32_t>());
    p.row_len = row_len.data_ptr<int32_t>();
    p.rank_to_key = rank_to_key.defined() ? rank_to_key.data_ptr<int32_t>() : nullptr;
    p.row_scale = row_scale.defined() ? row_scale.data_ptr<float>() : nullptr;
    p.scale = static_cast<float>(scale);
    p.thin_k = thin_k, p.thin_oversample = thin_oversample;
    p.causal = causal;
    return p;
  }
};

struct ForwardResult {
  at::Tensor out, lse2, out_f32;
};

ForwardResult run_forward(const Prepared& prep, bool for_backward) {
  const at::Tensor& q = prep.q;
  const int64_t N = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  ForwardResult r;
  r.out = kernel_output({N, H, T, D}, q.options());
  SparseAttentionForwardParams p = prep.params();
  p.out = r.out.data_ptr();
  if (for_backward) {
    r.lse2 = kernel_output({N, H, T}, q.options().dtype(at::kFloat));
    r.out_f32 = kernel_output({N, H, T, D}, q.options().dtype(at::kFloat));
    p.lse2 = r.lse2.data_ptr<float>();
    p.out_f32 = r.out_f32.data_ptr<float>();
  }
  DeviceScope scope(q);
  check_launch(kernels::launch_sparse_attention_forward(p, current_stream(q)), "sparse_attention forward");
  return r;
}

class SparseAttentionFunction : public torch::autograd::Function<SparseAttentionFunction> {
 public:
  // row_scale may be undefined; the Prepared fields other than q, k, v, row_scale travel in `prep`.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, const at::Tensor& row_scale, const Prepared* prep) {
    ForwardResult r = run_forward(*prep, /*for_backward=*/true);
    ctx->save_for_backward({q, k, v, row_scale, prep->kept_bits, prep->row_len, prep->rank_to_key,
                            prep->valid_keys, r.lse2, r.out_f32});
    ctx->saved_data["K"] = prep->K;
    ctx->saved_data["scale"] = prep->scale;
    ctx->saved_data["thin_k"] = prep->thin_k;
    ctx->saved_data["thin_oversample"] = prep->thin_oversample;
    ctx->saved_data["causal"] = prep->causal;
    return r.out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    Prepared prep;
    prep.q = saved[0], prep.k = saved[1], prep.v = saved[2];
    if (saved[3].numel() > 0) prep.row_scale = saved[3];  // else the empty stand-in for "no σ"
    prep.kept_bits = saved[4], prep.row_len = saved[5], prep.rank_to_key = saved[6], prep.valid_keys = saved[7];
    const at::Tensor lse2 = saved[8], out_f32 = saved[9];
    prep.K = ctx->saved_data["K"].toInt();
    prep.scale = ctx->saved_data["scale"].toDouble();
    prep.thin_k = ctx->saved_data["thin_k"].toDouble();
    prep.thin_oversample = ctx->saved_data["thin_oversample"].toDouble();
    prep.causal = ctx->saved_data["causal"].toBool();

    const at::Tensor& q = prep.q;
    const int64_t N = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    at::Tensor dout = grads[0].to(q.scalar_type()).contiguous();
    const bool padded = prep.rank_to_key.defined();
    // dk, dv: the column pass writes the rows of valid keys; padded key positions get zeros.
    auto key_grad = [&] { return padded ? at::zeros({N, H, T, D}, q.options()) : kernel_output({N, H, T, D}, q.options()); };
    at::Tensor dq = kernel_output({N, H, T, D}, q.options());
    at::Tensor dk = key_grad(), dv = key_grad();
    at::Tensor delta = kernel_output({N, H, T}, q.options().dtype(at::kFloat));
    at::Tensor drow_scale;
    if (prep.row_scale.defined()) drow_scale = kernel_output({N, H, T}, q.options().dtype(at::kFloat));

    SparseAttentionBackwardParams b;
    b.fwd = prep.params();
    b.fwd.lse2 = lse2.data_ptr<float>();
    b.fwd.out_f32 = out_f32.data_ptr<float>();
    b.dout = dout.data_ptr();
    b.valid_keys = prep.valid_keys.data_ptr<int32_t>();
    b.dq = dq.data_ptr(), b.dk = dk.data_ptr(), b.dv = dv.data_ptr();
    b.drow_scale = drow_scale.defined() ? drow_scale.data_ptr<float>() : nullptr;
    b.delta = delta.data_ptr<float>();
    b.segments = kernels::sparse_attention_backward_segments(static_cast<int>(N), static_cast<int>(H),
                                                             static_cast<int>(T), static_cast<int>(D));
    at::Tensor partials;  // (2, S, N, H, T, D) fp32, only when the column pass is split
    if (b.segments > 1) {
      partials = at::empty({2, b.segments, N, H, T, D}, q.options().dtype(at::kFloat));
      b.partials = partials.data_ptr<float>();
    }
    DeviceScope scope(q);
    check_launch(kernels::launch_sparse_attention_backward(b, current_stream(q)), "sparse_attention backward");
    return {dq, dk, dv, drow_scale, at::Tensor()};
  }
};

}  // namespace

bool sparse_attention_supported(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return q.dim() == 4 && kernels::sparse_attention_supports_head_dim(static_cast<int>(q.size(3))) &&
         v.size(3) == q.size(3) && k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type() &&
         q.size(2) < (int64_t{1} << 30);
}

at::Tensor sparse_attention(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in,
                            const at::Tensor& kept_bits, int64_t K, const KeyLayout& layout,
                            const at::Tensor& row_scale, const SparseAttentionOptions& options) {
  SEA_CHECK(sparse_attention_supported(q_in, k_in, v_in),
            "sparse_attention (cuda): unsupported q ", q_in.sizes(), " ", q_in.scalar_type(), ", k ", k_in.scalar_type(),
            ", v ", v_in.sizes(), " ", v_in.scalar_type());
  SEA_CHECK(k_in.device() == q_in.device() && v_in.device() == q_in.device() && kept_bits.device() == q_in.device(),
            "sparse_attention (cuda): q, k, v and kept_bits must be on one device, got ", q_in.device(), ", ",
            k_in.device(), ", ", v_in.device(), ", ", kept_bits.device());
  SEA_CHECK(kept_bits.scalar_type() == at::kInt, "sparse_attention (cuda): kept_bits must be int32, got ",
            kept_bits.scalar_type());
  SEA_CHECK(K > 0, "sparse_attention (cuda): K must be positive, got ", K);
  const int64_t N = q_in.size(0), H = q_in.size(1), T = q_in.size(2);
  SEA_CHECK(!row_scale.defined() || row_scale.sizes() == at::IntArrayRef({N, H, T}),
            "sparse_attention (cuda): row_scale must be (N, H, T) = (", N, ", ", H, ", ", T, "), got ",
            row_scale.sizes());

  Prepared prep;
  prep.q = kernel_rows(q_in), prep.k = kernel_rows(k_in), prep.v = kernel_rows(v_in);
  prep.kept_bits = kept_bits.contiguous();
  prep.row_len = layout.row_len.to(q_in.device(), at::kInt).contiguous();
  if (layout.has_padding) prep.rank_to_key = layout.rank_to_key.to(q_in.device(), at::kInt).contiguous();
  prep.K = K;
  prep.scale = options.scale;
  prep.causal = layout.causal;
  if (options.k_oversample > 1.0) prep.thin_k = options.k, prep.thin_oversample = options.k_oversample;
  switch (options.forward_kernel) {
    case SparseForwardKernel::Auto: prep.forward_kernel = kernels::SparseForwardKernel::Auto; break;
    case SparseForwardKernel::Rows: prep.forward_kernel = kernels::SparseForwardKernel::Rows; break;
    case SparseForwardKernel::Tiles: prep.forward_kernel = kernels::SparseForwardKernel::Tiles; break;
  }
  SEA_CHECK(prep.forward_kernel != kernels::SparseForwardKernel::Tiles ||
                kernels::sparse_attention_forward_tiled_supported(prep.params()),
            "sparse_attention (cuda): the tiled forward kernel takes bf16/fp16 without k_oversample thinning; got ",
            q_in.scalar_type(), " with k_oversample ", options.k_oversample);

  const bool needs_grad = at::GradMode::is_enabled() &&
                          (q_in.requires_grad() || k_in.requires_grad() || v_in.requires_grad() ||
                           (row_scale.defined() && row_scale.requires_grad()));
  if (!needs_grad) {  // inference: the output only, none of the backward's inputs
    if (row_scale.defined()) prep.row_scale = row_scale.to(at::kFloat).contiguous();
    return run_forward(prep, /*for_backward=*/false).out;
  }
  prep.valid_keys = layout.key_valid.to(q_in.device()).sum(1, /*keepdim=*/false, at::kInt).contiguous();  // (N,)
  // The autograd function sees the original tensors (so gradients reach them), the kernels the prepared
  // copies; row_scale goes through as fp32 and its gradient comes back in fp32, cast by autograd's edge.
  // Autograd functions take no undefined tensor inputs: "no σ" travels as an empty tensor.
  at::Tensor scale_input = row_scale.defined() ? row_scale.to(at::kFloat).contiguous()
                                               : at::empty({0}, q_in.options().dtype(at::kFloat));
  if (row_scale.defined()) prep.row_scale = scale_input;
  return SparseAttentionFunction::apply(prep.q, prep.k, prep.v, scale_input, &prep);
}

}  // namespace sea::ops::cuda
