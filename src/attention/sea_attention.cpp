// sea_attention.cpp — method `perlin`, SEA (see sea_attention.h).
#include "sea/attention/sea_attention.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "sea/attention/attention_mask.h"
#include "sea/attention/sea_losses.h"
#include "sea/ops/layer_norm.h"
#include "sea/ops/precision.h"
#include "sea/ops/sparse_attention.h"

namespace sea::attention {

SeaAttentionOptions SeaAttentionOptions::read(JsonReader& r) {
  SeaAttentionOptions o;
  o.k = r.get_or<double>("k", o.k);
  o.predictor_length = r.get_or<int64_t>("predictor_length", o.predictor_length);
  o.k_flatten_dim = ops::parse_k_flatten_dim(r.get_or<std::string>("k_flatten_dim", "causal_batch"), r.where());
  o.k_oversample = r.get_or<double>("k_oversample", o.k_oversample);
  const std::string output = r.get_or<std::string>("context_output_method", "mix");
  SEA_CHECK(output == "mix" || output == "norm", r.where(), ": context_output_method must be mix or norm, got '",
            output, "'");
  o.norm_output = output == "norm";
  o.partial_attention_scaler = r.get_or<bool>("partial_attention_scaler", o.partial_attention_scaler);
  const std::string path = r.get_or<std::string>("path", "auto");
  SEA_CHECK(path == "auto" || path == "dense" || path == "sparse", r.where(),
            ": path must be auto, dense or sparse, got '", path, "'");
  o.path = path == "dense" ? SeaPath::Dense : path == "sparse" ? SeaPath::Sparse : SeaPath::Auto;
  o.query_chunk = r.get_or<int64_t>("query_chunk", o.query_chunk);
  o.causal_inner_channels = r.get_or<int64_t>("causal_inner_channels", o.causal_inner_channels);
  o.performer = PerformerEstimatorOptions::read(r);
  SEA_CHECK(o.k > 0, r.where(), ": k must be > 0, got ", o.k);
  SEA_CHECK(o.k_oversample >= 1.0, r.where(), ": k_oversample must be >= 1, got ", o.k_oversample);
  SEA_CHECK(o.query_chunk > 0, r.where(), ": query_chunk must be > 0, got ", o.query_chunk);
  SEA_CHECK(o.causal_inner_channels > 0, r.where(), ": causal_inner_channels must be > 0, got ",
            o.causal_inner_channels);
  return o;
}

json SeaAttentionOptions::to_json() const {
  json j;
  j["k"] = k;
  j["predictor_length"] = predictor_length;
  j["k_flatten_dim"] = ops::to_string(k_flatten_dim);
  j["k_oversample"] = k_oversample;
  j["context_output_method"] = norm_output ? "norm" : "mix";
  j["partial_attention_scaler"] = partial_attention_scaler;
  j["path"] = path == SeaPath::Dense ? "dense" : path == SeaPath::Sparse ? "sparse" : "auto";
  j["query_chunk"] = query_chunk;
  j["causal_inner_channels"] = causal_inner_channels;
  performer.write(j);
  return j;
}

SeaAttentionImpl::SeaAttentionImpl(const SeaAttentionOptions& o, const LayerShape& shape) : options_(o), shape_(shape) {
  const int64_t H = shape.num_heads, D = shape.head_dim, K = o.predictor_length;
  const int64_t width_div = shape.causal ? 4 : 2;
  SEA_CHECK(K > 0 && K % width_div == 0, "perlin: predictor_length must be a positive multiple of ", width_div,
            " for ", shape.causal ? "causal" : "bidirectional", " layers, got ", K);
  SEA_CHECK(o.k_flatten_dim == ops::KFlattenDim::CausalBatch || o.k_flatten_dim == ops::KFlattenDim::Query ||
                !shape.causal,
            "perlin: k_flatten_dim '", ops::to_string(o.k_flatten_dim),
            "' lets later rows take budget from earlier ones, which breaks causality; use causal_batch or query "
            "for causal layers");
  split_channels_ = shape.causal ? o.causal_inner_channels : 4;
  split_width_ = K / width_div;

  performer = register_module("performer", PerformerEstimator(o.performer, D, shape.layer_index));
  if (shape.causal) {
    SEA_CHECK(shape.max_positions > 0, "perlin: causal layers need max_positions for the positional table");
    v_eye_learned_causal = register_parameter("v_eye_learned_causal", at::randn({1, 1, shape.max_positions, D}));
  }
  attention_predictor_enc = register_module(
      "attention_predictor_enc",
      torch::nn::Sequential(torch::nn::Linear(3 * D, 2 * D), torch::nn::LayerNorm(torch::nn::LayerNormOptions({2 * D})),
                            torch::nn::GELU()));
  attention_predictor_dec_row = register_module(
      "attention_predictor_dec_row", torch::nn::Sequential(torch::nn::Linear(2 * D, split_channels_ * split_width_)));
  attention_predictor_dec_scaler =
      register_module("attention_predictor_dec_scaler", torch::nn::Sequential(torch::nn::Linear(2 * D, 2)));
  if (shape.causal) {
    causal_decoder = register_module("attention_predictor_cnn", CausalMaskDecoder(H, split_channels_, K, o.performer.kernels));
  } else {
    bidirectional_decoder = register_module("attention_predictor_cnn", BidirectionalMaskDecoder(H, split_channels_, K));
  }
  if (o.norm_output) {
    norm_partial = register_module("norm_partial", torch::nn::LayerNorm(torch::nn::LayerNormOptions({H * D})));
  }
}

void SeaAttentionImpl::set_k(double k) {
  SEA_CHECK(k > 0, "perlin: k must be > 0, got ", k);
  options_.k = k;
}

namespace {
// The stretched identity of a bidirectional layer: (N, 1, T, D), row of rank r among L valid tokens is
// max(0, 1 − |r/(L−1)·(D−1) − j|) (bilinear grid-sample of eye(D)); zero at padded rows.
at::Tensor stretched_identity(const ops::KeyLayout& layout, int64_t D, const at::TensorOptions& options) {
  const int64_t N = layout.key_rank.size(0), T = layout.key_rank.size(1);
  at::Tensor r = layout.key_rank.to(at::kFloat).clamp_min(0);
  at::Tensor L = layout.row_len.to(at::kFloat);
  at::Tensor y = at::where(L > 1, r / (L - 1).clamp_min(1), at::zeros_like(r));  // (N, T) in [0, 1]
  at::Tensor j = at::arange(D, options.dtype(at::kFloat));
  at::Tensor table = at::relu(1.0 - (y.unsqueeze(-1) * (D - 1) - j).abs());       // (N, T, D)
  table = table * layout.key_valid.to(at::kFloat).unsqueeze(-1);
  return table.view({N, 1, T, D}).to(options.dtype());
}
}  // namespace

ops::KeyLayout SeaAttentionImpl::key_layout(const AttentionInputs& in) const {
  return ops::make_key_layout(in.key_padding_mask, in.causal, in.q.size(0), in.q.size(2), in.q.options());
}

namespace {
// (N, 1, T, 1) in `dtype`: 1 on rows with visible keys, 0 on padded query rows.
at::Tensor row_mask(const ops::KeyLayout& layout, at::ScalarType dtype) {
  return (layout.row_len > 0).to(dtype).unsqueeze(1).unsqueeze(-1);
}
}  // namespace

at::Tensor SeaAttentionImpl::masked_values(const AttentionInputs& in, const ops::KeyLayout& layout) const {
  return in.key_padding_mask.defined() ? in.v * row_mask(layout, in.v.scalar_type()) : in.v;
}

at::Tensor SeaAttentionImpl::performer_step(const AttentionInputs& in, const ops::KeyLayout& layout,
                                            const at::Tensor& v) const {
  const int64_t N = in.q.size(0), H = in.q.size(1), T = in.q.size(2), D = in.q.size(3);
  const auto dtype = in.q.scalar_type();
  // V_cat = [V_I ; V], padded rows zero.
  at::Tensor v_identity;
  if (in.causal) {
    SEA_CHECK(T <= v_eye_learned_causal.size(2), "perlin: sequence length ", T, " exceeds the positional table (",
              v_eye_learned_causal.size(2), " rows = max_positions)");
    v_identity = v_eye_learned_causal.slice(2, 0, T).to(dtype).expand({N, H, T, D});
  } else {
    v_identity = stretched_identity(layout, D, in.v.options()).expand({N, H, T, D});
  }
  at::Tensor v_cat = at::cat({v_identity, v}, -1);
  if (in.key_padding_mask.defined()) v_cat = v_cat * row_mask(layout, dtype);
  return performer->forward(in.q, in.k, v_cat, in.scale, in.causal, in.key_padding_mask).to(dtype);
}

// attention_predictor_enc (Linear → LayerNorm → GELU) with the norm through ops::layer_norm (rows of 2·D values,
// one per head and query: ATen's CUDA layer norm is slow on many short rows).
at::Tensor SeaAttentionImpl::encode(const at::Tensor& x) const {
  at::Tensor h = attention_predictor_enc->ptr(0)->as<torch::nn::LinearImpl>()->forward(x);
  const auto* norm = attention_predictor_enc->ptr(1)->as<torch::nn::LayerNormImpl>();
  h = ops::layer_norm(h, norm->weight, norm->bias, norm->options.eps(), options_.performer.kernels);
  return attention_predictor_enc->ptr(2)->as<torch::nn::GELUImpl>()->forward(h);
}

SeaAttentionImpl::Estimate SeaAttentionImpl::predictor_step(const AttentionInputs& in, const ops::KeyLayout& layout,
                                                            const at::Tensor& v, const at::Tensor& c_perf) {
  const int64_t N = in.q.size(0), H = in.q.size(1), T = in.q.size(2);
  at::Tensor row_valid = layout.row_len > 0;  // (N, T)
  // Encoder, row decoder with channel split, CNN decoder, softmax over K; scalers.
  at::Tensor z = encode(at::cat({c_perf, v}, -1));  // (N, H, T, 2D)
  at::Tensor rows = attention_predictor_dec_row->forward(z)                    // (N, H, T, c_h·W)
                        .view({N, H, T, split_channels_, split_width_})
                        .permute({0, 1, 3, 2, 4})
                        .reshape({N, H * split_channels_, T, split_width_});
  Estimate out;
  out.logits = in.causal ? causal_decoder->forward(rows)
                         : bidirectional_decoder->forward(rows, in.key_padding_mask.defined() ? row_valid : at::Tensor());
  const auto ct = ops::compute_type(in.q);
  out.estimate = at::softmax(out.logits.to(ct), -1) * row_valid.view({N, 1, T, 1});  // (N, H, T, K)
  at::Tensor scales = at::sigmoid(attention_predictor_dec_scaler->forward(z).to(ct));  // (N, H, T, 2)
  out.s_prob = scales.select(-1, 0);
  out.s_mix = scales.select(-1, 1).unsqueeze(-1);
  return out;
}

at::Tensor SeaAttentionImpl::mask_step(const at::Tensor& estimate, const ops::KeyLayout& layout) const {
  at::NoGradGuard no_grad;
  return ops::grouped_topk_bits(estimate.detach(), layout, options_.k, options_.k_oversample, options_.k_flatten_dim,
                                options_.performer.kernels);
}

AttentionOutputs SeaAttentionImpl::forward(const AttentionInputs& in) {
  if (ops::autocast_active(in.q)) {
    // Inside a mixed-precision region SEA runs in fp32 (the spec forces its estimator, softmaxes, resize and
    // losses to fp32) and hands back the context in the caller's type.
    ops::NoAutocast fp32(in.q.device().type());
    AttentionInputs f = in;
    f.q = in.q.to(at::kFloat);
    f.k = in.k.to(at::kFloat);
    f.v = in.v.to(at::kFloat);
    AttentionOutputs out = forward(f);
    out.context = out.context.to(in.q.scalar_type());
    return out;
  }
  check_qkv(in.q, in.k, in.v, in.key_padding_mask, "perlin");
  SEA_CHECK(in.causal == shape_.causal, "perlin: this layer was built ", shape_.causal ? "causal" : "bidirectional",
            " but called with causal = ", in.causal);
  const int64_t N = in.q.size(0), H = in.q.size(1), T = in.q.size(2), D = in.q.size(3);
  SEA_CHECK(H == shape_.num_heads && D == shape_.head_dim, "perlin: expected ", shape_.num_heads, " heads of dim ",
            shape_.head_dim, ", got q ", in.q.sizes());
  const auto dtype = in.q.scalar_type();
  const auto ct = ops::compute_type(in.q);
  ops::KeyLayout layout = key_layout(in);
  at::Tensor v = masked_values(in, layout);

  // 1-2. Performer estimate of [V_I ; V]; 3. predictor: Â and the scalers; 4. the kept cells.
  at::Tensor c_perf = performer_step(in, layout, v);
  Estimate est = predictor_step(in, layout, v, c_perf);
  const at::Tensor& estimate = est.estimate;
  const at::Tensor& logits = est.logits;
  const at::Tensor& s_prob = est.s_prob;
  const at::Tensor& s_mix = est.s_mix;
  at::Tensor kept_bits = mask_step(estimate, layout);
  const ops::Backend backend = options_.performer.kernels;
  const int64_t K = options_.predictor_length;

  // 5. Sparse attention, dense-emulated or sparse.
  bool dense = options_.path == SeaPath::Dense ||
               (options_.path == SeaPath::Auto && (is_training() || in.teacher.any()));
  SEA_CHECK(dense || !in.teacher.any(), "perlin: teacher signals need the dense path (path 'dense' or 'auto')");
  at::Tensor row_scale = options_.partial_attention_scaler ? s_prob : at::Tensor();
  ops::SparseAttentionResult attn;
  ops::DenseCells cells;  // the T×T cell map, dense path only (shared by the mask and the loss)
  at::Tensor kept_cells;  // (N, H, T, K) bool, when the dense path or the artefacts need it
  if (dense || in.return_artefacts) kept_cells = ops::unpack_kept_cells(kept_bits, K);
  if (dense) {
    cells = ops::dense_cells(layout, K);
    at::Tensor key_mask = ops::dense_key_mask(kept_cells, cells, layout, options_.k, options_.k_oversample);
    attn = ops::masked_dense_attention(in.q, in.k, in.v, key_mask, in.scale, row_scale, in.return_artefacts);
  } else {
    ops::SparseAttentionOptions so;
    so.scale = in.scale, so.k = options_.k, so.k_oversample = options_.k_oversample;
    so.query_chunk = options_.query_chunk, so.want_probs = in.return_artefacts, so.backend = backend;
    attn = ops::sparse_attention(in.q, in.k, in.v, kept_bits, K, layout, row_scale, so);
  }

  // 6. Mix with the average context.
  at::Tensor c_avg;
  if (in.causal) {
    at::Tensor count = layout.row_len.to(ct).clamp_min(1).view({N, 1, T, 1});
    // Running mean over visible keys. The prefix sum runs along the innermost dim: ATen's CUDA cumsum over an
    // outer dim scans each of the H·D columns serially (T steps), which dominated the layer at long T.
    at::Tensor prefix = v.to(ct).transpose(2, 3).contiguous().cumsum(-1).transpose(2, 3);  // (N, H, T, D)
    c_avg = (prefix / count).to(dtype);
  } else {
    // Importance of each key: the mean of Â over valid query rows, spread over the keys.
    at::Tensor n_rows = (layout.row_len > 0).sum(1).to(ct).clamp_min(1).view({N, 1, 1, 1});
    at::Tensor importance = estimate.sum(2, /*keepdim=*/true) / n_rows;             // (N, H, 1, K)
    at::Tensor weight = ops::decompress(importance, layout, 0.0);                   // (N, H, 1, T)
    c_avg = at::matmul(weight, v.to(ct)).to(dtype);                              // (N, H, 1, D)
  }
  at::Tensor context = (s_mix * attn.context.to(ct) + (1 - s_mix) * c_avg.to(ct)).to(dtype);
  if (options_.norm_output) {
    at::Tensor merged = context.transpose(1, 2).reshape({N, T, H * D});
    merged = norm_partial->forward(merged) + merged;
    context = merged.view({N, T, H, D}).transpose(1, 2);
  }
  if (in.key_padding_mask.defined()) context = context * row_mask(layout, dtype);

  AttentionOutputs out;
  out.context = context;
  // 7. Per-layer distillation loss.
  if (in.teacher.any()) out.loss = sea_layer_loss(logits, attn.scores, context, layout, cells, in.teacher).total;
  if (in.return_artefacts) {
    out.artefacts.estimated_attention = estimate;
    out.artefacts.sparse_mask = kept_cells;
    out.artefacts.sparse_probs = attn.probs;
  }
  return out;
}

AttentionMethod make_sea_attention(JsonReader& options, const LayerShape& shape) {
  return std::make_shared<SeaAttentionImpl>(SeaAttentionOptions::read(options), shape);
}

int64_t set_sea_k(torch::nn::Module& root, double k) {
  return for_each_attention_method<SeaAttentionImpl>(root, [k](SeaAttentionImpl& m) { m.set_k(k); });
}

}  // namespace sea::attention
