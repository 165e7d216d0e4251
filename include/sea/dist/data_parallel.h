// data_parallel.h — data-parallel training on PyTorch's own distributed engine (issue 8): c10d process groups
// from LibTorch, NCCL between GPUs and Gloo on the CPU, launched the standard way (one process per device with
// RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT, as torchrun sets them; rank 0 hosts the TCPStore
// rendezvous). The c10d headers stay inside src/dist/data_parallel.cpp, so nothing else pays for them.
//
// How the trainer uses it (src/train/trainer.cpp, docs/TRAINING.md "Several GPUs"): every rank builds the same
// global batch (data.batch_size × world) and takes its own rows; rank 0's parameters and buffers are copied to
// every rank at the start and after every Performer redraw; gradients are averaged over ranks in buckets that
// start during the backward of the step's last micro-batch, before clipping and the optimizer step; the logged loss terms and token counts are summed; rank 0 alone writes the
// run directory (config, metrics, checkpoints).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace sea::dist {

// The launcher's environment. `launched` is true when WORLD_SIZE is set (torchrun with one process included).
struct LaunchEnv {
  bool launched = false;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Without WORLD_SIZE: a single process. A value
// that is not a number, out of range, or a missing RANK when WORLD_SIZE > 1 is an error naming the variable.
LaunchEnv launch_env_from_environment();

// "gloo" / "nccl": whether this build can create that process group.
bool backend_available(const std::string& backend);

class DataParallel {
 public:
  // Joins the group of `env`: NCCL when `device` is CUDA, else Gloo. Collectives time out after timeout_s.
  DataParallel(const LaunchEnv& env, const c10::Device& device, double timeout_s = 1800.0);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const;
  int world_size() const;
  const std::string& backend() const;

  // Copies rank 0's parameters and buffers (or buffers only) into this rank's module, in place.
  void broadcast_module(torch::nn::Module& module);
  void broadcast_buffers(torch::nn::Module& module);

  // Averages the gradients of `params` over ranks (sum / world size), overlapped with the backward of an
  // optimizer step's last micro-batch. Gradients travel in flat buckets of at most bucket_bytes:
  //   start_overlap(params)            once: fixed buckets (in reverse order, as backward produces gradients)
  //                                    and one gradient hook per parameter
  //   arm_overlap()                    before that backward: each hook copies its parameter's final gradient
  //                                    (what .grad holds + the incoming one) into its bucket, and full buckets
  //                                    start their all-reduce while the backward goes on, strictly in order
  //   launch_remaining_buckets()       after it (also when this rank ran no backward: no rows, non-finite loss):
  //                                    fills the rest from .grad and starts them, in the same order everywhere
  //   finish_overlap(write)            waits; write = true stores the averages into .grad
  // Every rank issues the same collectives in the same order whatever its own backward did.
  void start_overlap(const std::vector<at::Tensor>& params, int64_t bucket_bytes = int64_t{25} << 20);
  void arm_overlap();
  void launch_remaining_buckets();
  void finish_overlap(bool write);
  // How many buckets the last armed backward started by itself (the rest launch_remaining_buckets started).
  int64_t buckets_started_in_backward() const;
  int64_t num_buckets() const;

  // Sums `t` over ranks, in place (metrics, flags). Any device the group can reach.
  void all_reduce_sum(at::Tensor& t);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sea::dist
