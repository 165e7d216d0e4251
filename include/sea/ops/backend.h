// backend.h — which implementation of SEA's three operators runs: the ATen reference or the CUDA kernels.
//
// Every operator with a kernel (performer_attention, grouped_topk_bits, sparse_attention) takes a Backend:
//   Auto       the CUDA kernel when the build has kernels (SEA_WITH_CUDA), the inputs are on a CUDA device
//              and in a type the kernel takes (fp32, bf16, fp16); the ATen reference otherwise (CPU, fp64)
//   Reference  always the ATen reference (the oracle the kernels are tested against)
//   Cuda       always the kernel; an error when it cannot run (CPU tensors, a build without kernels)
// The process-wide default for Auto comes from the environment: SEA_KERNELS=reference turns every Auto into
// Reference (a quick A/B switch for any app); SEA_KERNELS=auto or unset leaves it alone. Per layer, the
// attention config key "kernels" (auto | reference | cuda) picks one explicitly.
//
// Poisoned outputs (tests): with set_poison_outputs(true), or SEA_POISON_OUTPUTS=1, the kernel wrappers fill
// every output buffer with NaN (floats) or 0xA5A5A5A5 (ints) before the launch, so an element a kernel
// forgets to write fails the comparison instead of passing by luck on a zeroed allocation.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace sea::ops {

enum class Backend { Auto, Reference, Cuda };

Backend parse_backend(const std::string& name, const std::string& where);
const char* to_string(Backend backend);

// True when this build compiled the CUDA kernels (and links them).
bool cuda_kernels_compiled();

// What `requested` means for an operator whose main input is `t`: Reference or Cuda, never Auto. Raises
// sea::Error (naming `op`) when Cuda is requested but cannot run.
Backend resolve_backend(Backend requested, const at::Tensor& t, const char* op);

void set_poison_outputs(bool on);
bool poison_outputs();

// A fresh output buffer for a kernel: uninitialised, or poisoned when poison_outputs().
at::Tensor kernel_output(at::IntArrayRef sizes, const at::TensorOptions& options);

}  // namespace sea::ops
