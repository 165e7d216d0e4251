// run_config.cpp — reading, resolving and writing a sea-train run config (see run_config.h).
#include "sea/train/run_config.h"

#include <ATen/Context.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "sea/data/glue.h"
#include "sea/util/error.h"

#ifndef SEA_CONFIG_DIR_DEFAULT
#define SEA_CONFIG_DIR_DEFAULT ""
#endif

namespace sea::train {

namespace fs = std::filesystem;

TrainOptions TrainOptions::from_json(const json& section, const std::string& where) {
  JsonReader r(section, where + " (train)");
  r.ignore("_comment");
  TrainOptions t;
  t.steps = r.get_or<int64_t>("steps", t.steps);
  t.epochs = r.get_or<double>("epochs", t.epochs);
  t.grad_accum = r.get_or<int64_t>("grad_accum", t.grad_accum);
  t.lr = r.get_or<double>("lr", t.lr);
  t.lr_low_factor = r.get_or<double>("lr_low_factor", t.lr_low_factor);
  t.lr_high_factor = r.get_or<double>("lr_high_factor", t.lr_high_factor);
  t.weight_decay = r.get_or<double>("weight_decay", t.weight_decay);
  t.clip_grad_norm = r.get_or<double>("clip_grad_norm", t.clip_grad_norm);
  t.grad_bucket_mb = r.get_or<double>("grad_bucket_mb", t.grad_bucket_mb);
  t.schedule = r.get_or<std::string>("schedule", t.schedule);
  t.warmup_steps = r.get_or<int64_t>("warmup_steps", t.warmup_steps);
  t.min_lr_ratio = r.get_or<double>("min_lr_ratio", t.min_lr_ratio);
  t.precision = r.get_or<std::string>("precision", t.precision);
  t.max_nonfinite = r.get_or<int64_t>("max_nonfinite", t.max_nonfinite);
  t.log_every = r.get_or<int64_t>("log_every", t.log_every);
  t.lazy_teacher = r.get_or<bool>("lazy_teacher", t.lazy_teacher);
  r.finish();
  const std::string w = where + ": train.";
  SEA_CHECK(t.steps >= 0, w, "steps = ", t.steps, " must be >= 0 (0 = derived)");
  SEA_CHECK(t.epochs >= 0, w, "epochs = ", t.epochs, " must be >= 0");
  SEA_CHECK(t.grad_accum >= 1, w, "grad_accum = ", t.grad_accum, " must be >= 1");
  SEA_CHECK(t.lr > 0 && std::isfinite(t.lr), w, "lr = ", t.lr, " must be a positive number");
  SEA_CHECK(t.lr_high_factor > 0, w, "lr_high_factor = ", t.lr_high_factor, " must be > 0");
  SEA_CHECK(t.weight_decay >= 0, w, "weight_decay = ", t.weight_decay, " must be >= 0");
  SEA_CHECK(t.clip_grad_norm >= 0, w, "clip_grad_norm = ", t.clip_grad_norm, " must be >= 0 (0 = off)");
  SEA_CHECK(t.grad_bucket_mb > 0, w, "grad_bucket_mb = ", t.grad_bucket_mb, " must be > 0");
  SEA_CHECK(t.schedule == "constant" || t.schedule == "cosine", w, "schedule = '", t.schedule,
            "' is not one of: constant, cosine");
  SEA_CHECK(t.warmup_steps >= 0, w, "warmup_steps = ", t.warmup_steps, " must be >= 0");
  SEA_CHECK(t.min_lr_ratio >= 0 && t.min_lr_ratio <= 1, w, "min_lr_ratio = ", t.min_lr_ratio, " must be in [0, 1]");
  SEA_CHECK(t.precision == "auto" || t.precision == "fp32" || t.precision == "bf16", w, "precision = '", t.precision,
            "' is not one of: auto, fp32, bf16");
  SEA_CHECK(t.max_nonfinite >= 0, w, "max_nonfinite = ", t.max_nonfinite, " must be >= 0");
  SEA_CHECK(t.log_every >= 1, w, "log_every = ", t.log_every, " must be >= 1");
  return t;
}

json TrainOptions::to_json() const {
  return {{"steps", steps},
          {"epochs", epochs},
          {"grad_accum", grad_accum},
          {"lr", lr},
          {"lr_low_factor", lr_low_factor},
          {"lr_high_factor", lr_high_factor},
          {"weight_decay", weight_decay},
          {"clip_grad_norm", clip_grad_norm},
          {"grad_bucket_mb", grad_bucket_mb},
          {"schedule", schedule},
          {"warmup_steps", warmup_steps},
          {"min_lr_ratio", min_lr_ratio},
          {"precision", precision},
          {"max_nonfinite", max_nonfinite},
          {"log_every", log_every},
          {"lazy_teacher", lazy_teacher}};
}

RunConfig RunConfig::from_json(const json& doc, const std::string& where) {
  SEA_CHECK(doc.is_object(), where, ": a run config must be a JSON object");
  JsonReader r(doc, where);
  r.ignore("_comment");
  RunConfig c;
  c.name = r.get_or<std::string>("name", c.name);
  c.model = r.get_or<std::string>("model", c.model);
  if (r.has("model_set")) {
    json list = r.get<json>("model_set");
    SEA_CHECK(list.is_array(), where, ": model_set must be a list of \"key=value\" strings");
    for (const auto& s : list) {
      SEA_CHECK(s.is_string(), where, ": model_set entries must be \"key=value\" strings, got ", s.dump());
      c.model_set.push_back(s.get<std::string>());
    }
  }
  c.teacher = r.get_or<std::string>("teacher", c.teacher);
  c.init = r.get_or<std::string>("init", c.init);
  if (r.has("attention")) {
    c.attention = r.get<json>("attention");
    SEA_CHECK(c.attention.is_object() && c.attention.contains("method") && c.attention["method"].is_string(), where,
              ": attention must be an object with a \"method\" name (configs/methods/*.json)");
  }
  if (r.has("data")) c.data = data::DataConfig::from_json(r.get<json>("data"), where + " (data)");
  if (r.has("train")) c.train = TrainOptions::from_json(r.get<json>("train"), where);
  if (r.has("loss")) c.loss = LossWeights::from_json(r.get<json>("loss"), where + " (loss)");
  if (r.has("checkpoint")) {
    JsonReader cr = r.object("checkpoint");
    cr.ignore("_comment");
    c.checkpoint.every = cr.get_or<int64_t>("every", c.checkpoint.every);
    c.checkpoint.keep_last = cr.get_or<int64_t>("keep_last", c.checkpoint.keep_last);
    cr.finish();
    SEA_CHECK(c.checkpoint.every >= 0, where, ": checkpoint.every = ", c.checkpoint.every, " must be >= 0");
    SEA_CHECK(c.checkpoint.keep_last >= 1, where, ": checkpoint.keep_last = ", c.checkpoint.keep_last,
              " must be >= 1");
  }
  if (r.has("eval")) {
    JsonReader er = r.object("eval");
    er.ignore("_comment");
    c.eval.every = er.get_or<int64_t>("every", c.eval.every);
    c.eval.max_batches = er.get_or<int64_t>("max_batches", c.eval.max_batches);
    er.finish();
    SEA_CHECK(c.eval.every >= 0 && c.eval.max_batches >= 0, where, ": eval.every and eval.max_batches must be >= 0");
  }
  c.run_dir = r.get_or<std::string>("run_dir", c.run_dir);
  c.device = r.get_or<std::string>("device", c.device);
  c.seed = r.get_or<int64_t>("seed", c.seed);
  r.finish();
  SEA_CHECK(c.init.empty() || c.init == "fresh" || c.init == "teacher" || fs::exists(c.init), where, ": init = '",
            c.init, "' is not \"\", \"teacher\", \"fresh\" or an existing checkpoint path");
  return c;
}

json RunConfig::to_json() const {
  return {{"name", name},
          {"model", model},
          {"model_set", model_set},
          {"teacher", teacher},
          {"init", init},
          {"attention", attention},
          {"data", data.to_json()},
          {"train", train.to_json()},
          {"loss", loss.to_json()},
          {"checkpoint", {{"every", checkpoint.every}, {"keep_last", checkpoint.keep_last}}},
          {"eval", {{"every", eval.every}, {"max_batches", eval.max_batches}}},
          {"run_dir", run_dir},
          {"device", device},
          {"seed", seed}};
}

std::string RunConfig::method() const { return attention.value("method", "none"); }

RunConfig RunConfig::resolved(const std::string& family, int64_t batches_per_epoch) const {
  RunConfig c = *this;
  c.data = data.resolved();
  c.loss = loss.resolved(family);
  c.device = resolve_device_name(device);
  if (c.train.lr_low_factor < 0) c.train.lr_low_factor = (family == "opt" && c.method() == "perlin") ? 0.2 : 1.0;
  if (c.train.steps == 0) {
    if (c.data.is_glue()) {
      const std::string& t = c.data.task;
      const double epochs = c.train.epochs > 0 ? c.train.epochs
                            : (t == "mnli" || t == "qnli" || t == "qqp") ? 20.0
                                                                          : 100.0;  // SEA_SPEC.md §3.5
      c.train.epochs = epochs;
      if (batches_per_epoch > 0) {
        c.train.steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * batches_per_epoch / c.train.grad_accum)));
      }
    } else {
      c.train.steps = 10000;  // the paper's OPT recipe (SEA_SPEC.md §3.4)
    }
  }
  if (c.name.empty()) {
    std::string model_name = c.model.empty() ? "teacher-arch" : fs::path(c.model).stem().string();
    std::ostringstream n;
    n << model_name << "_" << c.data.task << "_" << c.method();
    if (c.attention.contains("k") && c.attention["k"].is_number()) n << "_k" << c.attention["k"].dump();
    c.name = n.str();
  }
  if (c.run_dir.empty()) c.run_dir = (fs::path("runs") / c.name).string();
  return c;
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = read_json_file(path);
  for (const auto& o : overrides) apply_override(doc, o);
  return RunConfig::from_json(doc, path);
}

