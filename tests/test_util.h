// test_util.h — helpers shared by the tests: where fixtures are, tensor comparison with a readable report,
// and running a check on every available device.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "sea/util/error.h"

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace sea::test {

// Runs f and returns the message of the sea::Error it throws, or "<no error>".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sea::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// Directory the CTest fixtures write into (SEA_FIXTURE_DIR); the test is skipped if unset.
inline std::string fixture_dir() {
  const char* d = std::getenv("SEA_FIXTURE_DIR");
  return d ? d : "";
}

// The data directory the tests read (SEA_DATA_DIR, set by CTest to the one scripts/get_data.sh filled).
inline std::string data_dir() {
  const char* d = std::getenv("SEA_DATA_DIR");
  return d ? d : "data";
}

inline std::string source_dir() {
  const char* d = std::getenv("SEA_SOURCE_DIR");
  return d ? d : SEA_SOURCE_DIR_DEFAULT;
}

// max |actual - expected| / max |expected| over the elements where `where` (broadcastable bool) is true.
inline double max_rel_error(const at::Tensor& actual, const at::Tensor& expected, const at::Tensor& where = {}) {
  at::Tensor a = actual.detach().to(at::kCPU, at::kDouble), e = expected.detach().to(at::kCPU, at::kDouble);
  at::Tensor diff = (a - e).abs(), scale = e.abs();
  if (where.defined()) {
    at::Tensor w = where.to(at::kCPU).expand_as(diff);
    diff = diff.masked_select(w);
    scale = scale.masked_select(w);
  }
  const double s = scale.numel() ? scale.max().item<double>() : 0.0;
  return diff.numel() ? diff.max().item<double>() / (s > 0 ? s : 1.0) : 0.0;
}

inline std::vector<at::Device> test_devices() {
  std::vector<at::Device> d{at::kCPU};
  if (at::hasCUDA()) d.emplace_back(at::kCUDA, 0);
  return d;
}

}  // namespace sea::test
