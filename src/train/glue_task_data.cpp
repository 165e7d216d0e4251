// glue_task_data.cpp — a GLUE task for BERT: tokenized examples, seeded per-epoch batch plans that resume at
// any batch (data/glue_batches.h), cross-entropy / MSE task loss, and the task's metrics (train/metrics.h).
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "sea/data/glue.h"
#include "sea/data/glue_batches.h"
#include "sea/train/distillation_loss.h"
#include "sea/train/metrics.h"
#include "sea/train/task_data.h"
#include "sea/util/logging.h"

namespace sea::train {
namespace {

class GlueTaskData : public TaskData {
 public:
  GlueTaskData(const data::DataConfig& cfg, bool load_train)
      : cfg_(cfg), task_(data::glue_task(cfg.task)), tokenizer_(data::load_tokenizer(cfg.tokenizer, cfg.dir)) {
    if (!load_train) return;
    train_ = data::encode_glue(data::load_glue_examples(cfg.dir, task_, "train"), *tokenizer_, task_, cfg.seq_len);
    SEA_CHECK(!train_.encodings.empty(), "GLUE ", task_.name, ": the train split has no examples");
    data::GlueBatchOptions o;
    o.batch_size = cfg.batch_size;
    o.seed = static_cast<uint64_t>(cfg.seed);
    o.shuffle = true;
    o.bucket_by_length = cfg.bucket_by_length;
    plan_ = std::make_unique<data::GlueBatchPlan>(train_, o);
    log().info("GLUE {}: {} training examples, {} batches of up to {} per epoch", task_.name,
               train_.encodings.size(), plan_->batches_per_epoch(), cfg.batch_size);
  }

  std::string task() const override { return task_.name; }
  std::string model_family() const override { return "bert"; }
  int64_t batches_per_epoch() const override { return plan_ ? plan_->batches_per_epoch() : 0; }
  int64_t num_labels() const override { return task_.num_labels; }

  TrainBatch next_train_batch() override {
    SEA_CHECK(plan_, "GlueTaskData: the training split was not loaded");
    if (epoch_batches_.empty() || loaded_epoch_ != epoch_) {
      epoch_batches_ = plan_->epoch(epoch_);
      loaded_epoch_ = epoch_;
    }
    if (index_ >= static_cast<int64_t>(epoch_batches_.size())) {
      ++epoch_;
      index_ = 0;
      return next_train_batch();
    }
    data::GlueBatch g = data::collate(train_, epoch_batches_[static_cast<size_t>(index_++)], tokenizer_->pad_id());
    TrainBatch b;
    b.inputs.input_ids = g.input_ids;
    b.inputs.attention_mask = g.attention_mask;
    b.inputs.token_type_ids = g.token_type_ids;
    b.labels = g.labels;
    b.tokens = g.attention_mask.sum().item<int64_t>();
    return b;
  }

  json cursor() const override {
    return {{"epoch", epoch_},
            {"index", index_},
            {"examples", static_cast<int64_t>(train_.encodings.size())},
            {"batch_size", cfg_.batch_size}};
  }

  void set_cursor(const json& c) override {
    SEA_CHECK(c.is_object() && c.contains("epoch") && c.contains("index"), "data cursor ", c.dump(),
              " is not {\"epoch\", \"index\"}");
    const auto n = static_cast<int64_t>(train_.encodings.size());
    SEA_CHECK(c.value("examples", n) == n, "the checkpoint was taken over ", c["examples"].dump(),
              " training examples, this run has ", n);
    epoch_ = c["epoch"].get<int64_t>();
    index_ = c["index"].get<int64_t>();
    // A checkpoint of a run with another global batch (e.g. another number of data-parallel ranks): keep the
    // position within the epoch, in examples, as closely as whole batches allow.
    const int64_t saved_batch = c.value("batch_size", cfg_.batch_size);
    if (saved_batch != cfg_.batch_size) {
      const int64_t index = index_ * saved_batch / cfg_.batch_size;
      log().warn("data cursor: the checkpoint's global batch was {} and this run's is {}; resuming epoch {} at "
                 "batch {} (was {}), about the same example", saved_batch, cfg_.batch_size, epoch_, index, index_);
      index_ = index;
    }
  }

  at::Tensor task_loss(const models::ModelOutput& out, const TrainBatch& b) const override {
    return classification_task_loss(out.logits, b.labels.to(out.logits.device()));
  }

