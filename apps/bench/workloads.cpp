// workloads.cpp — the timed calls of sea-bench (see workloads.h).
#include "bench/workloads.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <cstdio>

#include "sea/attention/registry.h"
#include "sea/attention/sea_attention.h"
#include "sea/ops/sparse_attention.h"
#include "sea/util/error.h"

namespace sea::bench {
namespace {

using attention::AttentionInputs;
using attention::AttentionMethod;

// While alive, SDPA may use only its flash backend; the user's flags come back at the end.
class SdpaFlashOnly {
 public:
  SdpaFlashOnly()
      : flash_(ctx().userEnabledFlashSDP()),
        mem_efficient_(ctx().userEnabledMemEfficientSDP()),
        math_(ctx().userEnabledMathSDP()),
        cudnn_(ctx().userEnabledCuDNNSDP()) {
    ctx().setSDPUseFlash(true);
    ctx().setSDPUseMemEfficient(false);
    ctx().setSDPUseMath(false);
    ctx().setSDPUseCuDNN(false);
  }
  ~SdpaFlashOnly() {
    ctx().setSDPUseFlash(flash_);
    ctx().setSDPUseMemEfficient(mem_efficient_);
    ctx().setSDPUseMath(math_);
    ctx().setSDPUseCuDNN(cudnn_);
  }
  SdpaFlashOnly(const SdpaFlashOnly&) = delete;
  SdpaFlashOnly& operator=(const SdpaFlashOnly&) = delete;

