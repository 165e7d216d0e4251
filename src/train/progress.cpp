// progress.cpp — see progress.h.
#include "sea/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace sea::train {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const auto total = static_cast<int64_t>(s + 0.5);
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", static_cast<long>(total / 3600), static_cast<long>(total / 60 % 60));
  } else if (total >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", static_cast<long>(total / 60), static_cast<long>(total % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lds", static_cast<long>(total));
  }
  return buf;
}

ProgressLine::ProgressLine(std::string label, int64_t total, int64_t start)
    : label_(std::move(label)), total_(total), start_(start), done_(start), t0_(std::chrono::steady_clock::now()),
      tty_(isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() { finish(); }

double ProgressLine::seconds_per_unit() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  return done_ > start_ ? elapsed / static_cast<double>(done_ - start_) : NAN;
}

double ProgressLine::eta_seconds() const { return seconds_per_unit() * static_cast<double>(total_ - done_); }

void ProgressLine::update(int64_t done, const std::string& text) {
  done_ = done;
  if (!tty_) return;
  const int width = 24;
  const double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 0.0;
  const int fill = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(fill), '#');
  bar.resize(width, '.');
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::fprintf(stderr, "\r\033[K%s %ld/%ld [%s] %s elapsed, ETA %s %s", label_.c_str(), static_cast<long>(done_),
               static_cast<long>(total_), bar.c_str(), format_duration(elapsed).c_str(),
               format_duration(eta_seconds()).c_str(), text.c_str());
  std::fflush(stderr);
  open_ = true;
}

void ProgressLine::finish() {
  if (tty_ && open_) std::fprintf(stderr, "\n");
  open_ = false;
}

}  // namespace sea::train
