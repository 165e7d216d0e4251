// data_parallel.cpp — the c10d side of data_parallel.h: the TCPStore rendezvous, the Gloo / NCCL process
// group, broadcasts and bucketed gradient averaging. Compiled with USE_C10D_GLOO when the gloo headers were
// found (Debian's libgloo-dev; the pip wheel ships the library inside libtorch_cpu but not its headers) and
// with USE_C10D_NCCL when nccl.h was (cmake/SeaDistributed.cmake).
#include "sea/dist/data_parallel.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "sea/util/error.h"
#include "sea/util/logging.h"

namespace sea::dist {
namespace {

// An integer environment variable, or `fallback` when unset; an error names the variable and its value.
int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  SEA_CHECK(end != v && *end == '\0', "environment variable ", name, "='", v, "' is not an integer");
  SEA_CHECK(x >= lo && x <= hi, "environment variable ", name, "=", x, " is out of range [", lo, ", ", hi, "]");
  return static_cast<int>(x);
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

}  // namespace

LaunchEnv launch_env_from_environment() {
  LaunchEnv e;
  const char* ws = std::getenv("WORLD_SIZE");
  if (ws == nullptr || *ws == '\0') return e;
  e.launched = true;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  SEA_CHECK(e.world_size == 1 || std::getenv("RANK") != nullptr, "WORLD_SIZE=", e.world_size,
            " is set but RANK is not: launch one process per device with RANK (and LOCAL_RANK, MASTER_ADDR, "
            "MASTER_PORT), e.g. with torchrun");
  e.rank = env_int("RANK", 0, 0, e.world_size - 1);
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0, 1 << 16);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') e.master_addr = a;
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return e;
}

bool backend_available(const std::string& backend) {
#ifdef USE_C10D_GLOO
  if (backend == "gloo") return true;
#endif
#ifdef USE_C10D_NCCL
  if (backend == "nccl") return true;
#endif
  (void)backend;
  return false;
}

// The buckets of the overlapped gradient average (DataParallel::start_overlap).
struct OverlapBucket {
  std::vector<size_t> params;  // indices into OverlapState::params
  at::Tensor flat;             // the bucket's gradients, concatenated
  std::vector<int64_t> offset;
  int64_t pending = 0;         // parameters whose gradient has not arrived yet
  c10::intrusive_ptr<c10d::Work> work;
};

struct OverlapState {
  size_t started_in_backward = 0;
  std::vector<at::Tensor> params;
  std::vector<unsigned> hooks;
  std::vector<std::pair<size_t, size_t>> slot;  // parameter -> (bucket, position in it)
  std::vector<bool> filled;
  std::vector<OverlapBucket> buckets;
  size_t next = 0;  // the next bucket to launch; buckets start strictly in order
  bool armed = false;
  std::mutex mutex;
};

struct DataParallel::Impl {
  int rank = 0, world = 1;
  std::string backend;
  c10::Device device = c10::Device(c10::kCPU);
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> group;
  std::unique_ptr<OverlapState> overlap;

  // Copies parameter i's final gradient into its bucket slot (the hook, or launch_remaining_buckets).
  void fill(size_t i, const at::Tensor& incoming) {
    OverlapState& o = *overlap;
    const auto [b, k] = o.slot[i];
    OverlapBucket& bucket = o.buckets[b];
    const at::Tensor& p = o.params[i];
    at::Tensor dst = bucket.flat.narrow(0, bucket.offset[k], p.numel()).view(p.sizes());
    const at::Tensor prev = p.grad();
    if (incoming.defined() && prev.defined()) dst.copy_(prev + incoming);
    else if (incoming.defined()) dst.copy_(incoming);
    else if (prev.defined()) dst.copy_(prev);
    else dst.zero_();
    o.filled[i] = true;
    --bucket.pending;
  }
  void launch_ready() {
    OverlapState& o = *overlap;
    while (o.next < o.buckets.size() && o.buckets[o.next].pending == 0) {
      std::vector<at::Tensor> io{o.buckets[o.next].flat};
      o.buckets[o.next].work = group->allreduce(io);
      ++o.next;
    }
  }
};

