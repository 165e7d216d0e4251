// trainer.cpp — the training / distillation loop, resume, and checkpoint evaluation (see trainer.h).
#include "sea/train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/util/Exception.h>
#include <sys/resource.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <chrono>
#include <new>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sea/attention/sea_attention.h"
#include "sea/dist/data_parallel.h"
#include "sea/models/context_extension.h"
#include "sea/models/model_factory.h"
#include "sea/train/autocast_scope.h"
#include "sea/train/checkpoint.h"
#include "sea/train/optimizer_setup.h"
#include "sea/train/progress.h"
#include "sea/train/rng_state.h"
#include "sea/train/task_data.h"
#include "sea/train/teacher.h"
#include "sea/util/filesystem.h"
#include "sea/util/logging.h"

#include <fmt/format.h>

#if SEA_TORCH_CUDA_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace sea::train {
namespace {

namespace fs = std::filesystem;

constexpr int kTrainerStateVersion = 1;

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

void reset_cuda_peak(const c10::Device& d) {
#if SEA_TORCH_CUDA_STATS
  if (d.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(d.index());
#else
  (void)d;
#endif
}

double cuda_peak_mb(const c10::Device& d) {
#if SEA_TORCH_CUDA_STATS
  if (d.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
  }
#else
  (void)d;
#endif
  return 0.0;
}

// The attention config stored in a checkpoint's config.json ("sea_attention"), or `none`.
json checkpoint_attention(const std::string& dir) {
  json hf = read_json_file((fs::path(dir) / "config.json").string());
  return hf.contains("sea_attention") ? hf["sea_attention"] : json{{"method", "none"}};
}

bool model_uses_teacher_signals(torch::nn::Module& model) {
  bool uses = false;
  attention::for_each_attention_method<attention::AttentionMethodImpl>(
      model, [&](attention::AttentionMethodImpl& m) { uses |= m.uses_teacher_signals(); });
  return uses;
}

// Checks that SEA's k and predictor length make sense for the run's sequence length.
void check_attention_fits(const RunConfig& c) {
  if (c.method() != "perlin") return;
  const int64_t T = c.data.seq_len;
  if (c.attention.contains("k")) {
    const double k = c.attention["k"].get<double>();
    SEA_CHECK(k >= 1 && k <= T, "attention.k = ", k, " is out of range for data.seq_len = ", T,
              ": SEA keeps k keys per query, so 1 <= k <= seq_len (k >= seq_len would be dense attention)");
  }
  if (c.attention.contains("predictor_length")) {
    const int64_t K = c.attention["predictor_length"].get<int64_t>();
    SEA_CHECK(K >= 1 && K <= T, "attention.predictor_length = ", K, " is out of range for data.seq_len = ", T,
              ": the compressed map has K columns for T keys, so 1 <= K <= seq_len");
  }
}

std::string describe_run(const RunConfig& c) {
  std::ostringstream s;
  s << "model " << (c.model.empty() ? "(teacher's)" : c.model) << ", method " << c.method() << ", task "
    << c.data.task << ", seq_len " << c.data.seq_len << ", batch_size " << c.data.batch_size << ", grad_accum "
    << c.train.grad_accum << ", precision " << c.train.precision << ", device " << c.device;
  if (c.attention.contains("k")) s << ", k " << c.attention["k"].dump();
  if (c.attention.contains("predictor_length")) s << ", predictor_length " << c.attention["predictor_length"].dump();
  return s.str();
}

[[noreturn]] void fail_oom(const RunConfig& c, const std::string& where, const std::string& what) {
  fail("out of memory while ", where, " (", describe_run(c),
       "). Lower data.batch_size (raise train.grad_accum to keep the global batch), data.seq_len, or use a "
       "smaller model. Original error: ",
       what.substr(0, 300));
}

// Builds the student: from a checkpoint, an init path, the teacher's weights, or fresh from the model config.
models::Model build_student(const RunConfig& c, const TaskData& task, const std::string& resume_dir,
                            const std::string& teacher_dir, const models::ModelImpl* teacher) {
  const auto attention = attention::AttentionConfig::from_json(c.attention, "attention");
  if (!resume_dir.empty()) return models::load_hf_model(resume_dir, attention);

  std::string init_dir;
  if (!c.init.empty() && c.init != "fresh" && c.init != "teacher") init_dir = resolve_model_dir(c.init);
  else if (c.init != "fresh" && !teacher_dir.empty()) init_dir = teacher_dir;

  models::Model student;
  if (!c.model.empty()) {
    std::vector<std::string> overrides = c.model_set;
    overrides.insert(overrides.begin(), "attention=" + c.attention.dump());
    const std::string path = resolve_model_config_path(c.model);
    json cfg = models::load_model_config(path, overrides);
    // A fresh GLUE model gets the task's number of outputs; one initialised from weights must already have it.
    if (task.num_labels() > 0 && (init_dir.empty() || !cfg.contains("num_labels"))) cfg["num_labels"] = task.num_labels();
    student = models::make_model(cfg, path);
    if (teacher) check_same_architecture(*teacher, *student, c.teacher);
    if (!init_dir.empty()) {
      const auto report = models::load_hf_weights(*student, init_dir, models::fresh_method_policy(*student));
      log().info("student initialised from '{}': {}", init_dir, report.summary());
    }
  } else {
    SEA_CHECK(!init_dir.empty(), "no model: give \"model\" (--model opt-125m, a preset or a config path), a teacher "
                                 "(--teacher) or an init checkpoint (\"init\")");
    student = models::load_hf_model(init_dir, attention);
    if (teacher) check_same_architecture(*teacher, *student, c.teacher);
  }
  if (task.num_labels() > 0) {
    const json cfg = student->config_json();
    SEA_CHECK(cfg.value("num_labels", int64_t{0}) == task.num_labels(), "GLUE ", task.task(), " needs ",
              task.num_labels(), " outputs; the model has num_labels = ", cfg.value("num_labels", int64_t{0}));
  }
  return student;
}

// Keeps metrics.jsonl consistent with a resumed run: drops lines of steps after `step`.
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() <= step) kept += line + "\n";
  }
  in.close();
  write_file_atomic(path, [&](std::ostream& os) { os << kept; });
}

