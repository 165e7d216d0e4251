// checkpoint.cpp — writing, finding and validating checkpoint directories (see checkpoint.h for the layout).
//
// The one invariant everything here serves: a directory named "step-<n>" is only ever created by a rename of a
// finished, fsync'ed temporary directory, so `--load-checkpoint auto` can trust any step-* that passes
// checkpoint_problem(). Directory listing, renames and flushes use POSIX calls rather than std::filesystem: the
// CUDA LibTorch exports broken copies of some std::filesystem symbols (docs/GPU.md), and POSIX gives us errno for
// the error messages. Only fs::create_directories is used, as save_hf_model() already does on every machine.
#include "sea/train/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "sea/models/model_factory.h"
#include "sea/util/error.h"
#include "sea/util/filesystem.h"
#include "sea/util/logging.h"

namespace sea::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kOptimizerFile = "optimizer.pt";
constexpr const char* kStateFile = "trainer_state.json";
constexpr const char* kStepPrefix = "step-";
constexpr const char* kTmpPrefix = ".tmp-";

std::string join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "step-00000150" for (kStepPrefix, 150); also used for the temporary names.
std::string step_name(const char* prefix, int64_t step) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%08lld", static_cast<long long>(step));
  return std::string(prefix) + digits;
}

// The step of a "step-<digits>" name, numerically (so step-100000000 sorts after step-99999999).
std::optional<int64_t> parse_step_name(const std::string& name) {
  if (!starts_with(name, kStepPrefix)) return std::nullopt;
  const std::string digits = name.substr(std::strlen(kStepPrefix));
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoll(digits);
}

enum class Kind { missing, file, directory, other };

Kind kind_of(const std::string& path, off_t* size = nullptr) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Kind::missing;
  if (size) *size = st.st_size;
  if (S_ISREG(st.st_mode)) return Kind::file;
  if (S_ISDIR(st.st_mode)) return Kind::directory;
  return Kind::other;
}

// Names of the entries directly under `dir` (no "." / ".."); empty when `dir` does not exist.
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    SEA_CHECK(errno == ENOENT, "cannot list checkpoint folder '", dir, "': ", std::strerror(errno));
    return names;
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

// Flushes a file or a directory (its entries) to disk.
void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SEA_CHECK(fd >= 0, "cannot open '", path, "' to flush it: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory (EINVAL): nothing more we can do there.
  SEA_CHECK(rc == 0 || err == EINVAL, "cannot flush '", path, "' to disk: ", std::strerror(err));
}

void rename_or_fail(const std::string& from, const std::string& to) {
  SEA_CHECK(::rename(from.c_str(), to.c_str()) == 0, "cannot rename '", from, "' to '", to,
            "': ", std::strerror(errno));
}

// What is wrong with a trainer state (empty when nothing): an object with an integer "step".
std::string trainer_state_problem(const json& state) {
  if (!state.is_object()) return message("is not a JSON object (got ", state.type_name(), ")");
  if (!state.contains("step")) return "has no \"step\"";
  if (!state.at("step").is_number_integer()) return message("has a non-integer \"step\": ", state.at("step").dump());
  return "";
}

// Why `dir` is not a complete checkpoint (a sentence naming the file at fault), or nullopt when it is one.
std::optional<std::string> checkpoint_problem(const std::string& dir) {
  const Kind k = kind_of(dir);
  if (k == Kind::missing) return message("'", dir, "' does not exist");
  if (k != Kind::directory) return message("'", dir, "' is not a directory");
  for (const char* name : {kConfigFile, kWeightsFile, kOptimizerFile, kStateFile}) {
    const std::string path = join(dir, name);
    off_t size = 0;
    const Kind f = kind_of(path, &size);
    if (f == Kind::missing) return message("missing '", path, "'");
    if (f != Kind::file) return message("'", path, "' is not a regular file");
    if (size == 0) return message("'", path, "' is empty");
  }
  // The two JSON files must parse: config.json as an object, trainer_state.json as an object with a "step".
  json state;
  for (const char* name : {kConfigFile, kStateFile}) {
    const std::string path = join(dir, name);
    json value;
    try {
      value = read_json_file(path);
    } catch (const Error& e) {
      return std::string(e.what());  // names the file and the parse error
    }
    if (!value.is_object()) return message("'", path, "' is not a JSON object");
    state = std::move(value);  // the last one read is trainer_state.json
  }
  const std::string problem = trainer_state_problem(state);
  if (!problem.empty()) return message("'", join(dir, kStateFile), "' ", problem);
  return std::nullopt;
}

struct StepDir {
  int64_t step;
  std::string name;
  std::string path;
};

