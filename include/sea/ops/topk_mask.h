// topk_mask.h — SEA's second operator: which cells of the compressed estimate (N, H, T, K) are kept, and how
// a kept cell maps to keys. ATen reference (CPU and GPU) of the CUDA kernel kernels/topk_mask (grouped_topk_bits).
//
// 1. Visible keys (KeyLayout). Query row t of sample n sees the valid keys (key_valid) at or before t when
//    causal, all valid keys otherwise; L_t is their number, and the r-th of them (0-based, by position) has
//    rank r. Padded query rows see nothing (L_t = 0) and select nothing.
// 2. Grouped top-k (grouped_topk_mask, SEA_SPEC.md §2.7): the cells compete in groups; each group keeps its
//    largest cells up to its budget, times k_oversample, rounded half-to-even, clamped to [1, group size]:
//      query         the K cells of one (n, h, t)           round(k·K / L_t)
//      head          the T·K cells of one (n, h)            k·K
//      batch         the H·T·K cells of one sample n         H·k·K
//      causal_batch  the H·K cells of one (n, t)            round(H·k·K / L_t)     (default; paper's choice)
//    head and batch let later rows compete with earlier ones, so they are refused for causal layers.
// 3. The discretisation (ONE mapping for training, evaluation and the sparse path; SEA_SPEC.md §2.8): key of
//    rank r in a row of L visible keys lies in cell
//        cell(r) = floor(((2r + 1)·K − 1) / (2L))
//    i.e. the cell containing the key's centre (r + ½)·K/L, a centre exactly on a boundary going to the left
//    cell. This is the reference's dense (training / accuracy) formula floor((r + ½)/L·K − 1e-4) in exact
//    integer arithmetic, so accuracy numbers stay comparable with the paper; the reference's inference path
//    rounded cell edges instead (a different set of boundary keys), which this replaces. Inverse: cell c
//    holds ranks [start(c), start(c+1)) with start(c) = floor((2·L·c + K) / (2K)).
// 4. k_oversample o_s > 1: budgets are o_s times larger, and inside kept cells only ranks r with
//    floor((r+1)/o) > floor(r/o) stay, o = clamp(L, k, k·o_s)/k, thinning back to about k keys per head.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>

#include "sea/ops/backend.h"

namespace sea::ops {

enum class KFlattenDim { Query, Head, Batch, CausalBatch };
KFlattenDim parse_k_flatten_dim(const std::string& name, const std::string& where);
const char* to_string(KFlattenDim mode);

struct KeyLayout {
  at::Tensor row_len;       // (N, T) int64: L_t, 0 for padded query rows
  at::Tensor key_rank;      // (N, T) int64: rank of key j among the sample's valid keys, -1 if padded
  at::Tensor rank_to_key;   // (N, T) int64: position of the key of rank r (0 past the last valid key)
  at::Tensor key_valid;     // (N, T) bool
  bool causal = false;
  bool has_padding = false;  // a key_valid mask was given (else rank == position; kernels skip the lookup)
};

// key_valid: (N, T) bool or undefined (= all valid); options give the device.
KeyLayout make_key_layout(const at::Tensor& key_valid, bool causal, int64_t N, int64_t T,
                          const at::TensorOptions& options);

// The budgets and the selection. estimate: (N, H, T, K) >= 0; returns the kept cells (N, H, T, K) bool.
at::Tensor grouped_topk_mask(const at::Tensor& estimate, const KeyLayout& layout, double k, double k_oversample,
                             KFlattenDim mode);

// The sparse layout the kernels exchange: the kept cells of each (n, h, t) as a bitset, (N, H, T, W) int32
// with W = ceil(K / 32); cell c is bit (c % 32) of word c / 32. 8 bytes per row and head at K = 64, read
// once by the sparse attention kernel, which walks the set bits in order and turns each kept cell into its
// contiguous run of key ranks [start(c), start(c + 1)) (item 3 above).
at::Tensor pack_kept_cells(const at::Tensor& kept_cells);            // (N, H, T, K) bool -> bits
at::Tensor unpack_kept_cells(const at::Tensor& kept_bits, int64_t K);  // bits -> (N, H, T, K) bool

// grouped_topk_mask as a bitset, by `backend`: the reference packs grouped_topk_mask; the CUDA kernel
// (kernels/topk_mask) selects by a radix select in one read of the estimate and writes the bits directly.
// Of several cells with equal estimates at the budget's edge, the two may keep different ones.
at::Tensor grouped_topk_bits(const at::Tensor& estimate, const KeyLayout& layout, double k, double k_oversample,
                             KFlattenDim mode, Backend backend = Backend::Auto);

// How much the rows of a block could share the keys they read: Σ over rows of their kept keys, divided by Σ
// over blocks of `block_rows` consecutive rows (per sample and head) of the number of distinct keys the
// block's rows keep. 1 means no two rows of a block keep a common key (each row's keys must be fetched on
// their own); block_rows means all rows of a block keep the same keys. A diagnostic of the sparse layout for
// sea-bench (the tiled sparse forward's blocks are 64 rows of one head); the k_oversample thinning is ignored.
// Memory O(N·H·block_rows·T) at a time. Returns {rows' kept keys, blocks' distinct keys}.
std::pair<double, double> kept_key_reuse(const at::Tensor& kept_bits, int64_t K, const KeyLayout& layout,
                                         int64_t block_rows);

// The cell of each key for each row, (N, 1, T, T) int64 in [0, K-1] (0 where the key is not visible), and the
// visibility (N, 1, T, T) bool. Dense (T×T): for the dense-emulation path, losses and visualisation.
struct DenseCells {
  at::Tensor cell;
  at::Tensor visible;
};
DenseCells dense_cells(const KeyLayout& layout, int64_t K);

// Ranks kept by the k_oversample thinning: rank, row_len int64 tensors of one shape -> bool of that shape.
at::Tensor oversample_keep(const at::Tensor& rank, const at::Tensor& row_len, double k, double k_oversample);

// The kept keys in T×T: (N, H, T, T) bool = visible & cell kept & not thinned. `cells` = dense_cells(layout, K)
// when the caller already has them.
at::Tensor dense_key_mask(const at::Tensor& kept_cells, const DenseCells& cells, const KeyLayout& layout, double k,
                          double k_oversample);
at::Tensor dense_key_mask(const at::Tensor& kept_cells, const KeyLayout& layout, double k, double k_oversample);

// A compressed map (N, H, T, K) spread over the keys by `cells`: (N, H, T, T), `fill` where not visible.
at::Tensor spread_cells(const at::Tensor& compressed, const DenseCells& cells, double fill);

// A compressed map (N, H, Tq, K) spread over the keys with the same mapping: (N, H, Tq, T), `fill` where the
// key is not visible. Tq is T, or 1 in a bidirectional layer (every valid row sees the same keys; the map
// is spread over all valid keys).
at::Tensor decompress(const at::Tensor& compressed, const KeyLayout& layout, double fill);

}  // namespace sea::ops
