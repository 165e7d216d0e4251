// test_topk_mask.cpp — SEA's mask operator: the integer discretisation equals the reference's dense formula
// floor((r + ½)/L·K − 1e-4) and its inverse; grouped top-k keeps exactly each group's budget in all four
// modes; visible keys and ranks under padding; head/batch refused for causal layers.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "sea/ops/topk_mask.h"
#include "test_util.h"

using namespace sea;

TEST(TopkMask, DiscretisationMatchesReferenceFormulaAndInverse) {
  for (int64_t K : {4, 6, 64, 128, 256}) {
    for (int64_t L = 1; L <= 3000; L += (L < 300 ? 1 : 37)) {
      // Forward map, against the reference's float formula (which differs only when a centre lies within
      // 1e-4 of a boundary without being on it, impossible for L <= 5000).
      const at::Tensor r = at::arange(L, at::kLong);
      at::Tensor ours = at::div((2 * r + 1) * K - 1, 2 * L, "floor");
      at::Tensor ref = at::floor((r.to(at::kDouble) + 0.5) / static_cast<double>(L) * K - 1e-4).clamp(0, K).to(at::kLong);
      ASSERT_TRUE(at::equal(ours, ref)) << "K " << K << " L " << L;
      // Inverse: cell c holds ranks [start(c), start(c+1)).
      at::Tensor c = at::arange(K + 1, at::kLong);
      at::Tensor start = at::div(2 * L * c + K, 2 * K, "floor");
      at::Tensor counts = at::bincount(ours, {}, K);
      ASSERT_TRUE(at::equal(start.slice(0, 1) - start.slice(0, 0, K), counts)) << "K " << K << " L " << L;
      ASSERT_EQ(start[K].item<int64_t>(), L);
      if (L >= K) {
        ASSERT_GT(counts.min().item<int64_t>(), 0) << "every cell holds a key when L >= K";
      }
    }
  }
}

TEST(TopkMask, KeyLayoutUnderPadding) {
  at::Tensor valid = at::tensor({0, 0, 1, 1, 0, 1}, at::kLong).to(at::kBool).view({1, 6});
  auto causal = ops::make_key_layout(valid, true, 1, 6, at::TensorOptions());
  EXPECT_TRUE(at::equal(causal.key_rank, at::tensor({-1, -1, 0, 1, -1, 2}, at::kLong).view({1, 6})));
  EXPECT_TRUE(at::equal(causal.row_len, at::tensor({0, 0, 1, 2, 0, 3}, at::kLong).view({1, 6})));
  EXPECT_TRUE(at::equal(causal.rank_to_key.slice(1, 0, 3), at::tensor({2, 3, 5}, at::kLong).view({1, 3})));
  auto bidir = ops::make_key_layout(valid, false, 1, 6, at::TensorOptions());
  EXPECT_TRUE(at::equal(bidir.row_len, at::tensor({0, 0, 3, 3, 0, 3}, at::kLong).view({1, 6})));
}

class TopkBudget : public ::testing::TestWithParam<std::string> {};

