// sparse_attention_fwd_tiled.cu — SEA's sparse attention forward for bf16/fp16, tiled: a block of 64 query
// rows of one (n, h) shares every key/value tile that any of its rows needs, and computes scores and the
// weighted sum of values with tensor-core products (mma.sync m16n8k16, fp32 accumulation).
//
//  1. The block reads its 64 rows' kept-cell bits and marks, in a shared bitmask, each 64-rank key tile that
//     a kept run of any row touches (ranks are shared by all rows of a sample: rank r is the same key for
//     every row that sees it, so tiles are in rank space and padding is only a gather, rank_to_key).
//  2. For each marked tile, in order, with the next tile's K and V rows already in flight (cp.async, two
//     stages): each warp (16 rows) computes S = Q·Kᵀ for the tile, masks it with its rows' kept ranks (a
//     64-bit mask per row and tile, from a cursor over the row's kept runs), updates an online softmax in fp32 (log2
//     domain), and adds P·V, with P rounded to the input type as the A operand (as FlashAttention does).
//     A warp whose 16 rows keep nothing in the tile skips it.
//  3. Each row writes σ · O / l, its log2-sum-exp2 and the unscaled fp32 output, exactly as the row kernel
//     (sparse_attention_fwd.cu) does, so the backward reads either forward's outputs.
//
// K/V traffic is the union of the block's kept keys (rounded out to tiles) instead of the sum of its rows'
// keys: the saving is sea-bench's "rows per kept key" figure for 64-row blocks. Used for bf16/fp16 without
// k_oversample thinning (launch_sparse_attention_forward picks it); fp32 keeps the row kernel, whose fp32
// products tensor cores would only give in TF32.
#include <climits>
#include <type_traits>

#include "sparse_attention/sparse_attention_common.cuh"

namespace sea::kernels {
namespace sparse {
namespace {

constexpr int kRows = 64;          // query rows per block (4 warps × 16)
constexpr int kWarps = kRows / 16;
constexpr int kTileKeys = 64;      // key ranks per tile
constexpr int kThreads = kWarps * 32;

// Fragment-level wrappers. Layouts are PTX's for mma.m16n8k16 (A row-major 16×16, B col-major 16×8, C 16×8):
// with g = lane / 4 and q = lane % 4, a thread holds C rows g and g + 8, columns 2q and 2q + 1.
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Four 8×8 b16 matrices from shared memory; lane i gives the address of row i % 8 of matrix i / 8.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* smem_row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// 16 bytes global -> shared, asynchronously; zero-filled when !valid (src is then not read).
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, bool valid) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(addr), "l"(gmem), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending)); }

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  uint32_t r;
  T* h = reinterpret_cast<T*>(&r);
  h[0] = from_float<T>(lo);
  h[1] = from_float<T>(hi);
  return r;
}

// Sets bits [lo, hi) of a shared bitmask (atomically: several rows mark the same words).
__device__ __forceinline__ void mark_range(uint32_t* words, int lo, int hi) {
  while (lo < hi) {
    const int w = lo >> 5, b = lo & 31;
    const int n = min(32 - b, hi - lo);
    atomicOr(&words[w], (n == 32 ? 0xffffffffu : ((1u << n) - 1u)) << b);
    lo += n;
  }
}

// cell_start (sparse_attention_common.cuh) in 32-bit arithmetic, exact when (2T + 1)·K < 2^32
// (`narrow`, decided once per launch), else in 64-bit, out of line.
__device__ __noinline__ int cell_start_wide(int c, int L, int K) { return cell_start(c, L, K); }
__device__ __forceinline__ int cell_start_n(int c, int L, int K, bool narrow) {
  return narrow ? static_cast<int>((2u * L * c + K) / (2u * K)) : cell_start_wide(c, L, K);
}

// A row's kept runs of ranks, visited in increasing order as the block walks its tiles: [r0, r1) is the
// current run (r0 = INT_MAX once the row has none left), `from` the first cell not yet looked at. Each run's
// bounds are computed once, so a tile's mask costs a few comparisons, not divisions.
struct RunCursor {
  int r0 = INT_MAX, r1 = INT_MAX, from = 0;

