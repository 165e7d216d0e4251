// test_dense_attention.cpp — method `none` against a from-scratch fp64 softmax attention, on CPU and GPU:
// causal and not, key padding (left and right), T = 1 / 97, artefacts on and off, rows with no visible key,
// and the causality canary (perturbing token j leaves outputs before j unchanged).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sea/attention/dense_attention.h"
#include "sea/attention/registry.h"
#include "test_util.h"

using namespace sea::attention;

namespace {
// fp64 oracle written with plain loops over the definition: softmax over visible keys, zero if none.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, bool causal,
                     const at::Tensor& key_valid) {
  auto Q = q.to(at::kCPU, at::kDouble), K = k.to(at::kCPU, at::kDouble), V = v.to(at::kCPU, at::kDouble);
  const int64_t N = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  at::Tensor out = at::zeros({N, H, T, D}, at::kDouble);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t i = 0; i < T; ++i) {
      std::vector<int64_t> keys;
      for (int64_t j = 0; j < T; ++j) {
        if (causal && j > i) continue;
        if (key_valid.defined() && !key_valid[n][j].item<bool>()) continue;
        keys.push_back(j);
      }
      if (keys.empty()) continue;
      auto idx = at::tensor(keys, at::kLong);
      auto s = at::matmul(K[n].index_select(1, idx), Q[n].select(1, i).unsqueeze(-1)).squeeze(-1) * scale;  // (H, |keys|)
      auto p = at::softmax(s, -1);
      out.select(0, n).select(1, i).copy_(at::matmul(p.unsqueeze(1), V[n].index_select(1, idx)).squeeze(1));
    }
  }
  return out;
}
}  // namespace

class DenseAttentionTest : public ::testing::TestWithParam<std::tuple<int64_t, bool, bool, bool>> {};

TEST_P(DenseAttentionTest, MatchesDefinition) {
  const auto [T, causal, padded, artefacts] = GetParam();
  for (const auto& device : sea::test::test_devices()) {
    at::manual_seed(T * 7 + causal);
    const int64_t N = 3, H = 2, D = 16;
    auto opts = at::TensorOptions().device(device);
    at::Tensor q = at::randn({N, H, T, D}, opts), k = at::randn({N, H, T, D}, opts), v = at::randn({N, H, T, D}, opts);
    at::Tensor valid;
    if (padded) {
      valid = at::ones({N, T}, opts.dtype(at::kBool));
      if (T > 1) {
        valid[1].slice(0, 0, T / 3 + 1).fill_(false);        // left padding
        valid[2].slice(0, T - T / 4 - 1, T).fill_(false);    // right padding
      }
    }
    DenseAttentionImpl attn;
    AttentionInputs in;
    in.q = q, in.k = k, in.v = v, in.scale = 1.0 / std::sqrt(D), in.causal = causal, in.key_padding_mask = valid;
    in.return_artefacts = artefacts;
    AttentionOutputs out = attn.forward(in);
    at::Tensor ref = reference(q, k, v, in.scale, causal, valid);
    EXPECT_LT(sea::test::max_rel_error(out.context, ref), 2e-5) << "device " << device;
    EXPECT_TRUE(at::isfinite(out.context).all().item<bool>());
    if (artefacts) {
      ASSERT_TRUE(out.artefacts.probs.defined());
      at::Tensor sums = out.artefacts.probs.sum(-1);  // 1 for rows that see a key, 0 otherwise
      EXPECT_TRUE(at::allclose(sums * (1 - sums), at::zeros_like(sums), 0, 1e-5));
      if (causal) {
        EXPECT_EQ(at::triu(out.artefacts.probs, 1).abs().max().item<double>(), 0.0);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseAttentionTest,
                         ::testing::Combine(::testing::Values<int64_t>(1, 97), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Bool()));

TEST(DenseAttention, CausalityCanary) {
  for (const auto& device : sea::test::test_devices()) {
    const int64_t N = 2, H = 3, T = 97, D = 8, j = 40;
    auto opts = at::TensorOptions().device(device);
    at::Tensor q = at::randn({N, H, T, D}, opts), k = at::randn({N, H, T, D}, opts), v = at::randn({N, H, T, D}, opts);
    DenseAttentionImpl attn;
    AttentionInputs in;
    in.q = q, in.k = k, in.v = v, in.scale = 0.3, in.causal = true;
    at::Tensor before = attn.forward(in).context;
    in.q = q.clone(), in.k = k.clone(), in.v = v.clone();
    in.q.select(2, j).add_(5.0), in.k.select(2, j).add_(5.0), in.v.select(2, j).add_(5.0);
    at::Tensor after = attn.forward(in).context;
    EXPECT_LT((after.slice(2, 0, j) - before.slice(2, 0, j)).abs().max().item<double>(), 1e-6);
    EXPECT_GT((after.slice(2, j) - before.slice(2, j)).abs().max().item<double>(), 1e-3);  // the canary can fail
  }
}

TEST(DenseAttention, RejectsBadShapesWithClearErrors) {
  DenseAttentionImpl attn;
  AttentionInputs in;
  in.q = at::randn({1, 2, 5, 4});
  in.k = at::randn({1, 2, 6, 4});
  in.v = at::randn({1, 2, 5, 4});
  try {
    attn.forward(in);
    FAIL() << "no error";
  } catch (const sea::Error& e) {
    EXPECT_NE(std::string(e.what()).find("same shape"), std::string::npos) << e.what();
  }
  in.k = in.q;
  in.key_padding_mask = at::ones({1, 4}, at::kBool);
  EXPECT_THROW(attn.forward(in), sea::Error);
}

TEST(AttentionRegistry, UnknownMethodAndUnknownOptionAreErrors) {
  LayerShape shape{4, 16, 128, true, 0.0};
  AttentionConfig c;
  c.method = "flash9000";
  try {
    make_attention_method(c, shape, "configs/methods/x.json");
    FAIL();
  } catch (const sea::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown attention method 'flash9000' (known: none"), std::string::npos);
  }
  c = AttentionConfig::from_json(sea::json{{"method", "none"}, {"dropuot", 0.1}}, "m.json");
  EXPECT_THROW(make_attention_method(c, shape, "m.json"), sea::Error);
  c = AttentionConfig::from_json(sea::json{{"method", "none"}, {"dropout", 0.1}}, "m.json");
  EXPECT_EQ(make_attention_method(c, shape, "m.json")->name(), "none");
}
