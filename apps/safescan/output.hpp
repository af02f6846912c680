// Logging set-up shared by the subcommands: human messages go to stderr, results to stdout.
#pragma once

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"

namespace safescan::cli {

inline void setup_logging(const GlobalOptions& global) {
  static bool done = false;
  if (!done) {
    auto logger = spdlog::stderr_color_mt("safescan");
    logger->set_pattern("safescan: %^%l%$: %v");
    spdlog::set_default_logger(logger);
    done = true;
  }
  spdlog::set_level(global.verbose ? spdlog::level::debug : global.quiet ? spdlog::level::warn : spdlog::level::info);
}

}  // namespace safescan::cli
