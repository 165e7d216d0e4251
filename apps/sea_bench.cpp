// sea-bench — latency and peak memory of one attention layer, per method, sequence length, direction and pass
// (forward; forward + backward), at OPT-125m's layer shape by default (batch 1, 12 heads of 64). Prints a
// Markdown table and the performance targets of DESIGN.md §7 checked against the numbers; --json writes all of
// it with the device, versions, date and command line.
//
//   sea-bench --device cuda --json bench/bench_h100.json            # the default CUDA sweep (below)
//   sea-bench --device cuda --methods sdpa,sea:sparse --seq-lens 8192,32768 --directions causal --passes fwd
//   sea-bench --methods none,performer,reformer,perlin --seq-lens 256,512,1024   # CPU (the default device)
//   sea-bench --set perlin.k=32 --set perlin.predictor_length=128 --kernels reference
//
// Methods: sdpa (torch SDPA, flash backend only), none (materialised dense attention), performer, reformer,
// perlin (the whole SEA layer, sparse path), and SEA's steps alone: sea:performer, sea:predictor, sea:topk,
// sea:sparse (bench/workloads.h). For sea:sparse the table adds the achieved GB/s and the ratio to its HBM floor
// (its bytes over the device-to-device copy bandwidth measured at the start of the run).
//
// Defaults on CUDA: every method; T = 1024 … 65536 (none and reformer only up to 16384 unless --seq-lens is
// given); causal and bidirectional; forward and forward+backward; bf16; at most 50 timed runs or about 1 s
// (--point-seconds) per measurement; no new measurement starts once --time-budget (290 s, counted from the
// start of the sweep) has passed, so the run ends in about 5 minutes even if something is slow (the rest are
// "skipped (time budget)"). On the CPU: none, performer, reformer, perlin; T = 256 … 4096; causal; forward;
// fp32; 3 timed runs. --set perlin.* also changes the sea:* rows (they time the perlin layer's steps).
//
// Timing and memory (bench/measure.h): on CUDA, CUDA events around each run (L2 overwritten before each, unless
// --no-flush-l2), warm-up first, median reported; peak memory = the caching allocator's peak allocated bytes
// during the timed runs minus the bytes allocated before them (inputs and modules are allocated before). On
// the CPU each measurement runs in a forked child, steady_clock, and the increase of its peak resident set.
// Out of memory is recorded per point and the sweep goes on. The JSON is rewritten after every row
// ("complete": false until the end), so a run that is cut short keeps what it measured.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <CLI/CLI.hpp>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>

#include "bench/measure.h"
#include "bench/report.h"
#include "bench/workloads.h"
#include "sea/ops/backend.h"
#include "sea/util/error.h"
#include "sea/util/json_config.h"
#include "sea/util/logging.h"

#if SEA_BENCH_CUDA_STATS
#include <cuda_runtime_api.h>
#endif

namespace {

using sea::json;
using sea::bench::Pass;

constexpr const char* kCudaMethods =
    "sdpa,perlin,sea:performer,sea:predictor,sea:topk,sea:sparse,sea:sparse-rows,performer,reformer,none";
constexpr const char* kCpuMethods = "none,performer,reformer,perlin";
constexpr const char* kCudaSeqLens = "1024,2048,4096,8192,16384,32768,65536";
constexpr const char* kCpuSeqLens = "256,512,1024,2048,4096";
constexpr int64_t kLongestDefaultQuadratic = 16384;  // none and reformer above this only when --seq-lens asks

// Comma-separated items, spaces trimmed; empty items are an error naming the flag.
std::vector<std::string> split_list(const std::string& text, const std::string& flag) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    SEA_CHECK(first != std::string::npos, "sea-bench: ", flag, " has an empty item in '", text, "'");
    out.push_back(item.substr(first, last - first + 1));
  }
  SEA_CHECK(!out.empty(), "sea-bench: ", flag, " is empty");
  return out;
}

