// test_performer.cpp — the FAVOR+ operator and the `performer` method: projection (orthogonal blocks, seeded),
// chunked causal linear attention against the quadratic definition (T = 1, 97, 1025; chunk sizes that do and
// do not divide T), the estimate converging to softmax attention as features grow, padded keys ignored,
// finite-difference gradients (fp64), redraw schedule and checkpointed projection, causality canary.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "sea/attention/performer_attention.h"
#include "sea/attention/registry.h"
#include "sea/ops/performer_estimate.h"
#include "test_util.h"

using namespace sea;

namespace {
// Quadratic-form definition of (causal) linear attention, fp64.
at::Tensor linear_attention_definition(const at::Tensor& pq, const at::Tensor& pk, const at::Tensor& v, bool causal) {
  at::Tensor a = at::matmul(pq.to(at::kDouble), pk.to(at::kDouble).transpose(-1, -2));  // (N, H, T, T)
  if (causal) a = at::tril(a);
  at::Tensor den = a.sum(-1, true);
  if (causal) den = den + 1e-6 * pq.to(at::kDouble).sum(-1, true);
  return at::matmul(a, v.to(at::kDouble)) / den;
}
}  // namespace

TEST(PerformerOps, FeatureCountAndProjection) {
  EXPECT_EQ(ops::performer_num_features(64, 1), 266);
  EXPECT_EQ(ops::performer_num_features(64, 8), 33);
  at::Tensor w = ops::orthogonal_random_projection(150, 64, 7);
  ASSERT_EQ(w.sizes(), at::IntArrayRef({150, 64}));
  EXPECT_TRUE(at::equal(w, ops::orthogonal_random_projection(150, 64, 7)));
  EXPECT_FALSE(at::equal(w, ops::orthogonal_random_projection(150, 64, 8)));
  // Rows of one block are orthogonal (directions), each row has a chi-distributed norm.
  at::Tensor block = w.slice(0, 64, 128);
  at::Tensor dir = block / block.norm(2, {1}, true);
  at::Tensor gram = at::matmul(dir, dir.t());
  EXPECT_LT((gram - at::eye(64)).abs().max().item<double>(), 1e-4);
}

class PerformerLinearAttention : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, bool>> {};

TEST_P(PerformerLinearAttention, ChunkedEqualsDefinition) {
  const auto [T, chunk, causal] = GetParam();
  for (const auto& device : test::test_devices()) {
    at::manual_seed(T + chunk);
    auto opts = at::TensorOptions().device(device);
    at::Tensor pq = at::rand({2, 3, T, 17}, opts) + 0.01, pk = at::rand({2, 3, T, 17}, opts) + 0.01;
    at::Tensor v = at::randn({2, 3, T, 5}, opts);
    at::Tensor got = ops::linear_attention(pq, pk, v, causal, chunk);
    EXPECT_LT(test::max_rel_error(got, linear_attention_definition(pq, pk, v, causal)), 2e-5) << device;
  }
}
INSTANTIATE_TEST_SUITE_P(Shapes, PerformerLinearAttention,
                         ::testing::Combine(::testing::Values<int64_t>(1, 97, 1025), ::testing::Values<int64_t>(7, 128),
                                            ::testing::Bool()));

TEST(PerformerOps, ConvergesToSoftmaxAttentionAsFeaturesGrow) {
  at::manual_seed(0);
  const int64_t D = 16, T = 64;
  at::Tensor q = at::randn({1, 2, T, D}) * 0.5, k = at::randn({1, 2, T, D}) * 0.5, v = at::randn({1, 2, T, 8});
  at::Tensor exact = at::matmul(at::softmax(at::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(D)), -1), v);
  std::vector<double> errors;
  for (int64_t m : {16, 256, 4096, 32768}) {
    at::Tensor w = ops::orthogonal_random_projection(m, D, 11);
    at::Tensor est = ops::performer_attention(q, k, v, w, ops::FeatureKernel::Softmax, false);
    errors.push_back((est - exact).abs().mean().item<double>());
  }
  for (size_t i = 1; i < errors.size(); ++i) EXPECT_LT(errors[i], errors[i - 1]) << "features step " << i;
  EXPECT_LT(errors.back(), 0.02);
}

TEST(PerformerOps, PaddedKeysAreIgnored) {
  for (const auto& device : test::test_devices()) {
    at::manual_seed(3);
    auto opts = at::TensorOptions().device(device);
    const int64_t T = 20, D = 8;
    at::Tensor q = at::randn({1, 2, T, D}, opts), k = at::randn({1, 2, T, D}, opts), v = at::randn({1, 2, T, D}, opts);
    at::Tensor w = ops::orthogonal_random_projection(32, D, 1).to(device);
    at::Tensor valid = at::ones({1, T}, opts.dtype(at::kBool));
    valid.slice(1, 15, T).fill_(false);
    for (bool causal : {false, true}) {
      auto kernel = causal ? ops::FeatureKernel::Relu : ops::FeatureKernel::Softmax;
      at::Tensor full = ops::performer_attention(q, k, v, w, kernel, causal, valid);
      // Garbage at the padded keys must not matter.
      at::Tensor k2 = k.clone(), v2 = v.clone();
      k2.slice(2, 15, T).mul_(50), v2.slice(2, 15, T).add_(100);
      at::Tensor again = ops::performer_attention(q, k2, v2 * valid.view({1, 1, T, 1}), w, kernel, causal, valid);
      at::Tensor trimmed = ops::performer_attention(q.slice(2, 0, 15), k.slice(2, 0, 15), v.slice(2, 0, 15), w, kernel, causal);
      EXPECT_LT(test::max_rel_error(again.slice(2, 0, 15), full.slice(2, 0, 15)), 1e-5);
      EXPECT_LT(test::max_rel_error(trimmed, full.slice(2, 0, 15)), 1e-5);
    }
  }
}

