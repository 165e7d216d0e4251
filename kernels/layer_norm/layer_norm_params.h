// layer_norm_params.h — the POD parameters of the short-row layer norm kernels (forward, backward) and their
// launchers. No LibTorch here: src/ops/cuda/layer_norm_cuda.cpp checks tensors and fills these.
//
// Why a kernel of our own: SEA's predictor normalises rows of K/4, K and 2·D values (16, 64 and 128 at the
// defaults) for every (head channel, query), ~800k rows at T = 32k. ATen's CUDA layer norm gives each row a
// block of 128 threads, so those norms took 2.1 of the layer's 11.4 ms at T = 32k (Nsight Compute,
// docs/RESULTS.md). Here a row is W / E lanes of one warp (E = elements per 16-byte load), so a warp handles
// 32·E / W rows per step with coalesced 16-byte loads.
//
// Forward: y = (x − mean) · rstd · weight + bias over the last dim (W), rstd = 1 / sqrt(var + eps), biased
// variance, fp32 statistics whatever the element type; mean and rstd per row are saved for the backward.
// Backward: dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = dy · weight, x̂ = (x − mean) · rstd; dweight =
// Σ_rows dy · x̂ and dbias = Σ_rows dy, summed per block of consecutive rows and then across blocks in block
// order (no atomics): deterministic.
#pragma once

#include "common/kernel_types.h"

namespace sea::kernels {

struct LayerNormForwardParams {
  DType dtype = DType::F32;
  int64_t rows = 0;
  int W = 0;                     // normalised size (the last dim)
  const void* x = nullptr;       // (rows, W) contiguous, element type
  const void* weight = nullptr;  // (W,) element type, or null: 1
  const void* bias = nullptr;    // (W,) element type, or null: 0
  float eps = 1e-5f;
  void* y = nullptr;             // (rows, W) element type
  float* mean = nullptr;         // (rows,) or null
  float* rstd = nullptr;         // (rows,) or null
};

struct LayerNormBackwardParams {
  LayerNormForwardParams fwd;    // x, weight, the mean and rstd the forward saved
  const void* dy = nullptr;      // (rows, W) element type, contiguous
  void* dx = nullptr;            // (rows, W) element type
  // Per-block partial sums, (blocks, W) fp32 each; the last pass writes dweight / dbias (element type), which
  // may be null when the weight / bias is.
  int blocks = 0;
  float* dweight_partial = nullptr;
  float* dbias_partial = nullptr;
  void* dweight = nullptr;
  void* dbias = nullptr;
};

// True when the kernels take this normalised size for this type: W a power-of-two multiple of the elements
// in 16 bytes, at most 32 of them (fp32: 4 … 128; bf16/fp16: 8 … 256).
bool layer_norm_supports(DType dtype, int W);

// Blocks of the backward's first pass for `rows` rows (the wrapper sizes the partial buffers with it).
int layer_norm_backward_blocks(int64_t rows);

cudaError_t launch_layer_norm_forward(const LayerNormForwardParams& params, cudaStream_t stream);
cudaError_t launch_layer_norm_backward(const LayerNormBackwardParams& params, cudaStream_t stream);

}  // namespace sea::kernels
