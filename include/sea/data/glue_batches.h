// glue_batches.h — GLUE examples as model batches: tokenized once, padded per batch to the longest member
// (dynamic padding), in a seeded order that a checkpoint can resume, optionally bucketed by length.
//
//   GlueDataset ds = encode_glue(examples, *tokenizer, task, 256);
//   GlueBatchPlan plan(ds, {.batch_size = 32, .seed = 1, .shuffle = true, .bucket_by_length = true});
//   for (const auto& idx : plan.epoch(e)) { GlueBatch b = collate(ds, idx, tokenizer->pad_id()); ... }
//
// Bucketing: each epoch's shuffled order is cut into pools of 50 batches; a pool is sorted by length and cut
// into batches, and the batches of the epoch are shuffled again, so batches hold similar lengths (less
// padding) while the epoch stays random. Evaluation uses the file order (shuffle off); bucketing there only
// changes the batch composition, and GlueBatch::example_indices maps predictions back.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "sea/data/glue.h"
#include "sea/data/tokenizer.h"

namespace sea::data {

struct GlueDataset {
  std::vector<Encoding> encodings;  // template applied, truncated to max_length
  std::vector<float> labels;
  bool regression = false;
};

// Tokenizes every example with the tokenizer's pair/single template, truncated to max_length.
GlueDataset encode_glue(const std::vector<GlueExample>& examples, const Tokenizer& tokenizer, const GlueTask& task,
                        int64_t max_length);

struct GlueBatch {
  at::Tensor input_ids;       // (B, T) int64, padded with pad_id
  at::Tensor attention_mask;  // (B, T) int64, 1 = token, 0 = padding
  at::Tensor token_type_ids;  // (B, T) int64
  at::Tensor labels;          // (B,) int64 class ids, or float32 scores for regression
  std::vector<int64_t> example_indices;  // which examples, in row order
};

// Pads the examples `indices` to the longest of them (right padding).
GlueBatch collate(const GlueDataset& dataset, const std::vector<int64_t>& indices, int32_t pad_id);

struct GlueBatchOptions {
  int64_t batch_size = 32;
  uint64_t seed = 0;
  bool shuffle = true;
  bool bucket_by_length = false;
  bool drop_last = false;
};

// The batches of every epoch, as lists of example indices; a pure function of (options, epoch).
class GlueBatchPlan {
 public:
  GlueBatchPlan(const GlueDataset& dataset, GlueBatchOptions options);
  std::vector<std::vector<int64_t>> epoch(int64_t epoch) const;
  int64_t batches_per_epoch() const;

 private:
  std::vector<int64_t> lengths_;
  GlueBatchOptions options_;
};

}  // namespace sea::data
