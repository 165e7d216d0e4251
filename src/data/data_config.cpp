// data_config.cpp — parsing, validation and defaults of the "data" config section.
#include "sea/data/data_config.h"

#include <filesystem>

#include "sea/data/data_paths.h"
#include "sea/data/glue.h"
#include "sea/util/error.h"

namespace sea::data {

DataConfig DataConfig::from_json(const json& section, const std::string& where) {
  SEA_CHECK(section.is_object(), where, ": the data section must be a JSON object");
  JsonReader r(section, where);
  DataConfig c;
  c.dir = r.get_or<std::string>("dir", c.dir);
  c.task = r.get_or<std::string>("task", c.task);
  c.tokenizer = r.get_or<std::string>("tokenizer", c.tokenizer);
  c.seq_len = r.get_or<int64_t>("seq_len", c.seq_len);
  c.batch_size = r.get_or<int64_t>("batch_size", c.batch_size);
  c.eval_batch_size = r.get_or<int64_t>("eval_batch_size", c.eval_batch_size);
  c.seed = r.get_or<int64_t>("seed", c.seed);
  c.train_stride = r.get_or<int64_t>("train_stride", c.train_stride);
  c.eval_stride = r.get_or<int64_t>("eval_stride", c.eval_stride);
  c.variant = r.get_or<std::string>("variant", c.variant);
  c.train_file = r.get_or<std::string>("train_file", c.train_file);
  c.bucket_by_length = r.get_or<bool>("bucket_by_length", c.bucket_by_length);
  c.eval_split = r.get_or<std::string>("eval_split", c.eval_split);
  c.cache_dir = r.get_or<std::string>("cache_dir", c.cache_dir);
  r.ignore("_comment");
  r.finish();

  SEA_CHECK(c.task == "wikitext2" || is_glue_task(c.task), where, ": data.task '", c.task,
            "' is not wikitext2 or a GLUE task (cola, sst2, mrpc, stsb, rte, wnli, qnli, mnli, qqp)");
  SEA_CHECK(c.seq_len >= 0, where, ": data.seq_len ", c.seq_len, " must be positive (or 0 for the default)");
  SEA_CHECK(c.batch_size >= 0 && c.eval_batch_size >= 0, where, ": data.batch_size / eval_batch_size must be >= 1 "
            "(or 0 for the default)");
  SEA_CHECK(c.train_stride >= 1, where, ": data.train_stride ", c.train_stride, " must be at least 1");
  SEA_CHECK(c.eval_stride >= 0, where, ": data.eval_stride ", c.eval_stride, " must be >= 0 (0 = non-overlapping)");
  SEA_CHECK(c.variant == "raw" || c.variant == "tokenized", where, ": data.variant '", c.variant,
            "' is not raw or tokenized");
  if (c.is_glue()) {
    SEA_CHECK(c.train_file.empty(), where, ": data.train_file applies to wikitext2 only");
    if (!c.eval_split.empty()) glue_file(glue_task(c.task), c.eval_split);  // validates the split name
  } else {
    SEA_CHECK(c.eval_split.empty() || c.eval_split == "valid" || c.eval_split == "test", where,
              ": data.eval_split '", c.eval_split, "' for wikitext2 must be valid or test");
  }
  if (c.eval_stride > 0 && c.seq_len > 0) {
    SEA_CHECK(c.eval_stride <= c.seq_len, where, ": data.eval_stride ", c.eval_stride, " exceeds data.seq_len ",
              c.seq_len);
  }
  return c;
}

json DataConfig::to_json() const {
  return {{"dir", dir},
          {"task", task},
          {"tokenizer", tokenizer},
          {"seq_len", seq_len},
          {"batch_size", batch_size},
          {"eval_batch_size", eval_batch_size},
          {"seed", seed},
          {"train_stride", train_stride},
          {"eval_stride", eval_stride},
          {"variant", variant},
          {"train_file", train_file},
          {"bucket_by_length", bucket_by_length},
          {"eval_split", eval_split},
          {"cache_dir", cache_dir}};
}

DataConfig DataConfig::resolved() const {
  DataConfig c = *this;
  c.dir = resolve_data_dir(dir);
  if (c.is_glue()) {
    const GlueTask& t = glue_task(task);
    c.task = t.name;
    if (c.tokenizer.empty()) c.tokenizer = "bert-base-uncased";
    if (c.seq_len == 0) c.seq_len = 256;
    if (c.batch_size == 0) c.batch_size = t.reference_batch_size;
    if (c.eval_split.empty()) c.eval_split = t.eval_split;
  } else {
    if (c.tokenizer.empty()) c.tokenizer = "opt";
    if (c.seq_len == 0) c.seq_len = 2048;
    if (c.batch_size == 0) c.batch_size = 1;
    if (c.eval_split.empty()) c.eval_split = "valid";
  }
  if (c.eval_batch_size == 0) c.eval_batch_size = c.batch_size;
  if (c.cache_dir.empty()) c.cache_dir = (std::filesystem::path(c.dir) / "cache").string();
  SEA_CHECK(c.eval_stride <= c.seq_len, "data.eval_stride ", c.eval_stride, " exceeds data.seq_len ", c.seq_len);
  return c;
}

}  // namespace sea::data
