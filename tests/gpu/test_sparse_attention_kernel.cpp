// test_sparse_attention_kernel.cpp — the sparse attention CUDA kernels (kernels/sparse_attention) against
// the ATen reference (ops::sparse_attention with Backend::Reference), forward and backward.
//
// Criterion (kernel_test_util.h): the kernel's error against the reference run in fp64 is at most 2× the
// error of the same reference in the kernel's precision. Masks come from the reference grouped top-k of a
// random estimate, so they have SEA's structure (runs of kept cells, per-row budgets, padding). Outputs are
// poisoned before every launch.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "gpu/kernel_test_util.h"
#include "sea/ops/sparse_attention.h"
#include "sea/ops/topk_mask.h"
#include "test_util.h"

namespace {

using namespace sea;

struct Case {
  int64_t N = 1, H = 2, T = 97, D = 64, K = 64;
  double k = 8, k_oversample = 1;
  bool causal = true, padding = false, row_scale = true, strided = false;
  at::ScalarType dtype = at::kFloat;
  ops::KFlattenDim mode = ops::KFlattenDim::CausalBatch;
  ops::SparseForwardKernel forward = ops::SparseForwardKernel::Auto;  // the CUDA forward under test
};

std::string describe(const Case& c) {
  return message("N", c.N, " H", c.H, " T", c.T, " D", c.D, " K", c.K, " k", c.k, " os", c.k_oversample,
                 c.causal ? " causal" : " bidir", c.padding ? " padded" : "", c.row_scale ? "" : " no-scale",
                 c.strided ? " strided" : "", " ", c.dtype,
                 c.forward == ops::SparseForwardKernel::Rows    ? " rows-forward"
                 : c.forward == ops::SparseForwardKernel::Tiles ? " tiled-forward"
                                                                : "");
}

struct Inputs {
  at::Tensor q, k, v, row_scale, dout, kept_bits;
  ops::KeyLayout layout;
};

// q, k, v in the case's dtype (optionally strided views of (N, T, H, D)); a SEA-like mask.
Inputs make_inputs(const Case& c, uint64_t seed) {
  at::manual_seed(seed);
  const auto f32 = at::TensorOptions().device(at::kCUDA);
  Inputs in;
  auto qkv = [&] {
    if (!c.strided) return at::randn({c.N, c.H, c.T, c.D}, f32).to(c.dtype);
    return at::randn({c.N, c.T, c.H, c.D}, f32).to(c.dtype).transpose(1, 2);
  };
  in.q = qkv(), in.k = qkv(), in.v = qkv();
  in.dout = at::randn({c.N, c.H, c.T, c.D}, f32).to(c.dtype);
  if (c.row_scale) in.row_scale = at::sigmoid(at::randn({c.N, c.H, c.T}, f32));
  at::Tensor key_valid;
  if (c.padding) {
    key_valid = at::rand({c.N, c.T}, f32) > 0.2;                      // interior padding
    if (c.T > 4) key_valid.select(0, 0).slice(0, c.T - c.T / 4).fill_(false);  // trailing padding
    key_valid.select(0, 0).select(0, 0).fill_(true);  // sample 0 keeps a token (else nothing is differentiable)
    if (c.N > 1) key_valid.select(0, c.N - 1).fill_(false);              // a sample with no token at all
  }
  in.layout = ops::make_key_layout(key_valid, c.causal, c.N, c.T, f32);
  at::Tensor estimate = at::softmax(2 * at::randn({c.N, c.H, c.T, c.K}, f32), -1) *
                        (in.layout.row_len > 0).view({c.N, 1, c.T, 1});
  in.kept_bits = ops::pack_kept_cells(ops::grouped_topk_mask(estimate, in.layout, c.k, c.k_oversample, c.mode));
  return in;
}

struct Result {
  at::Tensor out, dq, dk, dv, drow_scale;
};

// Forward (and backward when dout is given) on leaves cast to `dtype`, through the public operator.
Result run(const Case& c, const Inputs& in, at::ScalarType dtype, ops::Backend backend, bool backward) {
  auto leaf = [&](const at::Tensor& t) { return t.detach().to(dtype).requires_grad_(backward); };
  at::Tensor q = leaf(in.q), k = leaf(in.k), v = leaf(in.v);
  at::Tensor s = in.row_scale.defined()
                     ? in.row_scale.detach().to(dtype == at::kDouble ? at::kDouble : at::kFloat).requires_grad_(backward)
                     : at::Tensor();
  ops::SparseAttentionOptions o;
  o.scale = 1.0 / std::sqrt(static_cast<double>(c.D));
  o.k = c.k, o.k_oversample = c.k_oversample, o.backend = backend, o.forward_kernel = c.forward;
  Result r;
  r.out = ops::sparse_attention(q, k, v, in.kept_bits, c.K, in.layout, s, o).context;
  if (backward) {
    r.out.backward(in.dout.to(r.out.scalar_type()));
    r.dq = q.grad(), r.dk = k.grad(), r.dv = v.grad();
    if (s.defined()) r.drow_scale = s.grad();
  }
  r.out = r.out.detach();
  return r;
}

void check_case(const Case& c, bool backward, uint64_t seed = 1) {
  SCOPED_TRACE(describe(c));
  Inputs in = make_inputs(c, seed);
  test::PoisonOutputs poison;
  Result kernel = run(c, in, c.dtype, ops::Backend::Cuda, backward);
  Result aten = run(c, in, c.dtype, ops::Backend::Reference, backward);
  Result exact = run(c, in, at::kDouble, ops::Backend::Reference, backward);
  test::expect_within_aten_error(kernel.out, aten.out, exact.out, "out");
  if (!backward) return;
  // Magnitudes of the terms each gradient sums (kernel_test_util.h): dp_j = dout·v_j, dS_j ~ P_j·dp_j, dq ~
  // scale·dS·k and dk ~ scale·dS·q. With one visible key the terms of dq and dk cancel exactly.
  auto row_norm = [](const at::Tensor& t) { return t.to(at::kDouble).norm(2, {-1}).max().item<double>(); };
  auto max_abs = [](const at::Tensor& t) { return t.to(at::kDouble).abs().max().item<double>(); };
  const double dp = row_norm(in.dout) * row_norm(in.v), scale = 1.0 / std::sqrt(static_cast<double>(c.D));
  test::expect_within_aten_error(kernel.dq, aten.dq, exact.dq, "dq", scale * dp * max_abs(in.k));
  test::expect_within_aten_error(kernel.dk, aten.dk, exact.dk, "dk", scale * dp * max_abs(in.q));
  test::expect_within_aten_error(kernel.dv, aten.dv, exact.dv, "dv");
  if (c.row_scale) test::expect_within_aten_error(kernel.drow_scale, aten.drow_scale, exact.drow_scale, "drow_scale");
}

TEST(SparseAttentionKernel, ForwardAndBackwardAwkwardLengths) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (int64_t T : {1, 97, 1025}) {
    for (bool causal : {true, false}) {
      for (bool padding : {false, true}) {
        Case c;
        c.T = T, c.causal = causal, c.padding = padding, c.N = padding ? 2 : 1;
        check_case(c, /*backward=*/true);
      }
    }
  }
}

