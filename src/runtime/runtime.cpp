#include "safescan/runtime.hpp"

#include <dlfcn.h>

#include <ATen/Parallel.h>

#include <cstdlib>
#include <mutex>
#include <thread>

namespace safescan {

namespace {

// OpenBLAS exports these; the reference (netlib) BLAS does not.
using GetConfig = char* (*)();
using GetParallel = int (*)();

void inspect_blas(RuntimeInfo& info) {
  auto config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (config) {
    const int mode = parallel ? parallel() : -1;
    const char* kind = mode == 0 ? "sequential" : mode == 1 ? "pthreads" : mode == 2 ? "OpenMP" : "unknown threading";
    info.blas = std::string("OpenBLAS (") + kind + ") " + config();
    if (mode == 1) {
      info.warning = "OpenBLAS is the pthreads build; with libtorch's OpenMP threads it oversubscribes the cores. "
                     "Install libopenblas0-openmp (apt-get install libopenblas0-openmp).";
    }
    return;
  }
  if (dlsym(RTLD_DEFAULT, "MKL_Get_Max_Threads")) {
    info.blas = "Intel MKL";
    return;
  }
  if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str")) {
    info.blas = "BLIS";
    return;
  }
  info.blas = "reference BLAS (netlib)";
  info.reference_blas = true;
  info.warning = "libtorch is using the reference BLAS, which is about 40x slower for these models. "
                 "Install the OpenMP OpenBLAS: apt-get install libopenblas0-openmp "
                 "(update-alternatives --config libblas.so.3-x86_64-linux-gnu selects it).";
}

}  // namespace

RuntimeInfo configure_runtime(int threads) {
  static std::once_flag once;
  static RuntimeInfo info;
  std::call_once(once, [] {
    inspect_blas(info);
    try {
      at::set_num_interop_threads(1);  // we batch images ourselves; one inter-op thread is enough
    } catch (...) {
      // already set by an earlier user of libtorch in this process
    }
  });
  if (threads <= 0) {
    if (const char* env = std::getenv("SAFESCAN_THREADS"); env && std::atoi(env) > 0) threads = std::atoi(env);
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  info.threads = at::get_num_threads();
  return info;
}

}  // namespace safescan
