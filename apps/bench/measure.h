// measure.h — how sea-bench times a workload and takes its peak memory, per device.
//
// CUDA (in process):
//   timing   CUDA events recorded on the current stream around each run, waited for after it; before every
//            run (untimed) the workload drops its last gradients and, with Settings::flush_l2, a 256 MiB buffer
//            is overwritten so that no run starts with its inputs in L2. Warm-up: at least 3 runs and 100 ms,
//            but never past Settings::point_seconds (then 1 or 2 runs). Then timed runs until
//            Settings::reps runs, or until point_seconds have passed with at least 5 runs (3 when a single run
//            exceeds point_seconds). The median is reported, with the fastest and slowest run.
//   memory   after the warm-up the caching allocator's peak is reset and its allocated bytes taken as the
//            baseline (inputs, modules and persistent workspaces are in it); peak allocated during the timed
//            runs minus that baseline is the measurement.
//   OOM      c10::OutOfMemoryError, or any error whose message says "out of memory", gives the point
//            "out of memory"; the cache is emptied and the sweep goes on.
// CPU: every point runs in a forked child (measure_in_child) so that its peak resident set (getrusage
//   ru_maxrss) above the level just before the first run is its own; one warm-up run, then exactly
//   Settings::reps runs timed with steady_clock.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "bench/bench_types.h"

namespace sea::bench {

// One measurement in this process. Never throws for the workload's own failures (they come back in error).
Measurement measure(const std::string& method, bool causal, int64_t T, Pass pass, const Settings& settings);

// The same in a forked child process (CPU memory). The parent must not have run LibTorch work.
Measurement measure_in_child(const std::string& method, bool causal, int64_t T, Pass pass, const Settings& settings);

// Runs `work` in a forked child and returns what it returned; empty (with `death` saying why) when it threw
// or the child died. The parent must not have run LibTorch work.
std::optional<std::string> run_in_child(const std::function<std::string()>& work, std::string& death);

// Facts about the device for the report; on CUDA also the measured device-to-device copy bandwidth.
struct DeviceInfo {
  std::string name;          // e.g. "NVIDIA H100 80GB HBM3"; the CPU's model name on the CPU
  std::string cuda_runtime;  // e.g. "13.0" (empty on a CPU build)
  std::string cuda_driver;
  double total_memory_gb = 0;
  double copy_gbs = 0;       // measured: 2·bytes / time of a ~1 GiB device-to-device copy (read + write), GB/s
  double nominal_gbs = 0;    // 2 · memory clock · bus width, when the runtime exposes them (0 = unknown)
};
DeviceInfo describe_device(const at::Device& device);

// Makes `device` current and allocates the L2 flush buffer when settings.flush_l2 (CUDA; no-op on the CPU).
void prepare_device(Settings& settings);

// True when `e` reports an allocation failure (the CUDA caching allocator's, or a bad_alloc).
bool is_out_of_memory(const std::exception& e);

}  // namespace sea::bench