TEST(SparseAttentionKernel, LongSequenceTwelveHeads) {
  SEA_SKIP_WITHOUT_KERNELS();
  Case c;  // N = 2: enough key blocks that the column pass runs unsplit (one segment); the shorter cases split
  c.T = 4097, c.H = 12, c.N = 2, c.k = 64, c.K = 64;
  check_case(c, /*backward=*/true);
  c.N = 1;  // two segments
  check_case(c, /*backward=*/true);
  c.causal = false, c.padding = true, c.N = 2, c.H = 1;
  check_case(c, /*backward=*/true);
}

TEST(SparseAttentionKernel, HalfPrecisions) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (auto dtype : {at::kBFloat16, at::kHalf}) {
    for (bool causal : {true, false}) {
      Case c;
      c.dtype = dtype, c.T = 1025, c.H = 12, c.k = 32, c.causal = causal, c.padding = !causal, c.N = causal ? 1 : 2;
      check_case(c, /*backward=*/true);
    }
  }
}

TEST(SparseAttentionKernel, HeadDimsCellCountsAndOptions) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (int64_t D : {16, 32, 128}) {
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      Case c;
      c.D = D, c.dtype = dtype, c.T = 300;
      check_case(c, /*backward=*/true);
    }
  }
  Case odd_k;  // K not a multiple of 32: two words per row, the upper bits unused
  odd_k.K = 36, odd_k.T = 500, odd_k.k = 12;
  check_case(odd_k, true);
  Case big_k;  // K = 256: eight words per row
  big_k.K = 256, big_k.T = 1025, big_k.k = 16;
  check_case(big_k, true);
  Case thin;  // k_oversample: twice the cells, keys thinned back inside them
  thin.k_oversample = 2, thin.T = 1025, thin.k = 8;
  check_case(thin, true);
  thin.causal = false, thin.padding = true, thin.N = 2;
  check_case(thin, true);
  Case query_mode;
  query_mode.mode = ops::KFlattenDim::Query, query_mode.T = 700;
  check_case(query_mode, true);
  Case no_scale;
  no_scale.row_scale = false, no_scale.T = 600;
  check_case(no_scale, true);
  Case strided;  // q, k, v as the model makes them: (N, T, H, D) transposed, no copy
  strided.strided = true, strided.T = 777, strided.H = 12, strided.dtype = at::kBFloat16;
  check_case(strided, true);
  Case dense;  // k >= T: every key is kept, the kernel is dense attention
  dense.k = 5000, dense.T = 333;
  check_case(dense, true);
}

