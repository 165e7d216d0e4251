// measure.cpp — timing, peak memory and device facts for sea-bench (see measure.h).
#include "bench/measure.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <new>

#if SEA_BENCH_CUDA_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include "bench/workloads.h"
#include "sea/util/error.h"

namespace sea::bench {

json Measurement::to_json() const {
  return {{"ok", ok},       {"ms", ms},         {"min_ms", min_ms}, {"max_ms", max_ms}, {"peak_mb", peak_mb},
          {"runs", runs},   {"error", error},   {"note", note},     {"bytes", bytes}};
}

Measurement Measurement::from_json(const json& j) {
  Measurement m;
  m.ok = j.at("ok").get<bool>();
  m.ms = j.at("ms").get<double>();
  m.min_ms = j.at("min_ms").get<double>();
  m.max_ms = j.at("max_ms").get<double>();
  m.peak_mb = j.at("peak_mb").get<double>();
  m.runs = j.at("runs").get<int>();
  m.error = j.at("error").get<std::string>();
  m.note = j.at("note").get<std::string>();
  m.bytes = j.at("bytes").get<double>();
  return m;
}

bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) || dynamic_cast<const c10::OutOfMemoryError*>(&e)) return true;
  std::string text = e.what();
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text.find("out of memory") != std::string::npos;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1024.0 * 1024.0;

// The first line of an error, without c10's backtrace, at most 300 characters.
std::string short_error(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  text = text.substr(0, text.find('\n'));
  return text.size() > 300 ? text.substr(0, 300) + "..." : text;
}

void fill_summary(std::vector<double> times, Measurement& m) {
  std::sort(times.begin(), times.end());
  m.runs = static_cast<int>(times.size());
  m.ms = times.size() % 2 ? times[times.size() / 2] : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
  m.min_ms = times.front();
  m.max_ms = times.back();
}

double max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // kilobytes on Linux
}

std::vector<double> time_on_cpu(const Workload& w, const Settings& s, Measurement& m) {
  auto run_ms = [&w] {
    if (w.before_each) w.before_each();
    const auto t0 = Clock::now();
    w.run();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  const double base_mb = max_rss_mb();
  run_ms();  // warm-up
  std::vector<double> times;
  for (int r = 0; r < s.reps; ++r) times.push_back(run_ms());
  m.peak_mb = max_rss_mb() - base_mb;
  return times;
}

#if SEA_BENCH_CUDA_STATS
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    fail("sea-bench: ", what, " failed: ", cudaGetErrorString(status));
  }
}

// Two CUDA events on the current stream: start() before the work, stop_ms() after it (waits for it).
class CudaInterval {
 public:
  CudaInterval() {
    cuda_check(cudaEventCreate(&start_), "cudaEventCreate");
    cuda_check(cudaEventCreate(&stop_), "cudaEventCreate");
  }
  ~CudaInterval() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  CudaInterval(const CudaInterval&) = delete;
  CudaInterval& operator=(const CudaInterval&) = delete;

  void start() { cuda_check(cudaEventRecord(start_, stream()), "cudaEventRecord"); }
  double stop_ms() {
    cuda_check(cudaEventRecord(stop_, stream()), "cudaEventRecord");
    cuda_check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
    float ms = 0;
    cuda_check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
    return ms;
  }

 private:
  static cudaStream_t stream() { return c10::cuda::getCurrentCUDAStream().stream(); }
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// The caching allocator's allocated bytes (StatType::AGGREGATE): now, and the peak since the last reset.
int64_t allocated_now(c10::DeviceIndex index) {
  return c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[0].current;
}
int64_t allocated_peak(c10::DeviceIndex index) {
  return c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[0].peak;
}

std::vector<double> time_on_cuda(const Workload& w, const Settings& s, Measurement& m) {
  const c10::DeviceIndex index = s.device.index();
  CudaInterval interval;
  auto run_ms = [&] {
    if (w.before_each) w.before_each();
    if (s.l2_flush_buffer.defined()) s.l2_flush_buffer.zero_();
    interval.start();
    w.run();
    return interval.stop_ms();
  };
  // Warm-up: at least 3 runs and 100 ms; a single run past the time cap is enough.
  double longest_ms = 0;
  const auto warmup_start = Clock::now();
  for (int n = 1;; ++n) {
    longest_ms = std::max(longest_ms, run_ms());
    const double elapsed = seconds_since(warmup_start);
    if ((n >= 3 && elapsed >= 0.1) || elapsed >= s.point_seconds) break;
  }
  if (w.before_each) w.before_each();
  c10::cuda::device_synchronize();
  c10::cuda::CUDACachingAllocator::resetPeakStats(index);
  const int64_t base_bytes = allocated_now(index);

  const bool slow = longest_ms > 1000.0 * s.point_seconds;
  const size_t min_runs = static_cast<size_t>(std::min(s.reps, slow ? 3 : 5));
  std::vector<double> times;
  const auto timed_start = Clock::now();
  while (times.size() < static_cast<size_t>(s.reps)) {
    times.push_back(run_ms());
    if (times.size() >= min_runs && seconds_since(timed_start) >= s.point_seconds) break;
  }
  m.peak_mb = static_cast<double>(allocated_peak(index) - base_bytes) / kMiB;
  return times;
}

// Device-to-device copy of 1 GiB: read + write bytes over the median time of 10 copies, GB/s (0 on failure).
double copy_bandwidth_gbs(const at::Device& device) {
  double gbs = 0;
  try {
    const int64_t bytes = int64_t{1} << 30;
    const auto options = at::TensorOptions().device(device).dtype(at::kByte);
    at::Tensor src = at::ones({bytes}, options), dst = at::empty({bytes}, options);
    CudaInterval interval;
    std::vector<double> times;
    for (int r = 0; r < 12; ++r) {
      interval.start();
      dst.copy_(src);
      const double ms = interval.stop_ms();
      if (r >= 2) times.push_back(ms);  // two warm-up copies
    }
    std::sort(times.begin(), times.end());
    gbs = 2.0 * static_cast<double>(bytes) / (times[times.size() / 2] * 1e-3) / 1e9;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sea-bench: copy bandwidth not measured: %s\n", short_error(e).c_str());
  }
  c10::cuda::CUDACachingAllocator::emptyCache();
  return gbs;
}

std::string cuda_version_text(int version) {  // 13000 -> "13.0"
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}
#endif

void release_cached_memory(const at::Device& device) {
#if SEA_BENCH_CUDA_STATS
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      return line.substr(line.find(':') + 2);
    }
  }
  return "unknown CPU";
}

}  // namespace

