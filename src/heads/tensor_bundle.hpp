// TensorFlow's tensor bundle (a checkpoint / SavedModel's variables/): an index
// (variables.index, a LevelDB table, see sstable.hpp) mapping each variable's key to a
// BundleEntryProto (dtype, shape, shard, offset, size, crc32c), the key "" holding the
// BundleHeaderProto; the tensors are raw little-endian bytes in the data shards
// (variables.data-00000-of-00001) at [offset, offset + size).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace safescan::detect {

// TensorFlow DataType values (types.proto) that a bundle of Keras weights holds.
enum class TfDType : int {
  invalid = 0,
  float32 = 1,
  float64 = 2,
  int32 = 3,
  uint8 = 4,
  int16 = 5,
  int8 = 6,
  string = 7,
  int64 = 9,
  boolean = 10,
  bfloat16 = 14,
  float16 = 19,
};

std::string tf_dtype_name(int dtype);  // "float32", "string", ... or "dtype 23"

struct BundleEntry {
  std::string key;
  int dtype = 0;                    // a TfDType value
  std::vector<std::int64_t> shape;  // empty: a scalar
  int shard_id = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint32_t crc32c = 0;  // as stored: masked (crc32c_mask) crc of the bytes

  std::int64_t numel() const;
  std::string shape_string() const;  // "[512, 32]"
};

class TensorBundle {
 public:
  // `index`: the bytes of variables.index; `shards`: the data shards in order (as many as the
  // header's num_shards). The spans must outlive the bundle. `name` (a path, "x.zip:dir/")
  // is what errors are about. Parses and checks the index; tensors are checked on access.
  TensorBundle(std::span<const std::uint8_t> index, std::vector<std::span<const std::uint8_t>> shards,
               std::string name);

  // The data shard file names the header calls for: "variables.data-00000-of-00001", ...
  static std::vector<std::string> shard_names(std::span<const std::uint8_t> index, const std::string& name,
                                              const std::string& prefix = "variables");

  const std::string& name() const noexcept { return name_; }
  // Every tensor entry (the header excluded), sorted by key.
  const std::vector<BundleEntry>& entries() const noexcept { return entries_; }
  const BundleEntry* find(std::string_view key) const;

  // The tensor's bytes after checking bounds and its checksum (crc mismatch: model_invalid
  // naming the key).
  std::span<const std::uint8_t> bytes(const BundleEntry& entry) const;
  // A float32 tensor's values (checksummed); a tensor of another dtype is refused naming the key.
  std::vector<float> read_float32(const BundleEntry& entry) const;
  // Checks the checksum of every entry (numeric and string tensors).
  void verify_all() const;

 private:
  [[noreturn]] void fail(const std::string& message) const;
  std::span<const std::uint8_t> raw(const BundleEntry& entry) const;
  void verify(const BundleEntry& entry, std::span<const std::uint8_t> data) const;

  std::string name_;
  std::vector<std::span<const std::uint8_t>> shards_;
  std::vector<BundleEntry> entries_;
};

}  // namespace safescan::detect