TEST_P(TopkBudget, KeepsExactlyTheBudget) {
  const std::string mode_name = GetParam();
  const auto mode = ops::parse_k_flatten_dim(mode_name, "test");
  for (const auto& device : test::test_devices()) {
    at::manual_seed(1);
    const int64_t N = 2, H = 3, T = 97, K = 16;
    const double k = 5;
    auto opts = at::TensorOptions().device(device);
    at::Tensor est = at::softmax(at::randn({N, H, T, K}, opts), -1);
    at::Tensor valid = at::ones({N, T}, opts.dtype(at::kBool));
    valid[1].slice(0, 80, T).fill_(false);
    for (bool causal : {false, true}) {
      if (causal && (mode == ops::KFlattenDim::Head || mode == ops::KFlattenDim::Batch)) {
        auto layout = ops::make_key_layout(valid, true, N, T, opts);
        EXPECT_NE(test::error_of([&] { ops::grouped_topk_mask(est, layout, k, 1.0, mode); }).find("causality"),
                  std::string::npos);
        continue;
      }
      auto layout = ops::make_key_layout(valid, causal, N, T, opts);
      at::Tensor kept = ops::grouped_topk_mask(est, layout, k, 1.0, mode).cpu();
      at::Tensor L = layout.row_len.cpu().to(at::kDouble);
      EXPECT_FALSE(kept.index({1, at::indexing::Slice(), at::indexing::Slice(80, T)}).any().item<bool>())
          << "padded rows select nothing";
      for (int64_t n = 0; n < N; ++n) {
        if (mode == ops::KFlattenDim::Query || mode == ops::KFlattenDim::CausalBatch) {
          for (int64_t t = 0; t < T; ++t) {
            const double len = L[n][t].item<double>();
            if (len == 0) continue;
            const int64_t group = mode == ops::KFlattenDim::Query ? K : H * K;
            const double cells = (mode == ops::KFlattenDim::Query ? 1 : H) * k * K / len;
            const int64_t budget = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(cells)), 1, group);
            if (mode == ops::KFlattenDim::Query) {
              for (int64_t h = 0; h < H; ++h) ASSERT_EQ(kept[n][h][t].sum().item<int64_t>(), budget) << n << " " << t;
            } else {
              ASSERT_EQ(kept.select(0, n).select(1, t).sum().item<int64_t>(), budget) << n << " " << t;
              // The kept cells are the largest of the row across heads.
              at::Tensor row = est.cpu().select(0, n).select(1, t).reshape({-1});
              at::Tensor kept_row = kept.select(0, n).select(1, t).reshape({-1});
              if (budget < H * K) {
                EXPECT_GE(row.masked_select(kept_row).min().item<float>(),
                          row.masked_select(~kept_row).max().item<float>());
              }
            }
          }
        } else if (mode == ops::KFlattenDim::Head) {
          for (int64_t h = 0; h < H; ++h) EXPECT_EQ(kept[n][h].sum().item<int64_t>(), static_cast<int64_t>(k * K));
        } else {
          EXPECT_EQ(kept[n].sum().item<int64_t>(), static_cast<int64_t>(H * k * K));
        }
      }
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Modes, TopkBudget, ::testing::Values("query", "head", "batch", "causal_batch"));

TEST(TopkMask, OversampleThinsBackToAboutK) {
  const int64_t L = 2000;
  const double k = 40;
  for (double os : {1.0, 2.0, 3.0}) {
    at::Tensor r = at::arange(L, at::kLong);
    at::Tensor kept = ops::oversample_keep(r, at::full({L}, L, at::kLong), k, os);
    EXPECT_NEAR(kept.sum().item<double>(), L / os, 1.0) << "os " << os;
  }
  // Short rows (L <= k) are never thinned.
  at::Tensor r = at::arange(30, at::kLong);
  EXPECT_TRUE(ops::oversample_keep(r, at::full({30}, 30, at::kLong), k, 4.0).all().item<bool>());
}

TEST(TopkMask, RejectsUnknownMode) {
  EXPECT_NE(test::error_of([] { ops::parse_k_flatten_dim("rows", "cfg.json"); }).find("cfg.json"), std::string::npos);
}

namespace {
// kept_key_reuse counts what the rows keep and what their blocks keep, against dense_key_mask.
TEST(TopkMask, KeptKeyReuseCountsRowsAndBlocks) {
  using namespace sea;
  at::manual_seed(5);
  const int64_t N = 2, H = 3, T = 45, K = 8;
  for (bool causal : {true, false}) {
    at::Tensor key_valid = at::rand({N, T}) > 0.2;
    ops::KeyLayout layout = ops::make_key_layout(key_valid, causal, N, T, at::TensorOptions());
    at::Tensor kept = at::rand({N, H, T, K}) > 0.6;
    kept = kept & (layout.row_len > 0).view({N, 1, T, 1});
    at::Tensor mask = ops::dense_key_mask(kept, layout, 4, 1.0);  // (N, H, T, T) bool
    for (int64_t B : {1, 4, 8}) {
      double blocks = 0;
      for (int64_t t0 = 0; t0 < T; t0 += B) blocks += mask.slice(2, t0, std::min(T, t0 + B)).any(2).sum().item<double>();
      auto [rows, union_keys] = ops::kept_key_reuse(ops::pack_kept_cells(kept), K, layout, B);
      EXPECT_EQ(rows, mask.sum().item<double>()) << "causal " << causal << " B " << B;
      EXPECT_EQ(union_keys, blocks) << "causal " << causal << " B " << B;
      if (B == 1) {
        EXPECT_EQ(rows, union_keys);
      }
    }
  }
}
}  // namespace

