// sparse_attention_common.cuh — device code shared by the sparse attention forward and backward kernels:
// the lane layout, 16-byte row-slice loads and stores, the walk over a row's kept runs of keys, and the
// k_oversample thinning. See sparse_attention_params.h for the layout these read.
//
// Lane layout (one warp per query row in the forward and the dq pass): a key row of D elements is read by
// kLanesPerKey lanes, each loading one 16-byte slice (kElemsPerLane elements), so one load instruction of the
// warp reads kKeysPerStep whole key rows, fully coalesced. A lane's dot-product partial is summed over its
// key's lanes with kLanesPerKey−1 shuffles; the lanes of different keys ("groups") keep separate partial
// outputs that are added once at the end of the row. 32 keys (kLanesPerKey steps) form a chunk, the unit of
// the online softmax.
#pragma once

#include <cstdint>

#include "common/numeric.cuh"
#include "common/vector_io.cuh"
#include "sparse_attention/sparse_attention_params.h"

namespace sea::kernels::sparse {

constexpr float kLog2e = 1.4426950408889634f;

template <typename T, int D>
struct LaneLayout {
  static constexpr int kElemsPerLane = 16 / static_cast<int>(sizeof(T));
  static constexpr int kLanesPerKey = D / kElemsPerLane;
  static constexpr int kKeysPerStep = 32 / kLanesPerKey;
  static constexpr int kStepsPerChunk = kLanesPerKey;  // 32 keys per chunk
  static_assert(D % kElemsPerLane == 0 && kLanesPerKey >= 1 && kLanesPerKey <= 32, "unsupported head dim");
};

// Sum over the kLanesPerKey lanes that share a key (a power of two, aligned in the warp).
template <int kLanesPerKey>
__device__ __forceinline__ float key_sum(float x) {
#pragma unroll
  for (int o = kLanesPerKey / 2; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Sum over the groups (lanes with the same position inside their key's lanes).
template <int kLanesPerKey>
__device__ __forceinline__ float group_sum(float x) {
#pragma unroll
  for (int o = kLanesPerKey; o < 32; o <<= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// First rank of cell c in a row of L visible keys and K cells (topk_mask.h): floor((2·L·c + K) / (2K)).
__device__ __forceinline__ int cell_start(int c, int L, int K) {
  return static_cast<int>((2ll * L * c + K) / (2ll * K));
}

// Cell of rank r in a row of L keys: floor(((2r + 1)·K − 1) / (2L)).
__device__ __forceinline__ int cell_of_rank(int r, int L, int K) {
  return static_cast<int>(((2ll * r + 1) * K - 1) / (2ll * L));
}

__device__ __forceinline__ bool bit_set(const uint32_t* bits, int c) { return (bits[c >> 5] >> (c & 31)) & 1u; }

// First cell >= from whose bit equals `value` (K if none). Bits at and above K are ignored.
__device__ __forceinline__ int next_cell(const uint32_t* bits, int W, int K, int from, bool value) {
  if (from >= K) return K;
  int w = from >> 5;
  uint32_t word = (value ? bits[w] : ~bits[w]) & (0xffffffffu << (from & 31));
  while (word == 0) {
    if (++w >= W) return K;
    word = value ? bits[w] : ~bits[w];
  }
  return min(K, (w << 5) + __ffs(word) - 1);
}

// True when any of cells [lo, hi] is kept.
__device__ __forceinline__ bool any_kept(const uint32_t* bits, int lo, int hi) {
  for (int w = lo >> 5; w <= (hi >> 5); ++w) {
    uint32_t word = bits[w];
    if (w == (lo >> 5)) word &= 0xffffffffu << (lo & 31);
    if (w == (hi >> 5) && (hi & 31) != 31) word &= (2u << (hi & 31)) - 1u;
    if (word) return true;
  }
  return false;
}

// Calls f(first_rank, end_rank) for each maximal run of consecutive kept cells of a row, in order.
template <typename F>
__device__ __forceinline__ void for_each_kept_run(const uint32_t* bits, int W, int K, int L, F&& f) {
  int c = next_cell(bits, W, K, 0, true);
  while (c < K) {
    const int e = next_cell(bits, W, K, c + 1, false);
    const int r0 = cell_start(c, L, K), r1 = cell_start(e, L, K);
    if (r1 > r0) f(r0, r1);
    c = next_cell(bits, W, K, e, true);
  }
}

// The k_oversample thinning (topk_mask.h, oversample_keep): the same double arithmetic as the reference.
__device__ __forceinline__ bool thin_keep(int r, int L, double k, double oversample) {
  const double o = fmin(fmax(static_cast<double>(L), k), k * oversample) / k;
  const double rr = static_cast<double>(r);
  return floor((rr + 1.0) / o) > floor(rr / o);
}

__device__ __forceinline__ int key_position(const int32_t* rank_to_key, int n, int T, int r) {
  return rank_to_key ? rank_to_key[static_cast<int64_t>(n) * T + r] : r;
}

template <typename T>
__device__ __forceinline__ const T* row_ptr(const void* base, const Strides4& s, int n, int h, int t) {
  return static_cast<const T*>(base) + n * s.n + h * s.h + static_cast<int64_t>(t) * s.t;
}

}  // namespace sea::kernels::sparse
