// logging.cpp — spdlog setup behind sea::log() / sea::init_logging().
#include "sea/util/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "sea/util/error.h"

namespace sea {

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("sea", sink);
    l->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
    l->set_level(spdlog::level::info);
    return l;
  }();
  return *logger;
}

void init_logging(const std::string& level, const std::string& log_file) {
  auto lvl = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  SEA_CHECK(lvl != spdlog::level::off || level == "off", "unknown log level '", level,
            "' (expected trace, debug, info, warn, error or off)");
  auto& l = log();
  l.set_level(lvl);
  if (!log_file.empty()) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, /*truncate=*/false);
    file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    l.sinks().push_back(file);
    l.flush_on(spdlog::level::info);  // a crash must not lose the log's tail
  }
}

}  // namespace sea