// A loss term as a detached fp32 scalar; an absent term counts as 0 in the logs.
at::Tensor scalar_or_zero(const at::Tensor& t, const at::Tensor& like) {
  return t.defined() ? t.detach().to(at::kFloat).reshape({}) : at::zeros({}, like.options().dtype(at::kFloat));
}

// Data parallelism: every rank draws the same global batch (data.batch_size × world rows) and keeps rows
// [rank·n/world, (rank+1)·n/world). Returns the rank's share of the global mean's weight, n_rank·world/n, so that
// averaging weight·loss over ranks gives the loss of the whole batch (an uneven last GLUE batch included).
double take_rank_rows(TrainBatch& b, int rank, int world) {
  const int64_t n = b.inputs.input_ids.size(0);
  const int64_t lo = n * rank / world, hi = n * (rank + 1) / world;
  auto rows = [&](at::Tensor& t) {
    if (t.defined()) t = t.narrow(0, lo, hi - lo);
  };
  rows(b.inputs.input_ids);
  rows(b.inputs.attention_mask);
  rows(b.inputs.token_type_ids);
  rows(b.labels);
  b.tokens = b.inputs.attention_mask.defined() ? b.inputs.attention_mask.sum().item<int64_t>() : b.inputs.input_ids.numel();
  return n == 0 ? 0.0 : static_cast<double>(hi - lo) * world / static_cast<double>(n);
}

}  // namespace

