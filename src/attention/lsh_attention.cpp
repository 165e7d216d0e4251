// lsh_attention.cpp — method `reformer`: shared-QK LSH attention with per-bucket chunks (see lsh_attention.h).
#include "sea/attention/lsh_attention.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "sea/attention/attention_mask.h"

namespace sea::attention {
namespace {

constexpr double kSelfScore = -5e4;  // the reference's TOKEN_SELF_ATTN_VALUE

void validate(const LshAttentionOptions& o, const std::string& where) {
  SEA_CHECK(o.bucket_size > 0, where, ": bucket_size must be a positive integer, got ", o.bucket_size);
  SEA_CHECK(o.n_hashes > 0, where, ": n_hashes must be a positive integer, got ", o.n_hashes);
  SEA_CHECK(o.dropout >= 0.0 && o.dropout < 1.0, where, ": dropout must be in [0, 1), got ", o.dropout);
}

// x: (B, C, S, ...) chunks -> (B, C, 2S, ...): each chunk preceded by the chunk before it; chunk 0 by `fill`.
at::Tensor with_previous_chunk(const at::Tensor& x, double fill) {
  at::Tensor prev = at::cat({at::full_like(x.narrow(1, 0, 1), fill), x.narrow(1, 0, x.size(1) - 1)}, 1);
  return at::cat({prev, x}, 2);
}

}  // namespace

int64_t lsh_num_buckets(int64_t T, int64_t bucket_size) {
  return T <= bucket_size ? 1 : 2 * ((T + 2 * bucket_size - 1) / (2 * bucket_size));
}

LshAttentionImpl::LshAttentionImpl(LshAttentionOptions options) : options_(options) {
  validate(options_, "reformer attention");
}

AttentionOutputs LshAttentionImpl::forward(const AttentionInputs& in) {
  check_qkv(in.q, in.k, in.v, in.key_padding_mask, "reformer");
  SEA_CHECK(in.q.is_floating_point(), "reformer attention: q must be floating point, got ", in.q.scalar_type());
  AttentionOutputs out;
  if (in.q.numel() == 0) {
    out.context = at::zeros_like(in.q);
    return out;
  }
  const int64_t N = in.q.size(0), H = in.q.size(1), T = in.q.size(2), D = in.q.size(3);
  const int64_t S = options_.bucket_size, R = options_.n_hashes, B = N * H * R;  // B: (n, h, round) rows
  const auto fopts = in.q.options().dtype(at::kFloat), lopts = in.q.options().dtype(at::kLong);
  at::Tensor q = in.q.to(at::kFloat), v = in.v.to(at::kFloat);  // q, v: (N, H, T, D); k is not used (shared QK)
  at::Tensor valid;                                               // (N, T) bool, true = real token
  if (in.key_padding_mask.defined()) valid = in.key_padding_mask.to(in.q.device(), at::kBool);

  // Hashing. buckets: (N, H, R, T) in [0, nb); padded tokens go to the extra bucket nb.
  const int64_t nb = lsh_num_buckets(T, S), NB = nb + 1;
  at::Tensor buckets;
  if (nb == 1) {
    buckets = at::zeros({N, H, R, T}, lopts);
  } else {
    at::Tensor rotations = at::randn({D, R, nb / 2}, fopts);
    at::Tensor rotated = at::einsum("nhtd,drk->nhrtk", {q, rotations});  // (N, H, R, T, nb/2)
    buckets = at::cat({rotated, -rotated}, -1).argmax(-1);
  }
  if (valid.defined()) buckets = buckets.masked_fill(~valid.view({N, 1, 1, T}), nb);
  buckets = buckets.reshape({B, T});

  // Sort by (bucket, position): sorted position p holds token perm[p], of bucket sbucket[p]. (B, T)
  const at::Tensor pos = at::arange(T, lopts);
  auto [sorted_key, perm] = (buckets * T + pos).sort(-1);
  at::Tensor sbucket = at::div(sorted_key, T, "floor");

  // Chunk-aligned layout: bucket b starts at slot first_slot[b], a multiple of S, and its token of rank rho
  // (rho earlier-position tokens in b) sits at first_slot[b] + rho. So every chunk of S slots belongs to one
  // bucket, chunk = floor(rho / S) within it, and "own chunk + previous chunk of the same bucket" is
  // "slot chunk c and c - 1, same bucket". At most one partial chunk per bucket: C <= T / S + NB chunks.
  at::Tensor counts = at::zeros({B, NB}, lopts).scatter_add_(1, buckets, at::ones_like(buckets));
  at::Tensor chunks = at::div(counts + (S - 1), S, "floor");
  at::Tensor first_sorted = counts.cumsum(1) - counts, first_slot = (chunks.cumsum(1) - chunks) * S;
  at::Tensor slot = first_slot.gather(1, sbucket) + pos - first_sorted.gather(1, sbucket);  // (B, T)
  const int64_t C = std::min(T, T / S + NB), L = C * S;
  at::Tensor slot_token = at::full({B, L}, -1, lopts).scatter_(1, slot, perm);  // -1: empty slot
  at::Tensor slot_bucket = at::full({B, L}, -1, lopts).scatter_(1, slot, sbucket);

  // Gather q, v into the layout: sq, sv (B, C, S, D); empty slots hold token 0 and are never attended.
  at::Tensor head_row = at::arange(N * H, lopts).repeat_interleave(R).mul_(T).unsqueeze(1);  // (B, 1)
  at::Tensor rows = (slot_token.clamp_min(0) + head_row).view(-1);
  at::Tensor sq = q.reshape({N * H * T, D}).index_select(0, rows).view({B, C, S, D});
  at::Tensor sv = v.reshape({N * H * T, D}).index_select(0, rows).view({B, C, S, D});

  // scores: (B, C, S, 2S), queries of chunk c against the normalised keys of chunks c - 1 and c.
  at::Tensor keys = with_previous_chunk(sq / sq.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12), 0.0);
  at::Tensor scores = at::matmul(sq, keys.transpose(-1, -2)) * in.scale;
  at::Tensor q_tok = slot_token.view({B, C, S, 1}), q_bkt = slot_bucket.view({B, C, S, 1});
  at::Tensor k_tok = with_previous_chunk(slot_token.view({B, C, S}), -1).unsqueeze(2);  // (B, C, 1, 2S)
  at::Tensor k_bkt = with_previous_chunk(slot_bucket.view({B, C, S}), -2).unsqueeze(2);
  at::Tensor keep = q_bkt == k_bkt;  // same bucket (pads only see pads; an empty slot sees itself)
  if (in.causal) keep = keep & (k_tok <= q_tok);
  scores = scores.masked_fill(keep & (k_tok == q_tok), kSelfScore)
               .masked_fill(~keep, -std::numeric_limits<float>::infinity());

