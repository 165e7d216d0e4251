// workloads.h — what sea-bench times: one layer call (or one SEA step) with its inputs already built.
//
// Methods (known_methods()):
//   sdpa           at::scaled_dot_product_attention with only the flash backend enabled (at::globalContext()
//                  flags, restored when the workload ends); where flash cannot run (e.g. fp32 on CUDA), the
//                  default choice, named in the note
//   none, performer, reformer, perlin   the registry methods from Settings::configs (none with
//                  return_artefacts, so that it materialises the T×T probabilities); forward in eval mode under
//                  no-grad, forward+backward in train mode
//   sea:performer  SeaAttentionImpl::performer_step (steps 1-2)              forward, forward+backward
//   sea:predictor  SeaAttentionImpl::predictor_step (step 3)                 forward, forward+backward
//   sea:topk       SeaAttentionImpl::mask_step (step 4)                      forward only
//   sea:sparse     ops::sparse_attention (step 5) with the layer's own mask  forward, forward+backward (q, k, v,
//                  row_scale)
//   sea:sparse-rows  the same with the one-warp-per-row CUDA forward (SparseForwardKernel::Rows) instead of the
//                  default, tiled for bf16/fp16: the two kernels' ratio in one run
// The sea:* rows use the perlin config's layer; each step's inputs are computed once, outside the timing, by
// the layer's own earlier steps on the same random q, k, v.
//
// Inputs: q, k, v (batch, heads, T, head_dim) from a fixed seed; causal rows pass q·D^-½ with scale 1 (as OPT),
// bidirectional rows raw q with scale D^-½ (as BERT). Module parameters are cast to the benchmark dtype;
// buffers are left alone (the Performer projection is fp32 by design).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_types.h"

namespace sea::bench {

struct Workload {
  std::function<void()> before_each;  // untimed, before every run: drops the gradients of the last run
  std::function<void()> run;          // one forward, or one forward + backward
  std::string note;
  double bytes = 0;                   // sea:sparse forward: Q, K, V, O + kept-cell bits + row_scale + row_len
  std::shared_ptr<void> keep_alive;   // state that lives as long as the workload (e.g. the SDPA flag guard)
};

const std::vector<std::string>& known_methods();
bool has_backward(const std::string& method);  // false for sea:topk
// The registry config a row uses (sdpa: {"method": "sdpa"}; sea:* rows: perlin's).
json row_config(const std::string& method, const Settings& settings);

// Builds every method the plan needs, on the CPU at a tiny shape, for both directions asked: "" when all build,
// else the first error (bad --set values fail here, before any measurement).
std::string check_configs(const std::vector<std::string>& methods, const std::vector<bool>& directions,
                          const Settings& settings);

// Builds the inputs and the module(s) of one measurement on settings.device. Throws on bad configs and on
// out-of-memory (measure.h catches both per point).
Workload make_workload(const std::string& method, bool causal, int64_t T, Pass pass, const Settings& settings);

}  // namespace sea::bench