std::string resolve_model_config_path(const std::string& name_or_path) {
  SEA_CHECK(!name_or_path.empty(), "no model config given");
  if (fs::is_regular_file(name_or_path)) return name_or_path;
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("SEA_CONFIG_DIR")) dirs.push_back(std::string(env) + "/models");
  dirs.push_back("configs/models");
  if (std::string(SEA_CONFIG_DIR_DEFAULT).size()) dirs.push_back(std::string(SEA_CONFIG_DIR_DEFAULT) + "/models");
  std::string looked;
  for (const auto& d : dirs) {
    const std::string p = d + "/" + name_or_path + ".json";
    if (fs::is_regular_file(p)) return p;
    looked += "\n  " + p;
  }
  fail("model '", name_or_path, "' is neither a file nor a preset; looked for:", looked);
}

std::string resolve_device_name(const std::string& device) {
  if (device == "auto" || device.empty()) return at::hasCUDA() ? "cuda:0" : "cpu";
  if (device.rfind("cuda", 0) == 0) {
    SEA_CHECK(at::hasCUDA(), "device '", device, "' asked for, but this build/machine has no CUDA device");
    if (device == "cuda") return "cuda:0";  // an explicit index: allocator statistics need one
  } else {
    SEA_CHECK(device == "cpu", "device '", device, "' is not one of: auto, cpu, cuda, cuda:<index>");
  }
  return device;
}

}  // namespace sea::train
