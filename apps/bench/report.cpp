// report.cpp — table, targets and JSON of sea-bench (see report.h).
#include "bench/report.h"

#include <cstdio>

namespace sea::bench {
namespace {

std::string format(const char* pattern, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, value);
  return buf;
}

const Row* find_row(const std::vector<Row>& rows, const std::string& method, bool causal, int64_t T) {
  for (const Row& r : rows) {
    if (r.method == method && r.causal == causal && r.T == T) return &r;
  }
  return nullptr;
}

bool measured(const std::optional<Measurement>& m) { return m && m->ok; }

// A time cell: the median in ms, the error, or "—" when the pass was not run.
std::string time_cell(const std::optional<Measurement>& m) {
  if (!m) return "—";
  return m->ok ? format("%.3f", m->ms) : m->error;
}
std::string memory_cell(const std::optional<Measurement>& m) {
  return measured(m) ? format("%.1f", m->peak_mb) : "—";
}
std::string ratio_cell(const std::optional<double>& v, const char* pattern) { return v ? format(pattern, *v) : "—"; }

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

void derive(std::vector<Row>& rows, double copy_gbs) {
  for (Row& row : rows) {
    const Row* sdpa = find_row(rows, "sdpa", row.causal, row.T);
    if (sdpa && measured(sdpa->fwd) && measured(row.fwd)) row.speedup_fwd = sdpa->fwd->ms / row.fwd->ms;
    if (sdpa && measured(sdpa->fwdbwd) && measured(row.fwdbwd)) row.speedup_fwdbwd = sdpa->fwdbwd->ms / row.fwdbwd->ms;
    if ((row.method == "sea:sparse" || row.method == "sea:sparse-rows") && measured(row.fwd) && row.fwd->bytes > 0 && row.fwd->ms > 0) {
      row.gbs = row.fwd->bytes / (row.fwd->ms * 1e-3) / 1e9;
      if (copy_gbs > 0) {
        row.floor_ms = row.fwd->bytes / (copy_gbs * 1e9) * 1e3;
        row.x_floor = row.fwd->ms / *row.floor_ms;
      }
    }
  }
}

void print_table(std::ostream& os, const std::vector<Row>& rows) {
  os << "| method | direction | T | fwd ms | fwd+bwd ms | fwd peak MB | fwd+bwd peak MB | fwd speed-up vs sdpa | GB/s "
        "| × floor | note |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    std::string note = r.skipped;
    if (note.empty() && r.fwd && !r.fwd->note.empty()) note = r.fwd->note;
    if (note.empty() && r.fwdbwd && !r.fwdbwd->note.empty()) note = r.fwdbwd->note;
    if (r.floor_ms) note = "floor " + format("%.4g", *r.floor_ms) + " ms; " + note;
    os << "| " << r.method << " | " << r.direction() << " | " << r.T << " | " << time_cell(r.fwd) << " | "
       << time_cell(r.fwdbwd) << " | " << memory_cell(r.fwd) << " | " << memory_cell(r.fwdbwd) << " | "
       << ratio_cell(r.speedup_fwd, "%.3g×") << " | " << ratio_cell(r.gbs, "%.4g") << " | "
       << ratio_cell(r.x_floor, "%.3g×") << " | " << note << " |\n";
  }
}

