#include "io/strided_view.hpp"

#include <cstring>

#include "io/invalid.hpp"

namespace safescan::io {

namespace {

std::string join(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// offset + sum((shape[i] - 1) * strides[i]): the last element the view touches; nullopt
// on overflow. Only called with positive dimensions and non-negative strides.
std::optional<std::int64_t> last_index(const StridedView& view) {
  std::int64_t last = view.offset;
  for (std::size_t i = 0; i < view.shape.size(); ++i) {
    std::int64_t step = 0;
    if (__builtin_mul_overflow(view.shape[i] - 1, view.strides[i], &step) || __builtin_add_overflow(last, step, &last))
      return std::nullopt;
  }
  return last;
}

bool is_row_major(const StridedView& view) {
  std::int64_t expected = 1;
  for (std::size_t i = view.shape.size(); i-- > 0;) {
    if (view.shape[i] != 1 && view.strides[i] != expected) return false;
    expected *= view.shape[i];
  }
  return true;
}

// Copies the elements of a checked, non-empty view, the innermost dimension row by row.
void copy_strided(const StridedView& view, const std::uint8_t* src, std::uint8_t* dst) {
  const std::size_t esize = element_size(view.dtype);
  const std::size_t rank = view.shape.size();
  const std::int64_t inner = rank ? view.shape[rank - 1] : 1;
  const std::int64_t inner_stride = rank ? view.strides[rank - 1] : 1;
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t base = view.offset;  // element offset of the current row's first element
  for (;;) {
    if (inner_stride == 1) {
      std::memcpy(dst, src + base * esize, static_cast<std::size_t>(inner) * esize);
      dst += static_cast<std::size_t>(inner) * esize;
    } else {
      for (std::int64_t j = 0; j < inner; ++j, dst += esize) std::memcpy(dst, src + (base + j * inner_stride) * esize, esize);
    }
    // Advance the odometer over the outer dimensions.
    std::size_t d = rank > 0 ? rank - 1 : 0;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++index[d] < view.shape[d]) {
        base += view.strides[d];
        break;
      }
      base -= (view.shape[d] - 1) * view.strides[d];
      index[d] = 0;
    }
  }
}

}  // namespace

std::optional<std::int64_t> checked_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const auto d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

std::optional<std::uint64_t> checked_nbytes(const std::vector<std::int64_t>& shape, DType dtype) {
  const auto numel = checked_numel(shape);
  std::uint64_t bytes = 0;
  if (!numel || __builtin_mul_overflow(static_cast<std::uint64_t>(*numel), element_size(dtype), &bytes)) return std::nullopt;
  return bytes;
}

std::vector<std::int64_t> row_major_strides(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> strides(shape.size());
  std::int64_t step = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

std::vector<std::int64_t> column_major_strides(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> strides(shape.size());
  std::int64_t step = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

RawTensor materialize(const StridedView& view, std::span<const std::uint8_t> buffer, std::uint64_t max_bytes,
                      const std::string& file, const std::string& what) {
  const std::size_t esize = element_size(view.dtype);
  const auto available = static_cast<std::int64_t>(buffer.size() / esize);
  if (view.strides.size() != view.shape.size())
    throw_invalid(file, what + ": shape " + join(view.shape) + " and strides " + join(view.strides) + " differ in rank");
  const auto numel = checked_numel(view.shape);
  if (!numel) throw_invalid(file, what + ": invalid shape " + join(view.shape));
  for (const auto s : view.strides)
    if (s < 0) throw_invalid(file, what + ": negative stride in " + join(view.strides));
  if (view.offset < 0) throw_invalid(file, what + ": negative storage offset " + std::to_string(view.offset));
  if (static_cast<std::uint64_t>(*numel) > max_bytes / esize)
    throw_invalid(file, what + ": shape " + join(view.shape) + " would take more than " + std::to_string(max_bytes) +
                            " bytes once copied out of its storage");

  RawTensor out;
  out.dtype = view.dtype;
  out.shape = view.shape;
  out.data.resize(static_cast<std::size_t>(*numel) * esize);
  if (*numel == 0) return out;

  const auto last = last_index(view);
  if (!last || *last >= available) {
    throw_invalid(file, what + ": shape " + join(view.shape) + ", strides " + join(view.strides) + " and offset " +
                            std::to_string(view.offset) + " reach element " + (last ? std::to_string(*last) : "(overflow)") +
                            ", but its storage holds " + std::to_string(available) + " " + to_string(view.dtype) +
                            " elements");
  }
  if (is_row_major(view)) {
    std::memcpy(out.data.data(), buffer.data() + view.offset * static_cast<std::int64_t>(esize), out.data.size());
  } else {
    copy_strided(view, buffer.data(), out.data.data());
  }
  return out;
}

}  // namespace safescan::io