// The "step-<n>" entries under `root`, oldest first (by step, then name). With `complete_only`, the incomplete
// ones are dropped (and, with `warn`, reported together with any ".tmp-*" leftover).
std::vector<StepDir> scan(const std::string& root, bool complete_only, bool warn) {
  std::vector<StepDir> found;
  for (const std::string& name : list_dir(root)) {
    const std::string path = join(root, name);
    if (starts_with(name, kTmpPrefix)) {
      if (warn) {
        log().warn("ignoring '{}': an unfinished checkpoint write (it is removed by the next successful save)", path);
      }
      continue;
    }
    const auto step = parse_step_name(name);
    if (!step) continue;  // not ours (e.g. a README, a symlink named otherwise)
    if (complete_only) {
      if (auto problem = checkpoint_problem(path)) {
        if (warn) log().warn("skipping '{}': not a complete checkpoint ({})", path, *problem);
        continue;
      }
    }
    found.push_back({*step, name, path});
  }
  std::sort(found.begin(), found.end(),
            [](const StepDir& a, const StepDir& b) { return std::tie(a.step, a.name) < std::tie(b.step, b.name); });
  return found;
}

// The message of any exception from torch's serialization, without the C++ backtrace.
std::string torch_message(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

// After torch's own checks (group count, group sizes), that every saved Adam/AdamW moment has the shape of the
// parameter it now belongs to: a model changed between save and load would otherwise fail much later, or not
// at all when shapes broadcast.
void check_adam_moments(torch::optim::Optimizer& optimizer, const std::string& path) {
  auto& states = optimizer.state();
  for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    const auto& params = optimizer.param_groups()[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = states.find(params[i].unsafeGetTensorImpl());
      if (it == states.end()) continue;
      torch::Tensor moment;
      if (auto* s = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get())) moment = s->exp_avg();
      if (auto* s = dynamic_cast<torch::optim::AdamParamState*>(it->second.get())) moment = s->exp_avg();
      SEA_CHECK(!moment.defined() || moment.sizes() == params[i].sizes(), "optimizer state '", path,
                "' does not fit the optimizer: parameter ", i, " of group ", g, " has shape ", params[i].sizes(),
                " but its saved moments have shape ", moment.sizes());
    }
  }
}

}  // namespace

bool is_complete_checkpoint(const std::string& dir) { return !checkpoint_problem(dir).has_value(); }

std::optional<std::string> newest_checkpoint(const std::string& root) {
  const auto found = scan(root, /*complete_only=*/true, /*warn=*/true);
  if (found.empty()) return std::nullopt;
  return found.back().path;
}

std::vector<std::string> complete_checkpoints(const std::string& root) {
  std::vector<std::string> paths;
  for (const auto& s : scan(root, /*complete_only=*/true, /*warn=*/false)) paths.push_back(s.path);
  return paths;
}

std::optional<std::string> resolve_checkpoint(const std::string& spec, const std::string& root) {
  if (spec == "auto") return newest_checkpoint(root);
  SEA_CHECK(!spec.empty(), "empty checkpoint path (give a checkpoint directory, or \"auto\" for the newest under '",
            root, "')");
  if (auto problem = checkpoint_problem(spec)) fail("cannot resume from checkpoint '", spec, "': ", *problem);
  return spec;
}

json read_trainer_state(const std::string& dir) {
  const std::string path = join(dir, kStateFile);
  json state = read_json_file(path);
  const std::string problem = trainer_state_problem(state);
  SEA_CHECK(problem.empty(), "trainer state '", path, "' ", problem);
  return state;
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const std::string& dir) {
  const std::string path = join(dir, kOptimizerFile);
  SEA_CHECK(kind_of(path) == Kind::file, "missing optimizer state '", path, "'");
  // Map the saved tensors onto the device of the parameters (a CPU-saved state can resume a CUDA run).
  std::optional<torch::Device> device;
  for (const auto& group : optimizer.param_groups()) {
    if (!group.params().empty()) {
      device = group.params().front().device();
      break;
    }
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const std::exception& e) {
    fail("cannot read optimizer state '", path, "': ", torch_message(e));
  }
  if (archive.keys().empty()) {
    log().warn("'{}' holds no optimizer state (the checkpoint was saved without an optimizer): the optimizer "
               "starts fresh", path);
    return;
  }
  // On failure the optimizer may be partly loaded; callers abort the run then.
  try {
    optimizer.load(archive);
  } catch (const std::exception& e) {
    fail("optimizer state '", path, "' does not fit the optimizer: ", torch_message(e));
  }
  check_adam_moments(optimizer, path);
}

CheckpointDirectory::CheckpointDirectory(std::string root, int64_t keep_last)
    : root_(std::move(root)), keep_last_(keep_last) {
  SEA_CHECK(!root_.empty(), "checkpoint folder: empty path");
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  SEA_CHECK(keep_last_ >= 1, "checkpoint folder '", root_, "': keep_last must be >= 1, got ", keep_last_);
}

std::string CheckpointDirectory::path_for(int64_t step) const { return join(root_, step_name(kStepPrefix, step)); }

