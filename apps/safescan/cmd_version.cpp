// safescan version: versions of safescan and its runtime (libtorch threads, BLAS).
#include <cstdio>

#include "commands.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

void add_version(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("version", "Print versions, threads and the BLAS in use");
  cmd->footer("Example:\n  safescan version");
  cmd->callback([&global, &exit_code] {
    const RuntimeInfo rt = configure_runtime(global.threads);
    std::printf("safescan %s\nthreads: %d\nBLAS: %s\n", SAFESCAN_VERSION, rt.threads, rt.blas.c_str());
    if (!rt.warning.empty()) std::printf("warning: %s\n", rt.warning.c_str());
    exit_code = kExitOk;
  });
}

}  // namespace safescan::cli