DataParallel::DataParallel(const LaunchEnv& env, const c10::Device& device, double timeout_s)
    : impl_(std::make_unique<Impl>()) {
  impl_->rank = env.rank;
  impl_->world = env.world_size;
  impl_->device = device;
  impl_->backend = device.is_cuda() ? "nccl" : "gloo";
  SEA_CHECK(backend_available(impl_->backend), "data-parallel training on ", device.str(), " needs the ",
            impl_->backend, " process group, which this build lacks (",
            impl_->backend == "gloo" ? "install the gloo headers, Debian's libgloo-dev, and reconfigure"
                                     : "no nccl.h was found at configure time; set NCCL_INCLUDE_DIR",
            "; docs/TRAINING.md \"Several GPUs\")");

  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env.master_port);
  so.isServer = env.rank == 0;
  so.numWorkers = env.world_size;
  so.timeout = to_ms(timeout_s);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    fail("rank ", env.rank, " of ", env.world_size, ": cannot join the rendezvous at MASTER_ADDR=", env.master_addr,
         " MASTER_PORT=", env.master_port, " (", e.what(), ")");
  }
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("sea/", impl_->store);

#ifdef USE_C10D_GLOO
  if (impl_->backend == "gloo") {
    auto o = c10d::ProcessGroupGloo::Options::create();
    o->timeout = to_ms(timeout_s);
    o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, env.rank, env.world_size, o);
  }
#endif
#ifdef USE_C10D_NCCL
  if (impl_->backend == "nccl") {
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = to_ms(timeout_s);
    impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, env.rank, env.world_size, o);
  }
#endif
  SEA_CHECK(impl_->group, "no process group was created for backend ", impl_->backend);
  log().info("data parallel: rank {} of {} ({} on {}, rendezvous {}:{})", env.rank, env.world_size, impl_->backend,
             device.str(), env.master_addr, env.master_port);
}

DataParallel::~DataParallel() {
  if (impl_ && impl_->overlap) {
    auto& o = *impl_->overlap;
    for (size_t i = 0; i < o.params.size(); ++i) o.params[i].remove_hook(o.hooks[i]);
  }
}

int DataParallel::rank() const { return impl_->rank; }
int DataParallel::world_size() const { return impl_->world; }
const std::string& DataParallel::backend() const { return impl_->backend; }

