// lsh_attention.h — method `reformer`: shared-QK LSH attention after reformer_pytorch.LSHAttention (the
// paper's Reformer baseline, SEA_SPEC.md §4), with bucket-local chunks so that causal attention is causal.
//
// Per hash round (n_hashes rounds, combined at the end):
//  - Shared QK: queries and keys are both `q` (the k projection is ignored, as in the reference); keys are
//    L2-normalised, score(i, j) = (q_i · q_j / |q_j|) * scale. BERT passes raw q with scale D^-1/2 and OPT
//    passes q * D^-1/2 with scale 1; since the key is normalised, both give D^-1/2 * (q_i · q̂_j) of the raw
//    q. (The reference scales by D^-1/2 again inside LSHAttention, so its OPT runs are double-scaled.)
//  - Hashing: n_buckets = 1 if T <= bucket_size, else 2 * ceil(T / (2 * bucket_size)) (the reference's count
//    after padding T to a multiple of 2 * bucket_size). Rotations R (D, n_hashes, n_buckets / 2) are drawn
//    with at::randn from the default generator on every forward (a seed makes a forward deterministic);
//    bucket = argmax(cat(qR, -qR)). Padded tokens (key_padding_mask false) go to an extra bucket of their own.
//  - Chunks are PER BUCKET: a token with rho earlier-position tokens in its bucket is in chunk
//    floor(rho / bucket_size) of that bucket and attends to its own chunk and the previous chunk of the same
//    bucket (causal: only keys at positions <= its own). The reference instead cuts the whole sorted
//    sequence into chunks of bucket_size; then a future token's bucket shifts the chunk boundaries, which
//    changes which earlier tokens token i sees, so its causal mode leaks the future. With per-bucket
//    chunks the keys token i sees depend only on tokens <= i (causal), and padding never moves a real
//    token's chunk (pads are in their own bucket, left or right padding alike).
//  - The token's own score is set to -5e4 (self is used only when nothing else is visible, as the
//    reference does); padded keys are never attended; padded queries output exactly zero.
//  - Softmax in fp32 over the candidates; dropout on the probabilities in training mode only.
// Rounds are combined with weights softmax_r(logsumexp of round r's scores), as the reference does.
//
// Memory: buckets are laid out in chunk-aligned slots (each bucket padded to a multiple of bucket_size),
// at most (T / bucket_size + n_buckets + 1) chunks, each scoring bucket_size queries against 2 * bucket_size
// keys: O(T * bucket_size) per (batch, head, round), never T x T. Any T works.
#pragma once

#include "sea/attention/attention.h"
#include "sea/attention/registry.h"

namespace sea::attention {

struct LshAttentionOptions {
  int64_t bucket_size = 64;  // the reference sets it to SEA's k
  int64_t n_hashes = 8;      // hash rounds
  double dropout = 0.0;      // attention-probability dropout, active in training mode only
};

class LshAttentionImpl : public AttentionMethodImpl {
 public:
  explicit LshAttentionImpl(LshAttentionOptions options = {});
  AttentionOutputs forward(const AttentionInputs& inputs) override;
  std::string name() const override { return "reformer"; }
  const LshAttentionOptions& options() const { return options_; }

 private:
  LshAttentionOptions options_;
};

// Number of hash buckets for a sequence of T tokens (see above).
int64_t lsh_num_buckets(int64_t T, int64_t bucket_size);

// Registry factory for {"method": "reformer", "bucket_size": 64, "n_hashes": 8, "dropout": ...}; dropout
// defaults to the layer's attention dropout.
AttentionMethod make_lsh_attention(JsonReader& options, const LayerShape& shape);

}  // namespace sea::attention
