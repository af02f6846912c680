// Just enough of the protobuf wire format to read the few TensorFlow messages a tensor
// bundle and a Keras SavedModel hold (BundleHeaderProto, BundleEntryProto,
// TensorShapeProto, SavedMetadata): varints, length-delimited fields, fixed32/fixed64.
// Unknown fields are skipped, as protobuf readers do.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace safescan::detect::pb {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t value = 0;              // varint, fixed32, fixed64
  std::span<const std::uint8_t> bytes;  // length-delimited
};

// Reads the fields of one message in order. Errors are Error(model_invalid) about `file`,
// naming `what` (e.g. "BundleEntryProto of key 'x'") and the byte offset in the message.
class Reader {
 public:
  Reader(std::span<const std::uint8_t> message, std::string file, std::string what);

  // The next field, or false at the end of the message.
  bool next(Field& field);

  // Field checks callers use to refuse a field of the wrong type.
  void expect(const Field& field, WireType type) const;
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::uint64_t read_varint();

  std::span<const std::uint8_t> message_;
  std::size_t pos_ = 0;
  std::string file_;
  std::string what_;
};

// A varint from `bytes` at `pos` (advanced); false when truncated or longer than 10 bytes.
bool read_varint(std::span<const std::uint8_t> bytes, std::size_t& pos, std::uint64_t& value) noexcept;

}  // namespace safescan::detect::pb
