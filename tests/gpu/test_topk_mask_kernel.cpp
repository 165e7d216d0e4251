// test_topk_mask_kernel.cpp — the grouped top-k CUDA kernel (kernels/topk_mask, ops::grouped_topk_bits with
// Backend::Cuda) against the ATen reference ops::grouped_topk_mask, on poisoned output buffers: every mode,
// awkward shapes (T = 1, K not a multiple of 32, groups too large for shared memory), padded rows and whole
// padded samples, budgets that clamp. Distinct estimates must give the same kept cells; with ties at a
// group's budget edge the two may keep different equal cells, so the comparison there uses the tie rule
// (same count per group, same cells above the threshold, differences only among cells equal to it) and
// checks the kernel's own rule (the lowest flat indices of the tied cells are kept). Also: determinism, zero
// bits past K, and clear errors where the kernel cannot run.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gpu/kernel_test_util.h"
#include "sea/ops/topk_mask.h"
#include "test_util.h"

using namespace sea;

namespace {

using ops::KFlattenDim;

const at::Device kCuda(at::kCUDA, 0);

enum class Values {
  Softmax,   // softmax over K of gaussian logits: continuous (equal values at a budget edge are very rare)
  Distinct,  // a random permutation of 0..numel-1, scaled: no two cells equal, so the sets must be identical
  Ties,      // four levels {0, 1/4, 1/2, 3/4}: ties at nearly every budget edge
  Zeros,     // all equal: the budget edge is one big tie
};

const char* to_string(Values v) {
  switch (v) {
    case Values::Softmax: return "softmax";
    case Values::Distinct: return "distinct";
    case Values::Ties: return "ties";
    case Values::Zeros: return "zeros";
  }
  return "?";
}

// estimate: (N, H, T, K) fp32 on the GPU, >= 0.
at::Tensor make_estimate(int64_t N, int64_t H, int64_t T, int64_t K, Values values, uint64_t seed) {
  at::manual_seed(seed);
  const auto opts = at::TensorOptions().device(kCuda).dtype(at::kFloat);
  switch (values) {
    case Values::Softmax: return at::softmax(at::randn({N, H, T, K}, opts), -1);
    case Values::Distinct: {
      const int64_t numel = N * H * T * K;
      EXPECT_LE(numel, int64_t{1} << 24) << "distinct fp32 integers need numel <= 2^24";
      return at::randperm(numel, opts.dtype(at::kLong)).to(at::kFloat).div_(static_cast<double>(numel)).view({N, H, T, K});
    }
    case Values::Ties: return at::randint(0, 4, {N, H, T, K}, opts).div_(4.0);
    case Values::Zeros: return at::zeros({N, H, T, K}, opts);
  }
  return {};
}

// key_valid: (N, T) bool, or undefined (no padding). Sample 0 loses its last fifth and every 7th position
// (interior padding); every other sample is entirely padded.
at::Tensor make_key_valid(int64_t N, int64_t T, bool padded) {
  if (!padded) return {};
  const at::Tensor t = at::arange(T, at::TensorOptions().dtype(at::kLong).device(kCuda));
  at::Tensor valid = at::zeros({N, T}, at::TensorOptions().dtype(at::kBool).device(kCuda));
  valid[0] = (t < T - T / 5) & (t.remainder(7) != 3);
  return valid;
}

std::vector<KFlattenDim> modes_for(bool causal) {
  if (causal) return {KFlattenDim::Query, KFlattenDim::CausalBatch};
  return {KFlattenDim::Query, KFlattenDim::CausalBatch, KFlattenDim::Head, KFlattenDim::Batch};
}

// x: (N, H, T, K) -> (groups, group size), flat index within a group as in the reference's reshape.
at::Tensor grouped(const at::Tensor& x, KFlattenDim mode) {
  const int64_t N = x.size(0), H = x.size(1), T = x.size(2), K = x.size(3);
  switch (mode) {
    case KFlattenDim::Query: return x.reshape({N * H * T, K});
    case KFlattenDim::CausalBatch: return x.permute({0, 2, 1, 3}).reshape({N * T, H * K});
    case KFlattenDim::Head: return x.reshape({N * H, T * K});
    case KFlattenDim::Batch: return x.reshape({N, H * T * K});
  }
  return {};
}

bool any_true(const at::Tensor& t) { return t.any().item<bool>(); }

// Runs the kernel twice and the reference once on `estimate` and checks everything the header promises.
void expect_matches_reference(const at::Tensor& estimate, const ops::KeyLayout& layout, double k, double k_oversample,
                              KFlattenDim mode, bool exact, const std::string& what) {
  SCOPED_TRACE(what);
  const int64_t N = estimate.size(0), H = estimate.size(1), T = estimate.size(2), K = estimate.size(3);
  const int64_t W = (K + 31) / 32;
  at::Tensor bits = ops::grouped_topk_bits(estimate, layout, k, k_oversample, mode, ops::Backend::Cuda);
  ASSERT_TRUE(bits.is_cuda());
  ASSERT_EQ(bits.scalar_type(), at::kInt);
  ASSERT_EQ(bits.sizes().vec(), (std::vector<int64_t>{N, H, T, W}));
  at::Tensor again = ops::grouped_topk_bits(estimate, layout, k, k_oversample, mode, ops::Backend::Cuda);
  EXPECT_TRUE(at::equal(bits, again)) << "two runs of the kernel differ";
  if (K % 32 != 0) {
    const auto unused = static_cast<int32_t>(~((1u << (K % 32)) - 1u));  // the bits past cell K - 1
    EXPECT_FALSE(any_true(bits.select(3, W - 1).bitwise_and(unused) != 0)) << "bits past K are set (unwritten word?)";
  }
  at::Tensor mine = ops::unpack_kept_cells(bits, K);                                  // (N, H, T, K) bool
  at::Tensor theirs = ops::grouped_topk_mask(estimate, layout, k, k_oversample, mode);  // (N, H, T, K) bool
  if (exact) {
    EXPECT_TRUE(at::equal(mine, theirs)) << (mine != theirs).sum().item<int64_t>() << " cells differ";
    return;
  }
  // The tie rule, per group. Padded rows' cells rank below everything, as in the reference.
  at::Tensor row_valid = (layout.row_len > 0).view({N, 1, T, 1});
  at::Tensor value = grouped(estimate.to(at::kFloat).masked_fill(~row_valid, -1.0), mode);  // (G, S)
  at::Tensor kept = grouped(mine, mode), ref = grouped(theirs, mode);
  EXPECT_TRUE(at::equal(kept.sum(1), ref.sum(1))) << "kept counts per group differ";
  const at::Tensor inf = at::full({}, std::numeric_limits<float>::infinity(), value.options());
  at::Tensor threshold = at::where(ref, value, inf).amin(1, /*keepdim=*/true);  // smallest kept value, (G, 1)
  at::Tensor above = value > threshold;
  EXPECT_FALSE(any_true(above & ~kept)) << "the kernel drops a cell above its group's threshold";
  EXPECT_FALSE(any_true(above & ~ref)) << "the reference drops a cell above its group's threshold";
  EXPECT_FALSE(any_true((kept != ref) & (value != threshold))) << "the two differ on a cell not equal to the threshold";
  // The kernel's rule: of the cells equal to the threshold, those kept come first in flat order.
  at::Tensor tie = value == threshold;
  at::Tensor dropped_tie_before = (tie & ~kept).to(at::kInt).cumsum(1) > 0;
  EXPECT_FALSE(any_true(tie & kept & dropped_tie_before)) << "a tied cell is kept after a tied cell that is dropped";
}

std::string describe(int64_t N, int64_t H, int64_t T, int64_t K, bool causal, KFlattenDim mode, bool padded, double k,
                     double os, Values values) {
  std::ostringstream s;
  s << "N " << N << " H " << H << " T " << T << " K " << K << (causal ? " causal " : " bidirectional ")
    << ops::to_string(mode) << (padded ? " padded" : " unpadded") << " k " << k << " k_oversample " << os << " "
    << to_string(values);
  return s.str();
}

}  // namespace

