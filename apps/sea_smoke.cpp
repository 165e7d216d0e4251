// sea-smoke — builds a model from a config (or loads an HF checkpoint directory), runs one forward pass on
// random tokens, and reports parameters, shapes, loss and speed. The placeholder main job until sea-train.
//
//   sea-smoke --model configs/models/opt-125m.json [--set num_hidden_layers=2] [--seq-len 128] [--batch 2]
//   sea-smoke --hf-dir /path/to/hf-checkpoint [--save /tmp/out]
//   sea-smoke --model configs/models/opt-demo.json --method perlin --set attention.k=32
//   sea-smoke --model configs/models/bert-demo.json --attention configs/methods/reformer.json
#include <ATen/ATen.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "sea/models/model_factory.h"
#include "sea/util/error.h"
#include "sea/util/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"sea-smoke: build a SEA model and run one forward pass"};
  std::string model_path, hf_dir, save_dir, device = "cpu", log_level = "info", method, attention_path;
  std::vector<std::string> overrides;
  int64_t seq_len = 128, batch = 2, seed = 0;
  auto* model_opt = app.add_option("--model", model_path, "model config JSON (configs/models/*.json)");
  auto* hf_opt = app.add_option("--hf-dir", hf_dir, "HF checkpoint directory (config.json + safetensors)");
  model_opt->excludes(hf_opt);
  auto* method_opt = app.add_option("--method", method, "attention method: none, performer, reformer, perlin");
  app.add_option("--attention", attention_path, "attention config JSON (configs/methods/*.json)")->excludes(method_opt);
  app.add_option("--set", overrides, "override a config key: key=value (repeatable)");
  app.add_option("--seq-len", seq_len, "tokens per sequence")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "sequences per batch")->check(CLI::PositiveNumber);
  app.add_option("--device", device, "cpu or cuda[:i]");
  app.add_option("--seed", seed, "random seed");
  app.add_option("--save", save_dir, "write the model as an HF checkpoint directory here");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  try {
    sea::init_logging(log_level);
    SEA_CHECK(!model_path.empty() || !hf_dir.empty(), "give --model <config.json> or --hf-dir <checkpoint>");
    at::manual_seed(seed);
    // The attention section: from --attention or --method, then --set attention.<key>=... refines it.
    sea::json attention;
    if (!attention_path.empty()) attention = sea::read_json_file(attention_path);
    if (!method.empty()) attention = sea::json{{"method", method}};
    sea::models::Model model;
    if (!hf_dir.empty()) {
      SEA_CHECK(overrides.empty(), "--set applies to --model configs only");
      model = sea::models::load_hf_model(
          hf_dir, attention.is_null() ? sea::attention::AttentionConfig{}
                                      : sea::attention::AttentionConfig::from_json(attention, "--attention/--method"));
    } else {
      if (!attention.is_null()) overrides.insert(overrides.begin(), "attention=" + attention.dump());
      model = sea::models::make_model(sea::models::load_model_config(model_path, overrides), model_path);
    }
    const at::Device dev(device);
    model->to(dev);
    model->eval();

    int64_t n_params = 0;
    for (const auto& p : model->parameters()) n_params += p.numel();
    sea::json cfg = model->config_json();
    sea::log().info("model: {} with {} layers, {:.2f} M parameters, attention '{}'", model->family(),
                    model->num_layers(), n_params / 1e6, cfg["attention"]["method"].get<std::string>());

    const int64_t vocab = cfg["vocab_size"].get<int64_t>();
    sea::models::ModelInputs in;
    in.input_ids = at::randint(vocab, {batch, seq_len}, at::TensorOptions().dtype(at::kLong).device(dev));
    torch::NoGradGuard no_grad;
    sea::models::ModelOutput out = model->forward(in);  // warm-up: allocator, BLAS handles, kernel selection
    bool finite = at::isfinite(out.logits).all().item<bool>();
    const auto t0 = std::chrono::steady_clock::now();
    out = model->forward(in);
    finite = finite && at::isfinite(out.logits).all().item<bool>();  // .item() also waits for the GPU
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    SEA_CHECK(finite, "forward produced non-finite logits");

    std::cout << "logits shape: " << out.logits.sizes() << "\n";
    if (model->family() == "opt") {
      // Next-token loss on random tokens: about ln(vocab) for an untrained model.
      auto logits = out.logits.slice(1, 0, seq_len - 1).reshape({-1, vocab});
      auto targets = in.input_ids.slice(1, 1).reshape({-1});
      double loss = at::cross_entropy_loss(logits, targets).item<double>();
      std::cout << "next-token loss: " << loss << " (ln vocab = " << std::log(static_cast<double>(vocab)) << ")\n";
    }
    std::cout << "forward (second call): " << ms << " ms for " << batch * seq_len << " tokens ("
              << batch * seq_len / (ms / 1000.0) << " tokens/s) on " << device << "\n";
    if (!save_dir.empty()) {
      model->to(at::kCPU);
      sea::models::save_hf_model(*model, save_dir);
      std::cout << "saved HF checkpoint to " << save_dir << "\n";
    }
  } catch (const sea::Error& e) {
    sea::log().error("{}", e.what());
    return 1;
  } catch (const c10::Error& e) {
    sea::log().error("torch error: {}", e.what_without_backtrace());
    return 1;
  }
  return 0;
}
