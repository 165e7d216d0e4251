// test_checkpoint.cpp — training checkpoints (train/checkpoint.h) and RNG state (train/rng_state.h) on a tiny
// OPT: a save / load round trip of weights, trainer state and a two-group AdamW (checked by stepping on from it
// bit for bit), keep_last pruning and numeric step ordering, crashes mid-write and damaged checkpoints that
// `auto` must skip while an explicit path names the broken file, and RNG capture / restore.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "sea/models/model_factory.h"
#include "sea/train/checkpoint.h"
#include "sea/train/rng_state.h"
#include "sea/util/filesystem.h"
#include "data/data_test_util.h"
#include "test_util.h"

using namespace sea;
using namespace sea::models;
using namespace sea::train;

namespace {

models::Model tiny_opt(uint64_t seed, const std::vector<std::string>& overrides = {}) {
  const std::string path = test::source_dir() + "/configs/models/opt-test.json";
  at::manual_seed(seed);
  return make_model(load_model_config(path, overrides), path);
}

// Two parameter groups (first half / second half of the parameters) with the given options.
std::unique_ptr<torch::optim::AdamW> two_group_adamw(models::ModelImpl& model, torch::optim::AdamWOptions first,
                                                     torch::optim::AdamWOptions second) {
  std::vector<at::Tensor> params = model.parameters();
  const auto half = params.begin() + static_cast<std::ptrdiff_t>(params.size() / 2);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<at::Tensor>(params.begin(), half),
                      std::make_unique<torch::optim::AdamWOptions>(first));
  groups.emplace_back(std::vector<at::Tensor>(half, params.end()),
                      std::make_unique<torch::optim::AdamWOptions>(second));
  return std::make_unique<torch::optim::AdamW>(std::move(groups));
}

void train_step(models::ModelImpl& model, torch::optim::Optimizer& optimizer, const at::Tensor& ids) {
  optimizer.zero_grad();
  ModelInputs in;
  in.input_ids = ids;
  at::Tensor loss = model.forward(in).logits.square().mean();
  loss.backward();
  optimizer.step();
}

// Every parameter and buffer of `a` equals the one of the same name in `b`, bitwise.
void expect_same_state(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    ASSERT_TRUE(pb.contains(item.key())) << item.key();
    EXPECT_TRUE(at::equal(item.value(), pb[item.key()])) << item.key();
  }
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& item : ba) {
    ASSERT_TRUE(bb.contains(item.key())) << item.key();
    EXPECT_TRUE(at::equal(item.value(), bb[item.key()])) << item.key();
  }
}

bool any_parameter_differs(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pb = b.named_parameters();
  for (const auto& item : a.named_parameters()) {
    if (!at::equal(item.value(), pb[item.key()])) return true;
  }
  return false;
}

bool exists(const std::string& path) { return std::ifstream(path).good() || std::filesystem::is_directory(path); }

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json small_state(int64_t step) { return json{{"step", step}, {"epoch", 0}}; }

}  // namespace

