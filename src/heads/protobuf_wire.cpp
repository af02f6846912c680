#include "heads/protobuf_wire.hpp"

#include "safescan/error.hpp"

namespace safescan::detect::pb {

bool read_varint(std::span<const std::uint8_t> bytes, std::size_t& pos, std::uint64_t& value) noexcept {
  std::uint64_t result = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos >= bytes.size()) return false;
    const std::uint8_t b = bytes[pos++];
    if (shift == 63 && (b & 0x7e)) return false;  // more than 64 bits
    result |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      value = result;
      return true;
    }
  }
  return false;
}

Reader::Reader(std::span<const std::uint8_t> message, std::string file, std::string what)
    : message_(message), file_(std::move(file)), what_(std::move(what)) {}

void Reader::fail(const std::string& message) const {
  throw Error(ErrorCode::model_invalid, what_ + ": " + message + " (at byte " + std::to_string(pos_) + ")", file_);
}

std::uint64_t Reader::read_varint() {
  std::uint64_t v = 0;
  if (!pb::read_varint(message_, pos_, v)) fail("truncated or overlong varint");
  return v;
}

bool Reader::next(Field& field) {
  if (pos_ >= message_.size()) return false;
  const std::uint64_t tag = read_varint();
  const std::uint64_t number = tag >> 3;
  if (number == 0 || number > 0x1fffffff) fail("invalid field number " + std::to_string(number));
  field = Field{};
  field.number = static_cast<std::uint32_t>(number);
  switch (tag & 7) {
    case 0:
      field.type = WireType::varint;
      field.value = read_varint();
      break;
    case 1:
      field.type = WireType::fixed64;
      if (message_.size() - pos_ < 8) fail("truncated fixed64 field " + std::to_string(number));
      for (int i = 0; i < 8; ++i) field.value |= static_cast<std::uint64_t>(message_[pos_ + i]) << (8 * i);
      pos_ += 8;
      break;
    case 2: {
      field.type = WireType::bytes;
      const std::uint64_t size = read_varint();
      if (size > message_.size() - pos_)
        fail("field " + std::to_string(number) + " claims " + std::to_string(size) + " bytes, only " +
             std::to_string(message_.size() - pos_) + " remain");
      field.bytes = message_.subspan(pos_, static_cast<std::size_t>(size));
      pos_ += static_cast<std::size_t>(size);
      break;
    }
    case 5:
      field.type = WireType::fixed32;
      if (message_.size() - pos_ < 4) fail("truncated fixed32 field " + std::to_string(number));
      for (int i = 0; i < 4; ++i) field.value |= static_cast<std::uint64_t>(message_[pos_ + i]) << (8 * i);
      pos_ += 4;
      break;
    default:
      fail("unsupported wire type " + std::to_string(tag & 7) + " (groups are not used by these messages)");
  }
  return true;
}

void Reader::expect(const Field& field, WireType type) const {
  if (field.type != type)
    fail("field " + std::to_string(field.number) + " has wire type " + std::to_string(static_cast<int>(field.type)) +
         ", expected " + std::to_string(static_cast<int>(type)));
}

}  // namespace safescan::detect::pb
