// sparse_attention.cpp — masked softmax attention, dense-emulated and sparse (see sparse_attention.h).
#include "sea/ops/sparse_attention.h"

#include <ATen/ATen.h>

#include <limits>

#include "sea/ops/precision.h"
#include "sea/util/error.h"

#if SEA_WITH_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

namespace sea::ops {

SparseAttentionResult masked_dense_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& key_mask, double scale, const at::Tensor& row_scale,
                                             bool want_probs) {
  const auto ct = compute_type(q);
  at::Tensor scores = at::matmul(q.to(ct), k.to(ct).transpose(-1, -2)) * scale;  // (N, H, T, T)
  at::Tensor masked = scores.masked_fill(~key_mask, -std::numeric_limits<float>::infinity());
  at::Tensor has_key = key_mask.any(-1, /*keepdim=*/true);
  at::Tensor probs = at::softmax(masked.masked_fill(~has_key, 0.0), -1).masked_fill(~key_mask, 0.0);
  if (row_scale.defined()) probs = probs * row_scale.to(ct).unsqueeze(-1);
  SparseAttentionResult out;
  out.context = at::matmul(probs, v.to(ct)).to(v.scalar_type());
  if (want_probs) out.probs = probs;
  out.scores = scores;
  return out;
}

namespace {
// The ATen reference: chunks of rows, kept cells expanded to (row, head, key) entries.
SparseAttentionResult chunked_sparse_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                               const at::Tensor& kept_cells, const KeyLayout& layout,
                                               const at::Tensor& row_scale, const SparseAttentionOptions& o) {
  SEA_CHECK(o.query_chunk > 0, "sparse_attention: query_chunk must be positive, got ", o.query_chunk);
  const int64_t N = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Dv = v.size(3);
  const int64_t K = kept_cells.size(3);
  const auto long_opts = q.options().dtype(at::kLong);
  const auto ct = compute_type(q);
  at::Tensor qf = q.reshape({N * H * T, D}), kf = k.reshape({N * H * T, D}), vf = v.reshape({N * H * T, Dv});
  at::Tensor scale_f = row_scale.defined() ? row_scale.reshape({N * H * T}).to(ct) : at::Tensor();
  std::vector<at::Tensor> chunks;  // (N·H, rows, Dv) per chunk of rows
  std::vector<at::Tensor> prob_index, prob_values;

  for (int64_t t0 = 0; t0 < T; t0 += o.query_chunk) {
    const int64_t tc = std::min(o.query_chunk, T - t0);
    const int64_t G = N * H * tc;
    chunks.push_back(at::zeros({N * H, tc, Dv}, v.options().dtype(ct)));
    // Kept cells of this chunk: (M, 4) = (n, h, row in chunk, cell).
    at::Tensor cells = kept_cells.slice(2, t0, t0 + tc).nonzero();
    if (cells.size(0) == 0) continue;
    at::Tensor n = cells.select(1, 0), h = cells.select(1, 1), t = cells.select(1, 2) + t0, c = cells.select(1, 3);
    at::Tensor L = layout.row_len.index({n, t});
    at::Tensor start = at::div(2 * L * c + K, 2 * K, "floor");
    at::Tensor width = at::div(2 * L * (c + 1) + K, 2 * K, "floor") - start;
    // Expand cells to entries, one per (row, head, key).
    at::Tensor owner = at::repeat_interleave(width);  // (E,) cell index of each entry
    if (owner.numel() == 0) continue;
    at::Tensor first = width.cumsum(0) - width;
    at::Tensor rank = start.index({owner}) + at::arange(owner.numel(), long_opts) - first.index({owner});
    at::Tensor en = n.index({owner}), eh = h.index({owner}), et = t.index({owner});
    if (o.k_oversample > 1.0) {
      at::Tensor keep = oversample_keep(rank, L.index({owner}), o.k, o.k_oversample);
      at::Tensor idx = keep.nonzero().squeeze(1);
      rank = rank.index({idx}), en = en.index({idx}), eh = eh.index({idx}), et = et.index({idx});
    }
    at::Tensor key = layout.rank_to_key.index({en, rank});
    at::Tensor nh = en * H + eh;
    at::Tensor row = nh * T + et;           // query row in (N·H·T)
    at::Tensor col = nh * T + key;          // key row in (N·H·T)
    at::Tensor local = nh * tc + (et - t0);  // (n, h, row in chunk)

    at::Tensor s = (qf.index_select(0, row).to(ct) * kf.index_select(0, col).to(ct)).sum(-1) * o.scale;
    at::Tensor mx = at::full({G}, -std::numeric_limits<float>::infinity(), s.options())
                        .scatter_reduce(0, local, s.detach(), "amax", /*include_self=*/true);
    at::Tensor e = at::exp(s - mx.index({local}));
    at::Tensor den = at::zeros({G}, s.options()).index_add(0, local, e);
    at::Tensor p = e / den.index({local});
    if (scale_f.defined()) p = p * scale_f.index({row});
    chunks.back() = at::zeros({G, Dv}, chunks.back().options())
                        .index_add(0, local, p.unsqueeze(1) * vf.index_select(0, col).to(ct))
                        .view({N * H, tc, Dv});
    if (o.want_probs) {
      prob_index.push_back(at::stack({en, eh, et, key}));
      prob_values.push_back(p.detach());
    }
  }
  SparseAttentionResult out;
  out.context = at::cat(chunks, 1).view({N, H, T, Dv}).to(v.scalar_type());
  if (o.want_probs) {
    at::Tensor index = prob_index.empty() ? at::zeros({4, 0}, long_opts) : at::cat(prob_index, 1);
    at::Tensor values = prob_values.empty() ? at::zeros({0}, q.options().dtype(ct)) : at::cat(prob_values);
    out.probs = at::sparse_coo_tensor(index, values, {N, H, T, T}).coalesce();
  }
  return out;
}

}  // namespace

