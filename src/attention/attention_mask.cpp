// attention_mask.cpp — keep-mask construction shared by all attention methods.
#include "sea/attention/attention_mask.h"

#include <ATen/ATen.h>

#include "sea/util/error.h"

namespace sea::attention {

KeepMask make_keep_mask(const at::Tensor& key_padding_mask, bool causal, int64_t T, const at::TensorOptions& options) {
  // No device sync here (this runs once per layer): a defined mask is taken to mean "padding present"
  // (models pass an undefined one when nothing is padded, see check_inputs), and rows without a visible key
  // are handled unconditionally instead of first asking whether any exist.
  KeepMask out;
  out.padded = key_padding_mask.defined();
  if (!out.padded && !causal) return out;

  auto bool_opts = options.dtype(at::kBool);
  at::Tensor keep = at::ones({1, 1, T, T}, bool_opts);
  if (causal) keep = at::tril(keep);
  if (out.padded) {
    keep = keep & key_padding_mask.to(bool_opts.device()).view({key_padding_mask.size(0), 1, 1, T});
    out.row_has_key = keep.any(-1, /*keepdim=*/true);  // (N, 1, T, 1)
    keep = keep | ~out.row_has_key;  // rows with no visible key attend everywhere; their output is zeroed later
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
