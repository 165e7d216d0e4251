// model.cpp — input checks shared by the model families.
#include "sea/models/model.h"

#include <ATen/ATen.h>

namespace sea::models {

void record_layer(ModelOutput& out, const ForwardOptions& options, const torch::Tensor& hidden,
                  attention::AttentionOutputs&& attention) {
  if (options.output_hidden_states) out.hidden_states.push_back(hidden);
  if (options.output_attentions) out.attentions.push_back(std::move(attention.artefacts));
  if (attention.loss.defined()) {
    out.attention_loss = out.attention_loss.defined() ? out.attention_loss + attention.loss : attention.loss;
  }
}

torch::Tensor check_inputs(const ModelInputs& in, int64_t vocab_size, int64_t max_positions, const char* family) {
  const auto& ids = in.input_ids;
  SEA_CHECK(ids.defined() && ids.dim() == 2, family, ": input_ids must be (N, T), got ",
            ids.defined() ? ids.sizes() : at::IntArrayRef{});
  SEA_CHECK(ids.scalar_type() == at::kLong, family, ": input_ids must be int64, got ", ids.scalar_type());
  SEA_CHECK(ids.size(1) >= 1, family, ": empty sequence (T = 0)");
  SEA_CHECK(ids.size(1) <= max_positions, family, ": sequence length ", ids.size(1),
            " exceeds max_position_embeddings = ", max_positions);
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    SEA_CHECK(lo >= 0 && hi < vocab_size, family, ": token id out of range [0, ", vocab_size, "): min ", lo,
              ", max ", hi);
  }
  if (in.token_type_ids.defined()) {
    SEA_CHECK(in.token_type_ids.sizes() == ids.sizes(), family, ": token_type_ids must have the shape of input_ids ",
              ids.sizes(), ", got ", in.token_type_ids.sizes());
  }
  if (!in.attention_mask.defined()) return {};
  SEA_CHECK(in.attention_mask.sizes() == ids.sizes(), family, ": attention_mask must have the shape of input_ids ",
            ids.sizes(), ", got ", in.attention_mask.sizes());
  at::Tensor keep = in.attention_mask.to(ids.device()).ne(0);
  return keep.all().item<bool>() ? at::Tensor() : keep;
}

}  // namespace sea::models