TEST(Checkpoint, SaveLoadRoundTripOfWeightsStateAndTwoGroupAdamW) {
  test::TempDir tmp("sea_ckpt_roundtrip");
  at::manual_seed(3);
  const at::Tensor ids = at::randint(3, 500, {2, 16}, at::kLong);

  models::Model a = tiny_opt(1);
  auto opt_a = two_group_adamw(*a, torch::optim::AdamWOptions(1e-2).weight_decay(0.1),
                               torch::optim::AdamWOptions(3e-3).weight_decay(0.0).betas({0.8, 0.95}));
  train_step(*a, *opt_a, ids);
  train_step(*a, *opt_a, ids);

  const json state = {{"step", 2},
                      {"epoch", 1},
                      {"data_cursor", {{"epoch", 1}, {"batch", 7}}},
                      {"rng", capture_rng_state()},
                      {"metrics", {{"loss", 1.25}}}};
  CheckpointDirectory ckpts(tmp / "checkpoints", /*keep_last=*/3);
  const std::string dir = ckpts.save(2, *a, opt_a.get(), state);
  EXPECT_EQ(dir, tmp / "checkpoints/step-00000002");
  EXPECT_TRUE(is_complete_checkpoint(dir));
  EXPECT_EQ(entries(tmp / "checkpoints"), std::vector<std::string>{"step-00000002"});  // no temporary left
  EXPECT_EQ(entries(dir),
            (std::vector<std::string>{"config.json", "model.safetensors", "optimizer.pt", "trainer_state.json"}));

  // Weights: a fresh model of another seed differs before the load and equals `a` bitwise after it.
  models::Model b = tiny_opt(99);
  ASSERT_TRUE(any_parameter_differs(*a, *b));
  load_hf_weights(*b, dir);
  expect_same_state(*a, *b);
  // The directory is an HF checkpoint too.
  expect_same_state(*a, *load_hf_model(dir));

  EXPECT_EQ(read_trainer_state(dir), state);

  // Optimizer: built with other options, then loaded; one more step on both must agree bit for bit (it uses the
  // moments, the step counts and each group's lr / weight decay / betas).
  auto opt_b = two_group_adamw(*b, torch::optim::AdamWOptions(1e-3), torch::optim::AdamWOptions(1e-3));
  load_optimizer_state(*opt_b, dir);
  for (size_t g = 0; g < 2; ++g) {
    const auto& oa = static_cast<const torch::optim::AdamWOptions&>(opt_a->param_groups()[g].options());
    const auto& ob = static_cast<const torch::optim::AdamWOptions&>(opt_b->param_groups()[g].options());
    EXPECT_EQ(oa.lr(), ob.lr()) << "group " << g;
    EXPECT_EQ(oa.weight_decay(), ob.weight_decay()) << "group " << g;
  }
  train_step(*a, *opt_a, ids);
  train_step(*b, *opt_b, ids);
  expect_same_state(*a, *b);
}

TEST(Checkpoint, OptimizerStateThatDoesNotFitIsAnErrorNamingTheFile) {
  test::TempDir tmp("sea_ckpt_optfit");
  models::Model a = tiny_opt(1);
  auto opt = two_group_adamw(*a, torch::optim::AdamWOptions(1e-2), torch::optim::AdamWOptions(1e-3));
  train_step(*a, *opt, at::randint(3, 500, {1, 8}, at::kLong));
  const std::string dir = CheckpointDirectory(tmp / "c", 1).save(1, *a, opt.get(), small_state(1));
  const std::string file = dir + "/optimizer.pt";

  // One group instead of two (torch's own check).
  models::Model b = tiny_opt(1);
  torch::optim::AdamW one_group(b->parameters(), torch::optim::AdamWOptions(1e-3));
  EXPECT_NE(test::error_of([&] { load_optimizer_state(one_group, dir); }).find(file), std::string::npos);

  // Same groups and parameter counts, other shapes (our moment check).
  models::Model wider = tiny_opt(1, {"ffn_dim=96"});
  auto opt_wider = two_group_adamw(*wider, torch::optim::AdamWOptions(1e-3), torch::optim::AdamWOptions(1e-3));
  const std::string shape_error = test::error_of([&] { load_optimizer_state(*opt_wider, dir); });
  EXPECT_NE(shape_error.find(file), std::string::npos) << shape_error;
  EXPECT_NE(shape_error.find("shape"), std::string::npos) << shape_error;

  // Missing file.
  ASSERT_EQ(std::remove(file.c_str()), 0);
  EXPECT_NE(test::error_of([&] { load_optimizer_state(*opt_wider, dir); }).find(file), std::string::npos);
}