SparseAttentionResult sparse_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const at::Tensor& kept_bits, int64_t K, const KeyLayout& layout,
                                       const at::Tensor& row_scale, const SparseAttentionOptions& o) {
  SEA_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 && v.sizes().slice(0, 3) == q.sizes().slice(0, 3),
            "sparse_attention: expected q, k (N, H, T, D) and v (N, H, T, Dv); got q ", q.sizes(), ", k ", k.sizes(),
            ", v ", v.sizes());
  SEA_CHECK(kept_bits.dim() == 4 && kept_bits.sizes().slice(0, 3) == q.sizes().slice(0, 3) &&
                kept_bits.size(3) == (K + 31) / 32,
            "sparse_attention: kept_bits must be (N, H, T, ceil(K/32)) = (", q.size(0), ", ", q.size(1), ", ", q.size(2),
            ", ", (K + 31) / 32, ") for K = ", K, ", got ", kept_bits.sizes());
  if (!o.want_probs && resolve_backend(o.backend, q, "sparse_attention") == Backend::Cuda) {
#if SEA_WITH_CUDA
    SEA_CHECK(o.backend == Backend::Auto || cuda::sparse_attention_supported(q, k, v),
              "sparse_attention: the CUDA kernel takes head dims 16, 32, 64, 128 with q, k, v of one type and "
              "v's head dim equal to q's; got q ", q.sizes(), " ", q.scalar_type(), ", v ", v.sizes(), " ",
              v.scalar_type());
    if (cuda::sparse_attention_supported(q, k, v)) {
      SparseAttentionResult out;
      out.context = cuda::sparse_attention(q, k, v, kept_bits, K, layout, row_scale, o);
      return out;
    }
#endif
  }
  return chunked_sparse_attention(q, k, v, unpack_kept_cells(kept_bits, K), layout, row_scale, o);
}

}  // namespace sea::ops
