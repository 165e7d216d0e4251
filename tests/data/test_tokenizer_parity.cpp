// test_tokenizer_parity.cpp — our BPE and WordPiece token ids against Hugging Face's on real text.
//
// The oracle (scripts/make_tokenizer_fixtures.py, a CTest fixture) runs transformers' tokenizers on every
// Wikitext-2 split in the data directory, every GLUE dev file, a Unicode stress text and pair-truncation
// cases, and stores texts and ids. Here we tokenize the same texts and require identical ids; a mismatch
// reports the first differing position with the tokens around it.
#include <gtest/gtest.h>

#include <map>

#include "sea/data/data_paths.h"
#include "sea/data/glue.h"
#include "sea/data/glue_batches.h"
#include "sea/data/tokenizer.h"
#include "sea/data/wikitext.h"
#include "sea/util/json_config.h"
#include "data_test_util.h"

namespace {

using sea::data::Tokenizer;

const sea::json& cases() {
  static const sea::json j = sea::read_json_file(sea::test::fixture_dir() + "/tokenizers/cases.json");
  return j;
}

const Tokenizer& tokenizer(std::string_view name) { return sea::test::shared_tokenizer(name); }

// "" when equal, else a description of the first difference.
std::string compare_ids(const Tokenizer& tok, const std::vector<int32_t>& ours, const sea::json& expected_json) {
  const auto expected = expected_json.get<std::vector<int32_t>>();
  size_t i = 0;
  while (i < ours.size() && i < expected.size() && ours[i] == expected[i]) ++i;
  if (i == ours.size() && i == expected.size()) return "";
  auto window = [&](const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t k = i >= 5 ? i - 5 : 0; k < std::min(ids.size(), i + 5); ++k) {
      s += (k == i ? "[" : "") + std::to_string(ids[k]) + "'" + tok.decode({ids[k]}) + "'" + (k == i ? "] " : " ");
    }
    return s;
  };
  return sea::message("first difference at position ", i, " of ", ours.size(), " (ours) / ", expected.size(),
                      " (HF)\n  ours: ", window(ours), "\n  HF:   ", window(expected));
}

class TokenizerParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sea::test::fixture_dir().empty()) GTEST_SKIP() << "SEA_FIXTURE_DIR not set (run through ctest)";
  }
};

TEST_F(TokenizerParity, WikitextSplitsEveryTokenizer) {
  int checked = 0;
  for (const auto& c : cases()["cases"]) {
    if (c["kind"] != "wikitext") continue;
    const Tokenizer& tok = tokenizer(c["tokenizer"].get<std::string>());
    const std::string source = c["source"];
    const std::string text = sea::data::read_text_file(sea::test::fixture_dir() + "/tokenizers/" +
                                                       source.substr(source.rfind('/') + 1) + ".joined.txt");
    const std::vector<int32_t> ids = tok.encode(text);
    EXPECT_EQ(compare_ids(tok, ids, c["ids"]), "") << c["name"];
    if (tok.spec().type == "byte_level_bpe") {
      EXPECT_TRUE(tok.decode(ids) == text) << c["name"] << ": round trip";
    }
    ++checked;
  }
  EXPECT_GE(checked, 6) << "expected at least the raw valid/test splits with three tokenizers";
}

TEST_F(TokenizerParity, GlueDevFilesBertTemplateAndOptIds) {
  int files = 0;
  for (const auto& c : cases()["cases"]) {
    if (c["kind"] != "glue") continue;
    const Tokenizer& bert = tokenizer("bert-base-uncased");
    const Tokenizer& opt = tokenizer("opt");
    int failures = 0;
    for (const auto& ex : c["examples"]) {
      const std::string a = ex["a"];
      const std::string b = ex["b"].is_null() ? "" : ex["b"].get<std::string>();
      const std::string_view b_view(b);
      const auto enc = bert.encode_for_model(a, ex["b"].is_null() ? nullptr : &b_view, 256);
      std::string diff = compare_ids(bert, enc.ids, ex["bert_ids"]);
      if (diff.empty() && enc.type_ids != ex["bert_type_ids"].get<std::vector<int32_t>>()) diff = "token types differ";
      if (diff.empty()) diff = compare_ids(opt, opt.encode(a), ex["opt_ids_a"]);
      if (diff.empty() && !ex["b"].is_null()) diff = compare_ids(opt, opt.encode(b), ex["opt_ids_b"]);
      if (!diff.empty() && ++failures <= 3) ADD_FAILURE() << c["name"] << ": '" << a << "' / '" << b << "'\n" << diff;
    }
    EXPECT_EQ(failures, 0) << c["name"] << ": examples that differ";
    ++files;
  }
  EXPECT_GE(files, 7) << "expected the dev files of CoLA, SST-2, MRPC, STS-B, RTE, WNLI, QNLI";
}

