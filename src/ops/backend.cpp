// backend.cpp — the reference/kernel switch and poisoned outputs (see backend.h).
#include "sea/ops/backend.h"

#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <limits>

#include "sea/util/error.h"

namespace sea::ops {

namespace {
bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string(v) == value;
}

std::atomic<int>& poison_flag() {
  static std::atomic<int> flag{env_is("SEA_POISON_OUTPUTS", "1") ? 1 : 0};
  return flag;
}

bool kernel_dtype(const at::Tensor& t) {
  const auto s = t.scalar_type();
  return s == at::kFloat || s == at::kBFloat16 || s == at::kHalf;
}
}  // namespace

Backend parse_backend(const std::string& name, const std::string& where) {
  if (name == "auto") return Backend::Auto;
  if (name == "reference") return Backend::Reference;
  if (name == "cuda") return Backend::Cuda;
  fail(where, ": kernels must be one of auto, reference, cuda; got '", name, "'");
}

const char* to_string(Backend backend) {
  switch (backend) {
    case Backend::Auto: return "auto";
    case Backend::Reference: return "reference";
    case Backend::Cuda: return "cuda";
  }
  return "?";
}

bool cuda_kernels_compiled() { return SEA_WITH_CUDA != 0; }

Backend resolve_backend(Backend requested, const at::Tensor& t, const char* op) {
  if (requested == Backend::Reference) return Backend::Reference;
  if (requested == Backend::Cuda) {
    SEA_CHECK(cuda_kernels_compiled(), op, ": kernels 'cuda' requested, but this build has no CUDA kernels "
              "(configure with a CUDA LibTorch and nvcc; see docs/GPU.md)");
    SEA_CHECK(t.is_cuda(), op, ": kernels 'cuda' requested for a tensor on ", t.device(), "; move it to a CUDA device");
    SEA_CHECK(kernel_dtype(t), op, ": the CUDA kernel takes fp32, bf16 or fp16, got ", t.scalar_type(),
              " (use kernels 'reference' for fp64)");
    return Backend::Cuda;
  }
  static const bool forced_reference = env_is("SEA_KERNELS", "reference");
  if (forced_reference || !cuda_kernels_compiled() || !t.is_cuda() || !kernel_dtype(t)) return Backend::Reference;
  return Backend::Cuda;
}

void set_poison_outputs(bool on) { poison_flag() = on ? 1 : 0; }
bool poison_outputs() { return poison_flag() != 0; }

at::Tensor kernel_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
  at::Tensor out = at::empty(sizes, options);
  if (!poison_outputs()) return out;
  if (at::isFloatingType(out.scalar_type())) return out.fill_(std::numeric_limits<double>::quiet_NaN());
  if (out.scalar_type() == at::kBool) return out.fill_(true);
  return out.fill_(static_cast<int64_t>(static_cast<int32_t>(0xA5A5A5A5u)));
}

}  // namespace sea::ops