std::vector<int64_t> parse_seq_lens(const std::string& text) {
  std::vector<int64_t> out;
  for (const std::string& item : split_list(text, "--seq-lens")) {
    char* end = nullptr;
    const long long value = std::strtoll(item.c_str(), &end, 10);
    SEA_CHECK(end && *end == '\0' && value > 0, "sea-bench: --seq-lens needs positive integers, got '", item, "'");
    out.push_back(value);
  }
  return out;
}

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "bf16") return at::kBFloat16;
  if (name == "fp16") return at::kHalf;
  if (name == "fp32") return at::kFloat;
  sea::fail("sea-bench: --dtype must be bf16, fp16 or fp32, got '", name, "'");
}

std::vector<bool> parse_directions(const std::string& text) {  // true = causal
  std::vector<bool> out;
  for (const std::string& item : split_list(text, "--directions")) {
    SEA_CHECK(item == "causal" || item == "bidirectional",
              "sea-bench: --directions takes causal and/or bidirectional, got '", item, "'");
    out.push_back(item == "causal");
  }
  return out;
}

std::vector<Pass> parse_passes(const std::string& text) {
  std::vector<Pass> out;
  for (const std::string& item : split_list(text, "--passes")) {
    SEA_CHECK(item == "fwd" || item == "fwdbwd", "sea-bench: --passes takes fwd and/or fwdbwd, got '", item, "'");
    out.push_back(item == "fwd" ? Pass::Forward : Pass::ForwardBackward);
  }
  return out;
}

at::Device parse_device(const std::string& text) {
  at::Device device(at::kCPU);
  try {
    device = at::Device(text);
  } catch (const std::exception&) {
    sea::fail("sea-bench: --device must be cpu or cuda[:index], got '", text, "'");
  }
  SEA_CHECK(device.is_cpu() || device.is_cuda(), "sea-bench: --device must be cpu or cuda[:index], got '", text, "'");
  if (device.is_cuda()) {
    SEA_CHECK(at::hasCUDA(), "sea-bench: --device ", text, " but no CUDA device is available to this LibTorch");
    if (!device.has_index()) device = at::Device(at::kCUDA, 0);  // allocator statistics need an index
    SEA_CHECK(device.index() < static_cast<int>(at::getNumGPUs()), "sea-bench: --device ", text, ": only ",
              at::getNumGPUs(), " CUDA device(s)");
  }
  return device;
}

std::string command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.find_first_of(" \t\"'") != std::string::npos) arg = "'" + arg + "'";
    out += (i ? " " : "") + arg;
  }
  return out;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string mb_text(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", value);
  return buf;
}

const char* dtype_name(at::ScalarType dtype) {
  return dtype == at::kBFloat16 ? "bf16" : dtype == at::kHalf ? "fp16" : "fp32";
}

// What the sweep covers, resolved from the flags and the device's defaults.
struct Plan {
  std::vector<std::string> methods;
  std::vector<int64_t> seq_lens;
  bool explicit_lengths = false;
  std::vector<bool> directions;  // true = causal
  std::vector<Pass> passes;
  double time_budget = 0;        // seconds; 0 = none
};

// The fixed part of the JSON document: versions, device, settings, configs.
json describe_run(const Plan& plan, const sea::bench::Settings& s, const sea::bench::DeviceInfo& d,
                  const std::string& kernels, const std::string& command) {
  json settings = {{"batch", s.batch},
                   {"heads", s.heads},
                   {"head_dim", s.head_dim},
                   {"dtype", dtype_name(s.dtype)},
                   {"methods", plan.methods},
                   {"seq_lens", plan.seq_lens},
                   {"directions", json::array()},
                   {"passes", json::array()},
                   {"reps", s.reps},
                   {"point_seconds", s.point_seconds},
                   {"time_budget_s", plan.time_budget},
                   {"flush_l2", s.flush_l2},
                   {"kernels", kernels},
                   {"env_SEA_KERNELS", std::getenv("SEA_KERNELS") ? std::getenv("SEA_KERNELS") : ""},
                   {"cuda_kernels_compiled", sea::ops::cuda_kernels_compiled()}};
  for (const bool causal : plan.directions) settings["directions"].push_back(causal ? "causal" : "bidirectional");
  for (const Pass pass : plan.passes) settings["passes"].push_back(sea::bench::pass_name(pass));
  json device = {{"name", d.name},
                 {"device", s.device.str()},
                 {"total_memory_gb", d.total_memory_gb},
                 {"cuda_runtime", d.cuda_runtime},
                 {"cuda_driver", d.cuda_driver},
                 {"cuda_compiled", ""},
                 {"copy_bandwidth_gbs", d.copy_gbs > 0 ? json(d.copy_gbs) : json(nullptr)},
                 {"nominal_bandwidth_gbs", d.nominal_gbs > 0 ? json(d.nominal_gbs) : json(nullptr)}};
#if SEA_BENCH_CUDA_STATS
  device["cuda_compiled"] = std::to_string(CUDART_VERSION / 1000) + "." + std::to_string((CUDART_VERSION % 1000) / 10);
#endif
  return {{"tool", "sea-bench"},   {"command", command},  {"date_utc", utc_now()}, {"torch_version", TORCH_VERSION},
          {"device", device},      {"settings", settings}, {"configs", s.configs}};
}

