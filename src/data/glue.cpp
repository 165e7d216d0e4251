// glue.cpp — the GLUE task table and the tsv reader.
#include "sea/data/glue.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "sea/data/data_paths.h"
#include "sea/util/error.h"

namespace sea::data {
namespace {

const std::vector<GlueTask>& tasks() {
  static const std::vector<GlueTask> t = {
      {"cola", "CoLA", "3", "", "1", {}, 2, {"matthews"}, "dev", 64},  // no header: columns by position
      {"sst2", "SST-2", "sentence", "", "label", {}, 2, {"accuracy"}, "dev", 64},
      {"mrpc", "MRPC", "#1 String", "#2 String", "Quality", {}, 2, {"accuracy", "f1"}, "test", 64},
      {"stsb", "STS-B", "sentence1", "sentence2", "score", {}, 1, {"pearson", "spearman"}, "dev", 64},
      {"rte", "RTE", "sentence1", "sentence2", "label", {"entailment", "not_entailment"}, 2, {"accuracy"}, "dev", 32},
      {"wnli", "WNLI", "sentence1", "sentence2", "label", {}, 2, {"accuracy"}, "dev", 64},
      {"qnli", "QNLI", "question", "sentence", "label", {"entailment", "not_entailment"}, 2, {"accuracy"}, "dev", 16},
      {"mnli", "MNLI", "sentence1", "sentence2", "gold_label", {"entailment", "neutral", "contradiction"}, 3,
       {"accuracy"}, "dev_matched", 16},
      {"qqp", "QQP", "question1", "question2", "is_duplicate", {}, 2, {"accuracy", "f1"}, "dev", 64},
  };
  return t;
}

std::string canonical(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c != '-' && c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> cols;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    cols.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return cols;
}

}  // namespace

std::vector<std::string> glue_task_names() {
  std::vector<std::string> names;
  for (const auto& t : tasks()) names.push_back(t.name);
  return names;
}

bool is_glue_task(const std::string& name) {
  const std::string c = canonical(name);
  return std::any_of(tasks().begin(), tasks().end(), [&](const GlueTask& t) { return t.name == c; });
}

const GlueTask& glue_task(std::string_view name) {
  const std::string c = canonical(name);
  for (const auto& t : tasks()) {
    if (t.name == c) return t;
  }
  std::string names;
  for (const auto& n : glue_task_names()) names += (names.empty() ? "" : ", ") + n;
  fail("unknown GLUE task '", name, "': use one of ", names);
}

std::string glue_file(const GlueTask& task, const std::string& split) {
  if (task.name == "mrpc" && split == "test") return "glue/MRPC/original/msr_paraphrase_test.txt";
  if (task.name == "mnli") {
    SEA_CHECK(split == "train" || split == "dev_matched" || split == "dev_mismatched", "GLUE mnli has splits train, "
              "dev_matched, dev_mismatched (labelled); '", split, "' is not one of them");
  } else {
    SEA_CHECK(split == "train" || split == "dev" || (split == "test" && task.name == "mrpc"), "GLUE ", task.name,
              " split '", split, "': use train or dev", task.name == "mrpc" ? " or test" : "",
              " (GLUE test labels are not public)");
  }
  return "glue/" + task.folder + "/" + split + ".tsv";
}

std::vector<GlueExample> load_glue_examples(const std::string& data_dir, const GlueTask& task, const std::string& split) {
  const std::string rel = glue_file(task, split);
  const std::string path = require_data_file(data_dir, rel, "GLUE " + task.name + " " + split + " split");
  std::string text = read_text_file(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 byte order mark

  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  const bool has_header = task.name != "cola";
  const auto header = split_tabs(has_header && !lines.empty() ? lines[0] : std::string_view());
  // Column positions: from the header, or CoLA's fixed layout (source, label, original mark, sentence).
  auto column = [&](const std::string& key) -> size_t {
    if (key.empty()) return SIZE_MAX;
    if (!has_header) return static_cast<size_t>(std::stoul(key));
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == key) return i;
    }
    fail(path, ": header has no column '", key, "' (GLUE ", task.name, " files have it; is this the right file?)");
  };
  const size_t col_a = column(task.text_a), col_b = column(task.text_b), col_label = column(task.label);
  const size_t needed = std::max({col_a, col_b == SIZE_MAX ? 0 : col_b, col_label}) + 1;

  std::vector<GlueExample> out;
  for (size_t i = has_header ? 1 : 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto cols = split_tabs(lines[i]);
    SEA_CHECK(cols.size() >= needed, path, ":", i + 1, ": ", cols.size(), " columns, expected at least ", needed);
    GlueExample ex;
    ex.text_a = std::string(cols[col_a]);
    if (col_b != SIZE_MAX) ex.text_b = std::string(cols[col_b]);
    const std::string label(cols[col_label]);
    if (!task.label_names.empty()) {
      auto it = std::find(task.label_names.begin(), task.label_names.end(), label);
      SEA_CHECK(it != task.label_names.end(), path, ":", i + 1, ": unknown label '", label, "' for GLUE ", task.name);
      ex.label = static_cast<float>(it - task.label_names.begin());
    } else {
      size_t used = 0;
      float value = 0;
      try {
        value = std::stof(label, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      SEA_CHECK(used == label.size() && !label.empty(), path, ":", i + 1, ": label '", label, "' is not a number");
      if (!task.is_regression()) {
        SEA_CHECK(value == static_cast<float>(static_cast<int64_t>(value)) && value >= 0 && value < task.num_labels,
                  path, ":", i + 1, ": label ", label, " is not a class id in [0, ", task.num_labels, ")");
      }
      ex.label = value;
    }
    out.push_back(std::move(ex));
  }
  SEA_CHECK(!out.empty(), path, ": no examples");
  return out;
}

}  // namespace sea::data
