// sea-train — the app users run: dense training, distillation into SEA (or a baseline), resume, evaluation.
//
//   sea-train --model opt-125m --method none --teacher "" --steps 2000            # a dense OPT (our teachers)
//   sea-train --model opt-125m --method perlin --k 64 --teacher runs/opt-125m_wikitext2_none
//   sea-train --dataset glue --subset mrpc --method perlin --k 7 --teacher runs/bert_mrpc_none
//   sea-train --config configs/experiments/opt-125m-perlin.json --load-checkpoint auto     # resume
//   sea-train --eval --load-checkpoint runs/x --dataset wikitext2 --k 32                   # evaluate, dynamic k
//   sea-train --eval --load-checkpoint runs/x --seq-len 8192 --extend-positions 8192     # long context
//
// Settings come from an experiment file (--config, configs/experiments/*.json; see run_config.h), then the
// flags below, then --set key=value (most specific last). Unknown keys are errors.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <filesystem>
#include <iostream>

#include "sea/train/run_config.h"
#include "sea/train/trainer.h"
#include "sea/util/error.h"
#include "sea/util/logging.h"

namespace {

// Applies one flag to the config document as a key=value override.
void set_key(sea::json& doc, const std::string& key, const sea::json& value) {
  sea::json* node = &doc;
  std::string rest = key;
  for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    const std::string part = rest.substr(0, dot);
    if (!node->contains(part) || !(*node)[part].is_object()) (*node)[part] = sea::json::object();
    node = &(*node)[part];
  }
  (*node)[rest] = value;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sea-train: train a dense model, distil it into SEA or a baseline, resume, evaluate"};
  std::string config_path, model, method, attention_path, dataset, subset, teacher, init, run_dir, name, device,
      load_checkpoint, log_level = "info", precision;
  std::vector<std::string> overrides, splits;
  double k = 0;
  int64_t max_batches = 0;
  int64_t predictor_length = 0, steps = 0, seq_len = 0, batch_size = 0, seed = -1;
  bool eval_only = false;
  app.add_option("--config", config_path, "experiment config JSON (configs/experiments/*.json)");
  app.add_option("--model", model, "model preset (configs/models/<name>.json) or config path; default: the teacher's");
  auto* method_opt = app.add_option("--method", method, "attention method: none, performer, reformer, perlin");
  app.add_option("--attention", attention_path, "attention config JSON (configs/methods/*.json)")->excludes(method_opt);
  app.add_option("--k", k, "SEA: keys per query (training), or the dynamic k to evaluate with (--eval)");
  app.add_option("--predictor-length", predictor_length, "SEA: compressed width K");
  app.add_option("--dataset", dataset, "wikitext2 or glue")->check(CLI::IsMember({"wikitext2", "glue"}));
  app.add_option("--subset", subset, "GLUE task (mrpc, cola, sst2, stsb, rte, wnli, qnli, mnli, qqp)");
  app.add_option("--teacher", teacher, "dense teacher: HF checkpoint dir, checkpoint dir or run dir");
  app.add_option("--init", init, "student initial weights: a checkpoint/HF dir, or 'fresh' (default: the teacher's)");
  app.add_option("--steps", steps, "optimizer steps");
  app.add_option("--seq-len", seq_len, "tokens per window (Wikitext-2) / max tokens per example (GLUE)");
  app.add_option("--batch-size", batch_size, "micro-batch size");
  app.add_option("--precision", precision, "auto (bf16 on CUDA, fp32 on CPU), fp32, bf16");
  app.add_option("--run-dir", run_dir, "run directory (default runs/<name>)");
  app.add_option("--name", name, "run name (default derived from model, task, method, k)");
  app.add_option("--device", device, "auto, cpu, cuda, cuda:<i>");
  app.add_option("--seed", seed, "seed of new parameters and dropout");
  app.add_option("--set", overrides, "override any config key: key=value, e.g. train.lr=1e-4 (repeatable)");
  app.add_option("--load-checkpoint", load_checkpoint,
                 "training: resume from 'auto' (the run's newest complete checkpoint) or a checkpoint dir; "
                 "--eval: the model to evaluate (checkpoint, HF or run dir; 'auto' = this run's newest)");
  app.add_flag("--eval", eval_only, "evaluate a model instead of training (perplexity / GLUE metric)");
  app.add_option("--splits", splits, "--eval: splits to report (default: valid and test, or the GLUE eval split)");
  app.add_option("--max-batches", max_batches, "--eval: only the first N batches of each split (quick look; marked partial)");
  int64_t extend_positions = 0;
  app.add_option("--extend-positions", extend_positions,
                 "--eval, OPT: grow the position tables to N positions first (long context: position embeddings "
                 "interpolated linearly, SEA's V_I tables by nearest), so --seq-len may exceed the trained length")
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  try {
    sea::init_logging(log_level);
    sea::json doc = config_path.empty() ? sea::json::object() : sea::read_json_file(config_path);
    SEA_CHECK(doc.is_object(), config_path, ": an experiment config must be a JSON object");
    const std::string where = config_path.empty() ? "command line" : config_path;
    if (!attention_path.empty()) doc["attention"] = sea::read_json_file(attention_path);
    if (!method.empty()) {
      const bool same = doc.contains("attention") && doc["attention"].value("method", "") == method;
      if (!same) doc["attention"] = sea::json{{"method", method}};
    }
    SEA_CHECK(eval_only || extend_positions == 0,
              "--extend-positions grows a trained model's position tables for evaluation: use it with --eval");
    // In training --k / --predictor-length configure SEA; with --eval, --k is the dynamic k applied after loading.
    if (!eval_only && (k > 0 || predictor_length > 0)) {
      SEA_CHECK(doc.contains("attention") && doc["attention"].value("method", "") == "perlin",
                "--k and --predictor-length are SEA options: add --method perlin (or an attention config with "
                "\"method\": \"perlin\")");
      if (k > 0) set_key(doc, "attention.k", k == static_cast<int64_t>(k) ? sea::json(static_cast<int64_t>(k)) : sea::json(k));
      if (predictor_length > 0) set_key(doc, "attention.predictor_length", predictor_length);
    }
    if (!dataset.empty() || !subset.empty()) {
      SEA_CHECK(dataset != "glue" || !subset.empty(), "--dataset glue needs --subset <task> (e.g. mrpc)");
      SEA_CHECK(dataset != "wikitext2" || subset.empty(), "--subset is for --dataset glue");
      set_key(doc, "data.task", subset.empty() ? dataset : subset);
    }
    if (!model.empty()) doc["model"] = model;
    if (app.count("--teacher")) doc["teacher"] = teacher;
    if (!init.empty()) doc["init"] = init;
    if (steps > 0) set_key(doc, "train.steps", steps);
    if (seq_len > 0) set_key(doc, "data.seq_len", seq_len);
    if (batch_size > 0) set_key(doc, "data.batch_size", batch_size);
    if (!precision.empty()) set_key(doc, "train.precision", precision);
    if (!run_dir.empty()) doc["run_dir"] = run_dir;
    if (!name.empty()) doc["name"] = name;
    if (!device.empty()) doc["device"] = device;
    if (seed >= 0) doc["seed"] = seed;
    for (const char* section : {"data", "train", "loss", "checkpoint", "eval"}) {
      if (!doc.contains(section)) doc[section] = sea::json::object();  // so --set can name their keys
    }
    for (const auto& o : overrides) sea::apply_override(doc, o);
    sea::train::RunConfig config = sea::train::RunConfig::from_json(doc, where);

    // The run directory is known before the data is read: name and run_dir depend only on the config.
    sea::train::RunConfig named = config.resolved(config.data.is_glue() ? "bert" : "opt", 0);

    if (eval_only) {
      std::string target = load_checkpoint;
      if (target.empty() || target == "auto") target = named.run_dir;
      config.run_dir = named.run_dir;
      std::filesystem::create_directories(config.run_dir);
      sea::init_logging(log_level, (std::filesystem::path(config.run_dir) / "eval.log").string());
      sea::train::EvaluationRequest req;
      req.model_path = target;
      if (k > 0) req.k = k;
      req.splits = splits;
      req.max_batches = max_batches;
      if (extend_positions > 0) req.extend_positions = extend_positions;
      req.override_attention = !method.empty() || !attention_path.empty();
      sea::json result = sea::train::run_evaluation(config, req);
      std::cout << "\n" << sea::train::format_eval_table({result}) << std::flush;
      sea::log().info("results written to {}/eval.json", config.run_dir);
      return 0;
    }

    std::filesystem::create_directories(named.run_dir);
    sea::init_logging(log_level, (std::filesystem::path(named.run_dir) / "train.log").string());
    sea::train::TrainResult r = sea::train::run_training(config, load_checkpoint);
    sea::log().info("done: {} steps ({} skipped), final checkpoint {}", r.steps, r.skipped_steps, r.last_checkpoint);
    if (!r.final_eval.empty()) sea::log().info("final evaluation: {}", r.final_eval.dump());
    return 0;
  } catch (const sea::Error& e) {
    sea::log().error("{}", e.what());
    return 2;
  } catch (const c10::Error& e) {
    sea::log().error("torch error: {}", e.what_without_backtrace());
    return 3;
  }
}
