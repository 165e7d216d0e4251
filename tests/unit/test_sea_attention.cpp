// test_sea_attention.cpp — method `perlin` (SEA): the dense-emulation and sparse paths agree (T = 1, 97, 1025;
// causal and not; padding; all k_flatten_dim modes; k_oversample); with every cell selected the sparse
// probabilities are dense attention's; the measured keys per query and head ≈ k, and dynamic k moves it;
// causality canary; padding invariance (bidirectional); gradients reach every parameter and match finite
// differences (fp64); the loss terms vanish when the teacher is the student; determinism; stable names.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "sea/attention/dense_attention.h"
#include "sea/attention/registry.h"
#include "sea/attention/sea_attention.h"
#include "sea/attention/sea_losses.h"
#include "test_util.h"

using namespace sea;
using attention::AttentionInputs;

namespace {
constexpr int64_t kHeads = 2, kDim = 8;

std::shared_ptr<attention::SeaAttentionImpl> make_sea(bool causal, const std::string& extra = "") {
  attention::LayerShape shape;
  shape.num_heads = kHeads, shape.head_dim = kDim, shape.max_positions = 1100, shape.causal = causal;
  json j = json::parse("{\"method\": \"perlin\", \"predictor_length\": 16, \"k\": 4" + extra + "}");
  auto m = attention::make_attention_method(attention::AttentionConfig::from_json(j, "test"), shape);
  return std::dynamic_pointer_cast<attention::SeaAttentionImpl>(m);
}

struct Batch {
  at::Tensor q, k, v, valid;
};

// Right padding for bidirectional batches, left padding for causal ones (as OPT batches are padded).
Batch make_batch(int64_t N, int64_t T, bool causal, bool padded, const at::Device& device, uint64_t seed) {
  at::manual_seed(seed);
  auto opts = at::TensorOptions().device(device);
  Batch b;
  b.q = at::randn({N, kHeads, T, kDim}, opts), b.k = at::randn({N, kHeads, T, kDim}, opts);
  b.v = at::randn({N, kHeads, T, kDim}, opts);
  if (padded && T > 2) {
    b.valid = at::ones({N, T}, opts.dtype(at::kBool));
    const int64_t pad = T / 3;
    if (causal) b.valid[N - 1].slice(0, 0, pad).fill_(false);
    else b.valid[N - 1].slice(0, T - pad, T).fill_(false);
  }
  return b;
}

AttentionInputs inputs(const Batch& b, bool causal, bool artefacts = false) {
  AttentionInputs in;
  in.q = b.q, in.k = b.k, in.v = b.v, in.key_padding_mask = b.valid, in.causal = causal;
  in.scale = 1.0 / std::sqrt(static_cast<double>(kDim));
  in.return_artefacts = artefacts;
  return in;
}

at::Tensor dense_probs(const at::Tensor& p) { return p.is_sparse() ? p.to_dense() : p; }

// Mean kept keys per (query, head) over rows with at least `min_len` visible keys.
double mean_keys(const at::Tensor& kept_cells, const Batch& b, bool causal, double k, int64_t min_len) {
  const int64_t N = b.q.size(0), T = b.q.size(2);
  auto layout = ops::make_key_layout(b.valid, causal, N, T, b.q.options());
  at::Tensor keys = ops::dense_key_mask(kept_cells, layout, k, 1.0).sum(-1).to(at::kDouble);  // (N, H, T)
  at::Tensor rows = (layout.row_len >= min_len).unsqueeze(1).expand_as(keys);
  return keys.masked_select(rows).mean().item<double>();
}
}  // namespace

class SeaPaths : public ::testing::TestWithParam<std::tuple<int64_t, bool, bool, std::string, double>> {};

