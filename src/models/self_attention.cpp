// self_attention.cpp — projections + attention method (see self_attention.h).
#include "sea/models/self_attention.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

namespace sea::models {

SelfAttentionImpl::SelfAttentionImpl(const SelfAttentionOptions& o) : options_(o) {
  SEA_CHECK(o.num_heads > 0 && o.hidden_size % o.num_heads == 0, "hidden_size ", o.hidden_size,
            " must be divisible by num_attention_heads ", o.num_heads);
  auto linear = [&](const char* name) {
    return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(o.hidden_size, o.hidden_size).bias(o.bias)));
  };
  // Registration order follows HF OPT (k, v, q, out) so parameter listings read the same.
  k_proj = linear("k_proj");
  v_proj = linear("v_proj");
  q_proj = linear("q_proj");
  out_proj = linear("out_proj");

  attention::LayerShape shape;
  shape.num_heads = o.num_heads;
  shape.head_dim = o.hidden_size / o.num_heads;
  shape.max_positions = o.max_positions;
  shape.layer_index = o.layer_index;
  shape.causal = o.causal;
  shape.attention_dropout = o.attention_dropout;
  method = register_module("method", attention::make_attention_method(o.attention, shape));
}

attention::AttentionInputs SelfAttentionImpl::project(const torch::Tensor& x, const torch::Tensor& key_padding_mask) {
  const int64_t N = x.size(0), T = x.size(1), H = options_.num_heads, D = options_.hidden_size / H;
  const double head_scale = 1.0 / std::sqrt(static_cast<double>(D));
  auto heads = [&](const torch::Tensor& t) { return t.view({N, T, H, D}).transpose(1, 2); };  // (N, H, T, D)

  attention::AttentionInputs in;
  torch::Tensor q = q_proj->forward(x);
  if (options_.prescale_q) q = q * head_scale;
  in.q = heads(q);
  in.k = heads(k_proj->forward(x));
  in.v = heads(v_proj->forward(x));
  in.scale = options_.prescale_q ? 1.0 : head_scale;
  in.causal = options_.causal;
  in.key_padding_mask = key_padding_mask;
  return in;
}

SelfAttentionResult SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                                               const attention::TeacherSignals& teacher, bool return_artefacts) {
  const int64_t N = x.size(0), T = x.size(1);
  attention::AttentionInputs in = project(x, key_padding_mask);
  in.teacher = teacher;
  in.return_artefacts = return_artefacts;

  SelfAttentionResult out;
  out.attention = method->forward(in);
  torch::Tensor merged = out.attention.context.transpose(1, 2).reshape({N, T, options_.hidden_size});  // (N, T, E)
  out.hidden = out_proj->forward(merged);
  return out;
}

DenseTeacherSignals SelfAttentionImpl::teacher_signals(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                                                       bool want_scores, bool want_context) {
  torch::NoGradGuard no_grad;
  attention::AttentionInputs in = project(x, key_padding_mask);
  DenseTeacherSignals out;
  if (want_scores) out.scores = at::matmul(in.q, in.k.transpose(-1, -2)).to(at::kFloat) * in.scale;
  if (want_context) out.context = method->forward(in).context;
  return out;
}

}  // namespace sea::models
