// trainer.h — what sea-train runs: dense training, distillation of a dense teacher into a student with any
// attention method, resuming from a checkpoint, and evaluation of a checkpoint (SEA_SPEC.md §3).
//
// One optimizer step = grad_accum micro-batches, each: teacher forward (no grad) → student forward with the
// teacher's per-layer signals → loss terms (distillation_loss.h) → backward; then gradient clipping, AdamW,
// the attention methods' step hook (Performer redraws), metrics, and every N steps a checkpoint and an
// evaluation. Steps with a non-finite loss or gradient are skipped and counted; the run stops once
// train.max_nonfinite is exceeded. Out-of-memory errors are reported with the settings that caused them.
//
// Files in the run directory:
//   run_config.json    the resolved run config         train.log       the log (also on the console)
//   metrics.jsonl      one JSON line per step and per evaluation
//   checkpoints/       step-* directories (checkpoint.h)   eval.json   the last --eval result
//
// Resume (--load-checkpoint auto|PATH) restores the model, the optimizer, the step, the data cursor, the RNG
// states and the skipped-step count, so an interrupted run continues exactly as the uninterrupted one would.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sea/train/run_config.h"

namespace sea::train {

struct TrainResult {
  int64_t steps = 0;             // optimizer steps completed (in total, including resumed ones)
  int64_t skipped_steps = 0;     // non-finite steps skipped
  std::string last_checkpoint;   // the final checkpoint directory
  json final_eval;               // the end-of-training evaluation
  RunConfig config;              // resolved
};

// Trains as `config` says. `load_checkpoint`: "" = start fresh, "auto" = the newest complete checkpoint of
// the run (fresh when none), or a checkpoint directory.
TrainResult run_training(const RunConfig& config, const std::string& load_checkpoint = "");

struct EvaluationRequest {
  std::string model_path;          // HF dir, checkpoint dir or run dir (its newest checkpoint)
  std::optional<double> k;         // dynamic k for SEA (set_sea_k) ; nullopt = as trained
  std::vector<std::string> splits; // empty = the task's (Wikitext-2: valid and test)
  bool override_attention = false; // use config.attention instead of the checkpoint's own method
  int64_t max_batches = 0;         // evaluate only the first N batches of each split (0 = all; marked "partial")
  // Long context: grow the model's positional tables to this many positions before evaluating
  // (models::extend_positions: OPT's position embeddings interpolated, SEA's V_I tables resized); nullopt = as saved.
  std::optional<int64_t> extend_positions;
};

// Evaluates a model on the task of `config.data`. Returns {"model": path, "method": ..., "k": ...,
// "results": [{split metrics}...], "memory": {...}} and writes it to <run_dir>/eval.json when run_dir is set.
json run_evaluation(const RunConfig& config, const EvaluationRequest& options);

// The markdown table of one or more run_evaluation results (one row per model and split).
std::string format_eval_table(const std::vector<json>& evaluations);

}  // namespace sea::train