// The targets for every direction of the plan.
std::vector<sea::bench::Target> all_targets(const std::vector<sea::bench::Row>& rows, const Plan& plan) {
  std::vector<sea::bench::Target> out;
  for (const bool causal : plan.directions) {
    const auto t = sea::bench::evaluate_targets(rows, causal);
    out.insert(out.end(), t.begin(), t.end());
  }
  return out;
}

// The Markdown report: header, table, targets per direction.
std::string markdown(const std::vector<sea::bench::Row>& rows, const std::vector<sea::bench::Target>& targets,
                     const Plan& plan, const sea::bench::Settings& s, const sea::bench::DeviceInfo& d,
                     const std::string& kernels) {
  std::ostringstream out;
  out << "# sea-bench: " << d.name << " (" << s.device.str() << "), torch " << TORCH_VERSION;
  if (!d.cuda_runtime.empty()) out << ", CUDA runtime " << d.cuda_runtime;
  out << "; " << dtype_name(s.dtype) << ", batch " << s.batch << ", " << s.heads << " heads of " << s.head_dim
      << "; kernels " << kernels << "\n\n";
  if (s.device.is_cuda()) {
    out << "Copy bandwidth: " << (d.copy_gbs > 0 ? mb_text(d.copy_gbs) + " GB/s" : std::string("not measured"))
        << " (device-to-device copy of 1 GiB, read + write bytes)";
    if (d.nominal_gbs > 0) out << "; nominal peak " << mb_text(d.nominal_gbs) << " GB/s";
    out << ".\n\n";
  }
  sea::bench::print_table(out, rows);
  for (const bool causal : plan.directions) {
    std::vector<sea::bench::Target> mine;
    for (const auto& t : targets) {
      if ((t.direction == "causal") == causal) mine.push_back(t);
    }
    out << "\n## Targets (" << (causal ? "causal rows" : "bidirectional rows, informative") << ")\n\n";
    sea::bench::print_targets(out, mine);
  }
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sea-bench: latency and peak memory of one attention layer per method, length, direction and pass"};
  std::string methods_text, seq_lens_text, device_text = "cpu", dtype_text, directions_text, passes_text;
  std::string kernels_text = "auto", json_path, log_level = "warn";
  std::vector<std::string> sets;
  int64_t batch = 1, heads = 12, head_dim = 64;
  int reps = 0;
  double point_seconds = 1.0, time_budget = -1;
  bool bidirectional = false, no_flush_l2 = false;
  auto* methods_opt = app.add_option(
      "--methods", methods_text,
      std::string("comma-separated: sdpa, none, performer, reformer, perlin, sea:performer, sea:predictor, sea:topk, "
                  "sea:sparse, sea:sparse-rows (CUDA default: all; CPU: ") + kCpuMethods + ")");
  auto* seq_lens_opt = app.add_option("--seq-lens", seq_lens_text,
                                      std::string("comma-separated lengths (CUDA default ") + kCudaSeqLens + "; CPU " +
                                          kCpuSeqLens + ")");
  app.add_option("--device", device_text, "cpu or cuda[:index]");
  app.add_option("--dtype", dtype_text, "bf16 | fp16 | fp32 (default bf16 on CUDA, fp32 on the CPU)");
  auto* directions_opt = app.add_option("--directions", directions_text,
                                        "causal,bidirectional (CUDA default both; CPU causal)");
  auto* bidirectional_opt = app.add_flag("--bidirectional", bidirectional, "shorthand for --directions bidirectional");
  app.add_option("--passes", passes_text, "fwd,fwdbwd (CUDA default both; CPU fwd)");
  app.add_option("--kernels", kernels_text, "auto | reference | cuda: the 'kernels' key of perlin and performer");
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--heads", heads, "heads")->check(CLI::PositiveNumber);
  app.add_option("--head-dim", head_dim, "head dimension")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed runs per measurement, median reported (CUDA: at most, default 50; CPU: 3)")
      ->check(CLI::PositiveNumber);
  app.add_option("--point-seconds", point_seconds, "CUDA: stop timing a measurement after about this long (>= 5 runs)")
      ->check(CLI::PositiveNumber);
  app.add_option("--time-budget", time_budget,
                 "seconds after which no new measurement starts (rest: 'skipped (time budget)'); 0 = none; "
                 "default 290 on CUDA, none on the CPU");
  app.add_flag("--no-flush-l2", no_flush_l2, "CUDA: do not overwrite L2 before each run");
  app.add_option("--set", sets, "method option: <method>.<key>=<json value> (repeatable)");
  app.add_option("--json", json_path, "also write the results here");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  try {
    sea::init_logging(log_level);
    sea::bench::Settings settings;
    settings.device = parse_device(device_text);
    const bool cuda = settings.device.is_cuda();
    settings.dtype = parse_dtype(dtype_text.empty() ? (cuda ? "bf16" : "fp32") : dtype_text);
    settings.batch = batch, settings.heads = heads, settings.head_dim = head_dim;
    settings.reps = reps > 0 ? reps : (cuda ? 50 : 3);
    settings.point_seconds = point_seconds;
    settings.flush_l2 = cuda && !no_flush_l2;

    Plan plan;
    plan.time_budget = time_budget >= 0 ? time_budget : (cuda ? 290 : 0);
    plan.methods = split_list(methods_opt->count() ? methods_text : (cuda ? kCudaMethods : kCpuMethods), "--methods");
    const auto& known = sea::bench::known_methods();
    for (const auto& m : plan.methods) {
      if (std::find(known.begin(), known.end(), m) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        sea::fail("sea-bench: unknown method '", m, "' in --methods (known: ", list, ")");
      }
    }
    plan.explicit_lengths = seq_lens_opt->count() > 0;
    plan.seq_lens = parse_seq_lens(plan.explicit_lengths ? seq_lens_text : (cuda ? kCudaSeqLens : kCpuSeqLens));
    SEA_CHECK(!(bidirectional_opt->count() && directions_opt->count()),
              "sea-bench: give --directions or --bidirectional, not both");
    plan.directions = parse_directions(bidirectional              ? "bidirectional"
                                       : !directions_text.empty() ? directions_text
                                       : cuda                     ? "causal,bidirectional"
                                                                  : "causal");
    plan.passes = parse_passes(!passes_text.empty() ? passes_text : (cuda ? "fwd,fwdbwd" : "fwd"));
    const sea::ops::Backend kernels = sea::ops::parse_backend(kernels_text, "--kernels");

    // Defaults: the paper's OPT Table 2 settings (SEA k 64, K 64, nbf 8; Reformer bucket 64, 8 hashes); SEA on
    // its sparse path, so that no T×T tensor is built in training mode either.
    const std::string kernels_name = sea::ops::to_string(kernels);
    settings.configs = {
        {"none", {{"method", "none"}}},
        {"performer", {{"method", "performer"}, {"nb_feature_factor", 8}, {"kernels", kernels_name}}},
        {"reformer", {{"method", "reformer"}, {"bucket_size", 64}, {"n_hashes", 8}}},
        {"perlin", {{"method", "perlin"}, {"k", 64}, {"predictor_length", 64}, {"nb_feature_factor", 8},
                    {"path", "sparse"}, {"kernels", kernels_name}}}};
    for (const auto& s : sets) sea::apply_override(settings.configs, s);

    // Bad configs (e.g. a --set value) stop here, before any measurement. On the CPU in a child, so that this
    // process runs no LibTorch work before the measuring children are forked.
    auto check_configs = [&] { return sea::bench::check_configs(plan.methods, plan.directions, settings); };
    std::string config_error;
    if (cuda) {
      config_error = check_configs();
    } else {
      std::string death;
      const auto result = sea::bench::run_in_child(check_configs, death);
      config_error = result ? *result : "checking the method configs: " + death;
    }
    SEA_CHECK(config_error.empty(), config_error);

    sea::bench::prepare_device(settings);
    const sea::bench::DeviceInfo device_info = sea::bench::describe_device(settings.device);

    const json run_description = describe_run(plan, settings, device_info, kernels_text, command_line(argc, argv));
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&start] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    // Rows so far -> JSON (after every row, so that a run cut short still leaves its numbers).
    auto write_json = [&](std::vector<sea::bench::Row> rows, bool complete) {
      if (json_path.empty()) return;
      sea::bench::derive(rows, device_info.copy_gbs);
      json doc = run_description;
      doc["complete"] = complete;
      doc["elapsed_s"] = elapsed();
      doc["rows"] = sea::bench::rows_to_json(rows);
      doc["targets"] = sea::bench::targets_to_json(all_targets(rows, plan));
      sea::write_json_file_atomic(json_path, doc);
    };

    // The sweep: direction, then method, then T, then pass (sdpa first, so every row finds its reference).
    size_t total = 0, done = 0;
    for (const auto& m : plan.methods) {
      total += (sea::bench::has_backward(m) ? plan.passes.size() : 1) * plan.seq_lens.size() * plan.directions.size();
    }
    std::vector<sea::bench::Row> rows;
    for (const bool causal : plan.directions) {
      for (const auto& method : plan.methods) {
        for (const int64_t T : plan.seq_lens) {
          sea::bench::Row row;
          row.method = method, row.causal = causal, row.T = T;
          row.config = sea::bench::row_config(method, settings);
          if (!plan.explicit_lengths && T > kLongestDefaultQuadratic && (method == "none" || method == "reformer")) {
            row.skipped = method == "none" ? "skipped (quadratic memory)" : "skipped (above 16384 by default: slow)";
          }
          for (const Pass pass : plan.passes) {
            if (pass == Pass::ForwardBackward && !sea::bench::has_backward(method)) continue;
            ++done;
            auto progress = [&](const std::string& text) {
              std::fprintf(stderr, "[%zu/%zu %5.0f s] %-13s %-13s T=%-6lld %-6s %s\n", done, total, elapsed(),
                           method.c_str(), row.direction(), static_cast<long long>(T), sea::bench::pass_name(pass),
                           text.c_str());
            };
            if (!row.skipped.empty()) {
              progress(row.skipped);
              continue;
            }
            sea::bench::Measurement m;
            if (plan.time_budget > 0 && elapsed() > plan.time_budget) {
              m.error = "skipped (time budget)";
            } else if (cuda) {
              m = sea::bench::measure(method, causal, T, pass, settings);
            } else {
              m = sea::bench::measure_in_child(method, causal, T, pass, settings);
            }
            char result[96];
            std::snprintf(result, sizeof result, "%.3f ms, %.1f MB, %d runs", m.ms, m.peak_mb, m.runs);
            progress(m.ok ? result : m.error);
            (pass == Pass::Forward ? row.fwd : row.fwdbwd) = m;
          }
          rows.push_back(row);
          write_json(rows, false);
        }
      }
    }

    std::vector<sea::bench::Row> reported = rows;
    sea::bench::derive(reported, device_info.copy_gbs);
    std::cout << markdown(reported, all_targets(reported, plan), plan, settings, device_info, kernels_text)
              << std::flush;
    std::fprintf(stderr, "sea-bench: %zu measurements in %.0f s\n", total, elapsed());
    write_json(rows, true);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
