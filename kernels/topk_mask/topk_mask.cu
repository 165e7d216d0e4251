// topk_mask.cu — grouped top-k over SEA's compressed attention estimate (forward only), written directly as
// the kept-cell bitset (N, H, T, ceil(K/32)) int32 that the sparse attention kernel reads. The ATen
// reference is ops::grouped_topk_mask (src/ops/topk_mask.cpp); the parameters are in topk_mask_params.h and
// the wrapper that checks the tensors is src/ops/cuda/topk_mask_cuda.cpp.
//
// Selection: a radix select on order-preserving 32-bit keys of the fp32 estimates, most significant byte
// first (up to 4 passes of 8-bit digits, each a 256-bin shared-memory histogram of the keys still in play).
// It finds the budget-th largest key of the group, the threshold; a pass stops early when the bin it picks
// is kept whole. No sort. Two paths:
//   * in shared memory (query, causal_batch; groups of up to ~11.7k cells): one team per group loads the
//     group once from global memory into shared memory (the only read of the estimate), selects there, and
//     writes the group's words, each built with __ballot_sync and written exactly once. A team is one warp
//     (four teams per CTA) for groups of up to 1024 cells, else a CTA of 128/256/512 threads (about 24 cells
//     per thread). Groups that keep everything (early causal rows) or nothing (padded rows) are not read.
//   * streaming (head, batch, and query/causal_batch groups too large for shared memory): one CTA of 1024
//     threads per group reads the group from global memory once per digit pass plus once to write the bits,
//     i.e. at most 5 reads of the estimate (fewer when a pass stops early; none when a group keeps all or
//     nothing). Simple, but one SM per group: about 2 GB/s of estimate per group on an H100, so batch mode
//     with few samples is slow (head mode has N·H groups in parallel).
//
// Tie rule (documented in topk_mask.h's grouped_topk_bits): cells strictly above the threshold are kept;
// of the cells equal to it, the ones with the lowest flat index within the group are kept until the budget
// is met. Flat index: c (query), h·K + c (causal_batch), t·K + c (head), (h·T + t)·K + c (batch), as in the
// reference's reshape. at::topk may keep other equal cells; the sets agree whenever the values are distinct.
// The result is deterministic (no order-dependent arithmetic: histogram counts are integers).
//
// Budgets are computed exactly as the reference does (double, round half to even, clamp to [1, group]);
// padded query rows (L_t = 0) select nothing and, in head/batch mode, their cells never compete.
#include "topk_mask/topk_mask_params.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/numeric.cuh"

