// perplexity.cpp — batches the evaluation windows, sums next-token NLL per window, applies the plan's formula.
#include "sea/train/perplexity.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "sea/data/lm_windows.h"
#include "sea/util/error.h"

namespace sea::train {

PerplexityResult evaluate_perplexity(models::ModelImpl& model, const std::vector<int32_t>& tokens,
                                     const PerplexityOptions& options) {
  SEA_CHECK(options.batch_size >= 1, "perplexity: batch_size ", options.batch_size, " must be at least 1");
  const bool sliding = options.stride > 0 && options.stride < options.window;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const std::vector<data::EvalWindow> windows = sliding
                                                    ? data::sliding_eval_windows(n, options.window, options.stride)
                                                    : data::nonoverlapping_eval_windows(n, options.window);
  data::PerplexityAccumulator acc(sliding ? data::PerplexityAccumulator::Formula::kTokenWeighted
                                          : data::PerplexityAccumulator::Formula::kMeanOfWindowMeans);

  const bool was_training = model.is_training();
  model.eval();
  at::NoGradGuard no_grad;
  SEA_CHECK(options.shards >= 1 && options.shard >= 0 && options.shard < options.shards &&
                (options.shards == 1 || options.all_reduce_sum),
            "perplexity: shard ", options.shard, " of ", options.shards, " (and a reduction when sharded)");
  for (size_t first = 0, batch = 0; first < windows.size(); ++batch) {
    // A batch: consecutive windows of the same length (all of them, except maybe the last sliding window).
    const int64_t length = windows[first].end - windows[first].begin;
    size_t last = first;
    std::vector<int64_t> starts;
    while (last < windows.size() && static_cast<int64_t>(starts.size()) < options.batch_size &&
           windows[last].end - windows[last].begin == length) {
      starts.push_back(windows[last++].begin);
    }
    if (static_cast<int>(batch % static_cast<size_t>(options.shards)) != options.shard) {  // another process's
      first = last;
      continue;
    }
    models::ModelInputs in;
    in.input_ids = data::gather_windows(tokens, starts, length).to(options.device);
    at::Tensor logits = model.forward(in).logits;  // (B, L, V)
    SEA_CHECK(logits.dim() == 3 && logits.size(1) == length, "perplexity needs a language model: logits of shape ",
              logits.sizes(), " for inputs of length ", length);
    // NLL of token p given tokens before it: logits at p-1, target at p.
    at::Tensor log_probs = logits.narrow(1, 0, length - 1).to(at::kFloat).log_softmax(-1);  // (B, L-1, V)
    at::Tensor targets = in.input_ids.narrow(1, 1, length - 1).unsqueeze(-1);                // (B, L-1, 1)
    at::Tensor nll = -log_probs.gather(-1, targets).squeeze(-1).to(at::kDouble).cpu();     // (B, L-1)
    for (size_t b = 0; b < starts.size(); ++b) {
      const data::EvalWindow& w = windows[first + b];
      const int64_t skip = w.first_target - w.begin - 1;  // scored positions start at first_target
      acc.add(nll[static_cast<int64_t>(b)].narrow(0, skip, w.end - w.first_target).sum().item<double>(),
              w.end - w.first_target);
    }
    first = last;
    if (options.progress) options.progress(static_cast<int64_t>(first), static_cast<int64_t>(windows.size()));
  }
  if (was_training) model.train();
  if (options.shards > 1) {
    const std::array<double, 4> mine = acc.totals();
    at::Tensor t = at::tensor(at::ArrayRef<double>(mine.data(), mine.size()), at::kDouble);
    options.all_reduce_sum(t);
    acc.set_totals({t[0].item<double>(), t[1].item<double>(), t[2].item<double>(), t[3].item<double>()});
  }

  PerplexityResult r;
  r.perplexity = acc.perplexity();
  r.mean_nll = acc.mean_nll();
  r.windows = acc.windows();
  r.scored_tokens = acc.tokens();
  r.plan = sliding ? "sliding T=" + std::to_string(options.window) + " stride=" + std::to_string(options.stride)
                   : "non-overlapping T=" + std::to_string(options.window);
  return r;
}

}  // namespace sea::train
