// The scan under an MPI launcher (mpirun, mpiexec, srun --mpi=pmix): rank 0 enumerates the
// sources and hands out work units on request (dynamic sharing: a fast rank takes more);
// every rank runs the whole pipeline and writes its own database part "<db>.part<rank>";
// at the end rank 0 merges the parts into the database.
#pragma once

#include "safescan/scan.hpp"

namespace safescan::scanning {

ScanStats run_mpi_scan(const ScanConfig& config);

}  // namespace safescan::scanning
