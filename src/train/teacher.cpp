// teacher.cpp — the frozen dense teacher and its per-layer signals (see teacher.h).
#include "sea/train/teacher.h"

#include <torch/utils.h>

#include <filesystem>
#include <memory>

#include "sea/models/model_factory.h"
#include "sea/models/self_attention.h"
#include "sea/train/checkpoint.h"
#include "sea/util/error.h"
#include "sea/util/logging.h"

namespace sea::train {

namespace fs = std::filesystem;

Teacher::Teacher(models::Model model, bool lazy_signals) : model_(std::move(model)), lazy_(lazy_signals) {
  SEA_CHECK(model_, "Teacher: no model");
  const json cfg = model_->config_json();
  const std::string method = cfg.contains("attention") ? cfg["attention"].value("method", "none") : "none";
  SEA_CHECK(method == "none", "the teacher must use dense attention (method 'none'), got '", method, "'");
  model_->eval();
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
}

TeacherOutput Teacher::run(const models::ModelInputs& inputs, bool with_signals) {
  torch::NoGradGuard no_grad;
  models::ForwardOptions opts;
  opts.output_hidden_states = true;
  models::ModelOutput o = model_->forward(inputs, opts);

  TeacherOutput out;
  out.logits = o.logits;
  out.hidden_states = std::move(o.hidden_states);
  if (!with_signals) return out;

  // The key-padding mask exactly as the model derives it (undefined when nothing is padded).
  const int64_t L = model_->num_layers();
  at::Tensor key_padding = inputs.attention_mask.defined() && !inputs.attention_mask.to(at::kBool).all().item<bool>()
                               ? inputs.attention_mask.to(at::kBool)
                               : at::Tensor();
  out.signals.resize(static_cast<size_t>(L));
  for (int64_t l = 0; l < L; ++l) {
    models::ModelImpl* model = model_.get();
    at::Tensor layer_input = out.hidden_states[static_cast<size_t>(l)];
    // Each closure recomputes what it is asked for from the layer's input (N, T, E) only.
    auto compute = [model, l, layer_input, key_padding](bool scores, bool context) {
      torch::NoGradGuard guard;
      at::Tensor x = model->self_attention_input(l, layer_input);
      return model->self_attention(l).teacher_signals(x, key_padding, scores, context);
    };
    attention::TeacherSignals& s = out.signals[static_cast<size_t>(l)];
    if (lazy_) {
      s.scores = [compute] { return compute(true, false).scores; };
      s.context = [compute] { return compute(false, true).context; };
    } else {
      models::DenseTeacherSignals eager = compute(true, true);
      s.scores = [t = eager.scores] { return t; };
      s.context = [t = eager.context] { return t; };
    }
  }
  return out;
}

std::string resolve_model_dir(const std::string& path) {
  SEA_CHECK(!path.empty(), "no model directory given");
  SEA_CHECK(fs::exists(path), "'", path, "' does not exist (expected an HF checkpoint directory, one of our ",
            "checkpoints, or a run directory holding checkpoints/)");
  const std::string root = (fs::path(path) / "checkpoints").string();
  if (fs::is_directory(root)) {  // a sea-train run directory
    if (auto newest = newest_checkpoint(root)) return *newest;
    fail("run directory '", path, "' has no complete checkpoint under ", root);
  }
  if (fs::exists(fs::path(path) / "config.json")) return path;
  fail("'", path, "' holds neither config.json (an HF or SEA checkpoint) nor checkpoints/ (a sea-train run)");
}

models::Model load_teacher_model(const std::string& path, const c10::Device& device) {
  const std::string dir = resolve_model_dir(path);
  models::Model m = models::load_hf_model(dir, attention::AttentionConfig{});
  m->to(device);
  return m;
}

void check_same_architecture(const models::ModelImpl& teacher, const models::ModelImpl& student,
                             const std::string& teacher_source) {
  SEA_CHECK(teacher.family() == student.family(), "teacher '", teacher_source, "' is a ", teacher.family(),
            " model but the student is a ", student.family(), " model");
  json t = teacher.config_json(), s = student.config_json();
  std::string diffs;
  for (auto it = t.begin(); it != t.end(); ++it) {
    if (it.key() == "attention" || it.key() == "_comment") continue;
    if (!s.contains(it.key())) {
      diffs += "\n  " + it.key() + ": teacher " + it.value().dump() + ", student (absent)";
    } else if (s[it.key()] != it.value()) {
      diffs += "\n  " + it.key() + ": teacher " + it.value().dump() + ", student " + s[it.key()].dump();
    }
  }
  SEA_CHECK(diffs.empty(), "the student's model config does not match the teacher '", teacher_source,
            "' (a student must share the teacher's architecture; drop --model to take the teacher's):", diffs);
}

}  // namespace sea::train
