// performer_estimate.cpp — FAVOR+ features and linear attention, ATen reference (see performer_estimate.h).
#include "sea/ops/performer_estimate.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "sea/ops/precision.h"
#include "sea/util/error.h"

#if SEA_WITH_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

namespace sea::ops {

int64_t performer_num_features(int64_t head_dim, double nb_feature_factor) {
  SEA_CHECK(head_dim > 0, "performer: head dim must be positive, got ", head_dim);
  SEA_CHECK(nb_feature_factor > 0, "performer: nb_feature_factor must be positive, got ", nb_feature_factor);
  const double d = static_cast<double>(head_dim);
  return std::max<int64_t>(1, static_cast<int64_t>(d * std::log(d) / nb_feature_factor));
}

at::Tensor orthogonal_random_projection(int64_t num_features, int64_t head_dim, uint64_t seed) {
  SEA_CHECK(num_features > 0 && head_dim > 0, "performer: projection needs positive sizes, got (", num_features, ", ",
            head_dim, ")");
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  auto orthogonal_block = [&] {
    at::Tensor g = at::randn({head_dim, head_dim}, gen, opts);
    return std::get<0>(at::linalg_qr(g)).t();  // rows are orthonormal
  };
  std::vector<at::Tensor> blocks;
  int64_t rows = 0;
  while (rows < num_features) {
    at::Tensor block = orthogonal_block();
    const int64_t take = std::min(head_dim, num_features - rows);
    blocks.push_back(block.slice(0, 0, take));
    rows += take;
  }
  at::Tensor multiplier = at::randn({num_features, head_dim}, gen, opts).norm(2, {1});  // (m,)
  return (at::cat(blocks, 0) * multiplier.unsqueeze(1)).contiguous();                   // (m, D)
}

at::Tensor favor_features(const at::Tensor& x, const at::Tensor& projection, FeatureKernel kernel, bool is_query,
                          const at::Tensor& key_valid) {
  SEA_CHECK(x.dim() == 4 && projection.dim() == 2 && projection.size(1) == x.size(3),
            "performer: features need x (N, H, T, D) and projection (m, D); got ", x.sizes(), " and ",
            projection.sizes());
  at::Tensor xf = to_compute(x);
  const double D = static_cast<double>(x.size(3));
  const double c = std::pow(D, -0.25);
  at::Tensor proj = projection.to(xf.device(), xf.scalar_type());
  at::Tensor dash = at::matmul(xf * c, proj.t());  // (N, H, T, m)
  if (kernel == FeatureKernel::Relu) return at::relu(dash) + 1e-3;

  const double ratio = 1.0 / std::sqrt(static_cast<double>(projection.size(0)));
  at::Tensor diag = (xf * xf).sum(-1, /*keepdim=*/true) * (c * c / 2.0);  // (N, H, T, 1)
  at::Tensor stabiliser;
  if (is_query) {
    stabiliser = std::get<0>(dash.max(-1, /*keepdim=*/true));
  } else {
    at::Tensor d = dash;
    if (key_valid.defined()) {
      auto valid = key_valid.to(d.device()).view({key_valid.size(0), 1, key_valid.size(1), 1});
      d = d.masked_fill(~valid, -std::numeric_limits<float>::infinity());
    }
    stabiliser = d.amax({-2, -1}, /*keepdim=*/true);
    // A slice with no valid key has nothing to stabilise (its features are zeroed by the caller).
    stabiliser = stabiliser.masked_fill(at::isinf(stabiliser), 0.0);
  }
  return ratio * (at::exp(dash - diag - stabiliser) + 1e-4);
}

at::Tensor linear_attention(const at::Tensor& phi_q, const at::Tensor& phi_k, const at::Tensor& v, bool causal,
                            int64_t chunk_size) {
  SEA_CHECK(chunk_size > 0, "performer: chunk_size must be positive, got ", chunk_size);
  if (!causal) {
    at::Tensor k_sum = phi_k.sum(-2);                                   // (N, H, m)
    at::Tensor den = at::matmul(phi_q, k_sum.unsqueeze(-1));           // (N, H, T, 1)
    at::Tensor num = at::matmul(phi_q, at::matmul(phi_k.transpose(-1, -2), v));  // (N, H, T, Dv)
    at::Tensor has_key = den > 0;
    return at::where(has_key, num / at::where(has_key, den, at::ones_like(den)), at::zeros_like(num));
  }
  constexpr double kEps = 1e-6;
  const int64_t T = phi_q.size(2), m = phi_q.size(3), Dv = v.size(3);
  auto sizes = phi_q.sizes().vec();
  at::Tensor state = at::zeros({sizes[0], sizes[1], m, Dv}, v.options());  // Σ φk vᵀ over earlier chunks
  at::Tensor k_sum = at::zeros({sizes[0], sizes[1], 1, m}, v.options());  // Σ φk over earlier chunks
  std::vector<at::Tensor> outs;
  for (int64_t a = 0; a < T; a += chunk_size) {
    const int64_t b = std::min(T, a + chunk_size);
    at::Tensor qc = phi_q.slice(2, a, b), kc = phi_k.slice(2, a, b), vc = v.slice(2, a, b);
    at::Tensor within = at::tril(at::matmul(qc, kc.transpose(-1, -2)));  // (N, H, c, c), s ≤ t only
    at::Tensor num = at::matmul(within, vc) + at::matmul(qc, state);
    at::Tensor den = within.sum(-1, true) + (qc * k_sum).sum(-1, true) + kEps * qc.sum(-1, true);
    outs.push_back(num / den);
    if (b < T) {
      state = state + at::matmul(kc.transpose(-1, -2), vc);
      k_sum = k_sum + kc.sum(-2, true);
    }
  }
  return outs.size() == 1 ? outs[0] : at::cat(outs, 2);
}

at::Tensor performer_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& projection, FeatureKernel kernel, bool causal,
                               const at::Tensor& key_valid, int64_t chunk_size, Backend backend) {
  SEA_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 && v.size(2) == q.size(2),
            "performer: expected q, k (N, H, T, D) and v (N, H, T, Dv); got q ", q.sizes(), ", k ", k.sizes(),
            ", v ", v.sizes());
  if (resolve_backend(backend, q, "performer") == Backend::Cuda) {
#if SEA_WITH_CUDA
    return cuda::performer_attention(q, k, v, projection, kernel, causal, key_valid);
#endif
  }
  at::Tensor phi_q = favor_features(q, projection, kernel, /*is_query=*/true);
  at::Tensor phi_k = favor_features(k, projection, kernel, /*is_query=*/false, key_valid);
  if (key_valid.defined()) {
    phi_k = phi_k * key_valid.to(phi_k.device(), phi_k.scalar_type()).view({key_valid.size(0), 1, key_valid.size(1), 1});
  }
  return linear_attention(phi_q, phi_k, v.to(phi_q.scalar_type()), causal, chunk_size);
}

}  // namespace sea::ops
