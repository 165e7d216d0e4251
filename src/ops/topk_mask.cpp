// topk_mask.cpp — visible keys, grouped top-k and the one cell<->key discretisation (see topk_mask.h).
#include "sea/ops/topk_mask.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "sea/util/error.h"

#if SEA_WITH_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

namespace sea::ops {

KFlattenDim parse_k_flatten_dim(const std::string& name, const std::string& where) {
  if (name == "query") return KFlattenDim::Query;
  if (name == "head") return KFlattenDim::Head;
  if (name == "batch") return KFlattenDim::Batch;
  if (name == "causal_batch") return KFlattenDim::CausalBatch;
  fail(where, ": k_flatten_dim must be one of query, head, batch, causal_batch; got '", name, "'");
}

const char* to_string(KFlattenDim mode) {
  switch (mode) {
    case KFlattenDim::Query: return "query";
    case KFlattenDim::Head: return "head";
    case KFlattenDim::Batch: return "batch";
    case KFlattenDim::CausalBatch: return "causal_batch";
  }
  return "?";
}

KeyLayout make_key_layout(const at::Tensor& key_valid, bool causal, int64_t N, int64_t T,
                          const at::TensorOptions& options) {
  KeyLayout out;
  out.causal = causal;
  out.has_padding = key_valid.defined();
  const auto long_opts = options.dtype(at::kLong);
  out.key_valid = key_valid.defined() ? key_valid.to(options.device(), at::kBool)
                                      : at::ones({N, T}, options.dtype(at::kBool));
  at::Tensor counts = out.key_valid.to(at::kLong).cumsum(1);  // (N, T) valid keys at or before j
  out.key_rank = at::where(out.key_valid, counts - 1, at::full({}, -1, long_opts));
  at::Tensor total = counts.select(1, T - 1).unsqueeze(1);     // (N, 1)
  out.row_len = (causal ? counts : total.expand({N, T})) * out.key_valid.to(at::kLong);
  // rank -> position: scatter each valid key's position to its rank (padded keys write to a spare slot).
  at::Tensor positions = at::arange(T, long_opts).expand({N, T});
  at::Tensor slot = at::where(out.key_valid, out.key_rank, at::full({}, T, long_opts));
  out.rank_to_key = at::zeros({N, T + 1}, long_opts).scatter_(1, slot, positions).slice(1, 0, T).contiguous();
  return out;
}

namespace {
// Budget in cells for a group whose rows have `row_len` visible keys (0 = padded row: no budget).
at::Tensor row_budget(const at::Tensor& row_len, double cells_times_k, double k_oversample, int64_t group_size) {
  at::Tensor L = row_len.to(at::kDouble);
  at::Tensor b = at::round(cells_times_k * k_oversample / L.clamp_min(1.0)).clamp(1.0, static_cast<double>(group_size));
  return at::where(row_len > 0, b, at::zeros_like(b)).to(at::kLong);
}

// What both backends require of their arguments.
void check_topk_arguments(const at::Tensor& estimate, const KeyLayout& layout, double k, double k_oversample,
                          KFlattenDim mode) {
  SEA_CHECK(estimate.dim() == 4, "topk_mask: estimate must be (N, H, T, K), got ", estimate.sizes());
  SEA_CHECK(k > 0 && k_oversample >= 1.0, "topk_mask: need k > 0 and k_oversample >= 1, got k = ", k,
            ", k_oversample = ", k_oversample);
  SEA_CHECK(!(layout.causal && (mode == KFlattenDim::Head || mode == KFlattenDim::Batch)), "topk_mask: k_flatten_dim '",
            to_string(mode), "' lets later rows take budget from earlier ones, which breaks causality; use "
            "causal_batch or query for causal layers");
}

// Budget of a group whose size does not depend on the row (head, batch): same rounding, same clamp.
int64_t fixed_budget(double cells, int64_t group_size) {
  return static_cast<int64_t>(std::clamp(std::nearbyint(cells), 1.0, static_cast<double>(group_size)));
}
}  // namespace

at::Tensor grouped_topk_mask(const at::Tensor& estimate, const KeyLayout& layout, double k, double k_oversample,
                             KFlattenDim mode) {
  check_topk_arguments(estimate, layout, k, k_oversample, mode);
  const int64_t N = estimate.size(0), H = estimate.size(1), T = estimate.size(2), K = estimate.size(3);
  at::Tensor row_valid = layout.row_len > 0;  // (N, T)
  // Padded rows rank below every real cell (estimates are >= 0) and are dropped after the selection.
  at::Tensor est = estimate.to(at::kFloat).masked_fill(~row_valid.view({N, 1, T, 1}), -1.0);

  at::Tensor groups, budget;  // (G, S) and (G,)
  switch (mode) {
    case KFlattenDim::Query:
      groups = est.reshape({N * H * T, K});
      budget = row_budget(layout.row_len.unsqueeze(1).expand({N, H, T}), k * K, k_oversample, K).reshape({-1});
      break;
    case KFlattenDim::CausalBatch:
      groups = est.permute({0, 2, 1, 3}).reshape({N * T, H * K});
      budget = row_budget(layout.row_len, static_cast<double>(H) * k * K, k_oversample, H * K).reshape({-1});
      break;
    case KFlattenDim::Head:
      groups = est.reshape({N * H, T * K});
      budget = at::full({N * H}, fixed_budget(k * K * k_oversample, T * K), layout.row_len.options());
      break;
    case KFlattenDim::Batch:
      groups = est.reshape({N, H * T * K});
      budget = at::full({N}, fixed_budget(H * k * K * k_oversample, H * T * K), layout.row_len.options());
      break;
  }
  const int64_t S = groups.size(1);
  const int64_t take = std::min<int64_t>(S, std::max<int64_t>(1, budget.max().item<int64_t>()));
  at::Tensor top = std::get<1>(groups.topk(take, /*dim=*/1, /*largest=*/true, /*sorted=*/true));  // (G, take)
  at::Tensor chosen = at::arange(take, budget.options()).unsqueeze(0) < budget.unsqueeze(1);    // rank < budget
  at::Tensor kept = at::zeros(groups.sizes(), groups.options().dtype(at::kBool)).scatter_(1, top, chosen);

  at::Tensor out;
  if (mode == KFlattenDim::CausalBatch) {
    out = kept.view({N, T, H, K}).permute({0, 2, 1, 3});
  } else {
    out = kept.view({N, H, T, K});
  }
  return (out & row_valid.view({N, 1, T, 1})).contiguous();
}

at::Tensor pack_kept_cells(const at::Tensor& kept_cells) {
  SEA_CHECK(kept_cells.dim() == 4 && kept_cells.scalar_type() == at::kBool,
            "pack_kept_cells: expected (N, H, T, K) bool, got ", kept_cells.sizes(), " ", kept_cells.scalar_type());
  const int64_t K = kept_cells.size(3), W = (K + 31) / 32;
  at::Tensor padded = at::constant_pad_nd(kept_cells.to(at::kLong), {0, W * 32 - K}, 0);
  auto sizes = kept_cells.sizes().vec();
  sizes.back() = W;
  sizes.push_back(32);
  at::Tensor weights = at::pow(2, at::arange(32, padded.options()));  // bit b of a word
  // Sum in int64, then reinterpret the low 32 bits (bit 31 set gives a negative int32).
  return (padded.view(sizes) * weights).sum(-1).to(at::kInt).contiguous();
}

at::Tensor unpack_kept_cells(const at::Tensor& kept_bits, int64_t K) {
  SEA_CHECK(kept_bits.dim() == 4 && kept_bits.scalar_type() == at::kInt && kept_bits.size(3) == (K + 31) / 32,
            "unpack_kept_cells: expected (N, H, T, ", (K + 31) / 32, ") int32 for K = ", K, ", got ", kept_bits.sizes(),
            " ", kept_bits.scalar_type());
  at::Tensor shifts = at::arange(32, kept_bits.options());
  at::Tensor bits = at::bitwise_and(at::bitwise_right_shift(kept_bits.unsqueeze(-1), shifts), 1);
  auto sizes = kept_bits.sizes().vec();
  sizes.back() *= 32;
  return bits.reshape(sizes).slice(3, 0, K).to(at::kBool).contiguous();
}

at::Tensor grouped_topk_bits(const at::Tensor& estimate, const KeyLayout& layout, double k, double k_oversample,
                             KFlattenDim mode, Backend backend) {
  if (resolve_backend(backend, estimate, "topk_mask") == Backend::Cuda) {
    check_topk_arguments(estimate, layout, k, k_oversample, mode);
#if SEA_WITH_CUDA
    return cuda::grouped_topk_bits(estimate, layout.row_len, k, k_oversample, mode);
#endif
  }
  return pack_kept_cells(grouped_topk_mask(estimate, layout, k, k_oversample, mode));
}

std::pair<double, double> kept_key_reuse(const at::Tensor& kept_bits, int64_t K, const KeyLayout& layout,
                                         int64_t block_rows) {
  SEA_CHECK(block_rows > 0, "kept_key_reuse: block_rows must be positive, got ", block_rows);
  at::NoGradGuard no_grad;
  at::Tensor kept = unpack_kept_cells(kept_bits, K);  // (N, H, T, K)
  const int64_t N = kept.size(0), H = kept.size(1), T = kept.size(2);
  at::Tensor rank = layout.key_rank.view({N, 1, T});                     // (N, 1, keys)
  double row_keys = 0, block_keys = 0;
  for (int64_t t0 = 0; t0 < T; t0 += block_rows) {
    const int64_t t1 = std::min(T, t0 + block_rows);
    at::Tensor L = layout.row_len.slice(1, t0, t1).unsqueeze(2);         // (N, B, 1)
    at::Tensor visible = (rank >= 0) & (rank < L);                       // (N, B, keys)
    at::Tensor cell = at::div((2 * rank.clamp_min(0) + 1) * K - 1, 2 * L.clamp_min(1), "floor").clamp(0, K - 1);
    at::Tensor keys = kept.slice(2, t0, t1).gather(3, cell.unsqueeze(1).expand({N, H, t1 - t0, T})) &
                      visible.unsqueeze(1);                              // (N, H, B, keys)
    row_keys += keys.sum().item<double>();
    block_keys += keys.any(2).sum().item<double>();
  }
  return {row_keys, block_keys};
}

at::Tensor oversample_keep(const at::Tensor& rank, const at::Tensor& row_len, double k, double k_oversample) {
  at::Tensor L = row_len.to(at::kDouble);
  at::Tensor o = L.clamp(k, k * k_oversample) / k;  // in [1, k_oversample]
  at::Tensor r = rank.to(at::kDouble);
  return at::floor((r + 1) / o) > at::floor(r / o);
}

DenseCells dense_cells(const KeyLayout& layout, int64_t K) {
  const int64_t N = layout.key_rank.size(0), T = layout.key_rank.size(1);
  at::Tensor r = layout.key_rank.view({N, 1, 1, T});
  at::Tensor L = layout.row_len.view({N, 1, T, 1});
  DenseCells out;
  out.visible = layout.key_valid.view({N, 1, 1, T}) & (L > 0);
  if (layout.causal) out.visible = out.visible & at::tril(at::ones({T, T}, out.visible.options())).view({1, 1, T, T});
  at::Tensor cell = at::div((2 * r + 1) * K - 1, 2 * L.clamp_min(1), "floor");
  out.cell = at::where(out.visible, cell, at::zeros({}, cell.options()));
  return out;
}

at::Tensor spread_cells(const at::Tensor& compressed, const DenseCells& cells, double fill) {
  const int64_t N = compressed.size(0), H = compressed.size(1), T = compressed.size(2);
  return compressed.gather(3, cells.cell.expand({N, H, T, T})).masked_fill(~cells.visible, fill);
}

at::Tensor dense_key_mask(const at::Tensor& kept_cells, const KeyLayout& layout, double k, double k_oversample) {
  return dense_key_mask(kept_cells, dense_cells(layout, kept_cells.size(3)), layout, k, k_oversample);
}

at::Tensor dense_key_mask(const at::Tensor& kept_cells, const DenseCells& cells, const KeyLayout& layout, double k,
                          double k_oversample) {
  const int64_t N = kept_cells.size(0), T = kept_cells.size(2);
  at::Tensor mask = spread_cells(kept_cells, cells, false);
  if (k_oversample > 1.0) {
    at::Tensor rank = layout.key_rank.view({N, 1, 1, T}).expand({N, 1, T, T});
    at::Tensor len = layout.row_len.view({N, 1, T, 1}).expand({N, 1, T, T});
    mask = mask & oversample_keep(rank, len, k, k_oversample);
  }
  return mask;
}

at::Tensor decompress(const at::Tensor& compressed, const KeyLayout& layout, double fill) {
  const int64_t N = compressed.size(0), H = compressed.size(1), Tq = compressed.size(2), K = compressed.size(3);
  const int64_t T = layout.key_rank.size(1);
  if (Tq == T) return spread_cells(compressed, dense_cells(layout, K), fill);
  SEA_CHECK(Tq == 1 && !layout.causal, "decompress: a (N, H, 1, K) map needs a bidirectional layout");
  at::Tensor L = layout.row_len.amax(1).view({N, 1, 1, 1}).clamp_min(1);  // all valid keys of the sample
  at::Tensor r = layout.key_rank.view({N, 1, 1, T});
  at::Tensor cell = at::div((2 * r + 1) * K - 1, 2 * L, "floor").clamp(0, K - 1);
  at::Tensor out = compressed.gather(3, cell.expand({N, H, 1, T}));
  return out.masked_fill(~layout.key_valid.view({N, 1, 1, T}), fill);
}

}  // namespace sea::ops
