// attention_mask.cpp — keep-mask construction shared by all attention methods.
#include "sea/attention/attention_mask.h"

#include <ATen/ATen.h>

#include "sea/util/error.h"

namespace sea::attention {

KeepMask make_keep_mask(const at::Tensor& key_padding_mask, bool causal, int64_t T, const at::TensorOptions& options) {
  KeepMask out;
  const bool padded = key_padding_mask.defined() && !key_padding_mask.all().item<bool>();
  out.padded = padded;
  if (!padded && !causal) return out;

  auto bool_opts = options.dtype(at::kBool);
  at::Tensor keep = at::ones({1, 1, T, T}, bool_opts);
  if (causal) keep = at::tril(keep);
  if (padded) keep = keep & key_padding_mask.to(bool_opts.device()).view({key_padding_mask.size(0), 1, 1, T});
  if (padded) {
    at::Tensor has = keep.any(-1, /*keepdim=*/true);  // (N, 1, T, 1)
    if (!has.all().item<bool>()) {
      keep = keep | ~has;  // rows with no visible key attend everywhere; their output is zeroed later
      out.row_has_key = has;
    }
  }
  out.keep = keep;
  return out;
}

void check_qkv(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_padding_mask,
               const char* method) {
  SEA_CHECK(q.defined() && k.defined() && v.defined(), method, " attention: q, k and v must all be given");
  SEA_CHECK(q.dim() == 4, method, " attention: q must be (N, H, T, D), got ", q.sizes());
  SEA_CHECK(k.sizes() == q.sizes() && v.sizes() == q.sizes(), method,
            " attention: q, k, v must have the same shape (N, H, T, D); got q ", q.sizes(), ", k ", k.sizes(),
            ", v ", v.sizes());
  if (key_padding_mask.defined()) {
    SEA_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == q.size(0) &&
                  key_padding_mask.size(1) == q.size(2),
              method, " attention: key_padding_mask must be (N, T) = (", q.size(0), ", ", q.size(2), "), got ",
              key_padding_mask.sizes());
  }
}

}  // namespace sea::attention