void prepare_device(Settings& settings) {
  if (!settings.device.is_cuda()) return;
#if SEA_BENCH_CUDA_STATS
  c10::cuda::set_device(settings.device.index());
  if (settings.flush_l2) {
    settings.l2_flush_buffer =
        at::empty({int64_t{256} << 20}, at::TensorOptions().device(settings.device).dtype(at::kByte));
  }
#else
  fail("sea-bench: --device ", settings.device.str(), " needs a LibTorch with CUDA; this build has none");
#endif
}

Measurement measure(const std::string& method, bool causal, int64_t T, Pass pass, const Settings& settings) {
  Measurement m;
  try {
    Workload w = make_workload(method, causal, T, pass, settings);
    m.note = w.note;
    m.bytes = w.bytes;
#if SEA_BENCH_CUDA_STATS
    std::vector<double> times = settings.device.is_cuda() ? time_on_cuda(w, settings, m) : time_on_cpu(w, settings, m);
#else
    std::vector<double> times = time_on_cpu(w, settings, m);
#endif
    fill_summary(std::move(times), m);
    m.ok = true;
  } catch (const std::exception& e) {
    m.ok = false;
    m.error = is_out_of_memory(e) ? "out of memory" : short_error(e);
  }
  release_cached_memory(settings.device);
  return m;
}

std::optional<std::string> run_in_child(const std::function<std::string()>& work, std::string& death) {
  int fds[2];
  SEA_CHECK(pipe(fds) == 0, "sea-bench: pipe() failed");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  SEA_CHECK(pid >= 0, "sea-bench: fork() failed");
  if (pid == 0) {
    close(fds[0]);
    std::string text;
    int code = 0;
    try {
      text = work();
    } catch (const std::exception& e) {
      text = e.what();
      code = 3;
    }
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(code);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return text;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
    death = text;
  } else if (WIFSIGNALED(status)) {
    death = "child process killed by signal " + std::to_string(WTERMSIG(status)) + " (out of memory?)";
  } else {
    death = "child process died without a result (out of memory?)";
  }
  return std::nullopt;
}

Measurement measure_in_child(const std::string& method, bool causal, int64_t T, Pass pass, const Settings& settings) {
  std::string death;
  const auto text = run_in_child([&] { return measure(method, causal, T, pass, settings).to_json().dump(); }, death);
  if (text) {
    try {
      return Measurement::from_json(json::parse(*text));
    } catch (const std::exception& e) {
      death = std::string("unreadable result from the child process: ") + e.what();
    }
  }
  Measurement m;
  m.error = death;
  return m;
}

DeviceInfo describe_device(const at::Device& device) {
  DeviceInfo info;
  if (!device.is_cuda()) {
    info.name = cpu_model_name();
    return info;
  }
#if SEA_BENCH_CUDA_STATS
  const int index = device.index();
  cudaDeviceProp prop{};
  cuda_check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  info.name = prop.name;
  info.total_memory_gb = static_cast<double>(prop.totalGlobalMem) / 1e9;
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) info.cuda_runtime = cuda_version_text(runtime);
  if (cudaDriverGetVersion(&driver) == cudaSuccess) info.cuda_driver = cuda_version_text(driver);
  // Nominal peak: memory clock (kHz, double data rate) × bus width. Attributes, not cudaDeviceProp fields,
  // which CUDA 13 removed; a runtime that does not report them leaves the number unknown.
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, index) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, index) == cudaSuccess && clock_khz > 0 &&
      bus_bits > 0) {
    info.nominal_gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  }
  (void)cudaGetLastError();
  info.copy_gbs = copy_bandwidth_gbs(device);
#endif
  return info;
}

}  // namespace sea::bench