 private:
  static at::Context& ctx() { return at::globalContext(); }
  bool flash_, mem_efficient_, math_, cudnn_;
};

std::string sdp_backend_name(int64_t choice) {
  if (choice == static_cast<int64_t>(at::SDPBackend::math)) return "math";
  if (choice == static_cast<int64_t>(at::SDPBackend::flash_attention)) return "flash";
  if (choice == static_cast<int64_t>(at::SDPBackend::efficient_attention)) return "mem_efficient";
  if (choice == static_cast<int64_t>(at::SDPBackend::cudnn_attention)) return "cudnn";
  if (choice < 0) return "none available";
  return "backend " + std::to_string(choice);
}

// What SDPA would pick for these inputs under the current flags ("none available" when it would fail).
int64_t sdp_choice(const AttentionInputs& in) {
  try {
    return at::_fused_sdp_choice(in.q, in.k, in.v, {}, 0.0, in.causal, in.scale);
  } catch (const std::exception&) {
    return static_cast<int64_t>(at::SDPBackend::error);
  }
}

// Which implementation SEA's operators take for inputs like `t` under `requested` (ops/backend.h).
std::string kernels_note(ops::Backend requested, const at::Tensor& t) {
  try {
    return std::string("kernels ") + ops::to_string(ops::resolve_backend(requested, t, "sea-bench"));
  } catch (const std::exception&) {
    return std::string("kernels ") + ops::to_string(requested) + " (cannot run here)";
  }
}

AttentionInputs random_inputs(bool causal, int64_t T, const Settings& s, bool requires_grad) {
  at::manual_seed(0);
  const auto options = at::TensorOptions().device(s.device).dtype(s.dtype);
  const std::vector<int64_t> shape{s.batch, s.heads, T, s.head_dim};
  const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  AttentionInputs in;
  in.q = at::randn(shape, options);
  if (causal) in.q.mul_(inv_sqrt_d);  // OPT passes q·D^-½ with scale 1; BERT raw q with scale D^-½
  in.k = at::randn(shape, options);
  in.v = at::randn(shape, options);
  in.scale = causal ? 1.0 : inv_sqrt_d;
  in.causal = causal;
  if (requires_grad) {
    in.q.requires_grad_(true);
    in.k.requires_grad_(true);
    in.v.requires_grad_(true);
  }
  return in;
}

std::string config_source(const std::string& name) {
  return "sea-bench config '" + name + "' (with --set " + name + ".*)";
}

AttentionMethod build_method(const std::string& name, bool causal, int64_t T, const Settings& s) {
  attention::LayerShape shape;
  shape.num_heads = s.heads;
  shape.head_dim = s.head_dim;
  shape.max_positions = std::max<int64_t>(T, 2048);
  shape.causal = causal;
  const std::string where = config_source(name);
  AttentionMethod method =
      attention::make_attention_method(attention::AttentionConfig::from_json(s.configs.at(name), where), shape, where);
  method->to(s.device);
  // Parameters in the benchmark's dtype (a bf16 layer); buffers stay as they are (Module::to(dtype) would also
  // cast the Performer's fp32 projection and its int64 counters).
  at::NoGradGuard no_grad;
  for (auto& p : method->parameters()) {
    if (p.is_floating_point() && p.scalar_type() != s.dtype) p.set_data(p.to(s.dtype));
  }
  return method;
}

// Drops the gradients a forward+backward left on its leaves and on the module's parameters, so that every
// run allocates them anew (its peak memory includes them).
std::function<void()> gradient_reset(std::vector<at::Tensor> leaves, std::shared_ptr<torch::nn::Module> module) {
  return [leaves = std::move(leaves), module = std::move(module)] {
    for (const at::Tensor& t : leaves) {
      if (t.defined()) t.mutable_grad() = at::Tensor();
    }
    if (module) {
      for (auto& p : module->parameters()) p.mutable_grad() = at::Tensor();
    }
  };
}

// Backward of `outputs` with fixed random output gradients, drawn on the first (warm-up) run.
void backward_with_random_grads(const std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& grads) {
  if (grads.empty()) {
    for (const at::Tensor& o : outputs) grads.push_back(at::randn_like(o));
  }
  torch::autograd::backward(outputs, grads);
}

Workload sdpa_workload(bool causal, int64_t T, Pass pass, const Settings& s) {
  Workload w;
  const bool backward = pass == Pass::ForwardBackward;
  const AttentionInputs in = random_inputs(causal, T, s, backward);
  auto flash_only = std::make_shared<SdpaFlashOnly>();
  const int64_t choice = sdp_choice(in);
  if (choice == static_cast<int64_t>(at::SDPBackend::flash_attention)) {
    w.note = s.device.is_cuda() ? "flash" : "flash (cpu)";
    w.keep_alive = flash_only;
  } else {
    flash_only.reset();  // the user's flags again: SDPA's default choice
    w.note = "flash unavailable; default: " + sdp_backend_name(sdp_choice(in));
  }
  auto grads = std::make_shared<std::vector<at::Tensor>>();
  w.run = [in, backward, grads] {
    if (!backward) {
      at::NoGradGuard no_grad;
      (void)at::scaled_dot_product_attention(in.q, in.k, in.v, {}, 0.0, in.causal, in.scale);
      return;
    }
    at::Tensor out = at::scaled_dot_product_attention(in.q, in.k, in.v, {}, 0.0, in.causal, in.scale);
    backward_with_random_grads({out}, *grads);
  };
  if (backward) w.before_each = gradient_reset({in.q, in.k, in.v}, nullptr);
  return w;
}

Workload method_workload(const std::string& name, bool causal, int64_t T, Pass pass, const Settings& s) {
  Workload w;
  const bool backward = pass == Pass::ForwardBackward;
  AttentionMethod method = build_method(name, causal, T, s);
  AttentionInputs in = random_inputs(causal, T, s, backward);
  in.return_artefacts = name == "none";  // materialised dense attention (T×T probabilities)
  if (s.configs.at(name).contains("kernels")) {
    const auto requested = ops::parse_backend(s.configs.at(name).at("kernels").get<std::string>(), config_source(name));
    w.note = kernels_note(requested, in.q);
  }
  auto grads = std::make_shared<std::vector<at::Tensor>>();
  if (!backward) {
    method->eval();
    w.run = [method, in] {
      at::NoGradGuard no_grad;
      (void)method->forward(in);
    };
  } else {
    method->train();
    w.run = [method, in, grads] { backward_with_random_grads({method->forward(in).context}, *grads); };
    w.before_each = gradient_reset({in.q, in.k, in.v}, method);
  }
  return w;
}

// The perlin layer behind the sea:* rows.
std::shared_ptr<attention::SeaAttentionImpl> build_sea_layer(bool causal, int64_t T, const Settings& s) {
  auto sea = std::dynamic_pointer_cast<attention::SeaAttentionImpl>(build_method("perlin", causal, T, s));
  SEA_CHECK(sea, "sea-bench: the sea:* rows time the steps of SEA's layer, so the perlin config must build method "
                 "'perlin', got '", s.configs.at("perlin").value("method", std::string("?")), "'");
  return sea;
}

Workload sea_step_workload(const std::string& step, bool causal, int64_t T, Pass pass, const Settings& s) {
  Workload w;
  const bool backward = pass == Pass::ForwardBackward;
  auto sea = build_sea_layer(causal, T, s);
  AttentionInputs in = random_inputs(causal, T, s, backward);
  auto grads = std::make_shared<std::vector<at::Tensor>>();
  const ops::KeyLayout layout = sea->key_layout(in);
  if (backward) {
    sea->train();
  } else {
    sea->eval();
  }

  // The inputs of the later steps, from the layer's own earlier steps (untimed).
  at::Tensor v, c_perf;
  attention::SeaAttentionImpl::Estimate estimate;
  if (step != "sea:performer") {
    at::NoGradGuard no_grad;
    v = sea->masked_values(in, layout).detach();
    c_perf = sea->performer_step(in, layout, v).detach();
    if (step != "sea:predictor") estimate = sea->predictor_step(in, layout, v, c_perf);
  }

  if (step == "sea:performer") {
    w.run = [sea, in, layout, backward, grads] {
      std::optional<at::NoGradGuard> no_grad;
      if (!backward) no_grad.emplace();
      at::Tensor c = sea->performer_step(in, layout, sea->masked_values(in, layout));
      if (backward) backward_with_random_grads({c}, *grads);
    };
    if (backward) w.before_each = gradient_reset({in.q, in.k, in.v}, sea);
  } else if (step == "sea:predictor") {
    if (backward) {
      v = in.v;  // no padding: masked_values is v itself
      c_perf.requires_grad_(true);
    }
    w.run = [sea, in, layout, v, c_perf, backward, grads] {
      std::optional<at::NoGradGuard> no_grad;
      if (!backward) no_grad.emplace();
      auto e = sea->predictor_step(in, layout, v, c_perf);
      if (backward) backward_with_random_grads({e.logits, e.s_prob, e.s_mix}, *grads);
    };
    if (backward) w.before_each = gradient_reset({in.v, c_perf}, sea);
  } else if (step == "sea:topk") {
    SEA_CHECK(!backward, "sea-bench: sea:topk has no backward (the mask is not differentiable)");
    const at::Tensor est = estimate.estimate.detach();
    w.run = [sea, est, layout] { (void)sea->mask_step(est, layout); };
  } else if (step == "sea:sparse" || step == "sea:sparse-rows") {
    const auto& o = sea->options();
    at::Tensor bits = sea->mask_step(estimate.estimate, layout);
    at::Tensor row_scale;
    if (o.partial_attention_scaler) {
      row_scale = estimate.s_prob.detach().contiguous();
      if (backward) row_scale.requires_grad_(true);
    }
    ops::SparseAttentionOptions so;
    so.scale = in.scale;
    so.k = o.k;
    so.k_oversample = o.k_oversample;
    so.query_chunk = o.query_chunk;
    so.backend = o.performer.kernels;
    // sea:sparse-rows: the same step with the one-warp-per-row CUDA forward instead of the default (tiled for
    // bf16/fp16), so one run gives the ratio of the two kernels.
    if (step == "sea:sparse-rows") so.forward_kernel = ops::SparseForwardKernel::Rows;
    const int64_t K = o.predictor_length;
    w.run = [in, bits, K, layout, row_scale, so, backward, grads] {
      std::optional<at::NoGradGuard> no_grad;
      if (!backward) no_grad.emplace();
      at::Tensor out = ops::sparse_attention(in.q, in.k, in.v, bits, K, layout, row_scale, so).context;
      if (backward) backward_with_random_grads({out}, *grads);
    };
    if (backward) w.before_each = gradient_reset({in.q, in.k, in.v, row_scale}, nullptr);
    if (!backward) {
      // How many rows of a block share each key they read (ops::kept_key_reuse): 1 = every row's keys are its
      // own, so no kernel can serve them from a block-shared tile. The tiled forward's blocks are 64 rows.
      std::string reuse = "rows per kept key in blocks of";
      for (int64_t rows_per_block : {8, 64}) {
        auto [row_keys, block_keys] = ops::kept_key_reuse(bits, K, layout, rows_per_block);
        char text[48];
        std::snprintf(text, sizeof text, " %lld: %.2f", static_cast<long long>(rows_per_block),
                      block_keys > 0 ? row_keys / block_keys : 0.0);
        reuse += text;
      }
      w.note = reuse;
    }
    // The HBM floor's bytes: Q, K, V, O; the kept-cell bits; row_scale (fp32); row_len (int64).
    const double rows = static_cast<double>(s.batch) * s.heads * T;
    const double elem = static_cast<double>(c10::elementSize(s.dtype));
    w.bytes = 4 * rows * s.head_dim * elem + rows * ((K + 31) / 32) * 4 + rows * 4 +
              static_cast<double>(s.batch) * T * 8;
  } else {
    fail("sea-bench: unknown SEA step '", step, "'");
  }
  if (step != "sea:predictor") {
    const std::string kernels = kernels_note(sea->options().performer.kernels, in.q);
    w.note = w.note.empty() ? kernels : kernels + "; " + w.note;
  }
  return w;
}

}  // namespace

const std::vector<std::string>& known_methods() {
  static const std::vector<std::string> names{"sdpa",          "none",          "performer", "reformer",  "perlin",
                                              "sea:performer", "sea:predictor", "sea:topk",  "sea:sparse",
                                              "sea:sparse-rows"};
  return names;
}

bool has_backward(const std::string& method) { return method != "sea:topk"; }

json row_config(const std::string& method, const Settings& settings) {
  if (method == "sdpa") return {{"method", "sdpa"}};
  if (method.rfind("sea:", 0) == 0) {
    json config = settings.configs.at("perlin");
    config["step"] = method.substr(4);
    return config;
  }
  return settings.configs.at(method);
}

std::string check_configs(const std::vector<std::string>& methods, const std::vector<bool>& directions,
                          const Settings& settings) {
  Settings on_cpu = settings;
  on_cpu.device = at::Device(at::kCPU);
  try {
    for (const std::string& method : methods) {
      if (method == "sdpa") continue;
      for (const bool causal : directions) {
        if (method.rfind("sea:", 0) == 0) {
          (void)build_sea_layer(causal, 1, on_cpu);
        } else {
          SEA_CHECK(settings.configs.contains(method), "sea-bench: no config for method '", method, "'");
          (void)build_method(method, causal, 1, on_cpu);
        }
      }
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

Workload make_workload(const std::string& method, bool causal, int64_t T, Pass pass, const Settings& settings) {
  if (method == "sdpa") return sdpa_workload(causal, T, pass, settings);
  if (method.rfind("sea:", 0) == 0) return sea_step_workload(method, causal, T, pass, settings);
  SEA_CHECK(settings.configs.contains(method), "sea-bench: unknown method '", method, "'");
  return method_workload(method, causal, T, pass, settings);
}

}  // namespace sea::bench