TEST_P(SeaPaths, DenseAndSparseAgree) {
  const auto [T, causal, padded, mode, oversample] = GetParam();
  if (causal && (mode == "head" || mode == "batch")) GTEST_SKIP() << "refused for causal layers";
  for (const auto& device : test::test_devices()) {
    auto sea = make_sea(causal, ", \"k_flatten_dim\": \"" + mode + "\", \"k_oversample\": " + std::to_string(oversample));
    sea->to(device);
    sea->eval();
    Batch b = make_batch(3, T, causal, padded, device, 17 + T);
    sea->set_path(attention::SeaPath::Dense);
    auto dense = sea->forward(inputs(b, causal, true));
    sea->set_path(attention::SeaPath::Sparse);
    auto sparse = sea->forward(inputs(b, causal, true));
    EXPECT_TRUE(at::equal(dense.artefacts.sparse_mask, sparse.artefacts.sparse_mask));
    EXPECT_LT(test::max_rel_error(sparse.context, dense.context), 1e-5) << device;
    EXPECT_LT(test::max_rel_error(dense_probs(sparse.artefacts.sparse_probs), dense.artefacts.sparse_probs), 1e-5);
    EXPECT_TRUE(at::isfinite(dense.context).all().item<bool>());
    ASSERT_EQ(dense.artefacts.estimated_attention.sizes(), at::IntArrayRef({3, kHeads, T, 16}));
  }
}
INSTANTIATE_TEST_SUITE_P(Shapes, SeaPaths,
                         ::testing::Combine(::testing::Values<int64_t>(1, 97), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values("query", "head", "batch", "causal_batch"),
                                            ::testing::Values(1.0, 2.0)));

TEST(SeaAttention, LongSequenceBothPathsAgree) {
  for (const auto& device : test::test_devices()) {
    for (bool causal : {true, false}) {
      auto sea = make_sea(causal, ", \"predictor_length\": 64, \"k\": 32");
      sea->to(device);
      sea->eval();
      Batch b = make_batch(1, 1025, causal, false, device, 3);
      sea->set_path(attention::SeaPath::Dense);
      at::Tensor dense = sea->forward(inputs(b, causal)).context;
      sea->set_path(attention::SeaPath::Sparse);
      at::Tensor sparse = sea->forward(inputs(b, causal)).context;
      // The paths sum each row's up-to-T probabilities and values in different orders, in fp32: each is off by
      // about eps·√T relative to the largest output (a random walk of rounding errors); allow 4× that for each.
      const double tolerance = 8 * std::numeric_limits<float>::epsilon() * std::sqrt(1025.0);
      EXPECT_LT(test::max_rel_error(sparse, dense), tolerance) << device << " causal " << causal;
    }
  }
}

TEST(SeaAttention, AllCellsSelectedIsDenseAttention) {
  for (const auto& device : test::test_devices()) {
    for (bool causal : {true, false}) {
      for (bool sparse_path : {false, true}) {
        auto sea = make_sea(causal, ", \"k\": 1000, \"partial_attention_scaler\": false");
        sea->to(device);
        sea->eval();
        sea->set_path(sparse_path ? attention::SeaPath::Sparse : attention::SeaPath::Dense);
        Batch b = make_batch(2, 97, causal, true, device, 5);
        auto out = sea->forward(inputs(b, causal, true));
        attention::DenseAttentionImpl dense_method;
        auto dense = dense_method.forward(inputs(b, causal, true));
        // Compare on real query rows (SEA leaves padded rows empty).
        at::Tensor rows = b.valid.view({2, 1, 97, 1});
        EXPECT_LT(test::max_rel_error(dense_probs(out.artefacts.sparse_probs), dense.artefacts.probs, rows), 1e-5)
            << device << " causal " << causal << " sparse " << sparse_path;
      }
    }
  }
}

