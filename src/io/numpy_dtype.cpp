#include "io/numpy_dtype.hpp"

#include <array>
#include <utility>

#include "io/invalid.hpp"

namespace safescan::io {

DType parse_numpy_descr(std::string_view descr, const std::string& file) {
  static constexpr std::array<std::pair<std::string_view, DType>, 10> kTypes{{
      {"f4", DType::f32},
      {"f2", DType::f16},
      {"f8", DType::f64},
      {"i8", DType::i64},
      {"i4", DType::i32},
      {"i2", DType::i16},
      {"i1", DType::i8},
      {"u1", DType::u8},
      {"b1", DType::boolean},
      {"?", DType::boolean},
  }};
  const std::string quoted = "NumPy dtype '" + std::string(descr) + "'";
  if (descr.empty()) throw_invalid(file, "empty NumPy dtype");
  const char order = descr.front();
  if (order == '>' || order == '!') throw_invalid(file, quoted + " is big-endian; only little-endian arrays are supported");
  if (order == '<' || order == '|' || order == '=') descr.remove_prefix(1);  // '=' is native: little-endian here
  if (descr == "O") throw_invalid(file, quoted + " is an object array (Python objects), which is not supported");
  for (const auto& [name, dtype] : kTypes)
    if (name == descr) return dtype;
  throw_invalid(file, quoted + " is not supported (f2, f4, f8, i1, i2, i4, i8, u1, b1 are)");
}

}  // namespace safescan::io
