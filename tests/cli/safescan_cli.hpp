// The one way the command-line tests run the built `safescan`: its argv after the program
// name, one libtorch thread and sleeping OpenMP workers (tests run two at a time), and a
// generous timeout (the sanitizer build is slow).
//
//   auto r = safescan::testing::run_safescan({"classify", image});
//   auto r = safescan::testing::run_safescan({"models", "list"}, safescan::testing::with_home(dir));
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli/run_command.hpp"

namespace safescan::testing {

inline CommandResult run_safescan(std::vector<std::string> args, CommandOptions options = {}) {
  args.insert(args.begin(), SAFESCAN_EXE);
  if (!options.env.count("SAFESCAN_THREADS")) options.env["SAFESCAN_THREADS"] = "1";
  if (!options.env.count("OMP_WAIT_POLICY")) options.env["OMP_WAIT_POLICY"] = "PASSIVE";
  if (options.timeout == CommandOptions{}.timeout) options.timeout = std::chrono::seconds(300);
  return run_command(args, options);
}

// Options that point the command at its own model store ($SAFESCAN_HOME).
inline CommandOptions with_home(const std::filesystem::path& home, CommandOptions options = {}) {
  if (!home.empty()) options.env["SAFESCAN_HOME"] = home.string();
  return options;
}

// The same, from a working directory.
inline CommandOptions in_dir(const std::filesystem::path& cwd, CommandOptions options = {}) {
  options.cwd = cwd;
  return options;
}

}  // namespace safescan::testing