std::string CheckpointDirectory::save(int64_t step, const models::ModelImpl& model,
                                      const torch::optim::Optimizer* optimizer, const json& trainer_state,
                                      const std::function<void(const std::string&)>& after_file) {
  const std::string final_path = path_for(step);
  SEA_CHECK(step >= 0, "cannot save checkpoint '", final_path, "': negative step ", step);
  // The state must carry this step (is_complete_checkpoint() requires it): added when absent, checked otherwise.
  SEA_CHECK(trainer_state.is_object(), "cannot save checkpoint '", final_path,
            "': the trainer state must be a JSON object, got ", trainer_state.type_name());
  json state = trainer_state;
  if (!state.contains("step")) state["step"] = step;
  SEA_CHECK(state.at("step").is_number_integer() && state.at("step").get<int64_t>() == step, "cannot save checkpoint '",
            final_path, "': the trainer state says step ", state.at("step").dump(), ", not ", step);

  std::error_code ec;
  fs::create_directories(root_, ec);
  SEA_CHECK(!ec, "cannot create checkpoint folder '", root_, "': ", ec.message());
  const std::string pid = "-" + std::to_string(static_cast<long long>(::getpid()));
  const std::string tmp = join(root_, step_name(".tmp-step-", step) + pid);
  const auto written = [&](const char* name) {
    if (after_file) after_file(name);
  };

  try {
    remove_tree(tmp);  // a leftover of an earlier process that had our pid
    // config.json + model.safetensors; save_hf_model() creates `tmp` itself (through its own temporary sibling,
    // whose name also starts with ".tmp-").
    models::save_hf_model(model, tmp);
    written(kConfigFile);
    written(kWeightsFile);

    const std::string optimizer_path = join(tmp, kOptimizerFile);
    try {
      if (optimizer) {
        torch::save(*optimizer, optimizer_path);
      } else {
        torch::serialize::OutputArchive empty;  // load_optimizer_state() recognises it by its lack of keys
        empty.save_to(optimizer_path);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("cannot write optimizer state '", optimizer_path, "': ", torch_message(e));
    }
    written(kOptimizerFile);

    write_json_file_atomic(join(tmp, kStateFile), state);  // last: its presence marks a finished checkpoint
    written(kStateFile);

    for (const char* name : {kConfigFile, kWeightsFile, kOptimizerFile, kStateFile}) fsync_path(join(tmp, name));
    fsync_path(tmp);

    // Into place. An existing checkpoint of this step is moved aside first (rename cannot replace a non-empty
    // directory) and deleted with the other leftovers below. A crash between the two renames leaves both under
    // ".tmp-" names and this step missing; auto-resume then falls back to the previous checkpoint.
    if (kind_of(final_path) != Kind::missing) {
      const std::string aside = join(root_, step_name(".tmp-replaced-step-", step) + pid);
      remove_tree(aside);
      rename_or_fail(final_path, aside);
      if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        const int err = errno;
        ::rename(aside.c_str(), final_path.c_str());  // best effort: put the old checkpoint back
        fail("cannot rename '", tmp, "' to '", final_path, "': ", std::strerror(err));
      }
    } else {
      rename_or_fail(tmp, final_path);
    }
    fsync_path(root_);
  } catch (...) {
    try {
      remove_tree(tmp);
    } catch (const std::exception& e) {
      log().warn("could not remove the unfinished checkpoint '{}': {}", tmp, e.what());
    }
    throw;
  }

  // The save succeeded; from here on failures only cost disk space, so they are warnings.
  // Every ".tmp-*" entry is a leftover of a crashed (or replaced) write. This assumes ONE writer per root: a
  // second process saving into the same folder concurrently would lose its in-progress directory here.
  for (const std::string& name : list_dir(root_)) {
    if (!starts_with(name, kTmpPrefix)) continue;
    try {
      remove_tree(join(root_, name));
    } catch (const std::exception& e) {
      log().warn("could not remove checkpoint leftover '{}': {}", join(root_, name), e.what());
    }
  }

  // keep_last: the newest complete checkpoints by step, plus always the one just written (a run resumed from an
  // older step must not delete its own fresh checkpoint because a newer one of an abandoned run exists).
  const auto complete = scan(root_, /*complete_only=*/true, /*warn=*/false);
  const int64_t n = static_cast<int64_t>(complete.size());
  for (int64_t i = 0; i < n; ++i) {
    const StepDir& c = complete[static_cast<size_t>(i)];
    if (c.step > step) {
      log().warn("checkpoint '{}' is newer than the one just saved ('{}'); --load-checkpoint auto would pick it",
                 c.path, final_path);
    }
    if (i >= n - keep_last_ || c.path == final_path) continue;
    try {
      remove_tree(c.path);
    } catch (const std::exception& e) {
      log().warn("could not remove old checkpoint '{}': {}", c.path, e.what());
    }
  }
  return final_path;
}

}  // namespace sea::train
