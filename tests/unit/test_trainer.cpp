// test_trainer.cpp — sea-train's loop end to end on tiny models and real data: dense training, distillation
// into every method, resume equals an uninterrupted run bit for bit (OPT/Wikitext-2 and BERT/GLUE), the
// skipped-step limit for non-finite losses, the errors a user can cause, and --eval with dynamic k.
//
// Models are the test configs (configs/models/opt-test.json, bert-test.json) with the real tokenizers'
// vocabularies; the training text is a slice of Wikitext-2 valid so that windows and epochs stay small.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sea/models/weights_io.h"
#include "sea/train/checkpoint.h"
#include "sea/train/trainer.h"
#include "sea/util/filesystem.h"
#include "test_util.h"

namespace fs = std::filesystem;
using sea::json;
using sea::train::RunConfig;

namespace {

std::string scratch(const std::string& name) {
  const std::string dir = (fs::path(::testing::TempDir()) / ("sea_trainer_" + name)).string();
  sea::remove_tree(dir);
  fs::create_directories(dir);
  return dir;
}

// A small training text: the first `bytes` of Wikitext-2 raw valid.
std::string small_text(const std::string& dir, size_t bytes = 20000) {
  std::ifstream in(sea::test::data_dir() + "/wikitext-2-raw/wiki.valid.raw", std::ios::binary);
  std::string text(bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(bytes));
  text.resize(static_cast<size_t>(in.gcount()));
  const std::string path = dir + "/train.txt";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

json opt_run(const std::string& run_dir, const std::string& train_file) {
  return {{"model", sea::test::source_dir() + "/configs/models/opt-test.json"},
          {"model_set", {"vocab_size=50272", "dropout=0.1", "pad_token_id=1"}},
          {"data", {{"task", "wikitext2"}, {"dir", sea::test::data_dir()}, {"seq_len", 32}, {"batch_size", 2},
                    {"train_file", train_file}, {"cache_dir", run_dir + "/../cache"}}},
          {"train", {{"steps", 4}, {"lr", 1e-3}, {"log_every", 100}}},
          {"eval", {{"max_batches", 2}}},
          {"checkpoint", {{"every", 2}, {"keep_last", 5}}},
          {"run_dir", run_dir},
          {"device", "cpu"},
          {"seed", 7}};
}

json bert_run(const std::string& run_dir) {
  return {{"model", sea::test::source_dir() + "/configs/models/bert-test.json"},
          {"model_set", {"vocab_size=30522", "hidden_dropout_prob=0.1"}},
          {"data", {{"task", "mrpc"}, {"dir", sea::test::data_dir()}, {"seq_len", 48}, {"batch_size", 4},
                    {"cache_dir", run_dir + "/../cache"}}},
          {"train", {{"steps", 4}, {"lr", 1e-3}, {"log_every", 100}}},
          {"eval", {{"max_batches", 2}}},
          {"checkpoint", {{"every", 2}, {"keep_last", 5}}},
          {"run_dir", run_dir},
          {"device", "cpu"},
          {"seed", 7}};
}

RunConfig config(const json& doc) { return RunConfig::from_json(doc, "test config"); }

// Every tensor of two checkpoints' model.safetensors, compared bit for bit.
void expect_same_weights(const std::string& a, const std::string& b) {
  auto sa = sea::models::TensorStore::open(a), sb = sea::models::TensorStore::open(b);
  ASSERT_EQ(sa.names(), sb.names());
  for (const auto& n : sa.names()) {
    EXPECT_TRUE(at::equal(sa.load(n), sb.load(n))) << n << " differs between " << a << " and " << b;
  }
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// Trains `doc` for all its steps in one go, and again stopped after `stop` steps and resumed with
// --load-checkpoint auto; the final weights and every step's metrics must be identical.
void check_resume_equals_uninterrupted(json doc, const std::string& dir, int64_t stop) {
  // Bitwise equality needs deterministic CPU kernels: with many threads some reductions split their work by
  // thread timing (seen on a 16-core host across processes), so the compared runs use one thread.
  struct OneThread {
    int saved = at::get_num_threads();
    OneThread() { at::set_num_threads(1); }
    ~OneThread() { at::set_num_threads(saved); }
  } one_thread;
  const int64_t steps = doc["train"]["steps"];
  doc["run_dir"] = dir + "/whole";
  const auto whole = sea::train::run_training(config(doc));
  ASSERT_EQ(whole.steps, steps);

  doc["run_dir"] = dir + "/split";
  doc["train"]["steps"] = stop;
  const auto first = sea::train::run_training(config(doc));
  ASSERT_EQ(first.steps, stop);
  doc["train"]["steps"] = steps;
  const auto resumed = sea::train::run_training(config(doc), "auto");
  ASSERT_EQ(resumed.steps, steps);

  expect_same_weights(whole.last_checkpoint + "/model.safetensors", resumed.last_checkpoint + "/model.safetensors");
  // The per-step losses agree too (eval lines and timings aside).
  auto steps_of = [](const std::vector<json>& lines) {
    std::vector<json> out;
    for (const auto& l : lines) {
      if (l.contains("loss")) out.push_back({l["step"], l["loss"], l["grad_norm"]});
    }
    return out;
  };
  EXPECT_EQ(steps_of(read_jsonl(dir + "/whole/metrics.jsonl")), steps_of(read_jsonl(dir + "/split/metrics.jsonl")));
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(sea::test::data_dir() + "/wikitext-2-raw/wiki.valid.raw")) GTEST_SKIP() << "no data directory";
  }
};

// A dense OPT teacher trained for a few steps, shared by the OPT tests.
std::string opt_teacher(const std::string& dir, const std::string& text) {
  json doc = opt_run(dir + "/teacher", text);
  doc["train"]["steps"] = 3;
  const auto r = sea::train::run_training(config(doc));
  EXPECT_TRUE(sea::train::is_complete_checkpoint(r.last_checkpoint));
  return dir + "/teacher";
}

}  // namespace

