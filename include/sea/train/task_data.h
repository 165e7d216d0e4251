// task_data.h — what the trainer needs from a task, whatever it is: training batches in a resumable order,
// the task loss, and evaluation. Two tasks: language modelling on Wikitext-2 (OPT) and GLUE classification /
// regression (BERT). make_task_data() picks one from the resolved data config.
//
// The data cursor (cursor()/set_cursor()) is JSON so that it can live in trainer_state.json; restoring it
// makes next_train_batch() return exactly the batches the interrupted run would have seen next.
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sea/data/data_config.h"
#include "sea/models/model.h"
#include "sea/util/json_config.h"

namespace sea::train {

struct TrainBatch {
  models::ModelInputs inputs;  // on the CPU; the trainer moves them
  at::Tensor labels;           // GLUE: (B,) class ids or scores; LM: undefined (the inputs are the labels)
  int64_t tokens = 0;          // real (non-padding) tokens, for throughput
};

struct EvalRequest {
  std::string split;          // "" = the task's evaluation split
  int64_t max_batches = 0;    // 0 = all
  c10::Device device = c10::kCPU;
  std::function<void(int64_t, int64_t)> progress;  // (batches done, batches total)
  // Data-parallel evaluation: this process scores batches shard, shard + shards, ... and all_reduce_sum (which
  // sums a CPU double tensor over the processes, in place) combines the partial results; every process returns
  // the whole split's metrics. shards = 1: everything here.
  int shard = 0;
  int shards = 1;
  std::function<void(at::Tensor&)> all_reduce_sum;
};

class TaskData {
 public:
  virtual ~TaskData() = default;
  virtual std::string task() const = 0;            // "wikitext2" or the GLUE task name
  virtual std::string model_family() const = 0;    // the family the task needs: "opt" or "bert"
  virtual int64_t batches_per_epoch() const = 0;   // micro-batches in one pass over the train set
  virtual TrainBatch next_train_batch() = 0;
  virtual json cursor() const = 0;
  virtual void set_cursor(const json& cursor) = 0;

  // The task loss of the model's output on `batch` (fp32 scalar).
  virtual at::Tensor task_loss(const models::ModelOutput& output, const TrainBatch& batch) const = 0;

  // Evaluates `model` (eval mode, no gradients; its mode is restored). Returns the metrics as JSON, always with
  // "split" and "main" (the name of the headline metric: "perplexity" or the task's first GLUE metric).
  virtual json evaluate(models::ModelImpl& model, const EvalRequest& request) = 0;
  // Splits `--eval` reports: Wikitext-2 valid and test; GLUE the task's evaluation split.
  virtual std::vector<std::string> eval_splits() const = 0;
  // GLUE: the number of model outputs the task needs (1 = regression); LM: 0.
  virtual int64_t num_labels() const { return 0; }
};

// Builds the task of `data` (resolved). `load_train` = false skips reading the training split (evaluation only).
std::unique_ptr<TaskData> make_task_data(const data::DataConfig& data, bool load_train);

}  // namespace sea::train