TEST(SeaAttention, MeasuredKeysPerQueryAndHeadIsKAndDynamicKMovesIt) {
  for (bool causal : {true, false}) {
    for (const std::string mode : {"query", "causal_batch"}) {
      auto sea = make_sea(causal, ", \"predictor_length\": 64, \"k\": 32, \"k_flatten_dim\": \"" + mode + "\"");
      sea->eval();
      Batch b = make_batch(1, 1025, causal, false, at::kCPU, 8);
      for (double k : {32.0, 64.0}) {
        attention::set_sea_k(*sea, k);  // no retraining, no rebuild
        auto out = sea->forward(inputs(b, causal, true));
        const double measured = mean_keys(out.artefacts.sparse_mask, b, causal, k, 512);
        EXPECT_NEAR(measured, k, 0.1 * k) << "causal " << causal << " mode " << mode;
      }
    }
  }
}

TEST(SeaAttention, CausalityCanary) {
  for (const auto& device : test::test_devices()) {
    for (auto path : {attention::SeaPath::Dense, attention::SeaPath::Sparse}) {
      auto sea = make_sea(true);
      sea->to(device);
      sea->eval();
      sea->set_path(path);
      const int64_t T = 300, j = 170;
      Batch b = make_batch(2, T, true, false, device, 21);
      at::Tensor before = sea->forward(inputs(b, true)).context;
      Batch c = b;
      c.q = b.q.clone(), c.k = b.k.clone(), c.v = b.v.clone();
      c.q.select(2, j).add_(2.0), c.k.select(2, j).add_(2.0), c.v.select(2, j).add_(2.0);
      at::Tensor after = sea->forward(inputs(c, true)).context;
      EXPECT_LT((after - before).slice(2, 0, j).abs().max().item<double>(), 1e-6) << device;
      EXPECT_GT((after - before).slice(2, j, T).abs().max().item<double>(), 1e-4) << device;
    }
  }
}

TEST(SeaAttention, PaddingChangesNoValidOutput) {
  for (const auto& device : test::test_devices()) {
    for (const std::string mode : {"query", "head", "batch", "causal_batch"}) {
      for (auto path : {attention::SeaPath::Dense, attention::SeaPath::Sparse}) {
        for (const std::string output : {"mix", "norm"}) {
          auto sea = make_sea(false, ", \"k_flatten_dim\": \"" + mode + "\", \"context_output_method\": \"" + output + "\"");
          sea->to(device);
          sea->eval();
          sea->set_path(path);
          const int64_t L = 41, T = 58;
          Batch padded = make_batch(1, T, false, false, device, 33);
          padded.valid = at::ones({1, T}, padded.q.options().dtype(at::kBool));
          padded.valid.slice(1, L, T).fill_(false);
          padded.q.slice(2, L, T).mul_(9), padded.k.slice(2, L, T).mul_(9), padded.v.slice(2, L, T).add_(5);  // garbage
          Batch alone;
          alone.q = padded.q.slice(2, 0, L), alone.k = padded.k.slice(2, 0, L), alone.v = padded.v.slice(2, 0, L);
          at::Tensor a = sea->forward(inputs(padded, false)).context.slice(2, 0, L);
          at::Tensor b = sea->forward(inputs(alone, false)).context;
          EXPECT_LT(test::max_rel_error(a, b), 1e-5) << device << " " << mode << " " << output;
        }
      }
    }
  }
}

