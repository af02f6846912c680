#include "image/exif.hpp"

#include <algorithm>
#include <array>

#include "image/byte_reader.hpp"

namespace safescan::detail {

namespace {

constexpr std::array<std::uint8_t, 6> kExifIdentifier = {'E', 'x', 'i', 'f', 0, 0};
constexpr std::uint16_t kTagOrientation = 0x0112;
constexpr std::uint16_t kTypeShort = 3;
constexpr std::uint16_t kTypeLong = 4;
constexpr std::uint64_t kEntrySize = 12;

}  // namespace

int exif_orientation(std::span<const std::uint8_t> exif) noexcept {
  if (exif.size() >= kExifIdentifier.size() &&
      std::equal(kExifIdentifier.begin(), kExifIdentifier.end(), exif.begin())) {
    exif = exif.subspan(kExifIdentifier.size());
  }
  if (exif.size() < 8) return 1;

  ByteReader::Order order;
  if (exif[0] == 'I' && exif[1] == 'I') {
    order = ByteReader::Order::little_endian;
  } else if (exif[0] == 'M' && exif[1] == 'M') {
    order = ByteReader::Order::big_endian;
  } else {
    return 1;
  }
  const ByteReader in(exif, order);
  if (in.u16(2) != 42) return 1;

  const auto ifd0 = in.u32(4);
  if (!ifd0) return 1;
  const auto count = in.u16(*ifd0);
  if (!count) return 1;
  for (std::uint64_t i = 0; i < *count; ++i) {
    const std::uint64_t entry = *ifd0 + 2 + i * kEntrySize;
    if (!in.has(entry, kEntrySize)) return 1;
    if (in.u16(entry) != kTagOrientation) continue;
    const auto type = in.u16(entry + 2);
    const auto components = in.u32(entry + 4);
    if (!components || *components < 1) return 1;
    // The value (one SHORT, or one LONG from lenient writers) sits in the entry itself.
    std::uint32_t value = 0;
    if (type == kTypeShort) {
      value = *in.u16(entry + 8);
    } else if (type == kTypeLong) {
      value = *in.u32(entry + 8);
    } else {
      return 1;
    }
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

}  // namespace safescan::detail
