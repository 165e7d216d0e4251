// data_parallel.cpp — the c10d side of data_parallel.h: the TCPStore rendezvous, the Gloo / NCCL process
// group, broadcasts and bucketed gradient averaging. Compiled with USE_C10D_GLOO when the gloo headers were
// found (Debian's libgloo-dev; the pip wheel ships the library inside libtorch_cpu but not its headers) and
// with USE_C10D_NCCL when nccl.h was (cmake/SeaDistributed.cmake).
#include "sea/dist/data_parallel.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdlib>
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

struct DataParallel::Impl {
  int rank = 0, world = 1;
  std::string backend;
  c10::Device device = c10::Device(c10::kCPU);
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> group;
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

DataParallel::~DataParallel() = default;

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

void DataParallel::average_gradients(const std::vector<at::Tensor>& params, int64_t bucket_bytes) {
  // Buckets: consecutive parameters of one dtype and device, up to bucket_bytes each (a larger tensor alone).
  struct Bucket {
    std::vector<at::Tensor> grads;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  int64_t bytes = 0;
  for (const auto& p : params) {
    at::Tensor p_mut = p;
    if (!p_mut.grad().defined()) p_mut.mutable_grad() = at::zeros_like(p_mut);
    const at::Tensor& g = p_mut.grad();
    const int64_t nbytes = g.numel() * static_cast<int64_t>(g.element_size());
    if (buckets.empty() || bytes + nbytes > bucket_bytes ||
        buckets.back().grads.front().scalar_type() != g.scalar_type() ||
        buckets.back().grads.front().device() != g.device()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().grads.push_back(g);
    bytes += nbytes;
  }
  // All buckets in flight at once, then wait and scatter back.
  for (auto& b : buckets) {
    std::vector<at::Tensor> views;
    for (const auto& g : b.grads) views.push_back(g.reshape({-1}));
    b.flat = at::cat(views);
    std::vector<at::Tensor> io{b.flat};
    b.work = impl_->group->allreduce(io);
  }
  const double inv = 1.0 / static_cast<double>(impl_->world);
  for (auto& b : buckets) {
    b.work->wait();
    b.flat.mul_(inv);
    int64_t offset = 0;
    for (auto& g : b.grads) {
      g.copy_(b.flat.narrow(0, offset, g.numel()).view(g.sizes()));
      offset += g.numel();
    }
  }
}

void DataParallel::all_reduce_sum(at::Tensor& t) {
  std::vector<at::Tensor> io{t};
  impl_->group->allreduce(io)->wait();
}

void DataParallel::barrier() { impl_->group->barrier()->wait(); }

}  // namespace sea::dist
