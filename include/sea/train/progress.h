// progress.h — the one-line progress display of long loops (training, evaluation): count/total, a bar, rate,
// elapsed time and ETA, plus free text (loss terms). Redrawn in place on a terminal; on a pipe or file it
// prints nothing (the caller's periodic log lines carry the same numbers), so logs stay readable.
//
// Why hand-written: the formatting is ~60 lines, and the progress-bar libraries packaged by Debian
// (indicators) are header-only C++ with their own terminal handling that would fight spdlog's console output.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sea::train {

// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

class ProgressLine {
 public:
  // `start` = where the count begins (a resumed run starts mid-way; the rate counts only this process's work).
  ProgressLine(std::string label, int64_t total, int64_t start = 0);
  ~ProgressLine();

  void update(int64_t done, const std::string& text = "");
  void finish();  // ends the line (on a terminal)
  void silence() { tty_ = false; }  // draws nothing (the other ranks of a data-parallel run)

  // Seconds per unit so far and the estimated time left, from this process's own progress.
  double seconds_per_unit() const;
  double eta_seconds() const;

 private:
  std::string label_;
  int64_t total_, start_, done_;
  std::chrono::steady_clock::time_point t0_;
  bool tty_, open_ = false;
};

}  // namespace sea::train
