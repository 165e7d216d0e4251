// lm_windows.cpp — window plans, the seeded epoch sampler, window gathering and the perplexity formulas.
#include "sea/data/lm_windows.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>

#include "sea/data/seeded_shuffle.h"
#include "sea/util/error.h"

namespace sea::data {

LmTrainWindows::LmTrainWindows(int64_t num_tokens, int64_t window, int64_t stride)
    : window_(window), stride_(stride) {
  SEA_CHECK(window >= 2, "training window length ", window, " must be at least 2");
  SEA_CHECK(stride >= 1, "training window stride ", stride, " must be at least 1");
  SEA_CHECK(num_tokens > window, "the training text has ", num_tokens, " tokens, not more than one window of ",
            window, ": use a longer text or a shorter data.seq_len");
  count_ = (num_tokens - window - 1) / stride + 1;  // starts 0, stride, ... < num_tokens - window
}

EpochSampler::EpochSampler(int64_t size, uint64_t seed, bool shuffle) : size_(size), seed_(seed), shuffle_(shuffle) {
  SEA_CHECK(size > 0, "EpochSampler: nothing to sample (size 0)");
}

void EpochSampler::set_state(const SamplerState& s) {
  SEA_CHECK(s.epoch >= 0 && s.index >= 0 && s.index <= size_, "sampler state (epoch ", s.epoch, ", index ",
            s.index, ") does not fit a dataset of ", size_, " items");
  state_ = s;
}

void EpochSampler::load_epoch() {
  if (order_epoch_ == state_.epoch) return;
  if (shuffle_) {
    order_ = seeded_permutation(size_, derive_seed(seed_, static_cast<uint64_t>(state_.epoch)));
  } else {
    order_.resize(static_cast<size_t>(size_));
    for (int64_t i = 0; i < size_; ++i) order_[static_cast<size_t>(i)] = i;
  }
  order_epoch_ = state_.epoch;
}

std::vector<int64_t> EpochSampler::next(int64_t count) {
  SEA_CHECK(count >= 0, "EpochSampler: cannot take ", count, " items");
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  while (static_cast<int64_t>(out.size()) < count) {
    if (state_.index >= size_) {
      ++state_.epoch;
      state_.index = 0;
    }
    load_epoch();
    out.push_back(order_[static_cast<size_t>(state_.index++)]);
  }
  return out;
}

at::Tensor gather_windows(const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts, int64_t window) {
  at::Tensor out = at::empty({static_cast<int64_t>(starts.size()), window}, at::kLong);
  int64_t* dst = out.data_ptr<int64_t>();
  for (size_t b = 0; b < starts.size(); ++b) {
    SEA_CHECK(starts[b] >= 0 && starts[b] + window <= static_cast<int64_t>(tokens.size()), "window at ", starts[b],
              " of length ", window, " runs past the ", tokens.size(), " tokens");
    std::copy_n(tokens.begin() + starts[b], window, dst + static_cast<int64_t>(b) * window);
  }
  return out;
}

std::vector<EvalWindow> nonoverlapping_eval_windows(int64_t num_tokens, int64_t window) {
  SEA_CHECK(window >= 2, "evaluation window length ", window, " must be at least 2");
  SEA_CHECK(num_tokens >= window, "the evaluation text has ", num_tokens, " tokens, fewer than one window of ",
            window);
  std::vector<EvalWindow> out;
  for (int64_t begin = 0; begin + window <= num_tokens; begin += window) out.push_back({begin, begin + window, begin + 1});
  return out;
}

std::vector<EvalWindow> sliding_eval_windows(int64_t num_tokens, int64_t window, int64_t stride) {
  SEA_CHECK(window >= 2, "evaluation window length ", window, " must be at least 2");
  SEA_CHECK(stride >= 1 && stride < window, "sliding-window stride ", stride, " must be in [1, ", window - 1,
            "] (stride ", window, " is the non-overlapping plan, whose windows' first tokens go unscored)");
  SEA_CHECK(num_tokens >= 2, "the evaluation text has ", num_tokens, " tokens: nothing to score");
  std::vector<EvalWindow> out;
  int64_t prev_end = 0;
  for (int64_t begin = 0; begin < num_tokens; begin += stride) {
    const int64_t end = std::min(begin + window, num_tokens);
    const int64_t first = std::max(prev_end, begin + 1);
    if (first < end) out.push_back({begin, end, first});
    prev_end = end;
    if (end == num_tokens) break;
  }
  return out;
}

void PerplexityAccumulator::add(double nll_sum, int64_t count) {
  SEA_CHECK(count > 0, "PerplexityAccumulator: a window with no scored tokens");
  sum_window_means_ += nll_sum / static_cast<double>(count);
  sum_nll_ += nll_sum;
  ++windows_;
  tokens_ += count;
}

double PerplexityAccumulator::mean_nll() const {
  SEA_CHECK(windows_ > 0, "perplexity of zero windows");
  return formula_ == Formula::kMeanOfWindowMeans ? sum_window_means_ / static_cast<double>(windows_)
                                                 : sum_nll_ / static_cast<double>(tokens_);
}

double PerplexityAccumulator::perplexity() const { return std::exp(mean_nll()); }

std::array<double, 4> PerplexityAccumulator::totals() const {
  return {sum_window_means_, sum_nll_, static_cast<double>(windows_), static_cast<double>(tokens_)};
}

void PerplexityAccumulator::set_totals(const std::array<double, 4>& t) {
  sum_window_means_ = t[0];
  sum_nll_ = t[1];
  windows_ = static_cast<int64_t>(t[2]);
  tokens_ = static_cast<int64_t>(t[3]);
}

}  // namespace sea::data
