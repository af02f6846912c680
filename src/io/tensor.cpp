// DType names and sizes; RawTensor helpers; exact float16 / bfloat16 widening.
#include <algorithm>
#include <bit>
#include <cstring>
#include <sstream>

#include "io/tensor_file.hpp"

namespace safescan::io {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    case DType::i32: return "int32";
    case DType::i16: return "int16";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::boolean: return "bool";
  }
  return "?";
}

std::size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16:
    case DType::i16: return 2;
    case DType::i8:
    case DType::u8:
    case DType::boolean: return 1;
  }
  return 1;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {  // infinity or NaN (payload kept)
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    bits = sign;
  } else {  // subnormal half: a normal float once the mantissa is normalised
    std::uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

std::int64_t RawTensor::numel() const {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

std::string RawTensor::shape_string() const {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

namespace {

template <typename T>
T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));  // little-endian host, like every format read here
  return value;
}

template <typename T, typename Convert>
void widen(const std::vector<std::uint8_t>& data, std::vector<float>& out, Convert convert) {
  const std::size_t n = std::min(out.size(), data.size() / sizeof(T));
  for (std::size_t i = 0; i < n; ++i) out[i] = convert(load<T>(data.data() + i * sizeof(T)));
}

}  // namespace

std::vector<float> RawTensor::to_float() const {
  std::vector<float> out(static_cast<std::size_t>(numel()));
  const auto cast = [](auto v) { return static_cast<float>(v); };
  switch (dtype) {
    case DType::f32: widen<float>(data, out, cast); break;
    case DType::f16: widen<std::uint16_t>(data, out, half_to_float); break;
    case DType::bf16: widen<std::uint16_t>(data, out, bfloat16_to_float); break;
    case DType::f64: widen<double>(data, out, cast); break;
    case DType::i64: widen<std::int64_t>(data, out, cast); break;
    case DType::i32: widen<std::int32_t>(data, out, cast); break;
    case DType::i16: widen<std::int16_t>(data, out, cast); break;
    case DType::i8: widen<std::int8_t>(data, out, cast); break;
    case DType::u8: widen<std::uint8_t>(data, out, cast); break;
    case DType::boolean: widen<std::uint8_t>(data, out, [](std::uint8_t v) { return v ? 1.0f : 0.0f; }); break;
  }
  return out;
}

}  // namespace safescan::io