// Both CUDA forwards in the half types, where Auto picks the tiled one: every head dim, awkward lengths,
// padding, odd cell counts and the Query mode; the backward runs on each forward's saved outputs.
TEST(SparseAttentionKernel, RowAndTiledForwardsInHalfPrecision) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (auto forward : {ops::SparseForwardKernel::Rows, ops::SparseForwardKernel::Tiles}) {
    for (int64_t T : {1, 97, 1025}) {
      for (bool causal : {true, false}) {
        Case c;
        c.forward = forward, c.dtype = at::kBFloat16, c.T = T, c.causal = causal, c.padding = !causal;
        c.N = causal ? 1 : 2;
        check_case(c, /*backward=*/true);
      }
    }
    for (int64_t D : {16, 32, 64, 128}) {
      Case c;
      c.forward = forward, c.dtype = at::kHalf, c.D = D, c.T = 300, c.H = 3;
      check_case(c, /*backward=*/D == 64);
    }
    Case odd_k;
    odd_k.forward = forward, odd_k.dtype = at::kBFloat16, odd_k.K = 36, odd_k.T = 500, odd_k.k = 12;
    check_case(odd_k, false);
    Case big_k;
    big_k.forward = forward, big_k.dtype = at::kBFloat16, big_k.K = 256, big_k.T = 1025, big_k.k = 16;
    big_k.padding = true, big_k.N = 2;
    check_case(big_k, false);
    Case query_mode;
    query_mode.forward = forward, query_mode.dtype = at::kBFloat16, query_mode.mode = ops::KFlattenDim::Query;
    query_mode.T = 700;
    check_case(query_mode, false);
    Case dense;  // every key kept: the tiled kernel visits every tile of every block
    dense.forward = forward, dense.dtype = at::kBFloat16, dense.k = 5000, dense.T = 333;
    check_case(dense, false);
    Case long_seq;
    long_seq.forward = forward, long_seq.dtype = at::kBFloat16, long_seq.T = 4097, long_seq.H = 12;
    long_seq.k = 64, long_seq.strided = true;
    check_case(long_seq, false);
  }
}

