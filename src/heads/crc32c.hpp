// CRC-32C (Castagnoli), as LevelDB tables and TensorFlow tensor bundles store it.
#pragma once

#include <cstdint>
#include <span>

namespace safescan::detect {

// crc32c of `bytes`, continuing from `crc` (0 to start).
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> bytes) noexcept;
inline std::uint32_t crc32c(std::span<const std::uint8_t> bytes) noexcept { return crc32c_extend(0, bytes); }

// LevelDB/TensorFlow store checksums "masked" (a checksum of data that itself holds
// checksums is otherwise degenerate): rotate right by 15 bits, add a constant.
constexpr std::uint32_t crc32c_mask(std::uint32_t crc) noexcept {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
constexpr std::uint32_t crc32c_unmask(std::uint32_t masked) noexcept {
  const std::uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace safescan::detect
