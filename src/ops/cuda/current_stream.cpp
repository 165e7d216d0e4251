// current_stream.cpp — LibTorch's current stream, device scope and launch check (see current_stream.h).
#include "ops/cuda/current_stream.h"

#include <c10/cuda/CUDAStream.h>

#include "sea/util/error.h"

namespace sea::ops::cuda {

cudaStream_t current_stream(const at::Tensor& t) { return c10::cuda::getCurrentCUDAStream(t.device().index()).stream(); }

DeviceScope::DeviceScope(const at::Tensor& t) {
  cudaGetDevice(&previous_);
  if (previous_ != t.device().index()) cudaSetDevice(t.device().index());
}

DeviceScope::~DeviceScope() {
  int now = -1;
  cudaGetDevice(&now);
  if (previous_ >= 0 && now != previous_) cudaSetDevice(previous_);
}

void check_launch(cudaError_t status, const char* kernel) {
  if (status == cudaSuccess) status = cudaGetLastError();
  SEA_CHECK(status == cudaSuccess, kernel, ": CUDA launch failed: ", cudaGetErrorString(status));
}

}  // namespace sea::ops::cuda
