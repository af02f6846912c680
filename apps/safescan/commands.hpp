// Subcommands of the `safescan` command. Each file registers one subcommand on the app.
#pragma once

#include <CLI/CLI.hpp>

namespace safescan::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // could not run at all (model missing or invalid, I/O)
inline constexpr int kExitUsage = 2;    // bad flags or arguments
inline constexpr int kExitPartial = 3;  // ran, but some inputs failed

struct GlobalOptions {
  int threads = 0;
  bool quiet = false;
  bool verbose = false;
};

// Each add_* registers a subcommand whose callback stores its exit code in `exit_code`.
void add_classify(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_models(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_version(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_tokenize(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_embed(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_scan(CLI::App& app, const GlobalOptions& global, int& exit_code, int argc, char** argv);
void add_export(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_merge(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_report(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_review(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_blur(CLI::App& app, const GlobalOptions& global, int& exit_code);
void add_bench(CLI::App& app, const GlobalOptions& global, int& exit_code);

}  // namespace safescan::cli
