// checkpoint.h — training checkpoints as directories (DESIGN.md §2), written so that a crash never leaves a
// checkpoint that `--load-checkpoint auto` would pick.
//
// Layout of one checkpoint, <root>/step-<8-digit step>/:
//   config.json          the model config in HF format (+ "sea_attention"), so the directory is also an HF
//                        checkpoint that load_hf_model() (and transformers, for the base weights) can read
//   model.safetensors    every parameter and persistent buffer under HF names (SEA parameters included)
//   optimizer.pt         torch::save of the optimizer (AdamW moments, step counts, param-group options)
//   trainer_state.json   step, epoch, data cursor, RNG states, the full resolved config, metrics, versions;
//                        written last, so its presence marks a finished checkpoint
//
// Writing: everything goes into a hidden sibling "<root>/.tmp-step-<step>-<pid>" which is renamed to its final
// name only when every file is complete and flushed. A crash mid-write leaves a ".tmp-*" directory (ignored by
// newest_checkpoint and removed by the next successful save), never a "step-*" one. After a successful save,
// all but the newest `keep_last` complete checkpoints are deleted (the one just written is always kept), and so
// is every ".tmp-*" entry: this assumes ONE writer per root.
//
//   CheckpointDirectory ckpts(run_dir + "/checkpoints", /*keep_last=*/3);
//   ckpts.save(step, model, &optimizer, state);
//   if (auto path = ckpts.newest()) { ... }          // what --load-checkpoint auto resolves to
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sea/models/model.h"
#include "sea/util/json_config.h"

namespace sea::train {

// True when `dir` holds every file of a finished checkpoint (config.json, model.safetensors, optimizer.pt and a
// trainer_state.json that parses as a JSON object with an integer "step"). The files must be non-empty regular
// files and config.json must parse as a JSON object too.
bool is_complete_checkpoint(const std::string& dir);

// The newest complete checkpoint directly under `root` (by step, from the "step-<n>" name), or nullopt when there
// is none (or `root` does not exist). Incomplete "step-*" directories and ".tmp-*" leftovers are skipped with a
// warning naming them.
std::optional<std::string> newest_checkpoint(const std::string& root);

// All complete checkpoints under `root`, oldest first (by step; no warnings).
std::vector<std::string> complete_checkpoints(const std::string& root);

// Resolves a --load-checkpoint argument: "auto" -> newest_checkpoint(root) (nullopt when none: a fresh start);
// a path -> that directory, which must be a complete checkpoint (sea::Error naming the path and the missing or
// broken file otherwise).
std::optional<std::string> resolve_checkpoint(const std::string& spec, const std::string& root);

// Reads <dir>/trainer_state.json (sea::Error naming the file when missing, not JSON, or not an object with an
// integer "step").
json read_trainer_state(const std::string& dir);

// Loads <dir>/optimizer.pt into `optimizer`, which must be freshly built with the same parameter groups (same
// count, same parameters in the same order); the saved group options (lr, weight decay, ...) replace the ones it
// was built with, and the saved tensors go to the device of its first parameter. sea::Error naming the file when
// it is missing or does not fit the optimizer (group count or sizes; for Adam/AdamW also moment shapes); the
// optimizer may then be partly loaded. An archive saved without an optimizer leaves it as it is (a warning).
void load_optimizer_state(torch::optim::Optimizer& optimizer, const std::string& dir);

class CheckpointDirectory {
 public:
  // root: the folder holding the step-* directories (created on the first save). keep_last >= 1.
  CheckpointDirectory(std::string root, int64_t keep_last);

  // Writes the checkpoint of `step` as described above and returns its final path. `optimizer` may be null
  // (then optimizer.pt holds an empty archive; resuming from it starts the optimizer fresh). An existing
  // checkpoint of the same step is replaced (atomically: the new one is complete before the old one goes).
  // `trainer_state` must be a JSON object; its "step" is added when absent and must equal `step` otherwise.
  // `after_file` is a test hook: called with each file name right after that file is written, before the
  // directory is renamed; a test throws from it (or exits the process) to simulate a crash mid-write. Any
  // exception (the hook's included) propagates after the temporary directory is removed; nothing under a
  // "step-*" name is created or changed then.
  std::string save(int64_t step, const models::ModelImpl& model, const torch::optim::Optimizer* optimizer,
                   const json& trainer_state, const std::function<void(const std::string&)>& after_file = {});

  const std::string& root() const { return root_; }
  int64_t keep_last() const { return keep_last_; }

  // "<root>/step-00000150" for step 150.
  std::string path_for(int64_t step) const;

 private:
  std::string root_;
  int64_t keep_last_;
};

}  // namespace sea::train
