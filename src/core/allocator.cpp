#include <malloc.h>

#include "safescan/runtime.hpp"

namespace safescan {

void keep_large_buffers_in_heap() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace safescan
