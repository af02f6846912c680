#include "heads/tensor_bundle.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "heads/crc32c.hpp"
#include "heads/protobuf_wire.hpp"
#include "heads/sstable.hpp"
#include "safescan/error.hpp"

namespace safescan::detect {

std::string tf_dtype_name(int dtype) {
  switch (static_cast<TfDType>(dtype)) {
    case TfDType::float32: return "float32";
    case TfDType::float64: return "float64";
    case TfDType::int32: return "int32";
    case TfDType::uint8: return "uint8";
    case TfDType::int16: return "int16";
    case TfDType::int8: return "int8";
    case TfDType::string: return "string";
    case TfDType::int64: return "int64";
    case TfDType::boolean: return "bool";
    case TfDType::bfloat16: return "bfloat16";
    case TfDType::float16: return "float16";
    case TfDType::invalid: break;
  }
  return "dtype " + std::to_string(dtype);
}

namespace {

std::size_t dtype_size(int dtype) {
  switch (static_cast<TfDType>(dtype)) {
    case TfDType::float64:
    case TfDType::int64: return 8;
    case TfDType::float32:
    case TfDType::int32: return 4;
    case TfDType::int16:
    case TfDType::bfloat16:
    case TfDType::float16: return 2;
    case TfDType::uint8:
    case TfDType::int8:
    case TfDType::boolean: return 1;
    default: return 0;  // string (variable length) or unknown
  }
}

struct Header {
  std::int64_t num_shards = 1;
  std::int64_t endianness = 0;  // 0 little, 1 big
};

std::vector<std::int64_t> parse_shape(std::span<const std::uint8_t> bytes, const std::string& file,
                                      const std::string& what) {
  std::vector<std::int64_t> shape;
  pb::Reader r(bytes, file, what + " shape");
  pb::Field f;
  while (r.next(f)) {
    if (f.number == 2) {  // Dim
      r.expect(f, pb::WireType::bytes);
      std::int64_t size = 0;
      pb::Reader d(f.bytes, file, what + " dimension");
      pb::Field df;
      while (d.next(df))
        if (df.number == 1) {
          d.expect(df, pb::WireType::varint);
          size = static_cast<std::int64_t>(df.value);
        }
      if (size < 0) r.fail("negative dimension " + std::to_string(size));
      shape.push_back(size);
    } else if (f.number == 3 && f.value != 0) {
      r.fail("unknown rank");
    }
  }
  return shape;
}

Header parse_header(std::span<const std::uint8_t> value, const std::string& file) {
  Header h;
  pb::Reader r(value, file, "BundleHeaderProto");
  pb::Field f;
  while (r.next(f)) {
    if (f.number == 1) {
      r.expect(f, pb::WireType::varint);
      h.num_shards = static_cast<std::int64_t>(f.value);
    } else if (f.number == 2) {
      r.expect(f, pb::WireType::varint);
      h.endianness = static_cast<std::int64_t>(f.value);
    }
  }
  if (h.num_shards < 1 || h.num_shards > 100000) r.fail("invalid num_shards " + std::to_string(h.num_shards));
  if (h.endianness != 0) r.fail("big-endian bundles are not supported");
  return h;
}

BundleEntry parse_entry(const std::string& key, std::span<const std::uint8_t> value, const std::string& file) {
  BundleEntry e;
  e.key = key;
  const std::string what = "BundleEntryProto of key '" + key + "'";
  pb::Reader r(value, file, what);
  pb::Field f;
  while (r.next(f)) {
    switch (f.number) {
      case 1: r.expect(f, pb::WireType::varint); e.dtype = static_cast<int>(f.value); break;
      case 2: r.expect(f, pb::WireType::bytes); e.shape = parse_shape(f.bytes, file, what); break;
      case 3: r.expect(f, pb::WireType::varint); e.shard_id = static_cast<int>(f.value); break;
      case 4: r.expect(f, pb::WireType::varint); e.offset = f.value; break;
      case 5: r.expect(f, pb::WireType::varint); e.size = f.value; break;
      case 6: r.expect(f, pb::WireType::fixed32); e.crc32c = static_cast<std::uint32_t>(f.value); break;
      case 7: r.fail("partitioned (sliced) variables are not supported");
      default: break;
    }
  }
  return e;
}

std::vector<BundleEntry> parse_index(std::span<const std::uint8_t> index, const std::string& file, Header& header) {
  const std::vector<SstEntry> table = read_sstable(index, file);
  if (table.empty() || !table.front().key.empty())
    throw Error(ErrorCode::model_invalid, "tensor-bundle index has no header entry (key \"\")", file);
  header = parse_header(table.front().value, file);
  std::vector<BundleEntry> entries;
  entries.reserve(table.size() - 1);
  for (std::size_t i = 1; i < table.size(); ++i) entries.push_back(parse_entry(table[i].key, table[i].value, file));
  return entries;
}

std::uint32_t load_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace

std::int64_t BundleEntry::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

std::string BundleEntry::shape_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<std::string> TensorBundle::shard_names(std::span<const std::uint8_t> index, const std::string& name,
                                                   const std::string& prefix) {
  Header header;
  parse_index(index, name, header);
  std::vector<std::string> names;
  for (std::int64_t i = 0; i < header.num_shards; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ".data-%05lld-of-%05lld", static_cast<long long>(i),
                  static_cast<long long>(header.num_shards));
    names.push_back(prefix + buf);
  }
  return names;
}

TensorBundle::TensorBundle(std::span<const std::uint8_t> index, std::vector<std::span<const std::uint8_t>> shards,
                           std::string name)
    : name_(std::move(name)), shards_(std::move(shards)) {
  Header header;
  entries_ = parse_index(index, name_, header);
  if (static_cast<std::int64_t>(shards_.size()) != header.num_shards)
    fail("the index calls for " + std::to_string(header.num_shards) + " data shard(s), " +
         std::to_string(shards_.size()) + " given");
  for (const BundleEntry& e : entries_) {
    if (e.shard_id < 0 || e.shard_id >= static_cast<int>(shards_.size()))
      fail("key '" + e.key + "' is in shard " + std::to_string(e.shard_id) + " of " + std::to_string(shards_.size()));
    const std::size_t esize = dtype_size(e.dtype);
    if (esize && e.size != static_cast<std::uint64_t>(e.numel()) * esize)
      fail("key '" + e.key + "': " + tf_dtype_name(e.dtype) + " " + e.shape_string() + " needs " +
           std::to_string(e.numel() * static_cast<std::int64_t>(esize)) + " bytes, the index says " +
           std::to_string(e.size));
  }
}

void TensorBundle::fail(const std::string& message) const {
  throw Error(ErrorCode::model_invalid, "tensor bundle: " + message, name_);
}

const BundleEntry* TensorBundle::find(std::string_view key) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [](const BundleEntry& e, std::string_view k) { return e.key < k; });
  return it != entries_.end() && it->key == key ? &*it : nullptr;
}

