// report.h — sea-bench's output: the Markdown table, the performance targets (DESIGN.md §7) checked against the
// measured numbers, and their JSON forms.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/bench_types.h"

namespace sea::bench {

// Fills every row's derived fields: forward and forward+backward speed-up over the sdpa row of the same
// (direction, T) (sdpa_ms / row_ms); for sea:sparse the achieved GB/s (bytes / forward time) and, with a
// measured copy bandwidth (GB/s, 0 = none), floor_ms = bytes / bandwidth and x_floor = forward_ms / floor_ms.
void derive(std::vector<Row>& rows, double copy_gbs);

// One line per row: | method | direction | T | fwd ms | fwd+bwd ms | fwd peak MB | fwd+bwd peak MB |
// fwd speed-up vs sdpa | GB/s | × floor | note |.
void print_table(std::ostream& os, const std::vector<Row>& rows);

struct Target {
  std::string name;              // what is checked, with T
  std::string direction;         // causal | bidirectional
  std::optional<double> value;   // the measured ratio; empty when not measured
  std::string unit;              // how value reads: "× faster", "× floor", "× memory", "× slower"
  std::string goal;              // e.g. "≥ 4×"
  bool pass = false;
};

// The targets on the rows of one direction (DESIGN.md §7; the list):
//   sea:sparse forward >= 4× faster than sdpa at T = 8192 and >= 15× at T = 32768;
//   sea:sparse forward within 2× of its HBM floor at 8192 and 32768;
//   perlin forward faster than sdpa at every measured T >= 16384;
//   perlin forward peak memory linear: peak(2T) / peak(T) <= 2.2 for each measured doubling from 4096 up;
//   perlin forward+backward at T = 2048 within 3× of sdpa forward+backward.
std::vector<Target> evaluate_targets(const std::vector<Row>& rows, bool causal);
void print_targets(std::ostream& os, const std::vector<Target>& targets);

json rows_to_json(const std::vector<Row>& rows);
json targets_to_json(const std::vector<Target>& targets);

}  // namespace sea::bench
