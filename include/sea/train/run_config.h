// run_config.h — everything one sea-train run needs, as one strict JSON document (configs/experiments/*.json),
// refined by command-line flags and `--set key=value`. The resolved config (every default filled in) is what
// the run logs, saves as <run_dir>/config.json and stores in every checkpoint.
//
//   {
//     "name": "opt-125m_wikitext2_perlin_k64",   // "" = derived from model, task, method and k
//     "model": "opt-125m",           // configs/models/<name>.json or a path; "" = the teacher's architecture
//     "model_set": ["dropout=0.1"],  // overrides of the model config
//     "teacher": "runs/teacher",     // dense teacher: HF dir, checkpoint dir or run dir; "" = dense training
//     "init": "",                    // student weights: "" = the teacher's (fresh without teacher), "fresh", or a path
//     "attention": {"method": "perlin", "k": 64},   // configs/methods/*.json options
//     "data": {...},                 // data_config.h
//     "train": {...},                // TrainOptions below
//     "loss": {...},                 // distillation_loss.h
//     "checkpoint": {"every": 150, "keep_last": 3},
//     "eval": {"every": 150, "max_batches": 0},
//     "run_dir": "",                 // "" = runs/<name>
//     "device": "auto",              // auto | cpu | cuda | cuda:<i>
//     "seed": 42                     // new parameters' initialisation and dropout
//   }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sea/data/data_config.h"
#include "sea/train/distillation_loss.h"
#include "sea/util/json_config.h"

namespace sea::train {

struct TrainOptions {
  int64_t steps = 0;          // optimizer steps; 0 = from epochs (GLUE) or 10,000 (Wikitext-2, the paper)
  double epochs = 0;          // GLUE: passes over the train set when steps = 0 (0 = the reference's per task)
  int64_t grad_accum = 1;     // micro-batches per optimizer step
  double lr = 1e-5;           // base learning rate
  double lr_low_factor = -1;  // pretrained weights get lr·low (< 0: 0.2 for perlin on OPT, else 1)
  double lr_high_factor = 10; // attention-method parameters get lr·high
  double weight_decay = 0.01; // not applied to biases and normalisation weights
  double clip_grad_norm = 1.0;  // 0 = no clipping
  double grad_bucket_mb = 25;   // data parallel: gradients travel in buckets of at most this many MB
  std::string schedule = "constant";  // constant | cosine (linear warm-up, then cosine to min_lr_ratio)
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;
  std::string precision = "auto";  // auto (bf16 autocast on CUDA, fp32 on CPU) | fp32 | bf16
  int64_t max_nonfinite = 10;      // skipped steps with a non-finite loss or gradient before the run stops
  int64_t log_every = 10;          // console/log line every N steps (metrics.jsonl gets every step)
  bool lazy_teacher = true;        // recompute teacher attention per layer on demand (teacher.h)

  static TrainOptions from_json(const json& section, const std::string& where);
  json to_json() const;
};

struct CheckpointOptions {
  int64_t every = 0;      // save every N optimizer steps (0 = only at the end)
  int64_t keep_last = 3;  // complete checkpoints kept
};

struct EvalOptions {
  int64_t every = 0;        // evaluate every N optimizer steps (0 = only at the end)
  int64_t max_batches = 0;  // cap on evaluation batches during training, final one included (0 = whole split)
};

struct RunConfig {
  std::string name;
  std::string model;
  std::vector<std::string> model_set;
  std::string teacher;
  std::string init;
  json attention = json{{"method", "none"}};
  data::DataConfig data;
  TrainOptions train;
  LossWeights loss;
  CheckpointOptions checkpoint;
  EvalOptions eval;
  std::string run_dir;
  std::string device = "auto";
  int64_t seed = 42;

  // Strict: unknown keys anywhere (attention options are checked when the model is built) are errors.
  static RunConfig from_json(const json& doc, const std::string& where);
  json to_json() const;

  // A copy with derived defaults filled in: data (data_config.h), name, run_dir, device, steps (needs the
  // number of batches per epoch for GLUE: pass it, or 0 when unknown), the loss weights of `family`.
  RunConfig resolved(const std::string& family, int64_t batches_per_epoch) const;

  std::string method() const;  // attention["method"]
};

// Reads an experiment file and applies `key=value` overrides (json_config.h) before parsing.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

// configs/models/<name>.json for a preset name (searched in $SEA_CONFIG_DIR/models, ./configs/models and the
// source tree's configs/models), or `name_or_path` itself when it is a file. sea::Error listing where it looked.
std::string resolve_model_config_path(const std::string& name_or_path);

// The torch device of a config's "device" string ("auto" = cuda:0 when available, else cpu).
std::string resolve_device_name(const std::string& device);

}  // namespace sea::train