TEST_F(TokenizerParity, StressTextAndTemplates) {
  int checked = 0;
  for (const auto& c : cases()["cases"]) {
    const Tokenizer& tok = c.contains("tokenizer") ? tokenizer(c["tokenizer"].get<std::string>()) : tokenizer("opt");
    if (c["kind"] == "text") {
      EXPECT_EQ(compare_ids(tok, tok.encode(c["text"].get<std::string>()), c["ids"]), "") << c["name"];
    } else if (c["kind"] == "template") {
      const std::string a = c["a"];
      const std::string b = c["b"].is_null() ? "" : c["b"].get<std::string>();
      const std::string_view b_view(b);
      const auto enc = tok.encode_for_model(a, c["b"].is_null() ? nullptr : &b_view, c["max_length"].get<int64_t>());
      EXPECT_EQ(compare_ids(tok, enc.ids, c["ids"]), "") << c["name"];
      if (!c["type_ids"].is_null()) {
        EXPECT_EQ(enc.type_ids, c["type_ids"].get<std::vector<int32_t>>()) << c["name"];
      }
    } else {
      continue;
    }
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

}  // namespace

namespace {

// Our reading of the Wikitext-2 files (rows + "\n\n" join) must give the text the oracle tokenized.
TEST_F(TokenizerParity, WikitextJoinMatchesHuggingFaceRows) {
  int checked = 0;
  for (const char* rel : {"wikitext-2-raw/wiki.train.raw", "wikitext-2-raw/wiki.valid.raw",
                          "wikitext-2-raw/wiki.test.raw", "wikitext-2/train.txt", "wikitext-2/valid.txt",
                          "wikitext-2/test.txt"}) {
    if (!sea::data::data_file_exists(sea::test::data_dir(), rel)) continue;
    const std::string file = sea::data::data_file_path(sea::test::data_dir(), rel);
    const auto chunks = sea::data::join_wikitext_rows(sea::data::wikitext_rows(sea::data::read_text_file(file)));
    ASSERT_EQ(chunks.size(), 1u) << rel;
    const std::string base = std::string(rel).substr(std::string(rel).rfind('/') + 1);
    EXPECT_TRUE(chunks[0] == sea::data::read_text_file(sea::test::fixture_dir() + "/tokenizers/" + base +
                                                       ".joined.txt"))
        << rel;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

}  // namespace

namespace {

// Our GLUE reader must yield the texts and labels that Python's csv reader (GLUE processors' settings) and
// Hugging Face's label ids give, and encode_glue the oracle's BERT ids.
TEST_F(TokenizerParity, GlueLoaderMatchesPythonReaderAndHfIds) {
  int files = 0;
  for (const auto& c : cases()["cases"]) {
    if (c["kind"] != "glue") continue;
    const std::string source = c["source"];  // glue/<Folder>/<file>
    const std::string folder = source.substr(5, source.find('/', 5) - 5);
    std::string split = source.substr(source.rfind('/') + 1);
    split = split == "msr_paraphrase_test.txt" ? "test" : split.substr(0, split.find('.'));
    const sea::data::GlueTask* task = nullptr;
    for (const auto& name : sea::data::glue_task_names()) {
      if (sea::data::glue_task(name).folder == folder) task = &sea::data::glue_task(name);
    }
    ASSERT_NE(task, nullptr) << folder;
    const auto examples = sea::data::load_glue_examples(sea::test::data_dir(), *task, split);
    const auto& expected = c["examples"];
    ASSERT_EQ(examples.size(), expected.size()) << source;
    const auto ds = sea::data::encode_glue(examples, tokenizer("bert-base-uncased"), *task, 256);
    int failures = 0;
    for (size_t i = 0; i < examples.size(); ++i) {
      const auto& e = expected[i];
      const bool same = examples[i].text_a == e["a"].get<std::string>() &&
                        examples[i].text_b == (e["b"].is_null() ? "" : e["b"].get<std::string>()) &&
                        examples[i].label == e["label_id"].get<float>() &&
                        ds.encodings[i].ids == e["bert_ids"].get<std::vector<int32_t>>() &&
                        ds.encodings[i].type_ids == e["bert_type_ids"].get<std::vector<int32_t>>();
      if (!same && ++failures <= 3) ADD_FAILURE() << source << " example " << i << ": '" << examples[i].text_a << "'";
    }
    EXPECT_EQ(failures, 0) << source;
    ++files;
  }
  EXPECT_GE(files, 8) << "CoLA, SST-2, MRPC (dev + labelled test), STS-B, RTE, WNLI, QNLI";
}

}  // namespace
