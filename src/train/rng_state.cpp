// rng_state.cpp — capture / restore of torch's default generators as hex strings (see rng_state.h).
//
// A generator's state is an opaque uint8 CPU tensor (get_state / set_state); we store its bytes as lowercase
// hex so trainer_state.json stays plain JSON. restore_rng_state() decodes and checks everything before it sets
// anything, so a malformed state leaves the process's generators untouched. Only ATen's generic Context API is
// used (no CUDA headers), so this file builds against the CPU-only LibTorch too.
#include "sea/train/rng_state.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <mutex>
#include <string>
#include <vector>

#include "sea/util/error.h"

namespace sea::train {
namespace {

std::string to_hex(const at::Tensor& bytes) {
  static const char digits[] = "0123456789abcdef";
  const at::Tensor b = bytes.contiguous();
  TORCH_INTERNAL_ASSERT(b.scalar_type() == at::kByte, "generator state is not a uint8 tensor");
  const uint8_t* p = b.data_ptr<uint8_t>();
  std::string out;
  out.reserve(static_cast<size_t>(b.numel()) * 2);
  for (int64_t i = 0; i < b.numel(); ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0xF]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `what` names the entry in errors, e.g. "rng_state.cuda[1]".
at::Tensor from_hex(const json& value, const std::string& what) {
  SEA_CHECK(value.is_string(), "RNG state: '", what, "' must be a hex string, got ", value.type_name());
  const std::string& s = value.get_ref<const std::string&>();
  SEA_CHECK(!s.empty() && s.size() % 2 == 0, "RNG state: '", what, "' must be a non-empty hex string of even length",
            " (got ", s.size(), " characters)");
  at::Tensor out = at::empty({static_cast<int64_t>(s.size() / 2)}, at::TensorOptions().dtype(at::kByte));
  uint8_t* p = out.data_ptr<uint8_t>();
  for (size_t i = 0; i < s.size(); i += 2) {
    const int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    SEA_CHECK(hi >= 0 && lo >= 0, "RNG state: '", what, "' holds a non-hex character at position ", hi < 0 ? i : i + 1);
    p[i / 2] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

// The number of CUDA devices whose generators we save; 0 without CUDA (also with the CPU-only LibTorch).
size_t cuda_device_count() { return at::hasCUDA() ? at::getNumGPUs() : 0; }

at::Generator cuda_generator(size_t index) {
  return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index)));
}

at::Tensor get_state(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_state(at::Generator gen, const at::Tensor& state, const std::string& what) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  try {
    gen.set_state(state);
  } catch (const c10::Error& e) {
    // Wrong length for this generator type (e.g. a state from a different torch version).
    fail("RNG state: '", what, "' does not fit this process's generator: ", e.what_without_backtrace());
  }
}

}  // namespace

json capture_rng_state() {
  json state = json::object();
  state["cpu"] = to_hex(get_state(at::detail::getDefaultCPUGenerator()));
  json cuda = json::array();
  for (size_t i = 0; i < cuda_device_count(); ++i) cuda.push_back(to_hex(get_state(cuda_generator(i))));
  state["cuda"] = std::move(cuda);
  return state;
}

void restore_rng_state(const json& state) {
  SEA_CHECK(state.is_object(), "RNG state must be a JSON object {\"cpu\": ..., \"cuda\": [...]}, got ",
            state.type_name());
  for (const auto& item : state.items()) {
    SEA_CHECK(item.key() == "cpu" || item.key() == "cuda", "RNG state: unknown key '", item.key(),
              "' (expected \"cpu\" and \"cuda\")");
  }
  SEA_CHECK(state.contains("cpu"), "RNG state: missing key 'cpu'");
  SEA_CHECK(state.contains("cuda"), "RNG state: missing key 'cuda'");
  const json& cuda = state.at("cuda");
  SEA_CHECK(cuda.is_array(), "RNG state: 'cuda' must be an array of hex strings, got ", cuda.type_name());

  // Decode and check everything first; only then touch the generators.
  const at::Tensor cpu = from_hex(state.at("cpu"), "cpu");
  const size_t devices = cuda_device_count();
  SEA_CHECK(cuda.size() == devices, "RNG state: saved for ", cuda.size(), " CUDA device(s) but this process sees ",
            devices, " (resume on a machine with the same number of visible GPUs, e.g. via CUDA_VISIBLE_DEVICES)");
  std::vector<at::Tensor> cuda_states;
  for (size_t i = 0; i < cuda.size(); ++i) cuda_states.push_back(from_hex(cuda[i], "cuda[" + std::to_string(i) + "]"));

  // Generator states have a fixed length per generator type; a mismatch means a different torch build.
  auto check_length = [](const at::Tensor& saved, at::Generator gen, const std::string& what) {
    const int64_t expected = get_state(gen).numel();
    SEA_CHECK(saved.numel() == expected, "RNG state: '", what, "' holds ", saved.numel(),
              " bytes but this process's generator state has ", expected, " (saved by a different torch build?)");
  };
  check_length(cpu, at::detail::getDefaultCPUGenerator(), "cpu");
  for (size_t i = 0; i < cuda_states.size(); ++i) {
    check_length(cuda_states[i], cuda_generator(i), "cuda[" + std::to_string(i) + "]");
  }

  set_state(at::detail::getDefaultCPUGenerator(), cpu, "cpu");
  for (size_t i = 0; i < cuda_states.size(); ++i) {
    set_state(cuda_generator(i), cuda_states[i], "cuda[" + std::to_string(i) + "]");
  }
}

}  // namespace sea::train
