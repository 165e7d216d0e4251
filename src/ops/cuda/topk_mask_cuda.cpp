// topk_mask_cuda.cpp — the ATen-facing wrapper of the grouped top-k kernels (kernels/topk_mask): checks the
// estimate and row lengths, fills TopkMaskParams and launches on the current stream. Called by
// ops::grouped_topk_bits (src/ops/topk_mask.cpp) for Backend::Cuda; the reference there is the oracle.
#include <ATen/ATen.h>

#include <cstdint>
#include <limits>

#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/current_stream.h"
#include "sea/ops/backend.h"
#include "sea/util/error.h"
#include "topk_mask/topk_mask_params.h"

namespace sea::ops::cuda {

namespace {
kernels::TopkMode kernel_mode(KFlattenDim mode) {
  switch (mode) {
    case KFlattenDim::Query: return kernels::TopkMode::Query;
    case KFlattenDim::Head: return kernels::TopkMode::Head;
    case KFlattenDim::Batch: return kernels::TopkMode::Batch;
    case KFlattenDim::CausalBatch: return kernels::TopkMode::CausalBatch;
  }
  fail("topk_mask (cuda): unknown k_flatten_dim");
}
}  // namespace

// estimate: (N, H, T, K) fp32/bf16/fp16 on a CUDA device; row_len: (N, T) integer, same device.
// Returns kept_bits: (N, H, T, ceil(K / 32)) int32.
at::Tensor grouped_topk_bits(const at::Tensor& estimate, const at::Tensor& row_len, double k, double k_oversample,
                             KFlattenDim mode) {
  SEA_CHECK(estimate.defined() && estimate.dim() == 4, "topk_mask (cuda): estimate must be (N, H, T, K), got ",
            estimate.defined() ? estimate.sizes() : at::IntArrayRef{});
  SEA_CHECK(estimate.is_cuda(), "topk_mask (cuda): estimate must be on a CUDA device, got ", estimate.device());
  const auto dtype = estimate.scalar_type();
  SEA_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf,
            "topk_mask (cuda): estimate must be fp32, bf16 or fp16, got ", dtype,
            " (use kernels 'reference' for fp64)");
  const int64_t N = estimate.size(0), H = estimate.size(1), T = estimate.size(2), K = estimate.size(3);
  SEA_CHECK(row_len.defined() && row_len.dim() == 2 && row_len.size(0) == N && row_len.size(1) == T,
            "topk_mask (cuda): row_len must be (N, T) = (", N, ", ", T, ") to match estimate ", estimate.sizes(),
            ", got ", row_len.defined() ? row_len.sizes() : at::IntArrayRef{});
  SEA_CHECK(!at::isFloatingType(row_len.scalar_type()) && !at::isComplexType(row_len.scalar_type()) &&
                row_len.scalar_type() != at::kBool,
            "topk_mask (cuda): row_len must be an integer tensor, got ", row_len.scalar_type());
  SEA_CHECK(row_len.device() == estimate.device(), "topk_mask (cuda): row_len is on ", row_len.device(),
            " but estimate is on ", estimate.device());
  SEA_CHECK(k > 0 && k_oversample >= 1.0, "topk_mask (cuda): need k > 0 and k_oversample >= 1, got k = ", k,
            ", k_oversample = ", k_oversample);

  // The kernels index groups and count cells in 32 bits.
  constexpr int64_t kMax32 = std::numeric_limits<int32_t>::max();
  const int64_t group_size = mode == KFlattenDim::Query         ? K
                             : mode == KFlattenDim::CausalBatch ? H * K
                             : mode == KFlattenDim::Head        ? T * K
                                                                : H * T * K;
  const int64_t groups = mode == KFlattenDim::Query         ? N * H * T
                         : mode == KFlattenDim::CausalBatch ? N * T
                         : mode == KFlattenDim::Head        ? N * H
                                                            : N;
  SEA_CHECK(group_size <= kMax32 && groups <= kMax32, "topk_mask (cuda): k_flatten_dim '", to_string(mode),
            "' on estimate ", estimate.sizes(), " gives ", groups, " groups of ", group_size,
            " cells; the kernel takes fewer than 2^31 of each");

  const int64_t W = (K + 31) / 32;
  at::Tensor kept_bits = ops::kernel_output({N, H, T, W}, estimate.options().dtype(at::kInt));  // (N, H, T, W)
  if (kept_bits.numel() == 0) return kept_bits;

  at::Tensor est = estimate.to(at::kFloat).contiguous();  // exact for bf16/fp16, as in the reference
  at::Tensor len = row_len.to(at::kInt).contiguous();      // (N, T) int32; L_t <= T

  kernels::TopkMaskParams p;
  p.estimate = est.data_ptr<float>();
  p.row_len = len.data_ptr<int32_t>();
  p.kept_bits = kept_bits.data_ptr<int32_t>();
  p.estimate_strides.n = est.stride(0);
  p.estimate_strides.h = est.stride(1);
  p.estimate_strides.t = est.stride(2);
  p.N = N;
  p.H = H;
  p.T = T;
  p.K = K;
  p.k = k;
  p.k_oversample = k_oversample;
  p.mode = kernel_mode(mode);

  DeviceScope scope(est);
  check_launch(kernels::launch_topk_mask(p, current_stream(est)), "topk_mask");
  return kept_bits;
}

}  // namespace sea::ops::cuda