  // Every row keeps at least its own slot, so the logsumexp is finite.
  at::Tensor lse = scores.logsumexp(-1, /*keepdim=*/true);  // (B, C, S, 1)
  at::Tensor probs = at::exp(scores - lse);
  if (is_training() && options_.dropout > 0) probs = at::dropout(probs, options_.dropout, /*train=*/true);
  at::Tensor ctx = at::matmul(probs, with_previous_chunk(sv, 0.0));  // (B, C, S, D)

  // Unsort to positions and combine the rounds with weights softmax_r(lse).
  at::Tensor token_slot = at::empty({B, T}, lopts).scatter_(1, perm, slot);
  at::Tensor idx = (token_slot + at::arange(B, lopts).mul_(L).unsqueeze(1)).view(-1);
  at::Tensor o = ctx.reshape({B * L, D}).index_select(0, idx).view({N, H, R, T, D});
  at::Tensor w = lse.reshape({B * L}).index_select(0, idx).view({N, H, R, T, 1}).softmax(2);
  at::Tensor context = (o * w).sum(2);  // (N, H, T, D)
  if (valid.defined()) context = context.masked_fill(~valid.view({N, 1, T, 1}), 0.0);  // padded queries
  out.context = context.to(in.q.scalar_type());
  return out;
}

AttentionMethod make_lsh_attention(JsonReader& options, const LayerShape& shape) {
  LshAttentionOptions o;
  o.bucket_size = options.get_or<int64_t>("bucket_size", o.bucket_size);
  o.n_hashes = options.get_or<int64_t>("n_hashes", o.n_hashes);
  o.dropout = options.get_or<double>("dropout", shape.attention_dropout);
  validate(o, options.where());
  return std::make_shared<LshAttentionImpl>(o);
}

}  // namespace sea::attention
