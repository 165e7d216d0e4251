// sea-attention-map — what the attention looks like on one real sentence: the dense teacher's attention next
// to the SEA student's estimated attention (compressed, and decompressed to T×T) and its sparse attention,
// per layer, written as safetensors files for scripts/render_attention.py to draw (issue 7, item 4;
// docs/ATTENTION.md "Inspecting attention"; the paper's Fig. 9/10, SEA_SPEC.md §2.11).
//
//   sea-attention-map --teacher build/demo/teacher --student build/demo/student --text "The tower is tall."
//                     --out attn/ [--layer 0 --layer 1] [--k 8] [--device cpu]
//   python3 scripts/render_attention.py attn/ --layer 0 --head 0 --out attn/layer0_head0.png
//
// How it fits: --teacher / --student are resolved as sea-train resolves --teacher and --eval's
// --load-checkpoint (train::resolve_model_dir: a checkpoint or HF directory, or a run directory whose newest
// complete checkpoint is taken). The teacher loads with method `none` (train::load_teacher_model), the student
// with the attention config its checkpoint stores ("sea_attention", which must be perlin), and the two must
// share their architecture (train::check_same_architecture). The text is tokenized with the tokenizer the
// student was trained with (its trainer_state.json's data.tokenizer; else opt / bert-base-uncased by family;
// --tokenizer overrides) and the model template (OPT: "</s>" first; BERT: [CLS] … [SEP]). Both models run one
// forward in eval mode with output_attentions, which returns each layer's AttentionArtefacts (attention.h).
// The decompression and the kept-key mask reuse the library's one cell mapping (ops::decompress,
// ops::dense_key_mask; SEA_SPEC.md §2.8, docs/ATTENTION.md "The mask discretisation").
//
// Output directory (--out):
//   tokens.json            {"tokens": [str; T], "ids": [int; T], "text": str}  (token strings decoded one by one;
//                          bytes that are not valid UTF-8 on their own show as U+FFFD)
//   attention_map.json     what was run: teacher/student checkpoint directories (absolute), family, causal,
//                          layers, H, T, K, k, k_oversample, partial_attention_scaler, path, tokenizer, the file
//                          of each layer
//   layer_<LL>.safetensors per chosen layer (LL = 2-digit layer index), float32 unless noted, batch dim dropped:
//     teacher_probs          (H, T, T)  teacher softmax; rows sum to 1 over the visible keys (j <= t if causal)
//     estimate_compressed    (H, T, K)  SEA's Â: a softmax over the K cells of each row
//     estimate_decompressed  (H, T, T)  Â spread over the visible keys of each row with the cell map
//                                       cell(r) = floor(((2r + 1)·K − 1) / (2L_t)); 0 where not visible
//     sparse_probs           (H, T, T)  A* densified: zero outside kept_mask; rows sum to s_prob (to 1 with
//                                       partial_attention_scaler off)
//     kept_mask              (H, T, T)  uint8 0/1: the keys the sparse attention used
//     kept_cells             (H, T, K)  uint8 0/1: the cells of Â the grouped top-k kept
#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>
#include <torch/utils.h>

#include <filesystem>
#include <iostream>

#include "sea/attention/sea_attention.h"
#include "sea/data/data_paths.h"
#include "sea/data/tokenizer.h"
#include "sea/models/model_factory.h"
#include "sea/models/safetensors.h"
#include "sea/models/self_attention.h"
#include "sea/ops/topk_mask.h"
#include "sea/train/run_config.h"
#include "sea/train/teacher.h"
#include "sea/util/error.h"
#include "sea/util/filesystem.h"
#include "sea/util/logging.h"

