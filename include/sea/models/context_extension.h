// context_extension.h — evaluating a model beyond the positions it was trained for (issue 7's long-context
// runs; SEA_SPEC.md §5.1, §2.2): OPT's learned position embeddings are interpolated linearly along the position
// axis (the reference's bilinear F.interpolate of the (positions, E) table, align_corners=False, E unchanged)
// and every SEA layer's learned positional value table V_I (1, 1, positions, D) is resized with nearest
// interpolation (the reference's __CONTEXT option). OPT's two offset rows (position ids 0 and 1, which no
// token uses) are kept as they are. The model's config (max_position_embeddings) follows, so a checkpoint saved
// afterwards loads at the new length.
//
//   models::Model model = models::load_hf_model(dir, attention);
//   models::extend_positions(*model, 8192);   // then run T <= 8192
#pragma once

#include <cstdint>

#include "sea/models/model.h"

namespace sea::models {

// Grows the positional tables of `model` to `max_positions` (>= the current count; equal is a no-op).
// sea::Error for BERT (its absolute positions are not interpolated here) or for a smaller count.
void extend_positions(ModelImpl& model, int64_t max_positions);

// The position table resizes themselves, exposed for tests. table: (P, E) -> (P_new, E).
at::Tensor interpolate_positions_linear(const at::Tensor& table, int64_t new_positions);
at::Tensor interpolate_positions_nearest(const at::Tensor& table, int64_t new_positions);

}  // namespace sea::models