TrainResult run_training(const RunConfig& input, const std::string& load_checkpoint) {
  // 1. Data first: the task decides the model family and, for GLUE, the number of steps.
  RunConfig c = input;
  c.data = c.data.resolved();
  // Data parallelism (docs/TRAINING.md "Several GPUs"): launched with WORLD_SIZE / RANK / LOCAL_RANK /
  // MASTER_ADDR / MASTER_PORT, one process per device; a plain "cuda" device becomes cuda:LOCAL_RANK.
  const dist::LaunchEnv launch = dist::launch_env_from_environment();
  if (launch.launched && c.device == "cuda") c.device = "cuda:" + std::to_string(launch.local_rank);
  std::unique_ptr<dist::DataParallel> dp;
  if (launch.launched) {
    const c10::Device d(c.device);
    if (d.is_cuda()) c10::impl::getDeviceGuardImpl(d.type())->setDevice(d);
    if (launch.rank != 0) log().set_level(spdlog::level::warn);  // rank 0 tells the story
    dp = std::make_unique<dist::DataParallel>(launch, d);
  }
  const bool is_main = !dp || dp->rank() == 0;
  const int world = dp ? dp->world_size() : 1;
  data::DataConfig global_data = c.data;  // every rank reads the global batch and keeps its rows
  global_data.batch_size *= world;
  std::unique_ptr<TaskData> task = make_task_data(global_data, /*load_train=*/true);
  c = c.resolved(task->model_family(), task->batches_per_epoch());
  check_attention_fits(c);
  const c10::Device device(c.device);
  const std::string precision = resolve_precision(c.train.precision, device);
  SEA_CHECK(!c.teacher.empty() || c.method() == "none" || !c.init.empty(),
            "method '", c.method(), "' is trained by distillation: give a dense teacher (--teacher PATH; train one with "
            "--method none), or set \"init\" to start from a checkpoint without one");

  if (is_main) fs::create_directories(c.run_dir);
  const std::string ckpt_root = (fs::path(c.run_dir) / "checkpoints").string();
  const std::optional<std::string> resume_dir =
      load_checkpoint.empty() ? std::nullopt : resolve_checkpoint(load_checkpoint, ckpt_root);
  if (!resume_dir && !complete_checkpoints(ckpt_root).empty()) {
    log().warn("{} already holds checkpoints of an earlier run; this run starts fresh and will add its own "
               "(resume instead with --load-checkpoint auto, or use another --run-dir)", ckpt_root);
  }
  if (load_checkpoint == "auto" && !resume_dir) log().info("--load-checkpoint auto: no checkpoint in {}, starting fresh", ckpt_root);

  if (is_main) write_json_file_atomic((fs::path(c.run_dir) / "run_config.json").string(), c.to_json());
  log().info("run '{}' in {}: {}{}", c.name, c.run_dir, describe_run(c),
             dp ? fmt::format(", {} ranks ({}), global batch {}", world, dp->backend(), c.data.batch_size * world) : "");
  log().info("resolved config: {}", c.to_json().dump());

  torch::manual_seed(static_cast<uint64_t>(c.seed));

  // 2. Teacher and student.
  std::unique_ptr<Teacher> teacher;
  std::string teacher_dir;
  if (!c.teacher.empty()) {
    teacher_dir = resolve_model_dir(c.teacher);
    teacher = std::make_unique<Teacher>(load_teacher_model(teacher_dir, device), c.train.lazy_teacher);
    log().info("teacher: {} ({} layers), lazy signals {}", teacher_dir, teacher->model().num_layers(),
               c.train.lazy_teacher);
    SEA_CHECK(teacher->model().family() == task->model_family(), "task ", task->task(), " needs a ",
              task->model_family(), " model, but the teacher '", c.teacher, "' is ", teacher->model().family());
  }
  models::Model student =
      build_student(c, *task, resume_dir.value_or(""), teacher_dir, teacher ? &teacher->model() : nullptr);
  SEA_CHECK(student->family() == task->model_family(), "task ", task->task(), " needs a ", task->model_family(),
            " model, but the student is ", student->family());
  student->to(device);
  student->train();
  if (dp) dp->broadcast_module(*student);  // rank 0's weights and buffers everywhere
  const bool signals = teacher && model_uses_teacher_signals(*student) && c.loss.attention > 0;
  const int64_t L = student->num_layers();

  OptimizerSetup opt = make_optimizer(*student, c.train);
  for (const auto& g : opt.groups) {
    log().info("param group {:<20} lr {:.3g}  {} tensors, {:.2f} M values", g.name, g.base_lr, g.tensors,
               g.elements / 1e6);
  }

  // 3. Resume.
  int64_t step = 0, skipped = 0;
  json history = json::array();
  if (resume_dir) {
    json st = read_trainer_state(*resume_dir);
    load_optimizer_state(*opt.optimizer, *resume_dir);
    step = st.at("step").get<int64_t>();
    skipped = st.value("skipped_steps", int64_t{0});
    task->set_cursor(st.at("data_cursor"));
    restore_rng_state(st.at("rng"));
    if (st.contains("config") && st["config"] != c.to_json()) {
      log().warn("the checkpoint was written with a different config; continuing with this run's config "
                 "(checkpoint: {})", st["config"].dump());
    }
    log().info("resumed from {} at step {} (data cursor {})", *resume_dir, step, st["data_cursor"].dump());
  }
  // The checkpoint holds rank 0's RNG; the other ranks draw their own dropout from (seed, rank, step).
  if (dp && dp->rank() != 0) torch::manual_seed(static_cast<uint64_t>(c.seed) + 7919u * dp->rank() + 1000003u * step);
  const std::string metrics_path = (fs::path(c.run_dir) / "metrics.jsonl").string();
  std::ofstream metrics;  // rank 0 only; the other ranks' stream stays closed and ignores writes
  if (is_main) {
    if (resume_dir) truncate_metrics(metrics_path, step);
    else if (fs::exists(metrics_path)) fs::rename(metrics_path, metrics_path + ".old");
    metrics.open(metrics_path, std::ios::app);
    SEA_CHECK(metrics.good(), "cannot write ", metrics_path);
  }

  CheckpointDirectory checkpoints(ckpt_root, c.checkpoint.keep_last);
  auto trainer_state = [&](const json& last_eval) {
    return json{{"version", kTrainerStateVersion},
                {"step", step},
                {"epoch", task->cursor().value("epoch", int64_t{0})},
                {"data_cursor", task->cursor()},
                {"rng", capture_rng_state()},
                {"skipped_steps", skipped},
                {"config", c.to_json()},
                {"last_eval", last_eval},
                {"torch_version", TORCH_VERSION}};
  };

  // Evaluation must not change the training RNG stream (reformer draws rotations even in eval).
  auto evaluate = [&](const std::string& split, int64_t max_batches) {
    const json rng = capture_rng_state();
    EvalRequest req;
    req.split = split;
    req.max_batches = max_batches;
    req.device = device;
    if (dp) {  // each rank scores its share of the batches; the sums go through the group (on the device for NCCL)
      req.shard = dp->rank();
      req.shards = world;
      req.all_reduce_sum = [&](at::Tensor& t) {
        at::Tensor on_device = t.to(device);
        dp->all_reduce_sum(on_device);
        t.copy_(on_device.cpu());
      };
    }
    json r;
    {
      AutocastScope autocast(device, precision);
      r = task->evaluate(*student, req);
    }
    restore_rng_state(rng);
    return r;
  };

  // 4. The loop.
  const int64_t total = c.train.steps;
  log().info("training {} -> {} optimizer steps ({} micro-batches of {} each){}", step, total, c.train.grad_accum,
             c.data.batch_size, teacher ? ", distilling" : ", no teacher (dense training)");
  ProgressLine bar("train", total, step);
  const int64_t start_step = step;
  if (!is_main) bar.silence();
  std::vector<at::Tensor> trained_params;  // the gradients averaged across ranks, in one fixed order
  for (auto& p : student->parameters()) {
    if (p.requires_grad()) trained_params.push_back(p);
  }
  if (dp) {  // buckets that start during the last micro-batch's backward
    dp->start_overlap(trained_params, static_cast<int64_t>(c.train.grad_bucket_mb * 1024 * 1024));
  }
  json last_eval = json::object();
  std::string last_checkpoint;
  auto t_last = std::chrono::steady_clock::now();
  int64_t tokens_since = 0;
  while (step < total) {
    const double factor = lr_factor(c.train, step, total);
    apply_lr(opt, factor);
    opt.optimizer->zero_grad(/*set_to_none=*/true);
    double sums[5] = {0, 0, 0, 0, 0};  // task, hidden, logit, attention, total
    bool finite = true;
    int64_t step_tokens = 0;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      for (int64_t micro = 0; micro < c.train.grad_accum; ++micro) {
        if (dp && micro == c.train.grad_accum - 1) dp->arm_overlap();  // on every rank, backward or not
        TrainBatch b = task->next_train_batch();
        if (!finite) continue;  // the step is lost; its batches are still consumed (ranks stay in step)
        const double weight = dp ? take_rank_rows(b, dp->rank(), world) : 1.0;
        step_tokens += b.tokens;
        if (b.inputs.input_ids.size(0) == 0) continue;  // an uneven last batch left this rank no rows
        models::ModelInputs in;
        in.input_ids = b.inputs.input_ids.to(device);
        if (b.inputs.attention_mask.defined()) in.attention_mask = b.inputs.attention_mask.to(device);
        if (b.inputs.token_type_ids.defined()) in.token_type_ids = b.inputs.token_type_ids.to(device);

        LossTerms terms;
        {
          AutocastScope autocast(device, precision);
          TeacherOutput t;
          if (teacher) t = teacher->run(in, signals);
          models::ForwardOptions fo;
          fo.output_hidden_states = teacher != nullptr;
          if (signals) fo.teacher = t.signals;
          models::ModelOutput out = student->forward(in, fo);
          terms.task = task->task_loss(out, b);
          if (teacher) {
            terms.hidden = hidden_state_kd(out.hidden_states, t.hidden_states);
            terms.logit = logit_kd(out.logits, t.logits);
            if (out.attention_loss.defined()) terms.attention = out.attention_loss.to(at::kFloat) / static_cast<double>(L);
          }
          terms = combine_losses(terms, c.loss, teacher != nullptr);
        }
        // The five logged values in one device-to-host copy (one sync per micro-batch, not five).
        const at::Tensor& T = terms.total;
        const at::Tensor values =
            at::stack({scalar_or_zero(terms.task, T), scalar_or_zero(terms.hidden, T), scalar_or_zero(terms.logit, T),
                       scalar_or_zero(terms.attention, T), scalar_or_zero(T, T)})
                .to(at::kCPU, at::kDouble);
        const double* v = values.data_ptr<double>();
        if (!std::isfinite(v[4])) {
          finite = false;
          continue;
        }
        (terms.total * (weight / static_cast<double>(c.train.grad_accum))).backward();
        for (int i = 0; i < 5; ++i) sums[i] += v[i] * weight / c.train.grad_accum;
      }
    } catch (const c10::OutOfMemoryError& e) {
      fail_oom(c, "running training step " + std::to_string(step + 1), e.what());
    } catch (const std::bad_alloc& e) {
      fail_oom(c, "running training step " + std::to_string(step + 1), e.what());
    }

    if (dp) {  // the buckets the backward did not start, then one collective for the flags and logged values
      dp->launch_remaining_buckets();
      at::Tensor stats = at::tensor({finite ? 0.0 : 1.0, sums[0], sums[1], sums[2], sums[3], sums[4],
                                     static_cast<double>(step_tokens)}, at::kDouble).to(device);
      dp->all_reduce_sum(stats);
      stats = stats.cpu();
      const double* s = stats.data_ptr<double>();
      finite = s[0] == 0.0;
      for (int i = 0; i < 5; ++i) sums[i] = s[i + 1] / world;
      step_tokens = static_cast<int64_t>(s[6]);
      dp->finish_overlap(/*write=*/finite);
      if (step == start_step) {
        log().info("data parallel: {} gradient buckets of at most {} MB; {} started during the backward", dp->num_buckets(),
                   c.train.grad_bucket_mb, dp->buckets_started_in_backward());
      }
    }
    double grad_norm = 0;
    if (finite) {
      std::vector<at::Tensor> params;
      for (auto& p : student->parameters()) {
        if (p.grad().defined()) params.push_back(p);
      }
      grad_norm = c.train.clip_grad_norm > 0
                      ? torch::nn::utils::clip_grad_norm_(params, c.train.clip_grad_norm)
                      : torch::nn::utils::clip_grad_norm_(params, std::numeric_limits<double>::infinity());
      finite = std::isfinite(grad_norm);
    }
    json line = {{"step", step + 1}, {"lr_factor", factor}};
    if (!finite) {
      ++skipped;
      opt.optimizer->zero_grad(true);
      log().warn("step {}: non-finite loss or gradient, step skipped ({} skipped so far, limit {})", step + 1,
                 skipped, c.train.max_nonfinite);
      line["skipped"] = true;
      metrics << line.dump() << "\n" << std::flush;
      SEA_CHECK(skipped <= c.train.max_nonfinite, "stopping: ", skipped, " steps had a non-finite loss or gradient ",
                "(train.max_nonfinite = ", c.train.max_nonfinite, "). Lower train.lr, check the data, or use fp32. ",
                describe_run(c));
      ++step;  // the step's batches are consumed; the optimizer does not move
      continue;
    }
    opt.optimizer->step();
    const bool redrew = attention::notify_optimizer_step(*student);
    if (dp && redrew) dp->broadcast_buffers(*student);  // rank 0's redrawn features everywhere
    ++step;

    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    tokens_since += step_tokens;
    line.update({{"loss", sums[4]}, {"task", sums[0]}, {"grad_norm", grad_norm}, {"tokens", step_tokens},
                 {"seconds", dt}});
    if (teacher) line.update({{"hidden_kd", sums[1]}, {"logit_kd", sums[2]}, {"attention", sums[3]}});
    metrics << line.dump() << "\n" << std::flush;

    std::string text = fmt::format("loss {:.4f} (task {:.4f}", sums[4], sums[0]);
    if (teacher) text += fmt::format(", kd {:.4g}/{:.4g}, attn {:.4g}", sums[1], sums[2], sums[3]);
    text += fmt::format(") {:.0f} tok/s", step_tokens / std::max(dt, 1e-9));
    bar.update(step, text);
    if (step % c.train.log_every == 0 || step == total) {
      const double window = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_last).count();
      bar.finish();
      log().info("step {}/{} | {} | lr x{:.3f} | grad norm {:.3f} | {:.0f} tok/s | ETA {}", step, total, text, factor,
                 grad_norm, tokens_since / std::max(window, 1e-9), format_duration(bar.eta_seconds()));
      t_last = std::chrono::steady_clock::now();
      tokens_since = 0;
    }

    const bool eval_now = (c.eval.every > 0 && step % c.eval.every == 0) || step == total;
    if (eval_now) {
      bar.finish();
      try {
        last_eval = evaluate("", c.eval.max_batches);
      } catch (const c10::OutOfMemoryError& e) {
        fail_oom(c, "evaluating at step " + std::to_string(step), e.what());
      }
      last_eval["step"] = step;
      const std::string main = last_eval["main"];
      log().info("eval at step {}: {} {} = {}", step, last_eval["split"].get<std::string>(), main,
                 last_eval[main].dump());
      metrics << json{{"step", step}, {"eval", last_eval}}.dump() << "\n" << std::flush;
    }
    if ((c.checkpoint.every > 0 && step % c.checkpoint.every == 0) || step == total) {
      bar.finish();
      if (is_main) {
        last_checkpoint = checkpoints.save(step, *student, opt.optimizer.get(), trainer_state(last_eval));
        log().info("checkpoint: {}", last_checkpoint);
      }
    }
  }
  bar.finish();
  if (dp) dp->barrier();  // every rank ends after rank 0's last checkpoint is complete
  if (last_checkpoint.empty()) {  // resumed at the end (or not rank 0): the newest checkpoint
    if (auto newest = newest_checkpoint(ckpt_root)) last_checkpoint = *newest;
  }

  TrainResult r;
  r.steps = step;
  r.skipped_steps = skipped;
  r.last_checkpoint = last_checkpoint;
  r.final_eval = last_eval;
  r.config = c;
  return r;
}