namespace sea::kernels {
namespace {

constexpr uint32_t kFullMask = 0xffffffffu;
constexpr int kRadixBins = 256;                    // 8-bit digits, 4 passes over a 32-bit key
constexpr uint32_t kNoDigit = kRadixBins;          // sentinel: this lane adds nothing to the histogram
constexpr int kSmallGroupSmemBytes = 46 * 1024;    // dynamic smem budget of the shared-memory path (+~1.2 KB static)
constexpr int kSmallLoadUnroll = 4;                // loads in flight per thread while filling shared memory
constexpr int kStreamBlock = 1024;                 // threads of the streaming path's CTA
constexpr int kStreamUnroll = 4;                   // tiles a streaming thread loads before it processes them

// ---------------------------------------------------------------------------------------------------------
// Keys, budgets, group geometry.

// Order-preserving map float -> uint32 for any float: x < y (as floats) iff key(x) < key(y). Non-negative
// floats get the sign bit set; negative ones are bit-inverted. -0 is mapped like +0 so that the two tie, as
// they do as floats. NaNs land beyond +inf (or below -inf); the estimate has none.
__device__ __forceinline__ uint32_t ordered_key(float x) {
  uint32_t u = __float_as_uint(x);
  if (x == 0.0f) u = 0u;
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Values the launcher derives once from the parameters (host arithmetic identical to the reference's).
struct TopkDerived {
  int32_t W = 0;                      // words per row, ceil(K / 32)
  int32_t k_pad = 1;                  // smallest power of two >= K
  int32_t k_pad_log2 = 0;
  uint64_t k_magic = 0;               // ceil(2^32 / K): i / K = (i · k_magic) >> 32 for the small path's i
  double row_budget_numerator = 0;    // query: k·K·o; causal_batch: H·k·K·o (budget = round(this / L_t))
  int64_t fixed_budget = 0;           // head: round(k·K·o), batch: round(H·k·K·o), clamped to [1, group size]
};

// One group's cells: rows (a, b), a in [0, A) outer, b in [0, B) inner, K cells each. Row (a, b) starts at
// estimate element est_base + a·est_stride_a + b·est_stride_b and its words at kept_bits word
// out_base + a·out_stride_a + b·out_stride_b; its L_t is row_len[row_len_base + b]. Flat index within the
// group: (a·B + b)·K + c.
//   query         g = (n·H + h)·T + t   A = 1, B = 1
//   causal_batch  g = n·T + t           A = H (heads), B = 1
//   head          g = n·H + h           A = 1, B = T
//   batch         g = n                 A = H, B = T
struct GroupGeometry {
  int64_t est_base = 0, est_stride_a = 0, est_stride_b = 0;
  int64_t out_base = 0, out_stride_a = 0, out_stride_b = 0;
  int64_t row_len_base = 0;
  int32_t A = 1, B = 1;
};

// g < 2^31 and H·T < 2^31 (the wrapper checks the number of groups), so the divisions are 32-bit.
__device__ GroupGeometry group_geometry(const TopkMaskParams& p, int64_t W, int64_t g) {
  const int64_t H = p.H, T = p.T;
  const auto g32 = static_cast<uint32_t>(g), H32 = static_cast<uint32_t>(H), T32 = static_cast<uint32_t>(T);
  const Strides4& s = p.estimate_strides;
  GroupGeometry q;
  switch (p.mode) {
    case TopkMode::Query: {
      const uint32_t ht32 = g32 % (H32 * T32);
      const int64_t n = g32 / (H32 * T32), h = ht32 / T32, t = ht32 % T32;
      q.est_base = n * s.n + h * s.h + t * s.t;
      q.out_base = g * W;
      q.row_len_base = n * T + t;
      break;
    }
    case TopkMode::CausalBatch: {
      const int64_t n = g32 / T32, t = g32 % T32;
      q.est_base = n * s.n + t * s.t;
      q.est_stride_a = s.h;
      q.out_base = (n * H * T + t) * W;
      q.out_stride_a = T * W;
      q.row_len_base = n * T + t;
      q.A = static_cast<int32_t>(H);
      break;
    }
    case TopkMode::Head: {
      const int64_t n = g32 / H32, h = g32 % H32;
      q.est_base = n * s.n + h * s.h;
      q.est_stride_b = s.t;
      q.out_base = g * T * W;
      q.out_stride_b = W;
      q.row_len_base = n * T;
      q.B = static_cast<int32_t>(T);
      break;
    }
    case TopkMode::Batch: {
      const int64_t n = g;
      q.est_base = n * s.n;
      q.est_stride_a = s.h;
      q.est_stride_b = s.t;
      q.out_base = n * H * T * W;
      q.out_stride_a = T * W;
      q.out_stride_b = W;
      q.row_len_base = n * T;
      q.A = static_cast<int32_t>(H);
      q.B = static_cast<int32_t>(T);
      break;
    }
  }
  return q;
}

// Budget of a group of `group_size` cells whose row has L visible keys (query, causal_batch): the reference's
// round(numerator / L) (double, half to even) clamped to [1, group_size]; 0 for a padded row (L = 0).
__device__ __forceinline__ int64_t row_scaled_budget(double numerator, int32_t L, int64_t group_size) {
  if (L <= 0) return 0;
  double b = rint(numerator / static_cast<double>(L));
  b = fmin(fmax(b, 1.0), static_cast<double>(group_size));
  return static_cast<int64_t>(b);
}

// Word w (of W) of a row of K cells with every cell kept: the bits past K stay 0.
__device__ __forceinline__ uint32_t full_word(int w, int W, int K) {
  return (w < W - 1 || (K & 31) == 0) ? kFullMask : ((1u << (K & 31)) - 1u);
}

// ---------------------------------------------------------------------------------------------------------
// Team-wide building blocks. A team is the threads that select one group: a whole CTA (TEAM = blockDim.x)
// or one warp (TEAM = 32, several teams per CTA, then nothing here touches another warp). Every thread of
// the team must call each of them (team-uniform control flow); `rank` is the thread's index in its team.

template <int TEAM>
__device__ __forceinline__ void team_sync() {
  if constexpr (TEAM == 32) {
    __syncwarp();
  } else {
    __syncthreads();
  }
}

template <int TEAM>
__device__ __forceinline__ int team_rank() {
  return static_cast<int>(threadIdx.x) % TEAM;
}

// Inclusive prefix sum of v over the team's threads in rank order; `total` gets the team's sum. Ends with a
// team barrier, so warp_totals (32 words of shared memory, unused when TEAM = 32) may be reused right after.
template <int TEAM>
__device__ uint32_t team_inclusive_sum(uint32_t v, uint32_t* warp_totals, uint32_t& total) {
  constexpr int kWarps = TEAM / 32;
  const int lane = threadIdx.x & 31, warp = team_rank<TEAM>() >> 5;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const uint32_t up = __shfl_up_sync(kFullMask, v, o);
    if (lane >= o) v += up;
  }
  if constexpr (kWarps == 1) {
    total = __shfl_sync(kFullMask, v, 31);
    __syncwarp();
    return v;
  } else {
    if (lane == 31) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
      uint32_t w = lane < kWarps ? warp_totals[lane] : 0u;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const uint32_t up = __shfl_up_sync(kFullMask, w, o);
        if (lane >= o) w += up;
      }
      __syncwarp();  // every lane has read warp_totals before any lane overwrites it
      if (lane < kWarps) warp_totals[lane] = w;  // inclusive sums of the warp totals
    }
    __syncthreads();
    const uint32_t offset = warp > 0 ? warp_totals[warp - 1] : 0u;
    total = warp_totals[kWarps - 1];
    __syncthreads();
    return v + offset;
  }
}

// Exclusive prefix sum, in place, of values[0, count) in shared memory. Ends with a team barrier.
template <int TEAM>
__device__ void team_exclusive_scan_in_place(uint32_t* values, int count, uint32_t* warp_totals) {
  const int per_thread = (count + TEAM - 1) / TEAM;
  const int lo = min(count, team_rank<TEAM>() * per_thread), hi = min(count, lo + per_thread);
  uint32_t sum = 0;
  for (int j = lo; j < hi; ++j) sum += values[j];
  uint32_t total;
  uint32_t running = team_inclusive_sum<TEAM>(sum, warp_totals, total) - sum;
  for (int j = lo; j < hi; ++j) {
    const uint32_t v = values[j];
    values[j] = running;
    running += v;
  }
  team_sync<TEAM>();
}

// Counts one key's digit in the shared histogram (kNoDigit: the key is not a candidate). Plain per-lane
// shared atomics: measured on an H100 faster than warp-aggregated ones (__match_any_sync) even when every
// lane of a warp hits the same bin, as in the first pass over keys that share their leading byte.
__device__ __forceinline__ void histogram_add(uint32_t* hist, uint32_t digit) {
  if (digit != kNoDigit) atomicAdd(&hist[digit], 1u);
}

struct DigitChoice {
  uint32_t digit;      // the wanted key's digit
  uint32_t remaining;  // the wanted key's rank (1 = largest) among the candidates with that digit
  uint32_t bin_count;  // how many candidates have that digit
};

// One radix-select step. hist[d] counts the candidates (keys whose higher digits equal the prefix chosen so
// far) whose current digit is d; `remaining` (1 <= remaining <= number of candidates) is the rank from the
// top of the wanted key among them. The wanted digit d is the one bin where (candidates with a larger
// digit) < remaining <= (candidates with a digit >= d); the bins' (above, above + count] intervals partition
// (0, candidates], so exactly one thread finds it. Rank j owns bins [j·b, (j+1)·b), b = 256 / min(TEAM, 256),
// so higher ranks hold higher digits and "above" starts from the team sum over higher ranks.
template <int TEAM>
__device__ DigitChoice team_choose_digit(const uint32_t* hist, uint32_t remaining, uint32_t* warp_totals,
                                         DigitChoice* shared_choice) {
  constexpr int kOwners = TEAM < kRadixBins ? TEAM : kRadixBins;
  constexpr int kBinsPerThread = kRadixBins / kOwners;
  const int rank = team_rank<TEAM>();
  uint32_t counts[kBinsPerThread];
  uint32_t mine = 0;
#pragma unroll
  for (int j = 0; j < kBinsPerThread; ++j) {
    counts[j] = rank < kOwners ? hist[rank * kBinsPerThread + j] : 0u;
    mine += counts[j];
  }
  uint32_t total;
  const uint32_t inclusive = team_inclusive_sum<TEAM>(mine, warp_totals, total);
  uint32_t above = total - inclusive;  // candidates in the bins of higher ranks, i.e. with larger digits
#pragma unroll
  for (int j = kBinsPerThread - 1; j >= 0; --j) {
    if (above < remaining && remaining <= above + counts[j]) {
      *shared_choice = DigitChoice{static_cast<uint32_t>(rank * kBinsPerThread + j), remaining - above, counts[j]};
    }
    above += counts[j];
  }
  team_sync<TEAM>();
  // The next write to *shared_choice (next step) comes after the next pass's team_sync following the
  // histogram reset, which every thread reaches only after this read; the reset itself comes after this
  // step's barrier above, which every thread reaches only after reading hist.
  return *shared_choice;
}

// ---------------------------------------------------------------------------------------------------------
// Shared-memory path: query and causal_batch (B = 1), one team per group of S = A·K cells, GROUPS teams per
// CTA (GROUPS > 1 only for one-warp teams).
//
// Dynamic shared memory, per team (group_words 32-bit words): keys[S] (the group's ordered keys, flat index
// a·K + c) then word_ties[A·W] (tie counts per output word, used only when the threshold's ties are kept in
// part).
template <int TEAM, int GROUPS>
__global__ void __launch_bounds__(TEAM* GROUPS)
    topk_group_in_smem_kernel(const TopkMaskParams p, const TopkDerived d, int64_t num_groups, int group_words) {
  static_assert(TEAM == 32 || GROUPS == 1, "several teams per CTA only as one-warp teams");
  extern __shared__ uint32_t smem[];
  __shared__ uint32_t hist_of_team[GROUPS][kRadixBins];
  __shared__ uint32_t warp_totals[32];  // TEAM > 32 only (then GROUPS == 1)
  __shared__ DigitChoice choice_of_team[GROUPS];
  constexpr int kWarps = TEAM / 32;
  const int team = static_cast<int>(threadIdx.x) / TEAM;
  const int tid = team_rank<TEAM>(), lane = tid & 31, warp = tid >> 5;
  const int64_t g = static_cast<int64_t>(blockIdx.x) * GROUPS + team;
  if (g >= num_groups) return;  // the whole team leaves; no barrier wider than the team follows
  uint32_t* hist = hist_of_team[team];
  DigitChoice* choice = &choice_of_team[team];

  const GroupGeometry geo = group_geometry(p, d.W, g);
  const int K = static_cast<int>(p.K), W = d.W, A = geo.A;
  const int S = A * K;      // group size (< 2^14: the launcher sends larger groups to the streaming path)
  const int words = A * W;  // output words of the group, word wi = a·W + w
  int32_t* out = p.kept_bits + geo.out_base;
  const int64_t budget = row_scaled_budget(d.row_budget_numerator, p.row_len[geo.row_len_base], S);

  if (budget == 0 || budget >= S) {  // padded row (nothing kept) or every cell kept: no need to read
    for (int wi = tid; wi < words; wi += TEAM) {
      const int a = wi / W, w = wi - a * W;
      out[a * geo.out_stride_a + w] = static_cast<int32_t>(budget == 0 ? 0u : full_word(w, W, K));
    }
    return;
  }

  // Load the group once: cell i = a·K + c. a = i / K by multiply-high with m = ceil(2^32 / K), exact here:
  // i·(m·K − 2^32) < i·K < 2^32 for i, K < 2^14.
  uint32_t* keys = smem + team * group_words;
  uint32_t* word_ties = keys + S;
  const float* est = p.estimate + geo.est_base;
  for (int i0 = tid; i0 < S; i0 += kSmallLoadUnroll * TEAM) {
    float v[kSmallLoadUnroll];
#pragma unroll
    for (int u = 0; u < kSmallLoadUnroll; ++u) {
      const int i = i0 + u * TEAM;
      v[u] = 0.0f;
      if (i < S) {
        const int a = static_cast<int>((static_cast<uint64_t>(i) * d.k_magic) >> 32);
        const int c = i - a * K;
        v[u] = __ldg(est + a * geo.est_stride_a + c);
      }
    }
#pragma unroll
    for (int u = 0; u < kSmallLoadUnroll; ++u) {
      const int i = i0 + u * TEAM;
      if (i < S) keys[i] = ordered_key(v[u]);
    }
  }
  team_sync<TEAM>();

  // Radix select: after the loop, the kept cells are those with key >= threshold, except when
  // partial_ties: then those with key > threshold plus the first `remaining` (by flat index) equal to it.
  uint32_t prefix = 0, prefix_mask = 0, remaining = static_cast<uint32_t>(budget);
  bool partial_ties = false;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int j = tid; j < kRadixBins; j += TEAM) hist[j] = 0u;
    team_sync<TEAM>();
    for (int base = warp * 32; base < S; base += TEAM) {
      const int i = base + lane;
      uint32_t digit = kNoDigit;
      if (i < S) {
        const uint32_t key = keys[i];
        if ((key & prefix_mask) == prefix) digit = (key >> shift) & 0xFFu;
      }
      histogram_add(hist, digit);
    }
    team_sync<TEAM>();
    const DigitChoice c = team_choose_digit<TEAM>(hist, remaining, warp_totals, choice);
    prefix |= c.digit << shift;
    prefix_mask |= 0xFFu << shift;
    remaining = c.remaining;
    // The chosen bin is kept whole: every key >= prefix (undecided low bits zero) is kept, exactly `budget`.
    if (c.bin_count == remaining) break;
    if (shift == 0) partial_ties = true;  // the bin holds the keys equal to prefix; keep `remaining` of them
  }
  const uint32_t threshold = prefix;

  if (!partial_ties) {
    for (int wi = warp; wi < words; wi += kWarps) {  // one warp per output word
      const int a = wi / W, w = wi - a * W, c = w * 32 + lane;
      const bool keep = c < K && keys[a * K + c] >= threshold;
      const uint32_t bits = __ballot_sync(kFullMask, keep);
      if (lane == 0) out[a * geo.out_stride_a + w] = static_cast<int32_t>(bits);
    }
    return;
  }

  // Ties kept in part: rank each tie by flat index (words in order a·W + w, lanes in order within a word).
  for (int wi = warp; wi < words; wi += kWarps) {
    const int a = wi / W, w = wi - a * W, c = w * 32 + lane;
    const bool tie = c < K && keys[a * K + c] == threshold;
    const uint32_t tie_bits = __ballot_sync(kFullMask, tie);
    if (lane == 0) word_ties[wi] = static_cast<uint32_t>(__popc(tie_bits));
  }
  team_sync<TEAM>();
  team_exclusive_scan_in_place<TEAM>(word_ties, words, warp_totals);  // ties before each word
  const uint32_t lanes_below = (1u << lane) - 1u;
  for (int wi = warp; wi < words; wi += kWarps) {
    const int a = wi / W, w = wi - a * W, c = w * 32 + lane;
    const uint32_t key = c < K ? keys[a * K + c] : 0u;
    const bool tie = c < K && key == threshold;
    const uint32_t tie_bits = __ballot_sync(kFullMask, tie);
    const uint32_t rank = word_ties[wi] + static_cast<uint32_t>(__popc(tie_bits & lanes_below));
    const bool keep = (c < K && key > threshold) || (tie && rank < remaining);
    const uint32_t bits = __ballot_sync(kFullMask, keep);
    if (lane == 0) out[a * geo.out_stride_a + w] = static_cast<int32_t>(bits);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Streaming path: any mode, one CTA of BLOCK threads per group, reading the group from global memory.
//
// The group is walked in tiles, in flat-index order. With k_pad = the power of two >= K:
//   k_pad >= BLOCK ("wide"): a tile is BLOCK consecutive cells of one row, thread tid holds cell c0 + tid;
//   k_pad <  BLOCK:          a tile is BLOCK / k_pad whole rows, thread tid holds cell tid % k_pad of row
//                            b0 + tid / k_pad (cells c >= K idle).
// Either way thread order is flat order within a tile, tiles go a-major then by row then by column, and a
// warp's 32 lanes hold either 32 consecutive cells of one row starting at a multiple of 32 (k_pad >= 32: one
// output word) or 32 / k_pad whole rows (k_pad < 32, so K <= 16 and one word per row).
struct TileWalk {
  int c_lane, row_off, rows_per_tile, c_step;  // this thread's place in a tile, and the tile's extent
  int row_tiles, col_tiles;                     // tiles per a, per row
  int a = 0, rt = 0, ct = 0;                    // the cursor: tile (a, rt, ct)

  __device__ TileWalk(int K, int B, int k_pad, int k_pad_log2, int block) {
    const bool wide = k_pad >= block;
    c_lane = wide ? static_cast<int>(threadIdx.x) : static_cast<int>(threadIdx.x) & (k_pad - 1);
    row_off = wide ? 0 : static_cast<int>(threadIdx.x) >> k_pad_log2;
    rows_per_tile = wide ? 1 : block >> k_pad_log2;
    c_step = wide ? block : k_pad;
    row_tiles = (B + rows_per_tile - 1) / rows_per_tile;
    col_tiles = (K + c_step - 1) / c_step;
  }
  __device__ int row() const { return rt * rows_per_tile + row_off; }  // b of this thread's cell
  __device__ int col() const { return ct * c_step + c_lane; }          // c of this thread's cell
  __device__ void next() {
    if (++ct == col_tiles) {
      ct = 0;
      if (++rt == row_tiles) {
        rt = 0;
        ++a;
      }
    }
  }
};

template <int BLOCK, int UNROLL>
__global__ void __launch_bounds__(BLOCK) topk_group_streaming_kernel(const TopkMaskParams p, const TopkDerived d) {
  __shared__ uint32_t hist[kRadixBins];
  __shared__ uint32_t warp_totals[32];
  __shared__ DigitChoice choice;
  const int tid = threadIdx.x, lane = tid & 31;

  const GroupGeometry geo = group_geometry(p, d.W, blockIdx.x);
  const int K = static_cast<int>(p.K), A = geo.A, B = geo.B, k_pad = d.k_pad;
  const int32_t* row_len = p.row_len + geo.row_len_base;  // row b's L_t is row_len[b]
  const float* est = p.estimate + geo.est_base;
  int32_t* out = p.kept_bits + geo.out_base;

  // Valid rows (L_t > 0) and the group's budget among their cells.
  uint32_t mine = 0;
  for (int b = tid; b < B; b += BLOCK) mine += row_len[b] > 0 ? 1u : 0u;
  uint32_t valid_rows;
  team_inclusive_sum<BLOCK>(mine, warp_totals, valid_rows);
  const int64_t valid_cells = static_cast<int64_t>(valid_rows) * A * K;
  int64_t budget;
  if (p.mode == TopkMode::Head || p.mode == TopkMode::Batch) {
    budget = d.fixed_budget < valid_cells ? d.fixed_budget : valid_cells;  // padded rows' cells rank last
  } else {
    budget = row_scaled_budget(d.row_budget_numerator, row_len[0], static_cast<int64_t>(A) * K);  // B == 1
  }
  const bool keep_all = budget >= valid_cells;  // also true when nothing is valid (budget 0)
  const TileWalk first_tile(K, B, k_pad, d.k_pad_log2, BLOCK);  // a cursor at tile 0, copied for each pass
  const int64_t tiles = static_cast<int64_t>(A) * first_tile.row_tiles * first_tile.col_tiles;

  // Radix select over the valid cells (skipped when the group keeps all or nothing).
  uint32_t prefix = 0, prefix_mask = 0, remaining = static_cast<uint32_t>(keep_all ? 0 : budget);
  bool partial_ties = false;
  if (!keep_all) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int j = tid; j < kRadixBins; j += BLOCK) hist[j] = 0u;
      __syncthreads();
      TileWalk walk = first_tile;
      for (int64_t q0 = 0; q0 < tiles; q0 += UNROLL) {
        uint32_t key[UNROLL];
        bool active[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
          const int b = walk.row(), c = walk.col();
          active[u] = q0 + u < tiles && b < B && c < K && row_len[b] > 0;
          key[u] = active[u] ? ordered_key(__ldg(est + walk.a * geo.est_stride_a + b * geo.est_stride_b + c)) : 0u;
          walk.next();
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
          const bool candidate = active[u] && (key[u] & prefix_mask) == prefix;
          histogram_add(hist, candidate ? (key[u] >> shift) & 0xFFu : kNoDigit);
        }
      }
      __syncthreads();
      const DigitChoice c = team_choose_digit<BLOCK>(hist, remaining, warp_totals, &choice);
      prefix |= c.digit << shift;
      prefix_mask |= 0xFFu << shift;
      remaining = c.remaining;
      if (c.bin_count == remaining) break;  // see the shared-memory path
      if (shift == 0) partial_ties = true;
    }
  }
  const uint32_t threshold = prefix;

  // Write every word of the group (padded rows' too), in flat order, carrying the tie count across tiles.
  uint32_t ties_before = 0;  // ties in earlier tiles (partial_ties only)
  TileWalk walk = first_tile;
  for (int64_t q0 = 0; q0 < tiles; q0 += UNROLL) {
    uint32_t key[UNROLL];
    bool active[UNROLL];
    int tile_a[UNROLL], tile_b[UNROLL], tile_c[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const int b = walk.row(), c = walk.col();
      tile_a[u] = walk.a;
      tile_b[u] = b;
      tile_c[u] = c;
      active[u] = q0 + u < tiles && b < B && c < K && row_len[b] > 0;
      key[u] = active[u] && !keep_all ? ordered_key(__ldg(est + walk.a * geo.est_stride_a + b * geo.est_stride_b + c))
                                      : 0u;
      walk.next();
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      if (q0 + u >= tiles) break;  // block-uniform
      bool keep;
      if (keep_all) {
        keep = active[u] && budget > 0;
      } else if (!partial_ties) {
        keep = active[u] && key[u] >= threshold;
      } else {
        const bool tie = active[u] && key[u] == threshold;
        uint32_t tile_ties;
        const uint32_t rank = ties_before + team_inclusive_sum<BLOCK>(tie ? 1u : 0u, warp_totals, tile_ties) -
                              (tie ? 1u : 0u);
        ties_before += tile_ties;
        keep = (active[u] && key[u] > threshold) || (tie && rank < remaining);
      }
      const uint32_t bits = __ballot_sync(kFullMask, keep);
      const int b = tile_b[u], c = tile_c[u];
      int32_t* row_words = out + tile_a[u] * geo.out_stride_a + b * geo.out_stride_b;
      if (k_pad >= 32) {  // lane 0 holds the word's first cell
        if (lane == 0 && b < B && c < K) row_words[c >> 5] = static_cast<int32_t>(bits);
      } else {  // the lane holding cell 0 of a row writes that row's only word
        if (c == 0 && b < B) row_words[0] = static_cast<int32_t>((bits >> lane) & ((1u << k_pad) - 1u));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Launch.

template <int TEAM, int GROUPS>
cudaError_t launch_in_smem(const TopkMaskParams& p, const TopkDerived& d, int64_t groups, int group_words,
                           cudaStream_t stream) {
  const int64_t ctas = (groups + GROUPS - 1) / GROUPS;
  const size_t smem_bytes = static_cast<size_t>(GROUPS) * group_words * sizeof(uint32_t);
  topk_group_in_smem_kernel<TEAM, GROUPS>
      <<<static_cast<unsigned>(ctas), TEAM * GROUPS, smem_bytes, stream>>>(p, d, groups, group_words);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_topk_mask(const TopkMaskParams& p, cudaStream_t stream) {
  if (p.N <= 0 || p.H <= 0 || p.T <= 0 || p.K <= 0) return cudaSuccess;  // an empty output: nothing to write
  TopkDerived d;
  d.W = static_cast<int32_t>((p.K + 31) / 32);
  d.k_magic = ((uint64_t{1} << 32) + static_cast<uint64_t>(p.K) - 1) / static_cast<uint64_t>(p.K);
  while (d.k_pad < p.K) {
    d.k_pad <<= 1;
    ++d.k_pad_log2;
  }
  // The reference's expressions, operand for operand (topk_mask.cpp: row_budget, fixed_budget).
  if (p.mode == TopkMode::Query) d.row_budget_numerator = p.k * p.K * p.k_oversample;
  if (p.mode == TopkMode::CausalBatch) d.row_budget_numerator = static_cast<double>(p.H) * p.k * p.K * p.k_oversample;
  if (p.mode == TopkMode::Head) {
    d.fixed_budget = static_cast<int64_t>(
        std::clamp(std::nearbyint(p.k * p.K * p.k_oversample), 1.0, static_cast<double>(p.T * p.K)));
  }
  if (p.mode == TopkMode::Batch) {
    d.fixed_budget = static_cast<int64_t>(
        std::clamp(std::nearbyint(p.H * p.k * p.K * p.k_oversample), 1.0, static_cast<double>(p.H * p.T * p.K)));
  }

  int64_t groups = 0, rows = 1;  // rows: A of the shared-memory path
  switch (p.mode) {
    case TopkMode::Query: groups = p.N * p.H * p.T; break;
    case TopkMode::CausalBatch: groups = p.N * p.T; rows = p.H; break;
    case TopkMode::Head: groups = p.N * p.H; break;
    case TopkMode::Batch: groups = p.N; break;
  }
  if (p.mode == TopkMode::Query || p.mode == TopkMode::CausalBatch) {
    const int64_t group_size = rows * p.K;
    const int64_t group_words = group_size + rows * d.W;
    if (group_words * static_cast<int64_t>(sizeof(uint32_t)) <= kSmallGroupSmemBytes) {
      const int words = static_cast<int>(group_words);
      // Team sizes measured on an H100 (N = 1, H = 12, T up to 65536, K = 64 and 256): one-warp teams, four
      // per CTA, up to 1024 cells (query K <= 1024, causal_batch H·K = 768); then CTA-wide teams of about 24
      // cells per thread (causal_batch H·K = 3072: 128 threads).
      // (group_words <= 2·group_size since W <= K, so four one-warp teams take at most 32 KB of the 48.)
      if (group_size <= 1024 && 4 * group_words * static_cast<int64_t>(sizeof(uint32_t)) <= kSmallGroupSmemBytes) {
        return launch_in_smem<32, 4>(p, d, groups, words, stream);
      }
      if (group_size <= 1024) return launch_in_smem<32, 1>(p, d, groups, words, stream);
      if (group_size <= 3072) return launch_in_smem<128, 1>(p, d, groups, words, stream);
      if (group_size <= 6144) return launch_in_smem<256, 1>(p, d, groups, words, stream);
      return launch_in_smem<512, 1>(p, d, groups, words, stream);
    }
  }
  topk_group_streaming_kernel<kStreamBlock, kStreamUnroll>
      <<<static_cast<unsigned>(groups), kStreamBlock, 0, stream>>>(p, d);
  return cudaGetLastError();
}

}  // namespace sea::kernels