TEST_F(TrainerTest, DenseTrainingLowersTheLossAndWritesTheRunFiles) {
  const std::string dir = scratch("dense");
  json doc = opt_run(dir + "/run", small_text(dir));
  doc["train"]["steps"] = 12;
  doc["train"]["lr"] = 3e-3;
  const auto r = sea::train::run_training(config(doc));
  EXPECT_EQ(r.steps, 12);
  for (const char* f : {"run_config.json", "metrics.jsonl", "checkpoints"}) EXPECT_TRUE(fs::exists(dir + "/run/" + f)) << f;
  const auto lines = read_jsonl(dir + "/run/metrics.jsonl");
  std::vector<double> losses;
  for (const auto& l : lines) {
    if (l.contains("loss")) losses.push_back(l["loss"]);
  }
  ASSERT_EQ(losses.size(), 12u);
  EXPECT_LT(losses.back(), losses.front() - 0.5) << "12 steps at lr 3e-3 should lower the LM loss from ~10.8";
  EXPECT_TRUE(r.final_eval.contains("perplexity"));
  EXPECT_TRUE(std::isfinite(r.final_eval["perplexity"].get<double>()));
  // keep_last = 5 with a checkpoint every 2 steps: steps 4..12 are kept.
  EXPECT_EQ(sea::train::complete_checkpoints(dir + "/run/checkpoints").size(), 5u);
}

TEST_F(TrainerTest, DistillationLogsEveryTermForEveryMethod) {
  const std::string dir = scratch("distil");
  const std::string text = small_text(dir);
  const std::string teacher = opt_teacher(dir, text);
  for (const std::string method : {"none", "performer", "reformer", "perlin"}) {
    json doc = opt_run(dir + "/" + method, text);
    doc.erase("model");  // the student takes the teacher's architecture
    doc.erase("model_set");
    doc["teacher"] = teacher;
    doc["attention"] = {{"method", method}};
    if (method == "perlin") doc["attention"].update({{"k", 8}, {"predictor_length", 16}});
    if (method == "reformer") doc["attention"].update({{"bucket_size", 8}, {"n_hashes", 2}});
    doc["train"]["steps"] = 2;
    const auto r = sea::train::run_training(config(doc));
    ASSERT_EQ(r.steps, 2) << method;
    for (const auto& l : read_jsonl(dir + "/" + method + "/metrics.jsonl")) {
      if (!l.contains("loss")) continue;
      for (const char* term : {"task", "hidden_kd", "logit_kd", "attention"}) {
        ASSERT_TRUE(l.contains(term)) << method << " misses " << term;
        EXPECT_TRUE(std::isfinite(l[term].get<double>())) << method << " " << term;
      }
      // Only SEA has a per-layer attention loss; the baselines get the model-level KD only.
      if (method == "perlin") {
        EXPECT_GT(l["attention"].get<double>(), 0.0);
      } else {
        EXPECT_EQ(l["attention"].get<double>(), 0.0) << method;
      }
      EXPECT_GT(l["hidden_kd"].get<double>() + l["logit_kd"].get<double>(), 0.0) << method;
    }
  }
}

