// safescan/tensors.hpp - writing arrays for other tools: NumPy's .npy (what `embed --out`
// writes; the readers of every tensor format safescan loads are internal to the library).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace safescan {

// A little-endian float32 .npy (format 1.0, C order) of `shape`; `data` holds the product of
// the shape's values. Throws Error(invalid_argument) naming the file when it cannot be written.
void write_npy_f32(const std::filesystem::path& file, const std::vector<std::int64_t>& shape, const float* data);

}  // namespace safescan