TEST(Checkpoint, SavedWithoutOptimizerResumesWithAFreshOptimizer) {
  test::TempDir tmp("sea_ckpt_noopt");
  models::Model a = tiny_opt(1);
  const std::string dir = CheckpointDirectory(tmp.path(), 1).save(0, *a, nullptr, json::object());
  EXPECT_TRUE(is_complete_checkpoint(dir));
  EXPECT_EQ(read_trainer_state(dir).at("step"), 0);  // added by save()

  auto opt = two_group_adamw(*a, torch::optim::AdamWOptions(5e-3), torch::optim::AdamWOptions(1e-3));
  load_optimizer_state(*opt, dir);
  EXPECT_TRUE(opt->state().empty());
  EXPECT_EQ(static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).lr(), 5e-3);
}

TEST(Checkpoint, TrainerStateMustBeAnObjectOfTheSavedStep) {
  test::TempDir tmp("sea_ckpt_state");
  models::Model a = tiny_opt(1);
  CheckpointDirectory ckpts(tmp.path(), 2);
  EXPECT_NE(test::error_of([&] { ckpts.save(5, *a, nullptr, small_state(4)); }).find("step-00000005"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { ckpts.save(5, *a, nullptr, json::array()); }).find("object"), std::string::npos);
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{});
}

TEST(Checkpoint, SameStepIsReplaced) {
  test::TempDir tmp("sea_ckpt_replace");
  models::Model a = tiny_opt(1);
  CheckpointDirectory ckpts(tmp.path(), 2);
  ckpts.save(5, *a, nullptr, {{"step", 5}, {"tag", "first"}});
  const std::string dir = ckpts.save(5, *a, nullptr, {{"step", 5}, {"tag", "second"}});
  EXPECT_EQ(read_trainer_state(dir).at("tag"), "second");
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"step-00000005"});
}

TEST(Checkpoint, KeepLastPrunesOldestAndStepsOrderNumerically) {
  test::TempDir tmp("sea_ckpt_keep");
  models::Model a = tiny_opt(1);
  CheckpointDirectory ckpts(tmp / "keep", /*keep_last=*/2);
  for (int64_t step : {10, 20, 30, 40}) ckpts.save(step, *a, nullptr, small_state(step));
  EXPECT_EQ(entries(tmp / "keep"), (std::vector<std::string>{"step-00000030", "step-00000040"}));
  EXPECT_EQ(complete_checkpoints(tmp / "keep"), (std::vector<std::string>{ckpts.path_for(30), ckpts.path_for(40)}));
  EXPECT_EQ(newest_checkpoint(tmp / "keep"), ckpts.path_for(40));

  // 1000 after 999; and past 8 digits "step-100000000" < "step-99999999" as strings, but not as steps.
  CheckpointDirectory order(tmp / "order", /*keep_last=*/10);
  order.save(1000, *a, nullptr, small_state(1000));
  order.save(999, *a, nullptr, small_state(999));
  EXPECT_EQ(newest_checkpoint(order.root()), order.path_for(1000));
  order.save(100000000, *a, nullptr, small_state(100000000));
  order.save(99999999, *a, nullptr, small_state(99999999));
  EXPECT_EQ(order.path_for(100000000), tmp / "order/step-100000000");
  EXPECT_EQ(newest_checkpoint(order.root()), order.path_for(100000000));
  EXPECT_EQ(complete_checkpoints(order.root()),
            (std::vector<std::string>{order.path_for(999), order.path_for(1000), order.path_for(99999999),
                                      order.path_for(100000000)}));

  // The checkpoint just written is never pruned, even when older-numbered than the ones kept.
  CheckpointDirectory one(tmp / "one", /*keep_last=*/1);
  one.save(50, *a, nullptr, small_state(50));
  one.save(60, *a, nullptr, small_state(60));
  EXPECT_EQ(entries(one.root()), std::vector<std::string>{"step-00000060"});
  one.save(40, *a, nullptr, small_state(40));
  EXPECT_EQ(entries(one.root()), (std::vector<std::string>{"step-00000040", "step-00000060"}));
}

