// lm_windows.h — how a token stream becomes language-model batches: training windows with a seeded,
// resumable shuffle, and the two evaluation plans (SEA_SPEC.md §5.1).
//
// Training: window i is tokens[start_i, start_i + T) with start_i = i * stride for every start_i < n - T
//   (stride 1 = the reference's "every offset"); labels are the inputs (the model shifts).
// Evaluation, non-overlapping (the reference): floor(n / T) windows at multiples of T, the remainder dropped;
//   each window's loss is the mean over its T-1 next-token targets, and ppl = exp(mean of window losses).
// Evaluation, sliding window (stride < T, as Hugging Face's perplexity guide): windows start every `stride`
//   tokens, each scores only the tokens the previous window did not reach, with up to T tokens of context;
//   every token after the first is scored exactly once and ppl = exp(total NLL / number of scored tokens).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

namespace sea::data {

// Training window starts for a stream of num_tokens tokens.
class LmTrainWindows {
 public:
  LmTrainWindows(int64_t num_tokens, int64_t window, int64_t stride);
  int64_t size() const { return count_; }
  int64_t start(int64_t i) const { return i * stride_; }
  int64_t window() const { return window_; }

 private:
  int64_t window_, stride_, count_;
};

// Position of a sampler: epoch and index into that epoch's order. Saved in checkpoints.
struct SamplerState {
  int64_t epoch = 0;
  int64_t index = 0;
};

// Visits 0..size-1 in a fresh seeded permutation every epoch (or in order when shuffle is off), resumably.
class EpochSampler {
 public:
  EpochSampler(int64_t size, uint64_t seed, bool shuffle = true);
  // The next `count` items; an epoch that runs out continues with the next epoch's order.
  std::vector<int64_t> next(int64_t count);
  SamplerState state() const { return state_; }
  void set_state(const SamplerState& s);
  int64_t size() const { return size_; }

 private:
  void load_epoch();
  int64_t size_;
  uint64_t seed_;
  bool shuffle_;
  SamplerState state_;
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1;
};

// input_ids (B, T) int64 of the windows starting at `starts`.
at::Tensor gather_windows(const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts, int64_t window);

// One evaluation window: tokens [begin, end); the tokens at positions [first_target, end) are scored, each
// predicted from the tokens before it in the window (first_target > begin).
struct EvalWindow {
  int64_t begin, end, first_target;
};

std::vector<EvalWindow> nonoverlapping_eval_windows(int64_t num_tokens, int64_t window);
std::vector<EvalWindow> sliding_eval_windows(int64_t num_tokens, int64_t window, int64_t stride);

// Accumulates window results into a perplexity with the formula that matches the plan.
class PerplexityAccumulator {
 public:
  enum class Formula { kMeanOfWindowMeans, kTokenWeighted };
  explicit PerplexityAccumulator(Formula f) : formula_(f) {}
  // nll_sum: summed negative log-likelihood (nats) of the window's `count` scored tokens.
  void add(double nll_sum, int64_t count);
  double perplexity() const;
  double mean_nll() const;
  int64_t windows() const { return windows_; }
  int64_t tokens() const { return tokens_; }
  // The running sums {sum of window means, sum of NLL, windows, tokens}, to combine shards scored elsewhere.
  std::array<double, 4> totals() const;
  void set_totals(const std::array<double, 4>& t);

 private:
  Formula formula_;
  double sum_window_means_ = 0, sum_nll_ = 0;
  int64_t windows_ = 0, tokens_ = 0;
};

}  // namespace sea::data
