// precision.h — the type SEA computes softmaxes, feature maps and losses in: fp32 for fp16/bf16/fp32 inputs
// (as the reference forces), fp64 for fp64 inputs (so finite-difference gradient tests are exact).
#pragma once

#include <ATen/core/Tensor.h>

namespace sea::ops {

inline at::ScalarType compute_type(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// t in at least fp32.
inline at::Tensor to_compute(const at::Tensor& t) { return t.to(compute_type(t)); }

}  // namespace sea::ops

#include <ATen/autocast_mode.h>

namespace sea::ops {

// True when autocast (CUDA bf16/fp16, CPU bf16) is on for t's device on this thread.
inline bool autocast_active(const at::Tensor& t) { return at::autocast::is_autocast_enabled(t.device().type()); }

// While alive, autocast is off for `device_type` on this thread, so the ops inside run in the types their
// inputs have. SEA and Performer take one (and cast q, k, v to fp32) when called inside an autocast region:
// that is how "Performer, softmaxes, resize and losses are forced to fp32" (SEA_SPEC.md §3.3) survives the
// trainer's bf16 autocast. The previous state comes back when the guard ends.
class NoAutocast {
 public:
  explicit NoAutocast(c10::DeviceType device_type)
      : type_(device_type), was_enabled_(at::autocast::is_autocast_enabled(device_type)) {
    at::autocast::set_autocast_enabled(type_, false);
  }
  ~NoAutocast() { at::autocast::set_autocast_enabled(type_, was_enabled_); }
  NoAutocast(const NoAutocast&) = delete;
  NoAutocast& operator=(const NoAutocast&) = delete;

 private:
  c10::DeviceType type_;
  bool was_enabled_;
};

}  // namespace sea::ops