TEST_F(TrainerTest, OptDistillationResumeEqualsUninterrupted) {
  const std::string dir = scratch("resume_opt");
  const std::string text = small_text(dir);
  json doc = opt_run(dir, text);
  doc.erase("model");
  doc.erase("model_set");
  doc["teacher"] = opt_teacher(dir, text);
  // SEA with dropout in the student (teacher dropout 0.1 too, off in eval), Performer redraws every 2 steps
  // and 2 micro-batches per step: every piece of state a resume must restore is exercised.
  doc["attention"] = {{"method", "perlin"}, {"k", 8}, {"predictor_length", 16}, {"redraw_interval", 2}};
  doc["train"]["steps"] = 6;
  doc["train"]["grad_accum"] = 2;
  doc["checkpoint"]["every"] = 3;
  check_resume_equals_uninterrupted(doc, dir, 3);
}

TEST_F(TrainerTest, GlueDistillationResumeEqualsUninterrupted) {
  if (!fs::exists(sea::test::data_dir() + "/glue/MRPC")) GTEST_SKIP() << "no GLUE MRPC data";
  const std::string dir = scratch("resume_glue");
  json teacher = bert_run(dir + "/teacher");
  teacher["train"]["steps"] = 2;
  sea::train::run_training(config(teacher));
  json doc = bert_run(dir);
  doc.erase("model");
  doc.erase("model_set");
  doc["teacher"] = dir + "/teacher";
  doc["attention"] = {{"method", "perlin"}, {"k", 4}, {"predictor_length", 16}, {"context_output_method", "norm"}};
  doc["train"]["steps"] = 4;
  doc["checkpoint"]["every"] = 2;
  check_resume_equals_uninterrupted(doc, dir, 2);
  // The evaluation reports MRPC's metrics.
  const json e = read_jsonl(dir + "/whole/metrics.jsonl").back()["eval"];
  EXPECT_EQ(e["main"], "accuracy");
  EXPECT_TRUE(e.contains("f1"));
}

TEST_F(TrainerTest, NonFiniteStepsAreSkippedThenTheRunStops) {
  const std::string dir = scratch("nonfinite");
  json doc = opt_run(dir + "/run", small_text(dir));
  doc["model_set"].push_back("init_std=1e30");  // weights so large that the loss overflows
  doc["train"]["max_nonfinite"] = 2;
  doc["train"]["steps"] = 10;
  const std::string err = sea::test::error_of([&] { sea::train::run_training(config(doc)); });
  EXPECT_NE(err.find("non-finite"), std::string::npos) << err;
  EXPECT_NE(err.find("max_nonfinite = 2"), std::string::npos) << err;
  int skipped = 0;
  for (const auto& l : read_jsonl(dir + "/run/metrics.jsonl")) skipped += l.value("skipped", false);
  EXPECT_EQ(skipped, 3);
}

TEST_F(TrainerTest, UserErrorsNameWhatIsWrong) {
  const std::string dir = scratch("errors");
  const std::string text = small_text(dir);
  auto err = [&](json doc) { return sea::test::error_of([&] { sea::train::run_training(config(doc)); }); };

  json perlin_alone = opt_run(dir + "/a", text);
  perlin_alone["attention"] = {{"method", "perlin"}};
  EXPECT_NE(err(perlin_alone).find("give a dense teacher"), std::string::npos) << err(perlin_alone);

  json missing_teacher = opt_run(dir + "/b", text);
  missing_teacher["teacher"] = dir + "/no-such-teacher";
  EXPECT_NE(err(missing_teacher).find("no-such-teacher"), std::string::npos) << err(missing_teacher);

  const std::string teacher = opt_teacher(dir, text);
  json mismatch = opt_run(dir + "/c", text);
  mismatch["teacher"] = teacher;
  mismatch["model_set"].push_back("ffn_dim=96");
  EXPECT_NE(err(mismatch).find("ffn_dim: teacher 128, student 96"), std::string::npos) << err(mismatch);

  json big_k = opt_run(dir + "/d", text);
  big_k["teacher"] = teacher;
  big_k["attention"] = {{"method", "perlin"}, {"k", 64}};
  EXPECT_NE(err(big_k).find("attention.k = 64 is out of range for data.seq_len = 32"), std::string::npos)
      << err(big_k);

  json big_K = opt_run(dir + "/e", text);
  big_K["teacher"] = teacher;
  big_K["attention"] = {{"method", "perlin"}, {"k", 8}, {"predictor_length", 128}};
  EXPECT_NE(err(big_K).find("predictor_length = 128"), std::string::npos) << err(big_K);

  json no_data = opt_run(dir + "/f", "");
  no_data["data"]["dir"] = dir + "/no-data-here";
  EXPECT_NE(err(no_data).find("no-data-here"), std::string::npos) << err(no_data);

  json unknown = opt_run(dir + "/g", text);
  unknown["train"]["stpes"] = 3;
  EXPECT_NE(sea::test::error_of([&] { config(unknown); }).find("stpes"), std::string::npos);
}