  json evaluate(models::ModelImpl& model, const EvalRequest& req) override {
    const std::string split = req.split.empty() ? cfg_.eval_split : req.split;
    const data::GlueDataset& ds = eval_set(split);
    data::GlueBatchOptions o;
    o.batch_size = cfg_.eval_batch_size;
    o.shuffle = false;
    o.bucket_by_length = cfg_.bucket_by_length;
    const auto batches = data::GlueBatchPlan(ds, o).epoch(0);
    const int64_t total = req.max_batches > 0 ? std::min<int64_t>(req.max_batches, batches.size())
                                              : static_cast<int64_t>(batches.size());

    const bool was_training = model.is_training();
    model.eval();
    torch::NoGradGuard no_grad;
    std::vector<int64_t> pred_class, label_class;
    std::vector<double> pred_score, label_score;
    // Data parallel: this process scores batches shard, shard + shards, ...; the (prediction, label) pairs of
    // every batch then go to their place in one table that a sum over the processes completes.
    SEA_CHECK(req.shards >= 1 && req.shard >= 0 && req.shard < req.shards && (req.shards == 1 || req.all_reduce_sum),
              "GLUE evaluation: shard ", req.shard, " of ", req.shards, " (and a reduction when sharded)");
    std::vector<int64_t> offset(static_cast<size_t>(total) + 1, 0);
    for (int64_t i = 0; i < total; ++i) offset[i + 1] = offset[i] + static_cast<int64_t>(batches[i].size());
    at::Tensor table = at::zeros({offset[total], 2}, at::kDouble);  // (examples, {prediction, label})
    for (int64_t i = 0; i < total; ++i) {
      if (i % req.shards != req.shard) continue;
      data::GlueBatch g = data::collate(ds, batches[static_cast<size_t>(i)], tokenizer_->pad_id());
      models::ModelInputs in;
      in.input_ids = g.input_ids.to(req.device);
      in.attention_mask = g.attention_mask.to(req.device);
      in.token_type_ids = g.token_type_ids.to(req.device);
      at::Tensor logits = model.forward(in).logits.to(at::kFloat).cpu();  // (B, C)
      SEA_CHECK(logits.dim() == 2 && logits.size(1) == task_.num_labels, "GLUE ", task_.name, " needs ",
                task_.num_labels, " outputs per example; the model gives logits of shape ", logits.sizes());
      const at::Tensor pred = task_.is_regression() ? logits.squeeze(1).to(at::kDouble) : logits.argmax(1).to(at::kDouble);
      table.narrow(0, offset[i], offset[i + 1] - offset[i]).copy_(at::stack({pred, g.labels.to(at::kDouble)}, 1));
      if (req.progress) req.progress(i + 1, total);
    }
    if (was_training) model.train();
    if (req.shards > 1) req.all_reduce_sum(table);
    const at::Tensor col0 = table.select(1, 0).contiguous(), col1 = table.select(1, 1).contiguous();
    if (task_.is_regression()) {
      pred_score.assign(col0.data_ptr<double>(), col0.data_ptr<double>() + col0.numel());
      label_score.assign(col1.data_ptr<double>(), col1.data_ptr<double>() + col1.numel());
    } else {
      for (int64_t j = 0; j < col0.numel(); ++j) {
        pred_class.push_back(static_cast<int64_t>(col0.data_ptr<double>()[j]));
        label_class.push_back(static_cast<int64_t>(col1.data_ptr<double>()[j]));
      }
    }

    json r = {{"split", split}, {"main", task_.metrics.front()},
              {"examples", static_cast<int64_t>(task_.is_regression() ? pred_score.size() : pred_class.size())},
              {"partial", total < static_cast<int64_t>(batches.size())}};
    for (const auto& m : task_.metrics) {
      double v = 0;
      if (m == "accuracy") v = accuracy(pred_class, label_class);
      else if (m == "f1") v = f1_binary(pred_class, label_class);
      else if (m == "matthews") v = matthews_corrcoef(pred_class, label_class);
      else if (m == "pearson") v = pearson(pred_score, label_score);
      else if (m == "spearman") v = spearman(pred_score, label_score);
      else fail("GLUE ", task_.name, ": unknown metric '", m, "'");
      r[m] = std::isfinite(v) ? json(v) : json(nullptr);
    }
    return r;
  }

  std::vector<std::string> eval_splits() const override { return {cfg_.eval_split}; }

 private:
  const data::GlueDataset& eval_set(const std::string& split) {
    auto it = eval_.find(split);
    if (it != eval_.end()) return it->second;
    return eval_[split] =
               data::encode_glue(data::load_glue_examples(cfg_.dir, task_, split), *tokenizer_, task_, cfg_.seq_len);
  }

  data::DataConfig cfg_;
  const data::GlueTask& task_;
  std::shared_ptr<const data::Tokenizer> tokenizer_;
  data::GlueDataset train_;
  std::unique_ptr<data::GlueBatchPlan> plan_;
  std::map<std::string, data::GlueDataset> eval_;
  int64_t epoch_ = 0, index_ = 0, loaded_epoch_ = -1;
  std::vector<std::vector<int64_t>> epoch_batches_;
};

}  // namespace

std::unique_ptr<TaskData> make_glue_task_data(const data::DataConfig& data, bool load_train) {
  return std::make_unique<GlueTaskData>(data, load_train);
}

}  // namespace sea::train