json run_evaluation(const RunConfig& input, const EvaluationRequest& req) {
  RunConfig c = input;
  c.data = c.data.resolved();
  std::unique_ptr<TaskData> task = make_task_data(c.data, /*load_train=*/false);
  c = c.resolved(task->model_family(), 0);
  const c10::Device device(c.device);
  const std::string precision = resolve_precision(c.train.precision, device);

  const std::string dir = resolve_model_dir(req.model_path);
  const json attention_json = req.override_attention ? c.attention : checkpoint_attention(dir);
  {
    RunConfig check = c;
    check.attention = attention_json;
    check_attention_fits(check);
  }
  models::Model model = models::load_hf_model(dir, attention::AttentionConfig::from_json(attention_json, dir));
  SEA_CHECK(model->family() == task->model_family(), "task ", task->task(), " needs a ", task->model_family(),
            " model, but '", dir, "' holds a ", model->family(), " model");
  if (req.extend_positions) models::extend_positions(*model, *req.extend_positions);
  if (req.k) {
    SEA_CHECK(*req.k >= 1 && *req.k <= c.data.seq_len, "k = ", *req.k, " is out of range for data.seq_len = ",
              c.data.seq_len);
    const int64_t n = attention::set_sea_k(*model, *req.k);
    SEA_CHECK(n > 0, "--k ", *req.k, " given, but the model in '", dir, "' has no SEA (perlin) attention");
  }
  model->to(device);
  model->eval();

  json out = {{"model", dir},
              {"method", attention_json.value("method", "none")},
              {"k", !req.k ? attention_json.value("k", json(nullptr))
                  : *req.k == std::floor(*req.k) ? json(static_cast<int64_t>(*req.k)) : json(*req.k)},
              {"task", task->task()},
              {"seq_len", c.data.seq_len},
              {"positions", req.extend_positions ? json(*req.extend_positions) : json(nullptr)},
              {"device", c.device},
              {"precision", precision},
              {"results", json::array()}};
  const std::vector<std::string> splits = req.splits.empty() ? task->eval_splits() : req.splits;
  double peak_cuda = 0;
  for (const auto& split : splits) {
    reset_cuda_peak(device);
    EvalRequest er;
    er.split = split;
    er.device = device;
    er.max_batches = req.max_batches;
    std::unique_ptr<ProgressLine> bar;  // the total is known once the task starts its loop
    er.progress = [&](int64_t done, int64_t total) {
      if (!bar) bar = std::make_unique<ProgressLine>("eval " + split, total);
      bar->update(done);
    };
    const auto t0 = std::chrono::steady_clock::now();
    json r;
    try {
      AutocastScope autocast(device, precision);
      r = task->evaluate(*model, er);
    } catch (const c10::OutOfMemoryError& e) {
      fail_oom(c, "evaluating '" + dir + "' on " + split, e.what());
    }
    if (bar) bar->finish();
    r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    peak_cuda = std::max(peak_cuda, cuda_peak_mb(device));
    const std::string main = r["main"];
    log().info("{} {}: {} = {}", dir, split, main, r[main].dump());
    out["results"].push_back(r);
  }
  out["memory"] = {{"peak_rss_mb", peak_rss_mb()}};
  if (device.is_cuda()) out["memory"]["cuda_peak_allocated_mb"] = peak_cuda;
  if (!c.run_dir.empty() && !input.run_dir.empty()) {
    fs::create_directories(c.run_dir);
    write_json_file_atomic((fs::path(c.run_dir) / "eval.json").string(), out);
  }
  return out;
}

