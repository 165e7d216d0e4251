// glue.h — the GLUE tasks SEA evaluates on: which files, which columns, which labels, which metric.
//
// Files are the standard glue_data layout of download_glue_data.py (<data>/glue/<Task>/<split>.tsv): tab-
// separated, no quoting (as the GLUE processors read them), a UTF-8 BOM ignored. Columns are found by their
// header names (CoLA has no header: fixed positions). Labels become ids as in Hugging Face's `glue`
// dataset (e.g. RTE/QNLI entailment=0, not_entailment=1; MNLI entailment=0, neutral=1, contradiction=2);
// STS-B keeps its float score (regression, num_labels = 1).
//
// Splits: "train", "dev", and for MNLI "dev_matched"/"dev_mismatched". GLUE's test.tsv files have no labels,
// except that MRPC's labelled test set ships as original/msr_paraphrase_test.txt: split "test" of MRPC
// reads it, which is what the reference evaluates MRPC on (SEA_SPEC.md §5.2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sea::data {

struct GlueTask {
  std::string name;                      // canonical: cola, sst2, mrpc, stsb, rte, wnli, qnli, mnli, qqp
  std::string folder;                    // CoLA, SST-2, MRPC, STS-B, RTE, WNLI, QNLI, MNLI, QQP
  std::string text_a, text_b;            // header names of the text columns (text_b "" for one sentence)
  std::string label;                     // header name of the label column
  std::vector<std::string> label_names;  // label strings in id order; empty: the file holds the ids / scores
  int64_t num_labels;                    // 1 = regression (STS-B)
  std::vector<std::string> metrics;      // what evaluation reports: accuracy, f1, matthews, pearson, spearman
  std::string eval_split;                // the reference's evaluation split
  int64_t reference_batch_size;          // SEA_SPEC.md §3.5

  bool is_regression() const { return num_labels == 1; }
  bool has_pairs() const { return !text_b.empty(); }
};

// The task called `name` (case and '-' insensitive: "MRPC", "sst-2", "STS-B" all work); sea::Error lists
// the known tasks otherwise.
const GlueTask& glue_task(std::string_view name);
std::vector<std::string> glue_task_names();
bool is_glue_task(const std::string& name);

struct GlueExample {
  std::string text_a, text_b;  // text_b empty for single-sentence tasks
  float label;                 // class id, or the STS-B score
};

// Data-directory-relative path of a task's split.
std::string glue_file(const GlueTask& task, const std::string& split);

// Reads a split. Missing file -> sea::Error saying where it looked and how to get the data; a row with too
// few columns or an unknown label -> sea::Error naming file and line.
std::vector<GlueExample> load_glue_examples(const std::string& data_dir, const GlueTask& task, const std::string& split);

}  // namespace sea::data