  // Out of line: called once per run, and inlined its loops would claim registers in the tile loop.
  __device__ __noinline__ void advance(const uint32_t* bits, int W, int K, int L, bool narrow) {
    r0 = r1 = INT_MAX;
    while (from < K) {
      const int c = next_cell(bits, W, K, from, true);
      if (c >= K) {
        from = K;
        return;
      }
      const int e = next_cell(bits, W, K, c + 1, false);
      from = e;
      const int a = cell_start_n(c, L, K, narrow), b = cell_start_n(e, L, K, narrow);
      if (b > a) {  // cells are empty when L < K
        r0 = a, r1 = b;
        return;
      }
    }
  }

  // Bit i set <=> rank j0 + i is kept, for i in [0, 64). Tiles must come in increasing order and include
  // every tile the row's runs touch (the block's tile list does).
  __device__ __forceinline__ uint64_t tile_mask(const uint32_t* bits, int W, int K, int L, bool narrow, int j0) {
    const int j1 = j0 + kTileKeys;
    uint64_t mask = 0;
    while (r0 < j1) {
      const int lo = max(r0, j0) - j0, hi = min(r1, j1) - j0;
      if (hi > lo) mask |= (hi - lo == 64 ? ~0ull : ((1ull << (hi - lo)) - 1ull)) << lo;
      if (r1 > j1) break;
      advance(bits, W, K, L, narrow);
    }
    return mask;
  }
};

template <int D>
struct TiledShape {
  static constexpr int kStride = D + 8;                      // shared row stride (elements): 16 B of padding
  static constexpr int kTileElems = kTileKeys * kStride;     // one K or V tile
  static constexpr int kStageElems = 2 * kTileElems;         // K then V
  static constexpr int kChunksPerRow = D / 8;                // 16-byte chunks per key row
  static constexpr int kKSteps = D / 16;                     // mma k-steps of Q·Kᵀ
  static constexpr int kDBlocks = D / 8;                     // n-blocks of P·V
};

// Dynamic shared memory: [2 stages of K, V tiles (2-byte elements)][row bits kRows·W][row_len kRows][tile
// bits][tile list]. The tile list grows with T (4 bytes per 64 keys): 64 KB at T = 2^20.
size_t tiled_smem_bytes(int D, int T, int W) {
  const int64_t tiles = (static_cast<int64_t>(T) + kTileKeys - 1) / kTileKeys;
  const int64_t words = (tiles + 31) / 32;
  const int64_t stages = 2 * 2 * static_cast<int64_t>(kTileKeys) * (D + 8) * 2;
  return static_cast<size_t>(stages + static_cast<int64_t>(kRows) * W * 4 + kRows * 4 + words * 4 + tiles * 4 + 16);
}

// The most dynamic shared memory one block may take on sm_90 (227 KB).
constexpr size_t kMaxSmemBytes = 227 * 1024;

// Blocks per SM the register budget is sized for: 4 (≤ 128 registers) up to D = 64, 2 at D = 128, whose
// output accumulators alone take 64 registers.
template <int D>
constexpr int kMinBlocksPerSm = D <= 64 ? 4 : 2;

