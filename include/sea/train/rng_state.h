// rng_state.h — the random-number state a resumed run must restore to continue bit for bit: torch's default
// CPU generator (dropout, random init, anything drawing from the global generator) and, where CUDA is
// available, the default generator of every CUDA device. Saved as JSON (hex strings) inside trainer_state.json.
//
// Our own seeded streams (data order, Performer redraws) are not here: they are pure functions of counters
// that the data cursor and the model's buffers already carry.
#pragma once

#include "sea/util/json_config.h"

namespace sea::train {

// {"cpu": "<hex>", "cuda": ["<hex>", ...]} ("cuda" is empty without CUDA devices).
json capture_rng_state();

// Restores what capture_rng_state() returned. sea::Error when the JSON is malformed (not an object, a missing or
// unknown key, not hex, a state length this torch's generator does not use) or holds a different number of CUDA
// devices than this process sees (naming both counts). Everything is checked before any generator is set, so
// on error nothing has changed.
void restore_rng_state(const json& state);

}  // namespace sea::train