std::span<const std::uint8_t> TensorBundle::raw(const BundleEntry& e) const {
  const auto shard = shards_.at(static_cast<std::size_t>(e.shard_id));
  if (e.offset > shard.size() || e.size > shard.size() - e.offset)
    fail("key '" + e.key + "' lies at bytes [" + std::to_string(e.offset) + ", " + std::to_string(e.offset + e.size) +
         ") of data shard " + std::to_string(e.shard_id) + ", which has " + std::to_string(shard.size()) +
         " bytes (truncated data file)");
  return shard.subspan(static_cast<std::size_t>(e.offset), static_cast<std::size_t>(e.size));
}

void TensorBundle::verify(const BundleEntry& e, std::span<const std::uint8_t> data) const {
  std::uint32_t actual = 0;
  if (e.dtype != static_cast<int>(TfDType::string)) {
    actual = crc32c(data);
  } else {
    // [varint64 length] x N, [masked crc32c of the lengths], string bytes. The checksum covers
    // each length (as a 4-byte little-endian integer in the TensorFlow versions that wrote
    // the Keras models we know, 8 bytes in others: both are accepted), the length checksum
    // and the bytes.
    const std::int64_t n = e.numel();
    std::size_t pos = 0;
    std::vector<std::uint64_t> lengths;
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint64_t len = 0;
      if (!pb::read_varint(data, pos, len)) fail("key '" + e.key + "': truncated string lengths");
      lengths.push_back(len);
    }
    if (data.size() - pos < 4) fail("key '" + e.key + "': truncated string tensor");
    const auto lengths_crc = data.subspan(pos, 4);
    pos += 4;
    const auto strings = data.subspan(pos);
    std::uint64_t total = 0;
    for (const std::uint64_t len : lengths) total += len;
    if (total != strings.size()) fail("key '" + e.key + "': string lengths do not add up to the tensor's size");
    const std::uint32_t stored = e.crc32c;
    for (const std::size_t width : {std::size_t{4}, std::size_t{8}}) {
      std::uint32_t c = 0;
      for (const std::uint64_t len : lengths) {
        std::uint8_t le[8];
        for (int b = 0; b < 8; ++b) le[b] = static_cast<std::uint8_t>(len >> (8 * b));
        c = crc32c_extend(c, std::span<const std::uint8_t>(le, width));
      }
      c = crc32c_extend(crc32c_extend(c, lengths_crc), strings);
      actual = c;
      if (crc32c_mask(c) == stored) return;
    }
  }
  if (crc32c_mask(actual) != e.crc32c) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " (stored %08x, computed %08x)", crc32c_unmask(e.crc32c), actual);
    fail("checksum mismatch for key '" + e.key + "'" + buf + ": the data file is damaged");
  }
}

std::span<const std::uint8_t> TensorBundle::bytes(const BundleEntry& e) const {
  const auto data = raw(e);
  verify(e, data);
  return data;
}

std::vector<float> TensorBundle::read_float32(const BundleEntry& e) const {
  if (e.dtype != static_cast<int>(TfDType::float32))
    fail("key '" + e.key + "' holds " + tf_dtype_name(e.dtype) + ", expected float32");
  const auto data = bytes(e);
  std::vector<float> values(static_cast<std::size_t>(e.numel()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint32_t bits = load_u32(data.data() + 4 * i);
    std::memcpy(&values[i], &bits, 4);
  }
  return values;
}

void TensorBundle::verify_all() const {
  for (const BundleEntry& e : entries_) bytes(e);
}

}  // namespace safescan::detect
