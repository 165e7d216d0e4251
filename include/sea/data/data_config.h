// data_config.h — the "data" section of a run config: what to read, how to cut it into batches, and where
// the files are. Every key is optional; resolved() fills the defaults that depend on the task, and the
// resolved section is what runs log and save.
//
//   "data": {"dir": "", "task": "wikitext2", "seq_len": 2048, "batch_size": 1, "seed": 42}
//   "data": {"task": "mrpc", "seq_len": 256, "batch_size": 64, "bucket_by_length": true}
//
// task      "wikitext2" (language modelling) or a GLUE task: cola, sst2, mrpc, stsb, rte, wnli, qnli, mnli, qqp
// dir       data directory; "" = $SEA_DATA_DIR, else ./data (see data_paths.h, scripts/get_data.sh)
// tokenizer "" = opt for wikitext2, bert-base-uncased for GLUE; a preset name or a spec JSON path
// seq_len   wikitext2: window length T (2048); GLUE: max_length of an example (256)
// batch_size / eval_batch_size   0 = wikitext2: 1; GLUE: the reference's per-task size (SEA_SPEC.md §3.5)
// seed      data order (independent of the model's seed)
// wikitext2 only: train_stride (1 = every offset), eval_stride (0 = non-overlapping windows as the reference;
//           0 < s < seq_len = HF sliding window), variant ("raw" | "tokenized" evaluation text), train_file
//           (plain-text file to train on instead of the train split)
// GLUE only: bucket_by_length, eval_split ("" = the reference's: mrpc test, mnli dev_matched, others dev)
// cache_dir token caches; "" = <dir>/cache
#pragma once

#include <cstdint>
#include <string>

#include "sea/util/json_config.h"

namespace sea::data {

struct DataConfig {
  std::string dir;
  std::string task = "wikitext2";
  std::string tokenizer;
  int64_t seq_len = 0;
  int64_t batch_size = 0;
  int64_t eval_batch_size = 0;
  int64_t seed = 42;
  int64_t train_stride = 1;
  int64_t eval_stride = 0;
  std::string variant = "raw";
  std::string train_file;
  bool bucket_by_length = false;
  std::string eval_split;
  std::string cache_dir;

  bool is_glue() const { return task != "wikitext2"; }

  // Strict: unknown keys, wrong types and invalid values are errors naming `where` and the key.
  static DataConfig from_json(const json& section, const std::string& where);
  json to_json() const;

  // A copy with every default filled in (dir, tokenizer, seq_len, batch sizes, eval_split, cache_dir) and
  // the task name canonical ("MRPC" -> "mrpc").
  DataConfig resolved() const;
};

}  // namespace sea::data
