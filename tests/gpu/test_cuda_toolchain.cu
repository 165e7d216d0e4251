// test_cuda_toolchain.cu — proves the CUDA side of the build: nvcc compiles a kernel in our project, it links
// against the CUDA LibTorch, runs on the current stream and agrees with ATen. Built only when SEA_CUDA is on;
// skips where no GPU is present. (The SEA kernels themselves arrive with kernels/ in a later issue.)
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <gtest/gtest.h>

namespace {
// out[i] = a * x[i] + y[i]
__global__ void axpy_kernel(int64_t n, float a, const float* x, const float* y, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a * x[i] + y[i];
}
}  // namespace

TEST(CudaToolchain, KernelMatchesATen) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  for (int64_t n : {1, 97, 1025, 1 << 20}) {
    auto x = at::randn({n}, at::kCUDA), y = at::randn({n}, at::kCUDA);
    auto out = at::full({n}, std::numeric_limits<float>::quiet_NaN(), at::kCUDA);  // poisoned
    const int threads = 256;
    axpy_kernel<<<(n + threads - 1) / threads, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        n, 2.5f, x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_TRUE(at::allclose(out, 2.5 * x + y, 1e-6, 1e-6)) << "n = " << n;
  }
  const auto* prop = at::cuda::getCurrentDeviceProperties();
  std::printf("device: %s, sm_%d%d, %d SMs\n", prop->name, prop->major, prop->minor, prop->multiProcessorCount);
}
