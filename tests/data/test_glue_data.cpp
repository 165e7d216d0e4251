// test_glue_data.cpp — GLUE files, batches and the data config section, on the real GLUE files and on
// small broken ones: dynamic padding, seeded/bucketed batch order, resumable epochs, and the errors a user
// sees for a missing file, an unknown task, split or label, or a short row.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "sea/data/data_config.h"
#include "sea/data/glue.h"
#include "sea/data/glue_batches.h"
#include "sea/data/tokenizer.h"
#include "sea/util/filesystem.h"
#include "data_test_util.h"

namespace {

using namespace sea::data;
using sea::test::TempDir;

const Tokenizer& bert() { return sea::test::shared_tokenizer("bert-base-uncased"); }

TEST(GlueFiles, EveryTaskPresentLoadsWithTheRightColumnsAndLabels) {
  // Row counts of the official dev sets (and MRPC's labelled test set).
  const std::vector<std::tuple<std::string, std::string, size_t>> expected = {
      {"cola", "dev", 1043}, {"sst2", "dev", 872}, {"mrpc", "dev", 408}, {"mrpc", "test", 1725},
      {"stsb", "dev", 1500}, {"rte", "dev", 277},  {"wnli", "dev", 71},  {"qnli", "dev", 5463}};
  for (const auto& [name, split, rows] : expected) {
    const GlueTask& task = glue_task(name);
    const auto examples = load_glue_examples(sea::test::data_dir(), task, split);
    EXPECT_EQ(examples.size(), rows) << name << " " << split;
    std::set<float> labels;
    for (const auto& ex : examples) {
      labels.insert(ex.label);
      EXPECT_FALSE(ex.text_a.empty()) << name;
      EXPECT_EQ(ex.text_b.empty(), !task.has_pairs()) << name;
    }
    if (task.is_regression()) {
      EXPECT_GE(*labels.begin(), 0.0f);
      EXPECT_LE(*labels.rbegin(), 5.0f);
      EXPECT_GT(labels.size(), 10u) << "STS-B scores are continuous";
    } else {
      EXPECT_EQ(labels, (std::set<float>{0.0f, 1.0f})) << name << " uses both classes";
    }
  }
}

TEST(GlueFiles, NamesAreForgivingAndErrorsAreClear) {
  EXPECT_EQ(glue_task("MRPC").name, "mrpc");
  EXPECT_EQ(glue_task("SST-2").name, "sst2");
  EXPECT_EQ(glue_task("sts_b").name, "stsb");
  EXPECT_NE(sea::test::error_of([] { glue_task("mrcp"); }).find("use one of cola, sst2"), std::string::npos);
  EXPECT_NE(sea::test::error_of([] { glue_file(glue_task("rte"), "test"); }).find("labels are not public"),
            std::string::npos);
  EXPECT_NE(sea::test::error_of([] { glue_file(glue_task("mnli"), "dev"); }).find("dev_matched"), std::string::npos);

  TempDir dir("sea_test_glue");
  const std::string missing = sea::test::error_of([&] { load_glue_examples(dir.path(), glue_task("rte"), "dev"); });
  EXPECT_NE(missing.find("GLUE rte dev split not found"), std::string::npos) << missing;
  EXPECT_NE(missing.find("glue/RTE/dev.tsv"), std::string::npos) << missing;
  EXPECT_NE(missing.find("scripts/get_data.sh"), std::string::npos) << missing;

  dir.write("glue/RTE/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tmaybe\n");
  const std::string bad_label = sea::test::error_of([&] { load_glue_examples(dir.path(), glue_task("rte"), "dev"); });
  EXPECT_NE(bad_label.find("dev.tsv:3: unknown label 'maybe'"), std::string::npos) << bad_label;

  dir.write("glue/WNLI/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\t1\n1\tonly two\n");
  const std::string short_row = sea::test::error_of([&] { load_glue_examples(dir.path(), glue_task("wnli"), "dev"); });
  EXPECT_NE(short_row.find("dev.tsv:3: 2 columns, expected at least 4"), std::string::npos) << short_row;

  dir.write("glue/SST-2/dev.tsv", "text\tlabel\nfine\t1\n");
  const std::string header = sea::test::error_of([&] { load_glue_examples(dir.path(), glue_task("sst2"), "dev"); });
  EXPECT_NE(header.find("header has no column 'sentence'"), std::string::npos) << header;

  dir.write("glue/CoLA/dev.tsv", "src\t7\t\tA sentence.\n");
  const std::string class_id = sea::test::error_of([&] { load_glue_examples(dir.path(), glue_task("cola"), "dev"); });
  EXPECT_NE(class_id.find("not a class id"), std::string::npos) << class_id;
}

// MNLI and QQP are not in the shared data; their files (when a user downloads them) have these headers.
TEST(GlueFiles, MnliAndQqpLayouts) {
  TempDir dir("sea_test_glue");
  dir.write("glue/MNLI/dev_matched.tsv",
            "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
            "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
            "0\t1\t1e\tfiction\t( a )\t( b )\t(A)\t(B)\tThe cat sat.\tA cat sat.\tentailment\tentailment\t"
            "entailment\tentailment\tentailment\tentailment\n"
            "1\t2\t2c\tfiction\t( c )\t( d )\t(C)\t(D)\tIt rained.\tIt was dry.\tcontradiction\tneutral\t"
            "contradiction\tcontradiction\tcontradiction\tcontradiction\n");
  const auto mnli = load_glue_examples(dir.path(), glue_task("mnli"), "dev_matched");
  ASSERT_EQ(mnli.size(), 2u);
  EXPECT_EQ(mnli[0].text_a, "The cat sat.");
  EXPECT_EQ(mnli[0].text_b, "A cat sat.");
  EXPECT_EQ(mnli[0].label, 0.0f);
  EXPECT_EQ(mnli[1].label, 2.0f) << "gold_label, not label1";
  EXPECT_EQ(DataConfig::from_json({{"task", "mnli"}}, "t").resolved().eval_split, "dev_matched");

  dir.write("glue/QQP/dev.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                                "7\t1\t2\tHow old is the sun?\tWhat is the age of the sun?\t1\n");
  const auto qqp = load_glue_examples(dir.path(), glue_task("qqp"), "dev");
  ASSERT_EQ(qqp.size(), 1u);
  EXPECT_EQ(qqp[0].text_b, "What is the age of the sun?");
  EXPECT_EQ(qqp[0].label, 1.0f);
}

TEST(GlueBatches, DynamicPaddingMasksAndLabels) {
  const GlueTask& task = glue_task("stsb");
  const auto examples = load_glue_examples(sea::test::data_dir(), task, "dev");
  const GlueDataset ds = encode_glue(examples, bert(), task, 256);
  ASSERT_TRUE(ds.regression);
  const std::vector<int64_t> idx = {5, 0, 17};
  const GlueBatch b = collate(ds, idx, bert().pad_id());
  size_t longest = 0;
  for (int64_t i : idx) longest = std::max(longest, ds.encodings[static_cast<size_t>(i)].ids.size());
  ASSERT_EQ(b.input_ids.sizes(), (at::IntArrayRef{3, static_cast<int64_t>(longest)}));
  EXPECT_EQ(b.labels.scalar_type(), at::kFloat);
  for (int64_t r = 0; r < 3; ++r) {
    const Encoding& e = ds.encodings[static_cast<size_t>(idx[static_cast<size_t>(r)])];
    const auto n = static_cast<int64_t>(e.ids.size());
    EXPECT_EQ(b.attention_mask[r].sum().item<int64_t>(), n);
    for (int64_t t = 0; t < static_cast<int64_t>(longest); ++t) {
      EXPECT_EQ(b.input_ids[r][t].item<int64_t>(), t < n ? e.ids[static_cast<size_t>(t)] : bert().pad_id());
      EXPECT_EQ(b.token_type_ids[r][t].item<int64_t>(), t < n ? e.type_ids[static_cast<size_t>(t)] : 0);
    }
    EXPECT_FLOAT_EQ(b.labels[r].item<float>(), examples[static_cast<size_t>(idx[static_cast<size_t>(r)])].label);
  }
  EXPECT_EQ(b.example_indices, idx);

  const GlueDataset cls = encode_glue(load_glue_examples(sea::test::data_dir(), glue_task("rte"), "dev"), bert(),
                                      glue_task("rte"), 64);
  const GlueBatch c = collate(cls, {0, 1}, bert().pad_id());
  EXPECT_EQ(c.labels.scalar_type(), at::kLong);
  EXPECT_LE(c.input_ids.size(1), 64) << "max_length truncation";
}

TEST(GlueBatches, EpochPlansAreSeededCompleteAndBucketed) {
  const GlueTask& task = glue_task("qnli");
  const GlueDataset ds = encode_glue(load_glue_examples(sea::test::data_dir(), task, "dev"), bert(), task, 256);
  const auto n = static_cast<int64_t>(ds.encodings.size());
  auto padding = [&](const std::vector<std::vector<int64_t>>& batches) {
    int64_t pad = 0;
    for (const auto& b : batches) {
      size_t longest = 0;
      for (int64_t i : b) longest = std::max(longest, ds.encodings[static_cast<size_t>(i)].ids.size());
      for (int64_t i : b) pad += static_cast<int64_t>(longest - ds.encodings[static_cast<size_t>(i)].ids.size());
    }
    return pad;
  };
  for (const bool bucket : {false, true}) {
    GlueBatchPlan plan(ds, {32, 7, true, bucket, false});
    const auto e0 = plan.epoch(0), e0_again = plan.epoch(0), e1 = plan.epoch(1);
    EXPECT_EQ(e0, e0_again) << "an epoch is a pure function of (seed, epoch): resuming reproduces it";
    EXPECT_NE(e0, e1) << "each epoch has its own order";
    EXPECT_NE(e0, GlueBatchPlan(ds, {32, 8, true, bucket, false}).epoch(0)) << "the seed matters";
    EXPECT_EQ(static_cast<int64_t>(e0.size()), plan.batches_per_epoch());
    std::vector<int64_t> seen;
    for (const auto& b : e0) seen.insert(seen.end(), b.begin(), b.end());
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(static_cast<int64_t>(seen.size()), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], i) << "every example exactly once";
  }
  const int64_t plain = padding(GlueBatchPlan(ds, {32, 7, true, false, false}).epoch(0));
  const int64_t bucketed = padding(GlueBatchPlan(ds, {32, 7, true, true, false}).epoch(0));
  EXPECT_LT(bucketed * 3, plain) << "bucketing by length should cut padding a lot: " << bucketed << " vs " << plain;

  const auto in_order = GlueBatchPlan(ds, {10, 7, false, false, true}).epoch(3);
  EXPECT_EQ(static_cast<int64_t>(in_order.size()), n / 10) << "drop_last";
  EXPECT_EQ(in_order[0], (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << "shuffle off keeps file order";
}

TEST(DataConfigSection, DefaultsPerTaskAndStrictKeys) {
  const DataConfig lm = DataConfig::from_json(sea::json::object(), "test").resolved();
  EXPECT_EQ(lm.task, "wikitext2");
  EXPECT_EQ(lm.tokenizer, "opt");
  EXPECT_EQ(lm.seq_len, 2048);
  EXPECT_EQ(lm.batch_size, 1);
  EXPECT_EQ(lm.eval_split, "valid");

  const DataConfig glue = DataConfig::from_json({{"task", "MRPC"}, {"dir", "/x"}}, "test").resolved();
  EXPECT_EQ(glue.task, "mrpc");
  EXPECT_EQ(glue.tokenizer, "bert-base-uncased");
  EXPECT_EQ(glue.seq_len, 256);
  EXPECT_EQ(glue.batch_size, 64);
  EXPECT_EQ(glue.eval_split, "test") << "the reference evaluates MRPC on its labelled test set";
  EXPECT_EQ(glue.cache_dir, "/x/cache");
  EXPECT_EQ(DataConfig::from_json(glue.to_json(), "round trip").resolved().to_json(), glue.to_json());

  auto err = [](const sea::json& j) { return sea::test::error_of([&] { DataConfig::from_json(j, "cfg.json"); }); };
  EXPECT_NE(err({{"batch_sise", 4}}).find("batch_sise"), std::string::npos);
  EXPECT_NE(err({{"task", "imdb"}}).find("data.task 'imdb'"), std::string::npos);
  EXPECT_NE(err({{"seq_len", "long"}}).find("seq_len"), std::string::npos);
  EXPECT_NE(err({{"seq_len", 128}, {"eval_stride", 256}}).find("exceeds"), std::string::npos);
  EXPECT_NE(err({{"task", "rte"}, {"eval_split", "test"}}).find("not public"), std::string::npos);
  EXPECT_NE(err({{"variant", "cooked"}}).find("raw or tokenized"), std::string::npos);
}

}  // namespace
