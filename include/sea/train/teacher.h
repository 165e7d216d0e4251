// teacher.h — the dense teacher of a distillation run (SEA_SPEC.md §3.1): a frozen model with method `none`,
// run in eval mode without gradients on the student's batch, handing the student its logits, its hidden
// states and, per layer, the attention signals SEA's layer loss compares against (pre-softmax scores,
// context before out_proj).
//
// Signals are lazy by default: the teacher keeps only each layer's input hidden state (N, T, E) and recomputes
// that layer's q·kᵀ (or its context) when the student's layer asks, so the teacher's T×T score tensors are
// never all alive at once. Eager mode computes every layer's signals right after the teacher's forward.
//
//   Teacher teacher(load_teacher_model(path, device));
//   check_same_architecture(teacher.model(), *student, path);
//   TeacherOutput t = teacher.run(inputs, /*with_signals=*/true);
//   student->forward(inputs, {.output_hidden_states = true, .teacher = t.signals});
#pragma once

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "sea/models/model.h"

namespace sea::train {

struct TeacherOutput {
  torch::Tensor logits;                             // as ModelOutput::logits, detached
  std::vector<torch::Tensor> hidden_states;         // L+1 tensors (N, T, E), detached
  std::vector<attention::TeacherSignals> signals;   // one per layer; empty unless asked for
};

class Teacher {
 public:
  // Takes the model over: eval mode, every parameter frozen. Its attention method must be `none`.
  explicit Teacher(models::Model model, bool lazy_signals = true);

  TeacherOutput run(const models::ModelInputs& inputs, bool with_signals);

  models::ModelImpl& model() { return *model_; }
  const models::Model& model_ptr() const { return model_; }
  bool lazy_signals() const { return lazy_; }

 private:
  models::Model model_;
  bool lazy_;
};

// The directory a teacher (or a student's initial weights) is read from: `path` itself when it holds
// config.json (an HF checkpoint or one of our checkpoints), else the newest complete checkpoint under
// <path>/checkpoints (a run directory). sea::Error naming the path and what was looked for otherwise.
std::string resolve_model_dir(const std::string& path);

// Loads the dense teacher from `path` (see resolve_model_dir) onto `device`, method `none`.
models::Model load_teacher_model(const std::string& path, const c10::Device& device);

// sea::Error listing every config key (other than the attention method) in which `student` differs from
// `teacher` — a student must share the teacher's architecture. `teacher_source` names the teacher in errors.
void check_same_architecture(const models::ModelImpl& teacher, const models::ModelImpl& student,
                             const std::string& teacher_source);

}  // namespace sea::train
