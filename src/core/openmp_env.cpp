#include <unistd.h>

#include <cstdlib>

#include "safescan/runtime.hpp"

namespace safescan {

void ensure_openmp_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("SAFESCAN_OMP_REEXEC")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  setenv("SAFESCAN_OMP_REEXEC", "1", 1);  // never loop, even if the variable is dropped somehow
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): carry on with libgomp's defaults.
}

}  // namespace safescan