TEST(SeaAttention, GradientsReachEveryParameterAndMatchFiniteDifferences) {
  for (bool causal : {true, false}) {
    at::manual_seed(2);
    auto sea = make_sea(causal, ", \"k\": 3, \"context_output_method\": \"" + std::string(causal ? "mix" : "norm") + "\"");
    sea->to(at::kDouble);
    sea->train();  // dense path, as in training
    {
      // Move off the initialisation: LayerNorm weights of exactly 1 leave the causal decoder's neighbouring
      // columns tied (its ×4 nearest upsample makes equal columns), and FD across a tie is discontinuous.
      at::NoGradGuard no_grad;
      for (auto& p : sea->parameters()) p.add_(0.05 * at::randn_like(p));
    }
    const int64_t T = 13;
    Batch b = make_batch(2, T, causal, true, at::kCPU, 4);
    b.q = b.q.to(at::kDouble), b.k = b.k.to(at::kDouble), b.v = b.v.to(at::kDouble);
    at::Tensor teacher_scores = at::randn({2, kHeads, T, T}, at::kDouble);
    at::Tensor teacher_context = at::randn({2, kHeads, T, kDim}, at::kDouble);
    at::Tensor probe = at::randn({2, kHeads, T, kDim}, at::kDouble);
    auto objective = [&]() {
      AttentionInputs in = inputs(b, causal, /*artefacts=*/true);
      in.teacher.scores = [&] { return teacher_scores; };
      in.teacher.context = [&] { return teacher_context; };
      auto out = sea->forward(in);
      return std::make_pair(out.loss + (out.context * probe).sum(), out.artefacts.sparse_mask);
    };
    sea->zero_grad();
    objective().first.backward();
    for (const auto& p : sea->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key() << " gets no gradient";
    }
    // Finite differences on a few entries of every parameter (fp64). An entry whose ±h flips the discrete
    // top-k selection is skipped; they are rare and counted.
    int checked = 0, skipped = 0;
    for (const auto& p : sea->named_parameters()) {
      at::Tensor w = p.value();
      for (int64_t i = 0; i < 3; ++i) {
        const int64_t idx = (i * 131 + 7) % w.numel();
        const double h = 1e-6, saved = w.view(-1)[idx].item<double>();
        at::NoGradGuard no_grad;
        w.view(-1)[idx] = saved + h;
        auto [plus, mask_plus] = objective();
        w.view(-1)[idx] = saved - h;
        auto [minus, mask_minus] = objective();
        w.view(-1)[idx] = saved;
        if (!at::equal(mask_plus, mask_minus)) {
          ++skipped;
          continue;
        }
        const double fd = (plus - minus).item<double>() / (2 * h);
        const double ad = w.grad().view(-1)[idx].item<double>();
        EXPECT_NEAR(ad, fd, 1e-5 * std::max(1.0, std::abs(fd))) << p.key() << "[" << idx << "]";
        ++checked;
      }
    }
    EXPECT_GT(checked, 20);
    EXPECT_LE(skipped, 2);
    std::cout << (causal ? "causal" : "bidirectional") << ": " << checked << " entries checked, " << skipped
              << " skipped (selection flipped)\n";
  }
}

TEST(SeaAttention, LossTermsVanishWhenTheTeacherIsTheStudent) {
  for (bool causal : {true, false}) {
    Batch b = make_batch(2, 23, causal, true, at::kCPU, 6);
    auto layout = ops::make_key_layout(b.valid, causal, 2, 23, b.q.options());
    at::Tensor scores = at::matmul(b.q, b.k.transpose(-1, -2)) / std::sqrt(double(kDim));
    at::Tensor context = at::randn({2, kHeads, 23, kDim});
    at::Tensor logits = at::randn({2, kHeads, 23, 16});
    attention::TeacherSignals teacher;
    teacher.scores = [&] { return scores; };
    teacher.context = [&] { return context; };
    auto terms = attention::sea_layer_loss(logits, scores, context, layout, ops::dense_cells(layout, 16), teacher);
    EXPECT_LT(terms.prob.abs().item<double>(), 1e-6);
    EXPECT_LT(terms.context.abs().item<double>(), 1e-12);
    EXPECT_GT(terms.approx.item<double>(), 1e-3) << "a random estimate is far from the teacher";
  }
}