// Small shapes for compute-sanitizer (scripts/device/sanitize_kernels.sh): the tiled forward's partial last
// block, padding gathers, both D extremes, and a cell count that is not a multiple of 32.
TEST(SparseAttentionKernel, TiledForwardSmallShapes) {
  SEA_SKIP_WITHOUT_KERNELS();
  for (int64_t T : {1, 97}) {
    for (bool causal : {true, false}) {
      for (int64_t D : {16, 128}) {
        Case c;
        c.forward = ops::SparseForwardKernel::Tiles, c.dtype = at::kBFloat16, c.T = T, c.D = D, c.K = 36;
        c.causal = causal, c.padding = !causal, c.N = causal ? 1 : 2;
        check_case(c, /*backward=*/false);
      }
    }
  }
}

TEST(SparseAttentionKernel, BackwardIsDeterministic) {
  SEA_SKIP_WITHOUT_KERNELS();
  Case c;
  c.T = 2049, c.H = 4, c.dtype = at::kBFloat16, c.k = 32;
  Inputs in = make_inputs(c, 7);
  Result a = run(c, in, c.dtype, ops::Backend::Cuda, true);
  Result b = run(c, in, c.dtype, ops::Backend::Cuda, true);
  EXPECT_TRUE(at::equal(a.out, b.out));
  EXPECT_TRUE(at::equal(a.dq, b.dq));
  EXPECT_TRUE(at::equal(a.dk, b.dk));
  EXPECT_TRUE(at::equal(a.dv, b.dv));
  EXPECT_TRUE(at::equal(a.drow_scale, b.drow_scale));
}

TEST(SparseAttentionKernel, RefusesWhatItCannotRun) {
  if (!ops::cuda_kernels_compiled()) GTEST_SKIP() << "this build has no CUDA kernels";
  const auto cpu = at::TensorOptions();
  at::Tensor q = at::randn({1, 2, 8, 64}, cpu);
  ops::KeyLayout layout = ops::make_key_layout({}, true, 1, 8, cpu);
  at::Tensor bits = at::zeros({1, 2, 8, 2}, cpu.dtype(at::kInt));
  ops::SparseAttentionOptions o;
  o.backend = ops::Backend::Cuda;
  EXPECT_NE(test::error_of([&] { ops::sparse_attention(q, q, q, bits, 64, layout, {}, o); }).find("cpu"),
            std::string::npos);
  if (!at::hasCUDA()) return;
  at::Tensor qd = q.to(at::kCUDA, at::kDouble);
  ops::KeyLayout layout_d = ops::make_key_layout({}, true, 1, 8, qd.options());
  EXPECT_NE(test::error_of([&] { ops::sparse_attention(qd, qd, qd, bits.cuda(), 64, layout_d, {}, o); }).find("fp64"),
            std::string::npos);
  at::Tensor qf = qd.to(at::kFloat);
  ops::SparseAttentionOptions tiled = o;
  tiled.forward_kernel = ops::SparseForwardKernel::Tiles;
  EXPECT_NE(test::error_of([&] { ops::sparse_attention(qf, qf, qf, bits.cuda(), 64, layout_d, {}, tiled); })
                .find("tiled forward kernel takes bf16/fp16"),
            std::string::npos);
  at::Tensor q48 = at::randn({1, 2, 8, 48}, qd.options().dtype(at::kFloat));
  EXPECT_NE(test::error_of([&] { ops::sparse_attention(q48, q48, q48, bits.cuda(), 64, layout_d, {}, o); })
                .find("head dims"),
            std::string::npos);
}

}  // namespace
