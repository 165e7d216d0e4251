// lm_task_data.cpp — language modelling on Wikitext-2 (or a plain-text train file) for OPT: seeded, resumable
// training windows (data/lm_windows.h) and perplexity on the valid / test splits (train/perplexity.h).
#include <ATen/ATen.h>

#include <algorithm>

#include "sea/data/lm_windows.h"
#include "sea/data/token_cache.h"
#include "sea/data/wikitext.h"
#include "sea/train/distillation_loss.h"
#include "sea/train/perplexity.h"
#include "sea/train/task_data.h"
#include "sea/util/logging.h"

namespace sea::train {
namespace {

class LmTaskData : public TaskData {
 public:
  LmTaskData(const data::DataConfig& cfg, bool load_train)
      : cfg_(cfg), tokenizer_(data::load_tokenizer(cfg.tokenizer, cfg.dir)), cache_(cfg.cache_dir) {
    if (!load_train) return;
    const data::LmTextSource src = data::resolve_lm_text(cfg.dir, "train", cfg.variant, cfg.train_file);
    train_tokens_ = data::load_token_stream(src.path, *tokenizer_, cache_);
    SEA_CHECK(static_cast<int64_t>(train_tokens_.size()) > cfg.seq_len, "training text '", src.path, "' has ",
              train_tokens_.size(), " tokens, fewer than one window of data.seq_len = ", cfg.seq_len);
    windows_ = std::make_unique<data::LmTrainWindows>(static_cast<int64_t>(train_tokens_.size()), cfg.seq_len,
                                                      cfg.train_stride);
    sampler_ = std::make_unique<data::EpochSampler>(windows_->size(), static_cast<uint64_t>(cfg.seed));
    log().info("train text: {} ({} tokens, {} windows of {} tokens)", src.description, train_tokens_.size(),
               windows_->size(), cfg.seq_len);
  }

  std::string task() const override { return "wikitext2"; }
  std::string model_family() const override { return "opt"; }
  int64_t batches_per_epoch() const override {
    return windows_ ? (windows_->size() + cfg_.batch_size - 1) / cfg_.batch_size : 0;
  }

  TrainBatch next_train_batch() override {
    SEA_CHECK(sampler_, "LmTaskData: the training split was not loaded");
    std::vector<int64_t> idx = sampler_->next(cfg_.batch_size);
    std::vector<int64_t> starts;
    for (int64_t i : idx) starts.push_back(windows_->start(i));
    TrainBatch b;
    b.inputs.input_ids = data::gather_windows(train_tokens_, starts, cfg_.seq_len);
    b.tokens = b.inputs.input_ids.numel();
    return b;
  }

  json cursor() const override {
    SEA_CHECK(sampler_, "LmTaskData: the training split was not loaded");
    const data::SamplerState s = sampler_->state();
    return {{"epoch", s.epoch}, {"index", s.index}, {"windows", sampler_->size()}};
  }

  void set_cursor(const json& c) override {
    SEA_CHECK(sampler_, "LmTaskData: the training split was not loaded");
    SEA_CHECK(c.is_object() && c.contains("epoch") && c.contains("index"), "data cursor ", c.dump(),
              " is not {\"epoch\", \"index\"}");
    SEA_CHECK(c.value("windows", sampler_->size()) == sampler_->size(), "the checkpoint was taken over ",
              c["windows"].dump(), " training windows, this run has ", sampler_->size(),
              " (different text, tokenizer, data.seq_len or data.train_stride?)");
    sampler_->set_state({c["epoch"].get<int64_t>(), c["index"].get<int64_t>()});
  }

  at::Tensor task_loss(const models::ModelOutput& out, const TrainBatch& b) const override {
    return lm_task_loss(out.logits, b.inputs.input_ids.to(out.logits.device()), at::Tensor());
  }

  json evaluate(models::ModelImpl& model, const EvalRequest& req) override {
    const std::string split = req.split.empty() ? cfg_.eval_split : req.split;
    const std::vector<int32_t>& all = eval_tokens(split);
    PerplexityOptions o;
    o.window = cfg_.seq_len;
    o.stride = cfg_.eval_stride;
    o.batch_size = cfg_.eval_batch_size;
    o.device = req.device;
    o.progress = req.progress;
    o.shard = req.shard;
    o.shards = req.shards;
    o.all_reduce_sum = req.all_reduce_sum;
    std::vector<int32_t> capped;
    const std::vector<int32_t>* tokens = &all;
    if (req.max_batches > 0 && o.stride == 0) {
      const size_t n = std::min(all.size(), static_cast<size_t>(req.max_batches * o.batch_size * o.window));
      capped.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
      tokens = &capped;
    }
    const PerplexityResult r = evaluate_perplexity(model, *tokens, o);
    return {{"split", split},          {"main", "perplexity"},  {"perplexity", r.perplexity},
            {"mean_nll", r.mean_nll},  {"windows", r.windows},  {"scored_tokens", r.scored_tokens},
            {"plan", r.plan},          {"partial", tokens != &all}};
  }

  std::vector<std::string> eval_splits() const override { return {"valid", "test"}; }

 private:
  const std::vector<int32_t>& eval_tokens(const std::string& split) {
    auto it = eval_tokens_.find(split);
    if (it != eval_tokens_.end()) return it->second;
    const data::LmTextSource src = data::resolve_lm_text(cfg_.dir, split, cfg_.variant);
    return eval_tokens_[split] = data::load_token_stream(src.path, *tokenizer_, cache_);
  }

  data::DataConfig cfg_;
  std::shared_ptr<const data::Tokenizer> tokenizer_;
  data::TokenCache cache_;
  std::vector<int32_t> train_tokens_;
  std::unique_ptr<data::LmTrainWindows> windows_;
  std::unique_ptr<data::EpochSampler> sampler_;
  std::map<std::string, std::vector<int32_t>> eval_tokens_;
};

}  // namespace

std::unique_ptr<TaskData> make_lm_task_data(const data::DataConfig& data, bool load_train) {
  return std::make_unique<LmTaskData>(data, load_train);
}

}  // namespace sea::train