TEST(Checkpoint, CrashMidWriteAndDamagedCheckpointsAreNeverPicked) {
  test::TempDir tmp("sea_ckpt_crash");
  models::Model a = tiny_opt(1);
  CheckpointDirectory ckpts(tmp / "c", /*keep_last=*/10);
  const std::string good = ckpts.save(100, *a, nullptr, small_state(100));

  // A failure right after each file: no step-00000200, nothing half-written left behind.
  for (const std::string file : {"config.json", "model.safetensors", "optimizer.pt", "trainer_state.json"}) {
    std::vector<std::string> seen;
    const auto crash = [&](const std::string& name) {
      seen.push_back(name);
      if (name == file) throw std::runtime_error("simulated crash after " + name);
    };
    EXPECT_THROW(ckpts.save(200, *a, nullptr, small_state(200), crash), std::runtime_error) << file;
    EXPECT_EQ(seen.back(), file);
    EXPECT_FALSE(exists(ckpts.path_for(200))) << file;
    EXPECT_EQ(entries(ckpts.root()), std::vector<std::string>{"step-00000100"}) << file;
    EXPECT_EQ(newest_checkpoint(ckpts.root()), good) << file;
  }

  // Damaged step directories, all newer than `good`.
  for (int64_t step : {900, 950, 960, 970}) ckpts.save(step, *a, nullptr, small_state(step));
  const std::string no_state = ckpts.path_for(900), truncated = ckpts.path_for(950);
  const std::string no_step = ckpts.path_for(960), no_weights = ckpts.path_for(970);
  ASSERT_EQ(std::remove((no_state + "/trainer_state.json").c_str()), 0);
  const std::string full = read_text(truncated + "/trainer_state.json");
  std::ofstream(truncated + "/trainer_state.json", std::ios::binary | std::ios::trunc)
      << full.substr(0, full.size() / 2);
  std::ofstream(no_step + "/trainer_state.json", std::ios::binary | std::ios::trunc) << R"({"epoch": 3})";
  ASSERT_EQ(std::remove((no_weights + "/model.safetensors").c_str()), 0);
  // And what a killed writer leaves: a temporary directory with partial files.
  const std::string leftover = ckpts.root() + "/.tmp-step-00001000-4242";
  std::filesystem::create_directories(leftover);
  std::ofstream(leftover + "/config.json") << "{}";
  std::ofstream(leftover + "/model.safetensors", std::ios::binary) << std::string(100, '\0');

  for (const std::string& dir : {no_state, truncated, no_step, no_weights, leftover}) {
    EXPECT_FALSE(is_complete_checkpoint(dir)) << dir;
  }
  EXPECT_EQ(resolve_checkpoint("auto", ckpts.root()), good);
  EXPECT_EQ(complete_checkpoints(ckpts.root()), std::vector<std::string>{good});

  // An explicit path names the file at fault.
  const std::pair<std::string, std::string> broken[] = {{no_state, no_state + "/trainer_state.json"},
                                                        {truncated, truncated + "/trainer_state.json"},
                                                        {no_step, no_step + "/trainer_state.json"},
                                                        {no_weights, no_weights + "/model.safetensors"}};
  for (const auto& [dir, file] : broken) {
    const std::string error = test::error_of([&] { resolve_checkpoint(dir, ckpts.root()); });
    EXPECT_NE(error.find(file), std::string::npos) << error;
  }
  EXPECT_NE(test::error_of([&] { read_trainer_state(truncated); }).find(truncated + "/trainer_state.json"),
            std::string::npos);
  EXPECT_EQ(resolve_checkpoint(good, ckpts.root()), good);

  // The next successful save removes the temporary leftover (not the damaged step directories: not ours to judge).
  ckpts.save(1000, *a, nullptr, small_state(1000));
  EXPECT_FALSE(exists(leftover));
  EXPECT_TRUE(exists(no_state));
  EXPECT_EQ(newest_checkpoint(ckpts.root()), ckpts.path_for(1000));
}

