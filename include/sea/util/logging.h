// logging.h — the project's logger (spdlog): console by default, optionally a file too.
//
// Use sea::log() everywhere; apps call sea::init_logging() once to set the level and the log file.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace sea {

// The shared logger ("sea"). Created on first use with a console sink at level info.
spdlog::logger& log();

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and, if log_file is not empty,
// adds a file sink (appending). Throws sea::Error for an unknown level name.
void init_logging(const std::string& level, const std::string& log_file = "");

}  // namespace sea
