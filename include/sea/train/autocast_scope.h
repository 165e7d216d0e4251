// autocast_scope.h — mixed precision for a region of training or evaluation: bf16 autocast on CUDA (the
// default there) or, for testing, on the CPU; nothing for fp32. The region restores the previous autocast
// state when it ends. SEA's estimator and losses opt out inside it (ops::NoAutocast), as the spec requires.
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>

#include <string>

#include "sea/util/error.h"

namespace sea::train {

// "auto" -> "bf16" on CUDA, "fp32" on the CPU; "fp32" / "bf16" stay.
inline std::string resolve_precision(const std::string& precision, const c10::Device& device) {
  if (precision == "auto") return device.is_cuda() ? "bf16" : "fp32";
  SEA_CHECK(precision == "fp32" || precision == "bf16", "precision '", precision, "' is not one of: auto, fp32, bf16");
  return precision;
}

class AutocastScope {
 public:
  // precision: resolved ("fp32" or "bf16").
  AutocastScope(const c10::Device& device, const std::string& precision)
      : type_(device.type()), enabled_(precision == "bf16") {
    if (!enabled_) return;
    was_enabled_ = at::autocast::is_autocast_enabled(type_);
    was_dtype_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, was_enabled_);
    at::autocast::set_autocast_dtype(type_, was_dtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType type_;
  bool enabled_;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kBFloat16;
};

}  // namespace sea::train
