// dense_attention.cpp — method `none` (see dense_attention.h).
#include "sea/attention/dense_attention.h"

#include <ATen/ATen.h>

#include <limits>

#include "sea/attention/attention_mask.h"

namespace sea::attention {

AttentionOutputs DenseAttentionImpl::forward(const AttentionInputs& in) {
  check_qkv(in.q, in.k, in.v, in.key_padding_mask, "dense");
  const int64_t T = in.q.size(2);
  const double dropout = is_training() ? options_.dropout : 0.0;
  KeepMask mask = make_keep_mask(in.key_padding_mask, in.causal, T, in.q.options());

  AttentionOutputs out;
  if (!in.return_artefacts) {
    // Causal without padding takes the is_causal fast path (no mask tensor at all).
    const bool only_causal = in.causal && !mask.padded;
    std::optional<at::Tensor> attn_mask;
    if (mask.keep.defined() && !only_causal) attn_mask = mask.keep;
    out.context = at::scaled_dot_product_attention(in.q, in.k, in.v, attn_mask, dropout, /*is_causal=*/only_causal,
                                                   /*scale=*/in.scale);
  } else {
    // scores: (N, H, T, T), softmax in fp32 whatever the input precision (as HF's eager attention).
    at::Tensor scores = at::matmul(in.q, in.k.transpose(-1, -2)).to(at::kFloat) * in.scale;
    if (mask.keep.defined()) scores = scores.masked_fill(~mask.keep, -std::numeric_limits<float>::infinity());
    at::Tensor probs = at::softmax(scores, -1);
    if (mask.row_has_key.defined()) probs = probs.masked_fill(~mask.row_has_key, 0.0);
    out.artefacts.probs = probs;
    at::Tensor used = dropout > 0 ? at::dropout(probs, dropout, /*train=*/true) : probs;
    out.context = at::matmul(used.to(in.v.scalar_type()), in.v);
  }
  if (mask.row_has_key.defined()) out.context = out.context.masked_fill(~mask.row_has_key, 0.0);
  return out;
}

}  // namespace sea::attention