// Small shapes: every combination of mode, padding, k and k_oversample.
TEST(TopkMaskKernel, SmallShapesEveryModeAndBudget) {
  SEA_SKIP_WITHOUT_KERNELS();
  test::PoisonOutputs poison;
  uint64_t seed = 0;
  for (int64_t T : {1, 97}) {
    for (int64_t H : {1, 12}) {
      for (int64_t K : {4, 36, 64, 256}) {
        for (int64_t N : {1, 2}) {
          for (bool padded : {false, true}) {
            for (Values values : {Values::Softmax, Values::Ties}) {
              const at::Tensor est = make_estimate(N, H, T, K, values, ++seed);
              const at::Tensor key_valid = make_key_valid(N, T, padded);
              for (bool causal : {true, false}) {
                const auto layout = ops::make_key_layout(key_valid, causal, N, T, est.options());
                for (KFlattenDim mode : modes_for(causal)) {
                  for (double k : {1.0, 16.0, 64.0, 300.0}) {
                    for (double os : {1.0, 2.0}) {
                      expect_matches_reference(est, layout, k, os, mode, /*exact=*/false,
                                               describe(N, H, T, K, causal, mode, padded, k, os, values));
                      if (HasFatalFailure() || HasNonfatalFailure()) return;  // one report, not thousands
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

// Long sequences (T = 1025 with N = 2, T = 4097 with N = 1): every H, K, padding and mode, with (k,
// k_oversample) and the kind of values taking turns instead of the full product.
TEST(TopkMaskKernel, LongSequencesEveryMode) {
  SEA_SKIP_WITHOUT_KERNELS();
  test::PoisonOutputs poison;
  const std::vector<std::pair<double, double>> budgets = {{1, 1},  {16, 2}, {64, 1}, {300, 2},
                                                          {16, 1}, {64, 2}, {1, 2},  {300, 1}};
  uint64_t seed = 500;
  size_t turn = 0;
  for (int64_t T : {1025, 4097}) {
    const int64_t N = T == 1025 ? 2 : 1;
    for (int64_t H : {1, 12}) {
      for (int64_t K : {4, 36, 64, 256}) {
        for (bool padded : {false, true}) {
          const Values values = seed % 2 ? Values::Ties : Values::Softmax;
          const at::Tensor est = make_estimate(N, H, T, K, values, ++seed);
          const at::Tensor key_valid = make_key_valid(N, T, padded);
          for (bool causal : {true, false}) {
            const auto layout = ops::make_key_layout(key_valid, causal, N, T, est.options());
            for (KFlattenDim mode : modes_for(causal)) {
              const auto [k, os] = budgets[turn++ % budgets.size()];
              expect_matches_reference(est, layout, k, os, mode, /*exact=*/false,
                                       describe(N, H, T, K, causal, mode, padded, k, os, values));
              if (HasFatalFailure() || HasNonfatalFailure()) return;
            }
          }
        }
      }
    }
  }
}

// Distinct values: the kept cells are exactly the reference's.
TEST(TopkMaskKernel, DistinctValuesGiveIdenticalSets) {
  SEA_SKIP_WITHOUT_KERNELS();
  test::PoisonOutputs poison;
  struct Case {
    int64_t N, H, T, K;
  };
  uint64_t seed = 100;
  for (const Case& c : {Case{2, 12, 97, 36}, Case{2, 1, 1025, 64}, Case{1, 12, 1025, 256}, Case{1, 12, 4097, 64}}) {
    const at::Tensor est = make_estimate(c.N, c.H, c.T, c.K, Values::Distinct, ++seed);
    for (bool padded : {false, true}) {
      const at::Tensor key_valid = make_key_valid(c.N, c.T, padded);
      for (bool causal : {true, false}) {
        const auto layout = ops::make_key_layout(key_valid, causal, c.N, c.T, est.options());
        for (KFlattenDim mode : modes_for(causal)) {
          const double k = mode == KFlattenDim::Query ? 16.0 : 64.0, os = padded ? 2.0 : 1.0;
          expect_matches_reference(est, layout, k, os, mode, /*exact=*/true,
                                   describe(c.N, c.H, c.T, c.K, causal, mode, padded, k, os, Values::Distinct));
        }
      }
    }
  }
}

// Larger shapes, not the full product: OPT-125m-like causal_batch / query rows, the bidirectional modes on
// long sequences, and groups too large for shared memory (the streaming path for query and causal_batch).
TEST(TopkMaskKernel, LargerShapes) {
  SEA_SKIP_WITHOUT_KERNELS();
  test::PoisonOutputs poison;
  struct Case {
    int64_t N, H, T, K;
    bool causal;
    KFlattenDim mode;
    bool padded;
    double k, os;
    Values values;
  };
  const std::vector<Case> cases = {
      {1, 12, 4097, 256, true, KFlattenDim::CausalBatch, false, 64, 1, Values::Softmax},
      {1, 12, 4097, 256, true, KFlattenDim::CausalBatch, true, 64, 2, Values::Ties},
      {2, 12, 4097, 64, true, KFlattenDim::CausalBatch, true, 16, 1, Values::Softmax},
      {2, 12, 4097, 64, true, KFlattenDim::Query, true, 16, 2, Values::Softmax},
      {1, 12, 4097, 256, true, KFlattenDim::Query, false, 300, 1, Values::Ties},
      {2, 12, 1025, 36, false, KFlattenDim::Query, true, 16, 2, Values::Ties},
      {2, 12, 1025, 36, false, KFlattenDim::CausalBatch, true, 16, 2, Values::Softmax},
      {2, 12, 1025, 36, false, KFlattenDim::Head, true, 16, 2, Values::Ties},
      {2, 12, 1025, 36, false, KFlattenDim::Batch, true, 16, 2, Values::Softmax},
      {2, 1, 4097, 256, false, KFlattenDim::Head, true, 64, 1, Values::Softmax},
      {2, 12, 1025, 64, false, KFlattenDim::Batch, true, 1, 1, Values::Ties},
      {2, 12, 1025, 64, false, KFlattenDim::Head, false, 300, 2, Values::Ties},
      {1, 12, 4097, 4, false, KFlattenDim::Batch, true, 16, 1, Values::Ties},
      // The larger shared-memory teams (256 and 512 threads: groups of 5120 and 10240 cells).
      {1, 20, 97, 256, true, KFlattenDim::CausalBatch, true, 64, 1, Values::Ties},
      {1, 40, 33, 256, false, KFlattenDim::CausalBatch, false, 64, 2, Values::Softmax},
      {1, 2, 9, 5000, false, KFlattenDim::Query, true, 64, 1, Values::Softmax},
      {1, 1, 9, 11000, true, KFlattenDim::Query, false, 300, 2, Values::Ties},
      // Groups beyond the shared-memory path: H·K = 12288 cells (causal_batch), K = 16384 (query).
      {2, 12, 97, 1024, true, KFlattenDim::CausalBatch, true, 64, 1, Values::Softmax},
      {2, 12, 97, 1024, true, KFlattenDim::CausalBatch, false, 16, 2, Values::Ties},
      {1, 2, 5, 16384, false, KFlattenDim::Query, false, 64, 2, Values::Softmax},
      {2, 2, 5, 16384, false, KFlattenDim::Query, true, 300, 1, Values::Ties},
  };
  uint64_t seed = 200;
  for (const Case& c : cases) {
    const at::Tensor est = make_estimate(c.N, c.H, c.T, c.K, c.values, ++seed);
    const auto layout = ops::make_key_layout(make_key_valid(c.N, c.T, c.padded), c.causal, c.N, c.T, est.options());
    expect_matches_reference(est, layout, c.k, c.os, c.mode, /*exact=*/false,
                             describe(c.N, c.H, c.T, c.K, c.causal, c.mode, c.padded, c.k, c.os, c.values));
  }
}

// All estimates equal: every budget edge is one tie, and the kernel keeps the first cells in flat order.
TEST(TopkMaskKernel, AllEqualEstimatesKeepTheFirstCells) {
  SEA_SKIP_WITHOUT_KERNELS();
  test::PoisonOutputs poison;
  const int64_t N = 2, H = 12, T = 97, K = 36;
  const at::Tensor est = make_estimate(N, H, T, K, Values::Zeros, 0);
  for (bool causal : {true, false}) {
    const auto layout = ops::make_key_layout(make_key_valid(N, T, true), causal, N, T, est.options());
    for (KFlattenDim mode : modes_for(causal)) {
      expect_matches_reference(est, layout, 16, 1, mode, /*exact=*/false,
                               describe(N, H, T, K, causal, mode, true, 16, 1, Values::Zeros));
    }
  }
  // The same through the streaming path (a causal_batch group of 12·1024 cells).
  const at::Tensor wide = make_estimate(1, 12, 9, 1024, Values::Zeros, 0);
  const auto layout = ops::make_key_layout({}, true, 1, 9, wide.options());
  expect_matches_reference(wide, layout, 16, 1, KFlattenDim::CausalBatch, /*exact=*/false, "zeros, streaming path");
}

// bf16 / fp16 estimates are read as fp32 (exactly), and non-contiguous estimates are taken as they are.
TEST(TopkMaskKernel, OtherFloatTypesAndStrides) {
  SEA_SKIP_WITHOUT_KERNELS();
  test::PoisonOutputs poison;
  const int64_t N = 2, H = 12, T = 97, K = 64;
  const at::Tensor est = make_estimate(N, H, T, K, Values::Softmax, 300);
  const auto layout = ops::make_key_layout(make_key_valid(N, T, true), true, N, T, est.options());
  for (auto dtype : {at::kBFloat16, at::kHalf}) {
    expect_matches_reference(est.to(dtype), layout, 16, 1, KFlattenDim::CausalBatch, /*exact=*/false,
                             std::string("estimate in ") + c10::toString(dtype));
  }
  // (N, T, H, K) storage viewed as (N, H, T, K).
  const at::Tensor strided = make_estimate(N, T, H, K, Values::Softmax, 301).permute({0, 2, 1, 3});
  ASSERT_FALSE(strided.is_contiguous());
  for (KFlattenDim mode : modes_for(true)) {
    expect_matches_reference(strided, layout, 16, 2, mode, /*exact=*/false,
                             std::string("non-contiguous estimate, ") + ops::to_string(mode));
  }
}

// Backend::Cuda where the kernel cannot run is a sea::Error that says why. Needs a build with kernels; the
// CPU-tensor case needs no GPU.
TEST(TopkMaskKernel, ClearErrorsWhereTheKernelCannotRun) {
  if (!ops::cuda_kernels_compiled()) GTEST_SKIP() << "this build has no CUDA kernels";
  test::PoisonOutputs poison;
  const int64_t N = 1, H = 2, T = 8, K = 4;
  const at::Tensor cpu_est = at::rand({N, H, T, K});
  const auto cpu_layout = ops::make_key_layout({}, true, N, T, cpu_est.options());
  std::string msg = test::error_of([&] {
    ops::grouped_topk_bits(cpu_est, cpu_layout, 4, 1, KFlattenDim::CausalBatch, ops::Backend::Cuda);
  });
  EXPECT_NE(msg.find("CUDA device"), std::string::npos) << msg;
  if (!at::hasCUDA()) return;

  const at::Tensor est64 = at::rand({N, H, T, K}, at::TensorOptions().device(kCuda).dtype(at::kDouble));
  const auto layout = ops::make_key_layout({}, true, N, T, est64.options());
  msg = test::error_of(
      [&] { ops::grouped_topk_bits(est64, layout, 4, 1, KFlattenDim::CausalBatch, ops::Backend::Cuda); });
  EXPECT_NE(msg.find("fp64"), std::string::npos) << msg;

  const at::Tensor est = est64.to(at::kFloat);
  const auto wrong_length = ops::make_key_layout({}, true, N, T + 1, est.options());
  msg = test::error_of(
      [&] { ops::grouped_topk_bits(est, wrong_length, 4, 1, KFlattenDim::CausalBatch, ops::Backend::Cuda); });
  EXPECT_NE(msg.find("row_len must be (N, T)"), std::string::npos) << msg;

  msg = test::error_of(
      [&] { ops::grouped_topk_bits(est, cpu_layout, 4, 1, KFlattenDim::CausalBatch, ops::Backend::Cuda); });
  EXPECT_NE(msg.find("row_len is on"), std::string::npos) << msg;
}
