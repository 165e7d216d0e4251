// perplexity.h — language-model perplexity of a model on a token stream, with either evaluation plan of
// data/lm_windows.h: non-overlapping T-token windows (the reference's number) or HF-style sliding windows.
//
//   auto r = evaluate_perplexity(*model, tokens, {.window = 2048});                 // reference
//   auto s = evaluate_perplexity(*model, tokens, {.window = 2048, .stride = 512});  // sliding window
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sea/models/model.h"

namespace sea::train {

struct PerplexityOptions {
  int64_t window = 2048;  // T
  int64_t stride = 0;     // 0 or T: non-overlapping windows (reference); 0 < stride < T: sliding windows
  int64_t batch_size = 1;
  c10::Device device = c10::kCPU;
  // Called after each batch with (windows done, windows total), e.g. for a progress bar.
  std::function<void(int64_t, int64_t)> progress;
  // Data parallel: score batches shard, shard + shards, ...; all_reduce_sum sums the partial totals (a CPU double
  // tensor, in place) over the processes (EvalRequest in task_data.h).
  int shard = 0;
  int shards = 1;
  std::function<void(at::Tensor&)> all_reduce_sum;
};

struct PerplexityResult {
  double perplexity = 0;
  double mean_nll = 0;  // ln(perplexity)
  int64_t windows = 0;
  int64_t scored_tokens = 0;
  std::string plan;  // "non-overlapping T=2048" or "sliding T=2048 stride=512"
};

// Runs `model` (an LM: logits (N, T, V)) in eval mode without gradients over the plan's windows. Scores in
// fp32 whatever the model's dtype. The model's training/eval mode is restored afterwards.
PerplexityResult evaluate_perplexity(models::ModelImpl& model, const std::vector<int32_t>& tokens,
                                     const PerplexityOptions& options);

}  // namespace sea::train