std::string format_eval_table(const std::vector<json>& evals) {
  std::ostringstream s;
  s << "| model | method | k | split | metric | value | peak memory (MB) |\n";
  s << "|---|---|---|---|---|---|---|\n";
  for (const auto& e : evals) {
    const json& mem = e["memory"];
    char memtxt[64];
    if (mem.contains("cuda_peak_allocated_mb")) {
      std::snprintf(memtxt, sizeof memtxt, "%.0f (GPU)", mem["cuda_peak_allocated_mb"].get<double>());
    } else {
      std::snprintf(memtxt, sizeof memtxt, "%.0f (RSS)", mem["peak_rss_mb"].get<double>());
    }
    for (const auto& r : e["results"]) {
      for (auto it = r.begin(); it != r.end(); ++it) {
        const std::string& key = it.key();
        const bool metric = key == "perplexity" || key == "accuracy" || key == "f1" || key == "matthews" ||
                            key == "pearson" || key == "spearman";
        if (!metric) continue;
        char val[32];
        if (it->is_number()) std::snprintf(val, sizeof val, "%.4f", it->get<double>());
        else std::snprintf(val, sizeof val, "n/a");
        s << "| " << e["model"].get<std::string>() << " | " << e["method"].get<std::string>() << " | "
          << (e["k"].is_null() ? std::string("-") : e["k"].dump()) << " | " << r["split"].get<std::string>()
          << (r.value("partial", false) ? " (partial)" : "") << " | "
          << key << " | " << val << " | " << memtxt << " |\n";
      }
    }
  }
  return s.str();
}

}  // namespace sea::train