template <typename T, int D>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm<D>)
    sparse_attention_forward_tiled_kernel(const SparseAttentionForwardParams p) {
  using Shape = TiledShape<D>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* kv = reinterpret_cast<T*>(smem_raw);
  uint32_t* row_bits = reinterpret_cast<uint32_t*>(kv + 2 * Shape::kStageElems);
  int* row_L = reinterpret_cast<int*>(row_bits + kRows * p.W);
  const int n_tiles = (p.T + kTileKeys - 1) / kTileKeys;
  const int n_words = (n_tiles + 31) / 32;
  uint32_t* tile_bits = reinterpret_cast<uint32_t*>(row_L + kRows);
  int* tile_list = reinterpret_cast<int*>(tile_bits + n_words);
  __shared__ int s_tile_count, s_max_len;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  // Later query blocks first: under a causal mask they see the most keys.
  const int t0 = (gridDim.x - 1 - blockIdx.x) * kRows;
  const int h = blockIdx.y, n = blockIdx.z;
  const int64_t row0 = (static_cast<int64_t>(n) * p.H + h) * p.T + t0;

  // ---- 1. the block's rows and the union of their kept key tiles ----
  for (int i = tid; i < n_words; i += kThreads) tile_bits[i] = 0;
  for (int i = tid; i < kRows * p.W; i += kThreads) {
    const int r = i / p.W;
    row_bits[i] = t0 + r < p.T ? p.kept_bits[(row0 + r) * p.W + i % p.W] : 0u;
  }
  for (int r = tid; r < kRows; r += kThreads) row_L[r] = t0 + r < p.T ? p.row_len[static_cast<int64_t>(n) * p.T + t0 + r] : 0;
  if (tid == 0) s_tile_count = 0, s_max_len = 0;
  __syncthreads();
  if (tid < kRows && row_L[tid] > 0) {
    const int L = row_L[tid];
    int last = 0;
    for_each_kept_run(row_bits + tid * p.W, p.W, p.K, L, [&](int r0, int r1) {
      mark_range(tile_bits, r0 / kTileKeys, (r1 - 1) / kTileKeys + 1);
      last = r1;
    });
    if (last > 0) atomicMax(&s_max_len, last);
  }
  __syncthreads();
  if (warp == 0) {  // compact the marked tiles into an ordered list (a warp-wide prefix sum of popcounts)
    int base = 0;
    for (int w0 = 0; w0 < n_words; w0 += 32) {
      const int w = w0 + lane;
      uint32_t word = w < n_words ? tile_bits[w] : 0u;
      const int count = __popc(word);
      int incl = count;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const int other = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += other;
      }
      int pos = base + incl - count;
      while (word) {
        tile_list[pos++] = w * 32 + __ffs(word) - 1;
        word &= word - 1;
      }
      base += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0) s_tile_count = base;
  }
  __syncthreads();
  const int tile_count = s_tile_count, max_len = s_max_len;

  // K and V rows of tile `tile` into stage `stage`; ranks at or past max_len are zero-filled.
  auto load_tile = [&](int tile, int stage) {
    T* k_dst = kv + stage * Shape::kStageElems;
    T* v_dst = k_dst + Shape::kTileElems;
    for (int i = tid; i < kTileKeys * Shape::kChunksPerRow; i += kThreads) {
      const int key = i / Shape::kChunksPerRow, chunk = i % Shape::kChunksPerRow;
      const int rank = tile * kTileKeys + key;
      const bool valid = rank < max_len;
      const int pos = valid ? key_position(p.rank_to_key, n, p.T, rank) : 0;
      cp_async_16(k_dst + key * Shape::kStride + chunk * 8, row_ptr<T>(p.k, p.k_stride, n, h, pos) + chunk * 8, valid);
      cp_async_16(v_dst + key * Shape::kStride + chunk * 8, row_ptr<T>(p.v, p.v_stride, n, h, pos) + chunk * 8, valid);
    }
  };
  if (tile_count > 0) load_tile(tile_list[0], 0);
  cp_async_commit();

  // ---- 2. this warp's 16 rows: Q fragments, online softmax state, output accumulators ----
  const int g = lane >> 2, qd = lane & 3;
  const int ra = warp * 16 + g, rb = ra + 8;  // the thread's two rows inside the block
  const int La = row_L[ra], Lb = row_L[rb];
  uint32_t qf[Shape::kKSteps][4];
  {
    const T* qa = row_ptr<T>(p.q, p.q_stride, n, h, min(t0 + ra, p.T - 1));
    const T* qb = row_ptr<T>(p.q, p.q_stride, n, h, min(t0 + rb, p.T - 1));
    const bool va = t0 + ra < p.T, vb = t0 + rb < p.T;
#pragma unroll
    for (int kk = 0; kk < Shape::kKSteps; ++kk) {
      const int c = kk * 16 + 2 * qd;
      qf[kk][0] = va ? *reinterpret_cast<const uint32_t*>(qa + c) : 0u;
      qf[kk][1] = vb ? *reinterpret_cast<const uint32_t*>(qb + c) : 0u;
      qf[kk][2] = va ? *reinterpret_cast<const uint32_t*>(qa + c + 8) : 0u;
      qf[kk][3] = vb ? *reinterpret_cast<const uint32_t*>(qb + c + 8) : 0u;
    }
  }
  float o[Shape::kDBlocks][4];
