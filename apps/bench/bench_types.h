// bench_types.h — what sea-bench's parts exchange: the run's settings, one measurement, one table row.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <vector>

#include "sea/util/json_config.h"

namespace sea::bench {

enum class Pass { Forward, ForwardBackward };
inline const char* pass_name(Pass p) { return p == Pass::Forward ? "fwd" : "fwdbwd"; }

// Everything a measurement needs besides (method, direction, T, pass).
struct Settings {
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
  int64_t batch = 1, heads = 12, head_dim = 64;
  int reps = 3;                // timed runs per measurement (CUDA: at most; see measure.h)
  double point_seconds = 1.0;  // CUDA: timed runs stop after about this long (at least 5 runs)
  bool flush_l2 = true;        // CUDA: overwrite a 256 MiB buffer before every run
  json configs;                // registry configs by name: none, performer, reformer, perlin
  at::Tensor l2_flush_buffer;  // allocated by prepare_device (measure.h)
};

// One (method, direction, T, pass).
struct Measurement {
  bool ok = false;
  double ms = 0, min_ms = 0, max_ms = 0;  // median, fastest and slowest timed run
  double peak_mb = 0;                     // peak memory above the baseline (measure.h)
  int runs = 0;                           // timed runs
  std::string error;                      // why ok is false: "out of memory", "skipped (...)", an exception's text
  std::string note;                       // e.g. the SDPA backend that ran
  double bytes = 0;                       // sea:sparse: HBM bytes of one forward (workloads.h); else 0

  json to_json() const;
  static Measurement from_json(const json& j);
};

// One line of the table: a method at one direction and length, with both passes.
struct Row {
  std::string method;
  bool causal = true;
  int64_t T = 0;
  std::optional<Measurement> fwd, fwdbwd;  // empty: the pass was not asked for (or does not apply)
  std::string skipped;                     // non-empty: not measured, and why
  json config;
  // Derived from the other rows (report.h): vs sdpa at the same (direction, T), and the bandwidth numbers.
  std::optional<double> speedup_fwd, speedup_fwdbwd, gbs, floor_ms, x_floor;

  const char* direction() const { return causal ? "causal" : "bidirectional"; }
};

}  // namespace sea::bench
