// performer_estimate.h — FAVOR+ (Performer) linear attention as plain ATen functions: the random projection,
// the two feature maps, and linear attention (non-causal, and causal by chunked prefix sums).
//
// This is the ATen reference of SEA's first operator (DESIGN.md §2 "Operators"): the `performer` attention
// method and SEA's estimator (sea_attention.h) both call it, and the CUDA kernels (kernels/performer_estimate)
// are tested against it. Semantics follow performer_pytorch's FastAttention as the SEA reference uses it
// (SEA_SPEC.md §2.3), with one change: keys at padded positions are removed from the sums (their features are
// zeroed and they do not enter the softmax-kernel stabiliser), so that padding never changes a valid output.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "sea/ops/backend.h"

namespace sea::ops {

// Number of random features for head dim D: int(D · ln D / nb_feature_factor), at least 1.
int64_t performer_num_features(int64_t head_dim, double nb_feature_factor);

// Stacked orthogonal random projection (m, D), fp32 on CPU: blocks of Qᵀ from QR decompositions of D×D
// gaussians (the last block truncated), row i scaled by the norm of an independent D-dim gaussian
// (performer_pytorch's gaussian_orthogonal_random_matrix, scaling = 0). Drawn from a generator seeded with
// `seed`, so every process that passes the same seed draws the same matrix.
at::Tensor orthogonal_random_projection(int64_t num_features, int64_t head_dim, uint64_t seed);

enum class FeatureKernel {
  Softmax,  // positive random features of exp(q·k/√D) (bidirectional layers)
  Relu,     // generalized kernel ReLU(x·Wᵀ/D^¼) + 1e-3 (causal layers, as the reference)
};

// φ(x): x (N, H, T, D), projection (m, D) -> (N, H, T, m), computed in fp32 (fp64 for fp64 input).
// Softmax kernel: m^-½ (exp(c·xWᵀ − c²|x|²/2 − s) + 1e-4) with c = D^-¼; the stabiliser s is the row max for
// queries and, for keys, the max over all valid positions and features of each (n, h). s is part of the
// function here (the reference detaches it; the two gradients differ only through the 1e-4 term), so
// gradients are exact and match finite differences.
// key_valid (N, T) bool or undefined: only used for the key stabiliser.
at::Tensor favor_features(const at::Tensor& x, const at::Tensor& projection, FeatureKernel kernel, bool is_query,
                          const at::Tensor& key_valid = {});

// Linear attention on features: phi_q, phi_k (N, H, T, m), v (N, H, T, Dv) -> (N, H, T, Dv).
// Non-causal: φq (φkᵀ v) / (φq · Σφk).  Causal: out_t = φq_t (Σ_{s≤t} φk_s v_sᵀ) / (φq_t · Σ_{s≤t} φk_s + 1e-6),
// computed chunk by chunk (chunk_size rows): inside a chunk by a masked chunk×chunk product, across chunks by
// a carried (m × Dv) state, so memory is O(T·(m + Dv) + chunk² ) per (n, h), never T×T nor T×m×Dv.
at::Tensor linear_attention(const at::Tensor& phi_q, const at::Tensor& phi_k, const at::Tensor& v, bool causal,
                            int64_t chunk_size = 128);

// The whole estimate in fp32 (fp64 for fp64 input): features of q and k, keys at invalid positions zeroed, linear attention.
// q, k (N, H, T, D); v (N, H, T, Dv); key_valid (N, T) bool or undefined. Returns (N, H, T, Dv).
// Rows that see no valid key (all keys padded, or none at or before t when causal) are zero.
// Backend (backend.h): the reference composes the functions above (chunk_size rows per causal chunk); the
// CUDA kernels (kernels/performer_estimate) fuse the feature maps into the chunked prefix sums, forward and
// backward, and never hold a per-position m × Dv state.
at::Tensor performer_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& projection, FeatureKernel kernel, bool causal,
                               const at::Tensor& key_valid = {}, int64_t chunk_size = 128,
                               Backend backend = Backend::Auto);

}  // namespace sea::ops