TEST_F(TrainerTest, EvaluationOfACheckpointWithDynamicK) {
  const std::string dir = scratch("eval");
  const std::string text = small_text(dir);
  json doc = opt_run(dir + "/student", text);
  doc.erase("model");
  doc.erase("model_set");
  doc["teacher"] = opt_teacher(dir, text);
  doc["attention"] = {{"method", "perlin"}, {"k", 8}, {"predictor_length", 16}};
  doc["train"]["steps"] = 2;
  const auto trained = sea::train::run_training(config(doc));

  RunConfig c = config(doc);
  c.run_dir = dir + "/eval";
  sea::train::EvaluationRequest req;
  req.model_path = dir + "/student";  // a run directory: its newest checkpoint
  req.max_batches = 3;
  const json k8 = sea::train::run_evaluation(c, req);
  ASSERT_EQ(k8["results"].size(), 2u);  // valid and test
  EXPECT_EQ(k8["method"], "perlin");
  EXPECT_EQ(k8["model"], trained.last_checkpoint);
  req.k = 2;
  const json k2 = sea::train::run_evaluation(c, req);
  const double p8 = k8["results"][0]["perplexity"], p2 = k2["results"][0]["perplexity"];
  EXPECT_TRUE(std::isfinite(p8) && std::isfinite(p2));
  EXPECT_NE(p8, p2) << "k changes which keys each query sees, so it must change the perplexity";
  EXPECT_TRUE(fs::exists(dir + "/eval/eval.json"));
  const std::string table = sea::train::format_eval_table({k8, k2});
  EXPECT_NE(table.find("| perlin | 2 | valid (partial) | perplexity |"), std::string::npos) << table;

  req.k = 64;
  EXPECT_NE(sea::test::error_of([&] { sea::train::run_evaluation(c, req); }).find("out of range"), std::string::npos);
}

TEST_F(TrainerTest, Bf16AutocastDistillationRunsForEveryMethod) {
  // The CUDA default is bf16 autocast; the CPU has the same autocast machinery, so the mixed-precision path
  // (SEA and Performer opting out to fp32 inside it) is exercised here too.
  const std::string dir = scratch("bf16");
  const std::string text = small_text(dir);
  const std::string teacher = opt_teacher(dir, text);
  for (const std::string method : {"none", "performer", "reformer", "perlin"}) {
    json doc = opt_run(dir + "/" + method, text);
    doc.erase("model");
    doc.erase("model_set");
    doc["teacher"] = teacher;
    doc["attention"] = {{"method", method}};
    if (method == "perlin") doc["attention"].update({{"k", 8}, {"predictor_length", 16}});
    if (method == "reformer") doc["attention"].update({{"bucket_size", 8}, {"n_hashes", 2}});
    doc["train"]["steps"] = 2;
    doc["train"]["precision"] = "bf16";
    const auto r = sea::train::run_training(config(doc));
    EXPECT_EQ(r.steps, 2) << method;
    EXPECT_EQ(r.skipped_steps, 0) << method;
    for (const auto& l : read_jsonl(dir + "/" + method + "/metrics.jsonl")) {
      if (l.contains("loss")) EXPECT_TRUE(std::isfinite(l["loss"].get<double>())) << method;
    }
    EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU)) << "the autocast region must end with the run";
  }
}
