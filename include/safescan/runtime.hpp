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

namespace safescan {

// OpenMP threads that wait by spinning (libgomp's default) collapse throughput 10-100x as
// soon as anything else wants the cores (decoding threads, another process): see
// docs/PERFORMANCE.md. libgomp reads its wait policy once, before main(), so a program that
// wants the robust policy must have it in its environment from the start. Call this first
// thing in main(): when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, it sets
// OMP_WAIT_POLICY=PASSIVE and re-executes the program (once; /proc/self/exe, same argv).
// A value the user set is always kept. Returns normally when no re-exec was needed or it
// failed.
void ensure_openmp_wait_policy(char** argv);

}  // namespace safescan

namespace safescan {

// The engine allocates multi-megabyte buffers per image (decoded pixels, model inputs); by
// default glibc maps and unmaps each one (page faults and zeroing: measured at ~7% of a
// scan's CPU and a quarter of classify's). This keeps them in the heap instead (mallopt:
// mmap threshold 64 MiB, trim threshold 256 MiB); memory stays flat because the engine's
// queues bound how many are alive. Process-wide: call it once at start-up, as `safescan`
// and the benchmarks do.
void keep_large_buffers_in_heap();

}  // namespace safescan