TEST(PerformerOps, GradientsMatchFiniteDifferences) {
  at::manual_seed(5);
  const int64_t T = 9, D = 4;
  auto dbl = at::TensorOptions().dtype(at::kDouble);
  at::Tensor w = ops::orthogonal_random_projection(6, D, 2).to(at::kDouble);
  for (bool causal : {false, true}) {
    at::Tensor q = at::randn({1, 1, T, D}, dbl).requires_grad_(), k = at::randn({1, 1, T, D}, dbl).requires_grad_();
    at::Tensor v = at::randn({1, 1, T, 3}, dbl).requires_grad_();
    at::Tensor probe = at::randn({1, 1, T, 3}, dbl);
    auto f = [&](const at::Tensor& qq, const at::Tensor& kk, const at::Tensor& vv) {
      at::Tensor pq = ops::favor_features(qq, w, causal ? ops::FeatureKernel::Relu : ops::FeatureKernel::Softmax, true);
      at::Tensor pk = ops::favor_features(kk, w, causal ? ops::FeatureKernel::Relu : ops::FeatureKernel::Softmax, false);
      return (ops::linear_attention(pq, pk, vv, causal, 4) * probe).sum();
    };
    f(q, k, v).backward();
    for (at::Tensor* x : {&q, &k, &v}) {
      for (int64_t i = 0; i < 5; ++i) {
        const int64_t idx = (i * 7) % x->numel();
        const double h = 1e-6;
        at::Tensor plus = x->detach().clone(), minus = x->detach().clone();
        plus.view(-1)[idx] += h, minus.view(-1)[idx] -= h;
        double fd = ((x == &q ? f(plus, k, v) : x == &k ? f(q, plus, v) : f(q, k, plus)) -
                     (x == &q ? f(minus, k, v) : x == &k ? f(q, minus, v) : f(q, k, minus)))
                        .item<double>() / (2 * h);
        const double ad = x->grad().view(-1)[idx].item<double>();
        EXPECT_NEAR(ad, fd, 1e-6 * std::max(1.0, std::abs(fd))) << "causal " << causal << " entry " << idx;
      }
    }
  }
}

namespace {
attention::AttentionMethod make_performer(const std::string& extra = "") {
  attention::LayerShape shape;
  shape.num_heads = 2, shape.head_dim = 8, shape.max_positions = 512;
  json j = json::parse("{\"method\": \"performer\"" + extra + "}");
  return attention::make_attention_method(attention::AttentionConfig::from_json(j, "test"), shape);
}
}  // namespace

TEST(PerformerMethod, RedrawsEveryNOptimizerStepsInTrainingOnly) {
  auto method = make_performer(", \"redraw_interval\": 3");
  auto* perf = dynamic_cast<attention::PerformerAttentionImpl*>(method.get());
  ASSERT_NE(perf, nullptr);
  at::Tensor w0 = perf->performer->projection_matrix.clone();
  method->eval();
  for (int i = 0; i < 5; ++i) attention::notify_optimizer_step(*method);
  EXPECT_TRUE(at::equal(w0, perf->performer->projection_matrix)) << "eval mode must not count steps";
  method->train();
  attention::notify_optimizer_step(*method);
  attention::notify_optimizer_step(*method);
  EXPECT_TRUE(at::equal(w0, perf->performer->projection_matrix));
  attention::notify_optimizer_step(*method);
  EXPECT_FALSE(at::equal(w0, perf->performer->projection_matrix)) << "third step redraws";
  EXPECT_EQ(perf->performer->draws.item<int64_t>(), 2);
  // A fresh estimator redrawing once holds the same matrix: every rank agrees.
  auto other = make_performer(", \"redraw_interval\": 3");
  dynamic_cast<attention::PerformerAttentionImpl*>(other.get())->performer->redraw();
  EXPECT_TRUE(at::equal(perf->performer->projection_matrix,
                        dynamic_cast<attention::PerformerAttentionImpl*>(other.get())->performer->projection_matrix));
  // The projection and the schedule are state: buffers, so checkpoints carry them.
  std::set<std::string> names;
  for (const auto& b : method->named_buffers()) names.insert(b.key());
  EXPECT_TRUE(names.count("performer.projection_matrix") && names.count("performer.draws") &&
              names.count("performer.steps_since_redraw"));
}

TEST(PerformerMethod, CausalityCanary) {
  for (const auto& device : test::test_devices()) {
    auto method = make_performer();
    method->to(device);
    at::manual_seed(9);
    auto opts = at::TensorOptions().device(device);
    const int64_t T = 300, j = 170;
    attention::AttentionInputs in;
    in.q = at::randn({2, 2, T, 8}, opts), in.k = at::randn({2, 2, T, 8}, opts), in.v = at::randn({2, 2, T, 8}, opts);
    in.causal = true;
    at::Tensor before = method->forward(in).context;
    in.q = in.q.clone(), in.k = in.k.clone(), in.v = in.v.clone();
    in.q.select(2, j).add_(3.0), in.k.select(2, j).add_(3.0), in.v.select(2, j).add_(3.0);
    at::Tensor after = method->forward(in).context;
    EXPECT_LT((after - before).slice(2, 0, j).abs().max().item<double>(), 1e-6) << device;
    EXPECT_GT((after - before).slice(2, j, T).abs().max().item<double>(), 1e-3) << device;
  }
}

TEST(PerformerMethod, RejectsBadOptions) {
  EXPECT_NE(test::error_of([] { make_performer(", \"nb_feature_factor\": 0"); }).find("nb_feature_factor"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { make_performer(", \"redraw\": 5"); }).find("redraw"), std::string::npos);
}