TEST(SeaAttention, DeterministicWithSeedAndStableNames) {
  for (bool causal : {true, false}) {
    at::manual_seed(77);
    auto a = make_sea(causal, causal ? "" : ", \"context_output_method\": \"norm\"");
    at::manual_seed(77);
    auto b = make_sea(causal, causal ? "" : ", \"context_output_method\": \"norm\"");
    a->eval(), b->eval();
    Batch x = make_batch(2, 50, causal, true, at::kCPU, 1);
    EXPECT_TRUE(at::equal(a->forward(inputs(x, causal)).context, b->forward(inputs(x, causal)).context));
    std::set<std::string> names;
    for (const auto& p : a->named_parameters()) names.insert(p.key());
    for (const auto& p : a->named_buffers()) names.insert(p.key());
    std::set<std::string> expected = {"performer.projection_matrix", "performer.draws", "performer.steps_since_redraw",
                                      "attention_predictor_enc.0.weight", "attention_predictor_enc.0.bias",
                                      "attention_predictor_enc.1.weight", "attention_predictor_enc.1.bias",
                                      "attention_predictor_dec_row.0.weight", "attention_predictor_dec_row.0.bias",
                                      "attention_predictor_dec_scaler.0.weight", "attention_predictor_dec_scaler.0.bias"};
    if (causal) {
      expected.insert({"v_eye_learned_causal", "attention_predictor_cnn.norm_in.weight", "attention_predictor_cnn.norm_in.bias",
                       "attention_predictor_cnn.conv1.conv.weight", "attention_predictor_cnn.conv1.conv.bias",
                       "attention_predictor_cnn.conv2.conv.weight", "attention_predictor_cnn.conv2.conv.bias",
                       "attention_predictor_cnn.conv_out.conv.weight", "attention_predictor_cnn.conv_out.conv.bias",
                       "attention_predictor_cnn.norm_out.weight", "attention_predictor_cnn.norm_out.bias"});
    } else {
      expected.insert({"attention_predictor_cnn.conv1.weight", "attention_predictor_cnn.conv1.bias",
                       "attention_predictor_cnn.conv2.weight", "attention_predictor_cnn.conv2.bias",
                       "attention_predictor_cnn.conv_out.weight", "attention_predictor_cnn.conv_out.bias",
                       "norm_partial.weight", "norm_partial.bias"});
    }
    EXPECT_EQ(names, expected);
  }
}

TEST(SeaAttention, RejectsBadOptions) {
  EXPECT_NE(test::error_of([] { make_sea(true, ", \"predictor_length\": 18"); }).find("multiple of 4"), std::string::npos);
  EXPECT_NE(test::error_of([] { make_sea(true, ", \"k_flatten_dim\": \"batch\""); }).find("causality"), std::string::npos);
  EXPECT_NE(test::error_of([] { make_sea(false, ", \"path\": \"fast\""); }).find("path"), std::string::npos);
  EXPECT_NE(test::error_of([] { make_sea(false, ", \"kk\": 3"); }).find("kk"), std::string::npos);
  EXPECT_NE(test::error_of([] { make_sea(false, ", \"k_oversample\": 0.5"); }).find("k_oversample"), std::string::npos);
  auto sea = make_sea(true);
  Batch b = make_batch(1, 1200, true, false, at::kCPU, 1);
  EXPECT_NE(test::error_of([&] { sea->forward(inputs(b, true)); }).find("max_positions"), std::string::npos);
}

namespace {
// The causal decoder's width resize (K + 2 -> K) is a matrix product with adaptive average pooling's windows;
// ATen's adaptive_avg_pool2d over (T, K) is the oracle (on the CPU, where it is fast).
TEST(SeaDecoder, CausalWidthResizeIsAdaptiveAveragePooling) {
  for (int64_t K : {4, 64, 256}) {
    at::manual_seed(K);
    sea::attention::CausalMaskDecoder decoder(3, 2, K);
    at::Tensor x = at::randn({2, 6, 37, K / 4});
    at::Tensor y = decoder->norm_in->forward(x);
    y = at::relu(decoder->conv1->forward(y));
    y = at::relu(decoder->conv2->forward(y));
    y = decoder->conv_out->forward(y.repeat_interleave(4, 3));
    at::Tensor expected = decoder->norm_out->forward(at::adaptive_avg_pool2d(y, {37, K}));
    EXPECT_TRUE(at::allclose(decoder->forward(x), expected, 1e-5, 1e-5)) << "K = " << K;
  }
}
}  // namespace