namespace {

namespace fs = std::filesystem;
using sea::json;

// The attention section a checkpoint's config.json stores ("sea_attention"), or {"method": "none"}.
json stored_attention(const std::string& dir) {
  const json hf = sea::read_json_file((fs::path(dir) / "config.json").string());
  return hf.contains("sea_attention") ? hf["sea_attention"] : json{{"method", "none"}};
}

// The tokenizer a checkpoint was trained with (trainer_state.json's resolved data config), or "".
std::string trained_tokenizer(const std::string& dir) {
  const fs::path state = fs::path(dir) / "trainer_state.json";
  if (!fs::exists(state)) return "";
  const json st = sea::read_json_file(state.string());
  if (st.contains("config") && st["config"].contains("data") && st["config"]["data"].contains("tokenizer") &&
      st["config"]["data"]["tokenizer"].is_string()) {
    return st["config"]["data"]["tokenizer"].get<std::string>();
  }
  return "";
}

// The SEA method of layer `l` of `model` (sea::Error when that layer is not perlin).
sea::attention::SeaAttentionImpl& sea_layer(sea::models::ModelImpl& model, int64_t l, const std::string& where) {
  auto* m = dynamic_cast<sea::attention::SeaAttentionImpl*>(model.self_attention(l).method.get());
  SEA_CHECK(m != nullptr, "student '", where, "': layer ", l, " does not use SEA (perlin) attention");
  return *m;
}

// One layer's (1, ...) tensor as a contiguous CPU tensor without the batch dim.
at::Tensor cpu0(const at::Tensor& t, at::ScalarType dtype) {
  at::Tensor d = t.is_sparse() ? t.to_dense() : t;
  return d.select(0, 0).to(at::kCPU).to(dtype).contiguous();
}

std::string layer_file(int64_t l) {
  char name[48];
  std::snprintf(name, sizeof name, "layer_%02lld.safetensors", static_cast<long long>(l));
  return name;
}

void write_json(const std::string& path, const json& value) {
  // Token strings may hold bytes that are not UTF-8 on their own (a byte-level BPE piece of a character);
  // replace them rather than fail.
  sea::write_file_atomic(path, [&](std::ostream& os) {
    os << value.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sea-attention-map: teacher attention vs SEA's estimated and sparse attention on one sentence"};
  std::string teacher_path, student_path, text, text_file, out_dir, device = "cpu", tokenizer_name, data_dir,
      path = "auto", log_level = "info";
  std::vector<int64_t> layers;
  double k = 0;
  int64_t max_tokens = 256;
  app.add_option("--teacher", teacher_path, "dense teacher: checkpoint dir, HF dir or sea-train run dir")->required();
  app.add_option("--student", student_path, "SEA student: checkpoint dir, HF dir or sea-train run dir")->required();
  auto* text_opt = app.add_option("--text", text, "the sentence");
  app.add_option("--text-file", text_file, "read the sentence from this file (UTF-8)")->excludes(text_opt);
  app.add_option("--layer", layers, "layer index to dump (repeatable; default: every layer)");
  app.add_option("--out", out_dir, "output directory (created)")->required();
  app.add_option("--device", device, "cpu, cuda, cuda:<i> or auto");
  app.add_option("--k", k, "dynamic k: SEA's keys per query for this run (default: the student's)");
  app.add_option("--path", path, "SEA execution path: auto (sparse in eval), dense or sparse; same result")
      ->check(CLI::IsMember({"auto", "dense", "sparse"}));
  app.add_option("--tokenizer", tokenizer_name, "tokenizer preset or spec (default: the student's training one)");
  app.add_option("--data-dir", data_dir, "data directory holding tokenizers/ (default: $SEA_DATA_DIR, else ./data)");
  app.add_option("--max-tokens", max_tokens, "truncate the text to this many tokens, template included (0: the "
                                             "model's maximum)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  try {
    sea::init_logging(log_level);
    SEA_CHECK(!text.empty() || !text_file.empty(), "give the sentence: --text \"...\" or --text-file <file>");
    if (!text_file.empty()) {
      SEA_CHECK(fs::is_regular_file(text_file), "--text-file '", text_file, "' is not a readable file");
      text = sea::data::read_text_file(text_file);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      SEA_CHECK(!text.empty(), "--text-file '", text_file, "' is empty");
    }
    SEA_CHECK(max_tokens >= 0, "--max-tokens must be >= 0, got ", max_tokens);
    SEA_CHECK(!app.count("--k") || k >= 1, "--k must be >= 1, got ", k);
    SEA_CHECK(!fs::exists(out_dir) || fs::is_directory(out_dir), "--out '", out_dir, "' exists and is not a directory");
    const c10::Device dev(sea::train::resolve_device_name(device));
    torch::NoGradGuard no_grad;

    // Models, resolved as sea-train resolves --teacher and --load-checkpoint.
    const std::string teacher_dir = sea::train::resolve_model_dir(teacher_path);
    const std::string student_dir = sea::train::resolve_model_dir(student_path);
    sea::models::Model teacher = sea::train::load_teacher_model(teacher_dir, dev);
    const json attention = stored_attention(student_dir);
    SEA_CHECK(attention.value("method", "none") == "perlin", "--student '", student_path, "' (", student_dir,
              ") uses attention method '", attention.value("method", "none"),
              "', not SEA: give a checkpoint trained with --method perlin");
    sea::models::LoadReport report;
    sea::models::Model student = sea::models::load_hf_model(
        student_dir, sea::attention::AttentionConfig::from_json(attention, student_dir + "/config.json"), &report);
    if (!report.missing.empty()) {
      sea::log().warn("student '{}' lacks {} SEA tensors (e.g. {}); they are freshly initialised, so its estimates "
                      "are untrained", student_dir, report.missing.size(), report.missing.front());
    }
    sea::train::check_same_architecture(*teacher, *student, teacher_dir);
    student->to(dev);
    teacher->eval();
    student->eval();
    const std::string family = student->family();
    const bool causal = family == "opt";
    const int64_t L = student->num_layers();

    if (layers.empty()) {
      for (int64_t l = 0; l < L; ++l) layers.push_back(l);
    }
    for (int64_t l : layers) {
      SEA_CHECK(l >= 0 && l < L, "--layer ", l, " is out of range: the model has ", L, " layers (0 .. ", L - 1, ")");
    }
    if (app.count("--k")) sea::attention::set_sea_k(*student, k);
    const auto sea_path = path == "dense"    ? sea::attention::SeaPath::Dense
                          : path == "sparse" ? sea::attention::SeaPath::Sparse
                                             : sea::attention::SeaPath::Auto;
    sea::attention::for_each_attention_method<sea::attention::SeaAttentionImpl>(
        *student, [&](sea::attention::SeaAttentionImpl& m) { m.set_path(sea_path); });

    // Tokens.
    if (tokenizer_name.empty()) tokenizer_name = trained_tokenizer(student_dir);
    if (tokenizer_name.empty()) tokenizer_name = family == "bert" ? "bert-base-uncased" : "opt";
    const std::string data = sea::data::resolve_data_dir(data_dir);
    auto tok = sea::data::load_tokenizer(tokenizer_name, data);
    const json cfg = student->config_json();
    const int64_t max_positions = cfg.value("max_position_embeddings", int64_t{0});
    int64_t limit = max_tokens;
    if (max_positions > 0 && (limit == 0 || limit > max_positions)) limit = max_positions;
    const sea::data::Encoding full = tok->encode_for_model(text);
    const sea::data::Encoding enc = tok->encode_for_model(text, nullptr, limit);
    if (enc.ids.size() < full.ids.size()) {
      sea::log().warn("the text has {} tokens; kept the first {} (--max-tokens {}, model maximum {})", full.ids.size(),
                      enc.ids.size(), max_tokens, max_positions);
    }
    const int64_t T = static_cast<int64_t>(enc.ids.size());
    SEA_CHECK(T > 0, "the text gives no tokens");
    std::vector<int64_t> ids64(enc.ids.begin(), enc.ids.end()), types64(enc.type_ids.begin(), enc.type_ids.end());
    sea::models::ModelInputs in;
    in.input_ids = at::tensor(ids64, at::kLong).view({1, T}).to(dev);  // (1, T)
    if (family == "bert") in.token_type_ids = at::tensor(types64, at::kLong).view({1, T}).to(dev);
    json tokens = json::array();
    for (int32_t id : enc.ids) tokens.push_back(tok->decode({id}));

    // One forward each, with every layer's artefacts.
    sea::models::ForwardOptions fo;
    fo.output_attentions = true;
    const sea::models::ModelOutput t_out = teacher->forward(in, fo);
    const sea::models::ModelOutput s_out = student->forward(in, fo);

    const sea::ops::KeyLayout layout =
        sea::ops::make_key_layout(at::Tensor(), causal, 1, T, at::TensorOptions().device(dev));  // no padding
    fs::create_directories(out_dir);
    json files = json::object();
    int64_t H = 0, K = 0;
    double k_used = 0, k_oversample = 1.0;
    bool scaler = true;
    for (int64_t l : layers) {
      const auto& ta = t_out.attentions.at(static_cast<size_t>(l));
      const auto& sa = s_out.attentions.at(static_cast<size_t>(l));
      const auto& method = sea_layer(*student, l, student_dir);
      k_used = method.k(), k_oversample = method.options().k_oversample;
      scaler = method.options().partial_attention_scaler;
      SEA_CHECK(ta.probs.defined(), "teacher '", teacher_dir, "' returned no attention probabilities for layer ", l);
      SEA_CHECK(sa.estimated_attention.defined() && sa.sparse_mask.defined() && sa.sparse_probs.defined(),
                "student '", student_dir, "' returned no SEA artefacts for layer ", l);
      const at::Tensor& estimate = sa.estimated_attention;  // (1, H, T, K)
      const at::Tensor& kept_cells = sa.sparse_mask;        // (1, H, T, K) bool
      H = estimate.size(1), K = estimate.size(3);
      at::Tensor decompressed = sea::ops::decompress(estimate, layout, 0.0);  // (1, H, T, T)
      at::Tensor kept_mask = sea::ops::dense_key_mask(kept_cells, layout, k_used, k_oversample);  // (1, H, T, T)
      std::vector<std::pair<std::string, at::Tensor>> tensors = {
          {"teacher_probs", cpu0(ta.probs, at::kFloat)},                // (H, T, T)
          {"estimate_compressed", cpu0(estimate, at::kFloat)},          // (H, T, K)
          {"estimate_decompressed", cpu0(decompressed, at::kFloat)},    // (H, T, T)
          {"sparse_probs", cpu0(sa.sparse_probs, at::kFloat)},          // (H, T, T)
          {"kept_mask", cpu0(kept_mask, at::kByte)},                    // (H, T, T)
          {"kept_cells", cpu0(kept_cells, at::kByte)}};                 // (H, T, K)
      const std::string name = layer_file(l);
      sea::models::save_safetensors((fs::path(out_dir) / name).string(), tensors,
                                    {{"layer", std::to_string(l)}, {"k", std::to_string(k_used)}});
      files[std::to_string(l)] = name;
    }

    write_json((fs::path(out_dir) / "tokens.json").string(), json{{"tokens", tokens}, {"ids", enc.ids}, {"text", text}});
    json manifest = {{"teacher", fs::absolute(teacher_dir).lexically_normal().string()},
                     {"student", fs::absolute(student_dir).lexically_normal().string()},
                     {"family", family},
                     {"causal", causal},
                     {"num_layers", L},
                     {"layers", layers},
                     {"files", files},
                     {"num_heads", H},
                     {"seq_len", T},
                     {"predictor_length", K},
                     {"k", k_used},
                     {"k_oversample", k_oversample},
                     {"partial_attention_scaler", scaler},
                     {"path", path},
                     {"tokenizer", tokenizer_name},
                     {"device", dev.str()}};
    write_json((fs::path(out_dir) / "attention_map.json").string(), manifest);
    sea::log().info("wrote {} layer(s) of {} tokens (H {}, K {}, k {}) to {}", layers.size(), T, H, K, k_used, out_dir);
    std::cout << out_dir << "\n";
    return 0;
  } catch (const sea::Error& e) {
    sea::log().error("{}", e.what());
    return 2;
  } catch (const c10::Error& e) {
    sea::log().error("torch error: {}", e.what_without_backtrace());
    return 3;
  }
}
