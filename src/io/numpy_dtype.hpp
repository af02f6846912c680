// NumPy array descriptions shared by .npy files and pickled arrays.
#pragma once

#include <string>
#include <string_view>

#include "io/tensor_file.hpp"

namespace safescan::io {

// A NumPy type string with its byte order ("<f4", "|u1", "=i8", "<f2") -> DType. Throws
// Error(model_invalid) about `file` for big-endian, object, structured or unsupported types.
DType parse_numpy_descr(std::string_view descr, const std::string& file);

}  // namespace safescan::io