std::vector<Target> evaluate_targets(const std::vector<Row>& rows, bool causal) {
  const std::string direction = causal ? "causal" : "bidirectional";
  std::vector<Target> out;
  auto add = [&](std::string name, std::optional<double> value, std::string unit, std::string goal, bool pass) {
    out.push_back({std::move(name), direction, value, std::move(unit), std::move(goal), value && pass});
  };
  // sea:sparse against sdpa, and against its HBM floor.
  for (auto [T, factor] : {std::pair<int64_t, double>{8192, 4.0}, {32768, 15.0}}) {
    const Row* r = find_row(rows, "sea:sparse", causal, T);
    const std::optional<double> v = r ? r->speedup_fwd : std::nullopt;
    add("sea:sparse forward vs sdpa at T=" + std::to_string(T), v, "× faster", "≥ " + format("%.0f", factor) + "×",
        v && *v >= factor);
  }
  for (int64_t T : {8192, 32768}) {
    const Row* r = find_row(rows, "sea:sparse", causal, T);
    const std::optional<double> v = r ? r->x_floor : std::nullopt;
    add("sea:sparse forward vs its HBM floor at T=" + std::to_string(T), v, "× floor", "≤ 2×", v && *v <= 2.0);
  }
  // perlin faster than sdpa from 16k up.
  bool any_long = false;
  for (const Row& r : rows) {
    if (r.method != "perlin" || r.causal != causal || r.T < 16384) continue;
    any_long = true;
    add("perlin forward vs sdpa at T=" + std::to_string(r.T), r.speedup_fwd, "× faster", "> 1×",
        r.speedup_fwd && *r.speedup_fwd > 1.0);
  }
  if (!any_long) add("perlin forward vs sdpa at T >= 16384", std::nullopt, "× faster", "> 1×", false);
  // perlin memory linear in T.
  bool any_doubling = false;
  for (const Row& r : rows) {
    if (r.method != "perlin" || r.causal != causal || r.T < 4096) continue;
    const Row* twice = find_row(rows, "perlin", causal, 2 * r.T);
    if (!twice) continue;
    any_doubling = true;
    std::optional<double> v;
    if (measured(r.fwd) && measured(twice->fwd) && r.fwd->peak_mb > 0) v = twice->fwd->peak_mb / r.fwd->peak_mb;
    add("perlin forward peak memory, T=" + std::to_string(2 * r.T) + " over T=" + std::to_string(r.T), v,
        "× memory", "≤ 2.2×", v && *v <= 2.2);
  }
  if (!any_doubling) {
    add("perlin forward peak memory per doubling of T from 4096", std::nullopt, "× memory", "≤ 2.2×", false);
  }
  // perlin training step against sdpa's.
  const Row* p = find_row(rows, "perlin", causal, 2048);
  const std::optional<double> slower = p && p->speedup_fwdbwd ? std::optional<double>(1.0 / *p->speedup_fwdbwd)
                                                              : std::nullopt;
  add("perlin forward+backward vs sdpa forward+backward at T=2048", slower, "× slower", "≤ 3×",
      slower && *slower <= 3.0);
  return out;
}

void print_targets(std::ostream& os, const std::vector<Target>& targets) {
  for (const Target& t : targets) {
    os << "- " << (t.value ? (t.pass ? "PASS" : "MISS") : "n/a ") << "  " << t.name << " (" << t.direction << "): ";
    if (t.value) {
      os << format("%.2f", *t.value) << t.unit;
    } else {
      os << "not measured";
    }
    os << " (target " << t.goal << ")\n";
  }
}

json rows_to_json(const std::vector<Row>& rows) {
  json out = json::array();
  for (const Row& r : rows) {
    out.push_back({{"method", r.method},
                   {"direction", r.direction()},
                   {"causal", r.causal},
                   {"T", r.T},
                   {"skipped", r.skipped},
                   {"forward", r.fwd ? r.fwd->to_json() : json(nullptr)},
                   {"forward_backward", r.fwdbwd ? r.fwdbwd->to_json() : json(nullptr)},
                   {"speedup_fwd_vs_sdpa", optional_json(r.speedup_fwd)},
                   {"speedup_fwdbwd_vs_sdpa", optional_json(r.speedup_fwdbwd)},
                   {"gbs", optional_json(r.gbs)},
                   {"floor_ms", optional_json(r.floor_ms)},
                   {"x_floor", optional_json(r.x_floor)},
                   {"config", r.config}});
  }
  return out;
}

json targets_to_json(const std::vector<Target>& targets) {
  json out = json::array();
  for (const Target& t : targets) {
    out.push_back({{"name", t.name},
                   {"direction", t.direction},
                   {"value", optional_json(t.value)},
                   {"unit", t.unit},
                   {"goal", t.goal},
                   {"status", t.value ? (t.pass ? "PASS" : "MISS") : "n/a"}});
  }
  return out;
}

}  // namespace sea::bench
