// safescan/runtime.hpp - threads and BLAS for libtorch.
#pragma once

#include <string>

namespace safescan {

struct RuntimeInfo {
  int threads = 0;           // intra-op threads libtorch uses
  std::string blas;          // "OpenBLAS (OpenMP) 0.3.21 ...", "reference BLAS", ...
  bool reference_blas = false;  // the slow netlib BLAS is loaded: warn the user
  std::string warning;       // non-empty when the set-up will be slow, with what to do about it
};

// Sets libtorch's thread count (0 = every core, or $SAFESCAN_THREADS when set) and inspects
// which BLAS the process loaded. Call once at start-up, before running a model; later calls
// only change the thread count.
RuntimeInfo configure_runtime(int threads = 0);

}  // namespace safescan
