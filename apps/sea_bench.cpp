// sea-bench — forward latency and peak memory of one attention layer per method and sequence length
// (OPT-125m's layer shape: 12 heads of 64 by default), printed as a Markdown table and optionally JSON.
//
//   sea-bench --methods none,performer,reformer,perlin --seq-lens 256,512,1024,2048,4096 --device cpu
//   sea-bench --device cuda --json bench/attention_h100.json
//   sea-bench --set perlin.k=32 --set perlin.predictor_length=128   # method options
//
// Memory: on CUDA, the caching allocator's peak allocated bytes during the forwards minus the bytes allocated
// before them. On the CPU, each (method, T) runs in a child process and the increase of its peak resident set
// (getrusage ru_maxrss) from just before the first forward to the end is reported; the parent runs no
// LibTorch work, so the children start clean. Latency: median of --reps forwards after one warm-up.
#include <ATen/ATen.h>
#include <CLI/CLI.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#if SEA_BENCH_CUDA_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "sea/attention/registry.h"
#include "sea/util/error.h"
#include "sea/util/json_config.h"
#include "sea/util/logging.h"

namespace {

struct Measurement {
  double ms = 0, mem_mb = 0;
  bool ok = false;
  std::string error;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

double max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // kilobytes on Linux
}

Measurement measure(const sea::json& method_cfg, int64_t T, int64_t heads, int64_t head_dim, bool causal,
                    const at::Device& device, int reps) {
  Measurement m;
  sea::attention::LayerShape shape;
  shape.num_heads = heads, shape.head_dim = head_dim, shape.max_positions = std::max<int64_t>(T, 2048);
  shape.causal = causal;
  auto method = sea::attention::make_attention_method(sea::attention::AttentionConfig::from_json(method_cfg, "--set"),
                                                      shape);
  method->to(device);
  method->eval();
  at::manual_seed(0);
  auto opts = at::TensorOptions().device(device);
  sea::attention::AttentionInputs in;
  in.q = at::randn({1, heads, T, head_dim}, opts) * (causal ? 1.0 / std::sqrt(double(head_dim)) : 1.0);
  in.k = at::randn({1, heads, T, head_dim}, opts), in.v = at::randn({1, heads, T, head_dim}, opts);
  in.scale = causal ? 1.0 : 1.0 / std::sqrt(double(head_dim));
  in.causal = causal;
  at::NoGradGuard no_grad;
  double base_rss = max_rss_mb();
#if SEA_BENCH_CUDA_STATS
  int64_t base_bytes = 0;
  const c10::DeviceIndex index = device.has_index() ? device.index() : 0;
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(index);
    base_bytes = c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[0].current;
  }
#endif
  std::vector<double> times;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    at::Tensor out = method->forward(in).context;
    (void)out.sum().item<double>();  // waits for the device
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  m.ms = times[times.size() / 2];
  m.mem_mb = max_rss_mb() - base_rss;
#if SEA_BENCH_CUDA_STATS
  if (device.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    m.mem_mb = (stats.allocated_bytes[0].peak - base_bytes) / (1024.0 * 1024.0);
  }
#endif
  m.ok = true;
  return m;
}

// Runs measure() in a child process (CPU memory); errors come back as text.
Measurement measure_in_child(const sea::json& cfg, int64_t T, int64_t H, int64_t D, bool causal,
                             const at::Device& device, int reps) {
  int fds[2];
  SEA_CHECK(pipe(fds) == 0, "sea-bench: pipe() failed");
  const pid_t pid = fork();
  SEA_CHECK(pid >= 0, "sea-bench: fork() failed");
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    try {
      Measurement m = measure(cfg, T, H, D, causal, device, reps);
      msg = "ok " + std::to_string(m.ms) + " " + std::to_string(m.mem_mb);
    } catch (const std::exception& e) {
      msg = std::string("error ") + e.what();
    }
    (void)!write(fds[1], msg.data(), msg.size());
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Measurement m;
  std::istringstream is(text);
  std::string tag;
  is >> tag;
  if (tag == "ok") {
    is >> m.ms >> m.mem_mb;
    m.ok = true;
  } else {
    m.error = text.empty() ? "child process died (out of memory?)" : text.substr(std::min<size_t>(6, text.size()));
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sea-bench: forward latency and peak memory of one attention layer per method"};
  std::string methods = "none,performer,reformer,perlin", seq_lens = "256,512,1024,2048,4096", device = "cpu";
  std::string json_path, log_level = "warn";
  std::vector<std::string> sets;
  int64_t heads = 12, head_dim = 64;
  int reps = 3;
  bool bidirectional = false;
  app.add_option("--methods", methods, "comma-separated attention methods");
  app.add_option("--seq-lens", seq_lens, "comma-separated sequence lengths");
  app.add_option("--device", device, "cpu or cuda[:i]");
  app.add_option("--heads", heads, "heads")->check(CLI::PositiveNumber);
  app.add_option("--head-dim", head_dim, "head dimension")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed forwards per point (median reported)")->check(CLI::PositiveNumber);
  app.add_flag("--bidirectional", bidirectional, "bidirectional layer (BERT) instead of causal (OPT)");
  app.add_option("--set", sets, "method option: <method>.<key>=<json value> (repeatable)");
  app.add_option("--json", json_path, "also write the results here");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);
  try {
    sea::init_logging(log_level);
    const at::Device dev(device);
    // Defaults: the paper's OPT Table 2 settings (SEA k 64, K 64, nbf 8; Reformer bucket 64, 8 hashes).
    sea::json configs = {{"none", {{"method", "none"}}},
                         {"performer", {{"method", "performer"}, {"nb_feature_factor", 8}}},
                         {"reformer", {{"method", "reformer"}, {"bucket_size", 64}, {"n_hashes", 8}}},
                         {"perlin", {{"method", "perlin"}, {"k", 64}, {"predictor_length", 64}, {"nb_feature_factor", 8}}}};
    for (const auto& s : sets) sea::apply_override(configs, s);
    sea::json results = sea::json::array();
    std::cout << "| method | T | forward ms | peak memory MB |\n|---|---|---|---|\n";
    for (const auto& name : split(methods)) {
      SEA_CHECK(configs.contains(name), "sea-bench: unknown method '", name, "' in --methods");
      for (const auto& t : split(seq_lens)) {
        const int64_t T = std::stoll(t);
        Measurement m = dev.is_cuda() ? measure(configs[name], T, heads, head_dim, !bidirectional, dev, reps)
                                      : measure_in_child(configs[name], T, heads, head_dim, !bidirectional, dev, reps);
        if (m.ok) {
          std::printf("| %s | %lld | %.2f | %.1f |\n", name.c_str(), static_cast<long long>(T), m.ms, m.mem_mb);
        } else {
          std::printf("| %s | %lld | failed: %s | |\n", name.c_str(), static_cast<long long>(T), m.error.c_str());
        }
        std::fflush(stdout);
        results.push_back({{"method", name}, {"T", T}, {"ok", m.ok}, {"forward_ms", m.ms}, {"peak_mb", m.mem_mb},
                           {"error", m.error}, {"config", configs[name]}});
      }
    }
    if (!json_path.empty()) {
      sea::json doc = {{"device", device}, {"heads", heads}, {"head_dim", head_dim}, {"causal", !bidirectional},
                       {"reps", reps}, {"results", results}};
      sea::write_json_file_atomic(json_path, doc);
    }
  } catch (const sea::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
