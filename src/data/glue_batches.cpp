// glue_batches.cpp — GLUE tokenization, dynamic padding and the seeded (bucketed) batch order.
#include "sea/data/glue_batches.h"

#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>

#include <algorithm>

#include "sea/data/seeded_shuffle.h"
#include "sea/util/error.h"

namespace sea::data {

GlueDataset encode_glue(const std::vector<GlueExample>& examples, const Tokenizer& tokenizer, const GlueTask& task,
                        int64_t max_length) {
  GlueDataset ds;
  ds.regression = task.is_regression();
  ds.encodings.reserve(examples.size());
  for (const GlueExample& ex : examples) {
    const std::string_view b(ex.text_b);
    ds.encodings.push_back(tokenizer.encode_for_model(ex.text_a, task.has_pairs() ? &b : nullptr, max_length));
    ds.labels.push_back(ex.label);
  }
  return ds;
}

GlueBatch collate(const GlueDataset& dataset, const std::vector<int64_t>& indices, int32_t pad_id) {
  SEA_CHECK(!indices.empty(), "collate: empty batch");
  size_t longest = 0;
  for (int64_t i : indices) {
    SEA_CHECK(i >= 0 && i < static_cast<int64_t>(dataset.encodings.size()), "collate: example ", i,
              " out of range [0, ", dataset.encodings.size(), ")");
    longest = std::max(longest, dataset.encodings[static_cast<size_t>(i)].ids.size());
  }
  const auto B = static_cast<int64_t>(indices.size()), T = static_cast<int64_t>(longest);
  GlueBatch batch;
  batch.input_ids = at::full({B, T}, pad_id, at::kLong);
  batch.attention_mask = at::zeros({B, T}, at::kLong);
  batch.token_type_ids = at::zeros({B, T}, at::kLong);
  batch.labels = dataset.regression ? at::zeros({B}, at::kFloat) : at::zeros({B}, at::kLong);
  int64_t* ids = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask = batch.attention_mask.data_ptr<int64_t>();
  int64_t* types = batch.token_type_ids.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const auto ex = static_cast<size_t>(indices[static_cast<size_t>(b)]);
    const Encoding& e = dataset.encodings[ex];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ids[b * T + static_cast<int64_t>(t)] = e.ids[t];
      mask[b * T + static_cast<int64_t>(t)] = 1;
      types[b * T + static_cast<int64_t>(t)] = e.type_ids[t];
    }
    if (dataset.regression) {
      batch.labels.data_ptr<float>()[b] = dataset.labels[ex];
    } else {
      batch.labels.data_ptr<int64_t>()[b] = static_cast<int64_t>(dataset.labels[ex]);
    }
  }
  batch.example_indices = indices;
  return batch;
}

GlueBatchPlan::GlueBatchPlan(const GlueDataset& dataset, GlueBatchOptions options) : options_(options) {
  SEA_CHECK(options.batch_size >= 1, "GLUE batch_size ", options.batch_size, " must be at least 1");
  SEA_CHECK(!dataset.encodings.empty(), "GLUE dataset is empty");
  for (const Encoding& e : dataset.encodings) lengths_.push_back(static_cast<int64_t>(e.ids.size()));
}

int64_t GlueBatchPlan::batches_per_epoch() const {
  const auto n = static_cast<int64_t>(lengths_.size());
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

std::vector<std::vector<int64_t>> GlueBatchPlan::epoch(int64_t epoch) const {
  const auto n = static_cast<int64_t>(lengths_.size());
  const int64_t bs = options_.batch_size;
  const uint64_t seed = derive_seed(options_.seed, static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (options_.shuffle) {
    order = seeded_permutation(n, seed);
  } else {
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  }
  if (options_.bucket_by_length) {
    const int64_t pool = 50 * bs;
    for (int64_t start = 0; start < n; start += pool) {
      const auto first = order.begin() + start, last = order.begin() + std::min(n, start + pool);
      std::stable_sort(first, last, [&](int64_t a, int64_t b) {
        return lengths_[static_cast<size_t>(a)] < lengths_[static_cast<size_t>(b)];
      });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (int64_t start = 0; start < n; start += bs) {
    if (options_.drop_last && start + bs > n) break;
    batches.emplace_back(order.begin() + start, order.begin() + std::min(n, start + bs));
  }
  if (options_.bucket_by_length && options_.shuffle) {
    // Shuffle the batches themselves, so that length does not follow a pattern through the epoch.
    const auto perm = seeded_permutation(static_cast<int64_t>(batches.size()), derive_seed(seed, 1));
    std::vector<std::vector<int64_t>> shuffled;
    shuffled.reserve(batches.size());
    for (int64_t p : perm) shuffled.push_back(std::move(batches[static_cast<size_t>(p)]));
    batches = std::move(shuffled);
  }
  return batches;
}

}  // namespace sea::data
