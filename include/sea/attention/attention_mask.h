// attention_mask.h — building the keep-mask shared by every attention method from "causal" and
// "key padding", and the rule for query rows that can see no key at all.
#pragma once

#include <ATen/core/Tensor.h>

namespace sea::attention {

struct KeepMask {
  // (N, 1, T, T) bool, true = query may attend to key. Undefined when nothing is masked (no padding, not
  // causal), so that callers can take the unmasked fast path.
  at::Tensor keep;
  // (N, 1, T, 1) bool, true where a query row sees at least one key. Undefined when there is no padding.
  // A row that sees no key (a left-padding position under a causal mask) gets an all-true row in `keep`,
  // so softmax stays finite, and its output must be zeroed with this mask afterwards.
  at::Tensor row_has_key;
  // True when a key_padding_mask was given (callers pass none when nothing is padded).
  bool padded = false;
};

// key_padding_mask: (N, T) bool or undefined; options give the device.
KeepMask make_keep_mask(const at::Tensor& key_padding_mask, bool causal, int64_t T, const at::TensorOptions& options);

// Checks the common preconditions of AttentionInputs (same shapes, 4-D, mask shape) and throws sea::Error
// naming what is off. `method` names the caller in the message.
void check_qkv(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_padding_mask,
               const char* method);

}  // namespace sea::attention