#pragma unroll
  for (int d = 0; d < Shape::kDBlocks; ++d) o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.f;
  float m_a = -INFINITY, m_b = -INFINITY, l_a = 0.f, l_b = 0.f;
  const float score_scale = p.scale * kLog2e;
  const bool narrow = (2ll * p.T + 1) * p.K < (1ll << 32);
  RunCursor cur_a, cur_b;
  if (La > 0) cur_a.advance(row_bits + ra * p.W, p.W, p.K, La, narrow);
  if (Lb > 0) cur_b.advance(row_bits + rb * p.W, p.W, p.K, Lb, narrow);

  for (int it = 0; it < tile_count; ++it) {
    if (it + 1 < tile_count) load_tile(tile_list[it + 1], (it + 1) & 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();

    const int j0 = tile_list[it] * kTileKeys;
    const uint64_t keep_a = cur_a.tile_mask(row_bits + ra * p.W, p.W, p.K, La, narrow, j0);
    const uint64_t keep_b = cur_b.tile_mask(row_bits + rb * p.W, p.W, p.K, Lb, narrow, j0);
    if (__any_sync(0xffffffffu, (keep_a | keep_b) != 0)) {
      const T* k_s = kv + (it & 1) * Shape::kStageElems;
      const T* v_s = k_s + Shape::kTileElems;

      // S = Q·Kᵀ: 8 n-blocks of 8 keys; ldmatrix x4 gives two n-blocks' B fragments per k-step.
      float s[8][4];
#pragma unroll
      for (int nb = 0; nb < 8; ++nb) s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < Shape::kKSteps; ++kk) {
#pragma unroll
        for (int nb = 0; nb < 8; nb += 2) {
          const int m = lane >> 3;  // matrix: (n-block nb + m/2, k half m%2)
          const int key = (nb + (m >> 1)) * 8 + (lane & 7);
          uint32_t b[4];
          ldmatrix_x4(b, k_s + key * Shape::kStride + kk * 16 + (m & 1) * 8);
          mma_16816<T>(s[nb], qf[kk], b[0], b[1]);
          mma_16816<T>(s[nb + 1], qf[kk], b[2], b[3]);
        }
      }

      // Mask, online softmax (log2 domain).
      float mx_a = -INFINITY, mx_b = -INFINITY;
#pragma unroll
      for (int nb = 0; nb < 8; ++nb) {
        const int c = nb * 8 + 2 * qd;
        s[nb][0] = (keep_a >> c) & 1 ? s[nb][0] * score_scale : -INFINITY;
        s[nb][1] = (keep_a >> (c + 1)) & 1 ? s[nb][1] * score_scale : -INFINITY;
        s[nb][2] = (keep_b >> c) & 1 ? s[nb][2] * score_scale : -INFINITY;
        s[nb][3] = (keep_b >> (c + 1)) & 1 ? s[nb][3] * score_scale : -INFINITY;
        mx_a = fmaxf(mx_a, fmaxf(s[nb][0], s[nb][1]));
        mx_b = fmaxf(mx_b, fmaxf(s[nb][2], s[nb][3]));
      }
#pragma unroll
      for (int off = 1; off < 4; off <<= 1) {
        mx_a = fmaxf(mx_a, __shfl_xor_sync(0xffffffffu, mx_a, off));
        mx_b = fmaxf(mx_b, __shfl_xor_sync(0xffffffffu, mx_b, off));
      }
      const float new_a = fmaxf(m_a, mx_a), new_b = fmaxf(m_b, mx_b);
      const float use_a = new_a == -INFINITY ? 0.f : new_a, use_b = new_b == -INFINITY ? 0.f : new_b;
      const float alpha_a = exp2f(m_a - use_a), alpha_b = exp2f(m_b - use_b);
      m_a = new_a, m_b = new_b;
      l_a *= alpha_a, l_b *= alpha_b;
#pragma unroll
      for (int d = 0; d < Shape::kDBlocks; ++d) {
        o[d][0] *= alpha_a, o[d][1] *= alpha_a;
        o[d][2] *= alpha_b, o[d][3] *= alpha_b;
      }
#pragma unroll
      for (int nb = 0; nb < 8; ++nb) {
        s[nb][0] = exp2f(s[nb][0] - use_a), s[nb][1] = exp2f(s[nb][1] - use_a);
        s[nb][2] = exp2f(s[nb][2] - use_b), s[nb][3] = exp2f(s[nb][3] - use_b);
        l_a += s[nb][0] + s[nb][1];
        l_b += s[nb][2] + s[nb][3];
      }

      // O += P·V: the C fragments of two n-blocks are the A fragment of one 16-key k-step.
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        uint32_t a[4];
        a[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
        a[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
        a[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        a[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
        for (int d = 0; d < Shape::kDBlocks; d += 2) {
          const int m = lane >> 3;  // matrix: (key half m%2, d-block d + m/2), transposed
          const int key = kk * 16 + (m & 1) * 8 + (lane & 7);
          uint32_t b[4];
          ldmatrix_x4_trans(b, v_s + key * Shape::kStride + (d + (m >> 1)) * 8);
          mma_16816<T>(o[d], a, b[0], b[1]);
          mma_16816<T>(o[d + 1], a, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this stage before the next iteration refills it
  }
  cp_async_wait<0>();

  // ---- 3. normalise, scale by σ, write ----
#pragma unroll
  for (int off = 1; off < 4; off <<= 1) {
    l_a += __shfl_xor_sync(0xffffffffu, l_a, off);
    l_b += __shfl_xor_sync(0xffffffffu, l_b, off);
  }
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = half ? rb : ra;
    if (t0 + r >= p.T) continue;
    const float l = half ? l_b : l_a, m = half ? m_b : m_a;
    const int64_t row = row0 + r;
    const bool any = l > 0.f;
    const float inv = any ? 1.f / l : 0.f;
    const float sigma = p.row_scale ? p.row_scale[row] : 1.f;
    T* out = static_cast<T*>(p.out) + row * D;
#pragma unroll
    for (int d = 0; d < Shape::kDBlocks; ++d) {
      const int c = d * 8 + 2 * qd;
      const float u0 = o[d][2 * half] * inv, u1 = o[d][2 * half + 1] * inv;
      *reinterpret_cast<uint32_t*>(out + c) = pack2<T>(u0 * sigma, u1 * sigma);
      if (p.out_f32) *reinterpret_cast<float2*>(p.out_f32 + row * D + c) = make_float2(u0, u1);
    }
    if (qd == 0 && p.lse2) p.lse2[row] = any ? m + log2f(l) : -INFINITY;
  }
}

template <typename T, int D>
cudaError_t launch_tiled_for(const SparseAttentionForwardParams& p, cudaStream_t stream) {
  const size_t smem = tiled_smem_bytes(D, p.T, p.W);
  auto kernel = sparse_attention_forward_tiled_kernel<T, D>;
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  // All of the SM's unified L1/shared memory as shared: the blocks' K/V stages are what limits residency.
  const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                             cudaSharedmemCarveoutMaxShared);
  if (e != cudaSuccess) return e;
  const dim3 grid((p.T + kRows - 1) / kRows, p.H, p.N);
  kernel<<<grid, kThreads, smem, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace
}  // namespace sparse

bool sparse_attention_forward_tiled_supported(const SparseAttentionForwardParams& p) {
  return p.dtype != DType::F32 && !(p.thin_oversample > 1.0) && sparse_attention_supports_head_dim(p.D) &&
         sparse::tiled_smem_bytes(p.D, p.T, p.W) <= sparse::kMaxSmemBytes;
}

cudaError_t launch_sparse_attention_forward_tiled(const SparseAttentionForwardParams& p, cudaStream_t stream) {
  if (p.T == 0 || p.H == 0 || p.N == 0) return cudaSuccess;
  if (!sparse_attention_forward_tiled_supported(p)) return cudaErrorInvalidValue;
  if (p.dtype == DType::BF16) {
    return SEA_DISPATCH_HEAD_DIM(p.D, kHeadDim, [&] { return sparse::launch_tiled_for<__nv_bfloat16, kHeadDim>(p, stream); });
  }
  return SEA_DISPATCH_HEAD_DIM(p.D, kHeadDim, [&] { return sparse::launch_tiled_for<__half, kHeadDim>(p, stream); });
}

}  // namespace sea::kernels
