// current_stream.h — what every kernel wrapper needs from the CUDA side of LibTorch, behind plain types so
// that the wrappers include no c10/cuda header (only this file's .cpp does): the current stream of a
// tensor's device, a scope that makes that device current, and the check after a launch.
#pragma once

#include <ATen/core/Tensor.h>
#include <cuda_runtime_api.h>

namespace sea::ops::cuda {

// The current CUDA stream of t's device (LibTorch's, so kernels order with ATen work).
cudaStream_t current_stream(const at::Tensor& t);

// Makes t's device current for the scope's lifetime.
class DeviceScope {
 public:
  explicit DeviceScope(const at::Tensor& t);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

// Raises sea::Error naming `kernel` when a launch (or the error state) reports a failure.
void check_launch(cudaError_t status, const char* kernel);

}  // namespace sea::ops::cuda
