// Table-driven CRC-32C (reflected polynomial 0x82F63B78). The files it checks are small
// (index blocks, head weights), so one byte at a time is plenty.
#include "heads/crc32c.hpp"

#include <array>

namespace safescan::detect {

namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kTable = make_table();

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> bytes) noexcept {
  std::uint32_t c = ~crc;
  for (const std::uint8_t b : bytes) c = kTable[(c ^ b) & 0xffu] ^ (c >> 8);
  return ~c;
}

}  // namespace safescan::detect
