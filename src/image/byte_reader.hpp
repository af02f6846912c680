// Bounds-checked reads of little- and big-endian integers from a byte buffer.
//
// Used by the hand-written parsers (BMP headers, the EXIF TIFF structure). Every read is
// checked: reading outside the buffer never touches memory, it returns std::nullopt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace safescan::detail {

class ByteReader {
 public:
  enum class Order { little_endian, big_endian };

  explicit ByteReader(std::span<const std::uint8_t> data, Order order = Order::little_endian) noexcept
      : data_(data), order_(order) {}

  std::size_t size() const noexcept { return data_.size(); }
  std::span<const std::uint8_t> bytes() const noexcept { return data_; }

  // True when [offset, offset + count) lies inside the buffer (overflow-safe).
  bool has(std::uint64_t offset, std::uint64_t count) const noexcept {
    return offset <= data_.size() && count <= data_.size() - offset;
  }

  // The sub-range [offset, offset + count), or an empty span when it does not fit.
  std::span<const std::uint8_t> slice(std::uint64_t offset, std::uint64_t count) const noexcept {
    if (!has(offset, count)) return {};
    return data_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(count));
  }

  std::optional<std::uint8_t> u8(std::uint64_t offset) const noexcept {
    if (!has(offset, 1)) return std::nullopt;
    return data_[static_cast<std::size_t>(offset)];
  }
  std::optional<std::uint16_t> u16(std::uint64_t offset) const noexcept {
    auto v = read(offset, 2);
    if (!v) return std::nullopt;
    return static_cast<std::uint16_t>(*v);
  }
  std::optional<std::uint32_t> u32(std::uint64_t offset) const noexcept {
    auto v = read(offset, 4);
    if (!v) return std::nullopt;
    return static_cast<std::uint32_t>(*v);
  }
  std::optional<std::int32_t> i32(std::uint64_t offset) const noexcept {
    auto v = u32(offset);
    if (!v) return std::nullopt;
    return static_cast<std::int32_t>(*v);  // two's complement (guaranteed since C++20)
  }

 private:
  std::optional<std::uint64_t> read(std::uint64_t offset, unsigned count) const noexcept {
    if (!has(offset, count)) return std::nullopt;
    const std::uint8_t* p = data_.data() + offset;
    std::uint64_t value = 0;
    for (unsigned i = 0; i < count; ++i) {
      const unsigned shift = order_ == Order::little_endian ? 8 * i : 8 * (count - 1 - i);
      value |= static_cast<std::uint64_t>(p[i]) << shift;
    }
    return value;
  }

  std::span<const std::uint8_t> data_;
  Order order_;
};

}  // namespace safescan::detail
