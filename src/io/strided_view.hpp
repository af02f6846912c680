// A tensor described as a view into a flat buffer (PyTorch storages, Fortran-order NumPy
// arrays), checked against the buffer and copied out as a dense row-major RawTensor.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/tensor_file.hpp"

namespace safescan::io {

struct StridedView {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;  // in elements, one per dimension
  std::int64_t offset = 0;            // in elements
};

// The element count of `shape`, or nullopt when a dimension is negative or the product
// overflows int64.
std::optional<std::int64_t> checked_numel(const std::vector<std::int64_t>& shape);
// The size in bytes of a dense tensor of that shape and type, or nullopt as above.
std::optional<std::uint64_t> checked_nbytes(const std::vector<std::int64_t>& shape, DType dtype);

// Row-major (C) and column-major (Fortran) strides of a shape.
std::vector<std::int64_t> row_major_strides(const std::vector<std::int64_t>& shape);
std::vector<std::int64_t> column_major_strides(const std::vector<std::int64_t>& shape);

// Copies `view` out of `buffer` (which holds buffer.size() / element_size(dtype) elements).
// Throws model_invalid about `file`, naming `what` ("tensor 'visual.proj'"), when a shape,
// stride or offset is negative, when the view reaches past the buffer, or when the dense
// copy would exceed `max_bytes` (stride-0 views can be far larger than their storage).
RawTensor materialize(const StridedView& view, std::span<const std::uint8_t> buffer, std::uint64_t max_bytes,
                      const std::string& file, const std::string& what);

}  // namespace safescan::io