TEST(Checkpoint, ResolveWithNothingThere) {
  test::TempDir tmp("sea_ckpt_resolve");
  EXPECT_EQ(resolve_checkpoint("auto", tmp / "does-not-exist"), std::nullopt);
  EXPECT_EQ(resolve_checkpoint("auto", tmp.path()), std::nullopt);  // exists, empty
  EXPECT_EQ(newest_checkpoint(tmp / "does-not-exist"), std::nullopt);
  const std::string missing = tmp / "nope/step-00000007";
  const std::string error = test::error_of([&] { resolve_checkpoint(missing, tmp.path()); });
  EXPECT_NE(error.find(missing), std::string::npos) << error;
  EXPECT_NE(test::error_of([&] { resolve_checkpoint("", tmp.path()); }), "<no error>");
  EXPECT_NE(test::error_of([&] { read_trainer_state(missing); }).find(missing + "/trainer_state.json"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { CheckpointDirectory("x", 0); }), "<no error>");
}

TEST(RngState, CaptureRestoreReproducesDraws) {
  at::manual_seed(7);
  (void)at::rand({3});
  // Through text, as it travels inside trainer_state.json.
  const json saved = json::parse(capture_rng_state().dump());
  ASSERT_TRUE(saved.at("cpu").is_string());
  EXPECT_EQ(saved.at("cuda").size(), at::hasCUDA() ? at::getNumGPUs() : 0u);
  const at::Tensor first = at::rand({1000});
  const at::Tensor first_normal = at::randn({1000});
  const at::Tensor unrelated = at::rand({1000});
  EXPECT_FALSE(at::equal(first, unrelated));  // the generator did move on
  restore_rng_state(saved);
  EXPECT_TRUE(at::equal(at::rand({1000}), first));
  EXPECT_TRUE(at::equal(at::randn({1000}), first_normal));
  if (at::hasCUDA()) {
    restore_rng_state(saved);
    const at::Tensor a = at::rand({100}, at::kCUDA);
    restore_rng_state(saved);
    EXPECT_TRUE(at::equal(at::rand({100}, at::kCUDA), a));
  }
}

TEST(RngState, MalformedStateIsAnErrorAndChangesNothing) {
  const json good = capture_rng_state();
  const std::string cpu = good.at("cpu");
  const std::string other_cpu = [] {
    at::manual_seed(12345);
    return capture_rng_state().at("cpu").get<std::string>();
  }();
  restore_rng_state(good);
  ASSERT_NE(cpu, other_cpu);

  const json bad[] = {
      json::array(),
      json{{"cuda", json::array()}},                               // no "cpu"
      json{{"cpu", cpu}},                                          // no "cuda"
      json{{"cpu", 17}, {"cuda", json::array()}},                  // not a string
      json{{"cpu", cpu.substr(1)}, {"cuda", json::array()}},       // odd length
      json{{"cpu", "zz" + cpu.substr(2)}, {"cuda", json::array()}},  // not hex
      json{{"cpu", "00ff"}, {"cuda", json::array()}},              // wrong length for the generator
      json{{"cpu", cpu}, {"cuda", "00"}},                          // not an array
      json{{"cpu", cpu}, {"cuda", json::array()}, {"extra", 1}},   // unknown key
  };
  for (const json& state : bad) {
    EXPECT_THROW(restore_rng_state(state), sea::Error) << state.dump().substr(0, 80);
  }
  // A different number of CUDA devices names both counts; and the CPU state (valid, different) is not applied.
  json more_devices = good;
  more_devices["cpu"] = other_cpu;
  more_devices["cuda"].push_back(more_devices["cuda"].empty() ? json("00") : more_devices["cuda"][0]);
  const size_t saved = more_devices["cuda"].size();
  const std::string error = test::error_of([&] { restore_rng_state(more_devices); });
  EXPECT_NE(error.find("saved for " + std::to_string(saved)), std::string::npos) << error;
  EXPECT_NE(error.find("sees " + std::to_string(saved - 1)), std::string::npos) << error;
  EXPECT_EQ(capture_rng_state().at("cpu"), cpu);
}