namespace {

// Broadcasts `tensors` from rank 0 in flat buckets (one per dtype), then copies them back in place.
void broadcast_flat(c10d::Backend& group, const std::vector<at::Tensor>& tensors) {
  std::map<at::ScalarType, std::vector<at::Tensor>> by_type;
  for (const auto& t : tensors) {
    if (t.defined() && t.numel() > 0) by_type[t.scalar_type()].push_back(t);
  }
  for (auto& [type, group_tensors] : by_type) {
    std::vector<at::Tensor> flat_views;
    for (const auto& t : group_tensors) flat_views.push_back(t.detach().reshape({-1}));
    std::vector<at::Tensor> bucket{at::cat(flat_views)};
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    group.broadcast(bucket, o)->wait();
    int64_t offset = 0;
    at::NoGradGuard no_grad;
    for (auto& t : group_tensors) {
      t.detach().copy_(bucket[0].narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace

void DataParallel::broadcast_module(torch::nn::Module& module) {
  std::vector<at::Tensor> all = module.parameters();
  for (auto& b : module.buffers()) all.push_back(b);
  broadcast_flat(*impl_->group, all);
}

void DataParallel::broadcast_buffers(torch::nn::Module& module) { broadcast_flat(*impl_->group, module.buffers()); }

void DataParallel::start_overlap(const std::vector<at::Tensor>& params, int64_t bucket_bytes) {
  SEA_CHECK(!impl_->overlap, "DataParallel::start_overlap called twice");
  impl_->overlap = std::make_unique<OverlapState>();
  OverlapState& o = *impl_->overlap;
  o.params = params;
  o.slot.resize(params.size());
  o.filled.assign(params.size(), false);
  // Reverse order: the backward produces the last layers' gradients first.
  int64_t bytes = 0;
  for (size_t r = params.size(); r-- > 0;) {
    const at::Tensor& p = params[r];
    const int64_t nbytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (o.buckets.empty() || bytes + nbytes > bucket_bytes ||
        o.params[o.buckets.back().params.front()].scalar_type() != p.scalar_type() ||
        o.params[o.buckets.back().params.front()].device() != p.device()) {
      o.buckets.emplace_back();
      bytes = 0;
    }
    OverlapBucket& b = o.buckets.back();
    b.offset.push_back(b.params.empty() ? 0 : b.offset.back() + o.params[b.params.back()].numel());
    o.slot[r] = {o.buckets.size() - 1, b.params.size()};
    b.params.push_back(r);
    bytes += nbytes;
  }
  for (auto& b : o.buckets) {
    const at::Tensor& last = o.params[b.params.back()];
    b.flat = at::zeros({b.offset.back() + last.numel()}, last.options());
  }
  Impl* impl = impl_.get();
  for (size_t i = 0; i < params.size(); ++i) {
    o.hooks.push_back(o.params[i].register_hook([impl, i](const at::Tensor& grad) {
      OverlapState& st = *impl->overlap;
      std::lock_guard<std::mutex> lock(st.mutex);
      if (!st.armed || st.filled[i]) return;
      impl->fill(i, grad);
      impl->launch_ready();
    }));
  }
}

void DataParallel::arm_overlap() {
  OverlapState& o = *impl_->overlap;
  std::lock_guard<std::mutex> lock(o.mutex);
  for (auto& b : o.buckets) {
    SEA_CHECK(!b.work, "DataParallel::arm_overlap: the previous step's buckets were not finished");
    b.pending = static_cast<int64_t>(b.params.size());
  }
  std::fill(o.filled.begin(), o.filled.end(), false);
  o.next = 0;
  o.armed = true;
}

void DataParallel::launch_remaining_buckets() {
  OverlapState& o = *impl_->overlap;
  std::lock_guard<std::mutex> lock(o.mutex);
  SEA_CHECK(o.armed, "DataParallel::launch_remaining_buckets without arm_overlap");
  o.armed = false;
  o.started_in_backward = o.next;
  for (size_t b = o.next; b < o.buckets.size(); ++b) {
    for (size_t i : o.buckets[b].params) {
      if (!o.filled[i]) impl_->fill(i, at::Tensor());  // no gradient arrived in this backward: .grad as it is
    }
  }
  impl_->launch_ready();
}

int64_t DataParallel::buckets_started_in_backward() const {
  return impl_->overlap ? static_cast<int64_t>(impl_->overlap->started_in_backward) : 0;
}

int64_t DataParallel::num_buckets() const {
  return impl_->overlap ? static_cast<int64_t>(impl_->overlap->buckets.size()) : 0;
}

void DataParallel::finish_overlap(bool write) {
  OverlapState& o = *impl_->overlap;
  const double inv = 1.0 / static_cast<double>(impl_->world);
  for (auto& b : o.buckets) {
    SEA_CHECK(b.work, "DataParallel::finish_overlap: a bucket was never launched");
    b.work->wait();
    b.work.reset();
    if (!write) continue;
    b.flat.mul_(inv);
    for (size_t k = 0; k < b.params.size(); ++k) {
      at::Tensor p = o.params[b.params[k]];
      const at::Tensor avg = b.flat.narrow(0, b.offset[k], p.numel()).view(p.sizes());
      if (p.grad().defined()) p.mutable_grad().copy_(avg);
      else p.mutable_grad() = avg.clone();
    }
  }
}

void DataParallel::all_reduce_sum(at::Tensor& t) {
  std::vector<at::Tensor> io{t};
  impl_->group->allreduce(io)->wait();
}

void DataParallel::barrier() { impl_->group->barrier()->wait(); }

}  // namespace sea::dist
