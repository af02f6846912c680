// Writers of small model files for the tensor-reader tests: ZIP archives (stored, deflated,
// ZIP64), Python pickles (opcode by opcode, plus torch's tensor idioms), safetensors and
// .npy. Each test builds the exact (good or broken) file it needs.
//
// These writers assume valid arguments: they are test fixtures, not library code.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "io/zip_reader.hpp"

namespace safescan::testing::model_files {

using Bytes = std::vector<std::uint8_t>;

// Replaces the file rather than truncating it: ext4 flushes truncated-and-rewritten files
// to disk on close (auto_da_alloc), which makes thousands of rewrites slow.
inline void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void put_le(Bytes& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void set_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_text(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

template <typename T>
Bytes raw_bytes(const std::vector<T>& values) {
  Bytes b(values.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), values.data(), b.size());
  return b;
}

// ---------------------------------------------------------------------------------------
// ZIP

inline Bytes deflate_raw(const Bytes& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  Bytes out(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

struct ZipItem {
  std::string name;
  Bytes data;
  bool deflate = false;
};

// A ZIP archive of `items`. With zip64, every size and offset goes through the ZIP64 extra
// fields and end-of-directory records, as writers do for archives over 4 GiB.
inline Bytes make_zip(const std::vector<ZipItem>& items, bool zip64 = false) {
  Bytes out, directory;
  for (const ZipItem& item : items) {
    const Bytes stored = item.deflate ? deflate_raw(item.data) : item.data;
    const std::uint32_t crc = io::crc32(item.data);
    const std::uint64_t offset = out.size();
    const std::uint16_t method = item.deflate ? 8 : 0;

    put_le(out, 0x04034b50, 4);
    put_le(out, zip64 ? 45 : 20, 2);
    put_le(out, 0, 2);  // flags
    put_le(out, method, 2);
    put_le(out, 0, 4);  // time, date
    put_le(out, crc, 4);
    put_le(out, zip64 ? 0xffffffffu : stored.size(), 4);
    put_le(out, zip64 ? 0xffffffffu : item.data.size(), 4);
    put_le(out, item.name.size(), 2);
    put_le(out, zip64 ? 20 : 0, 2);
    put_text(out, item.name);
    if (zip64) {
      put_le(out, 0x0001, 2);
      put_le(out, 16, 2);
      put_le(out, item.data.size(), 8);
      put_le(out, stored.size(), 8);
    }
    out.insert(out.end(), stored.begin(), stored.end());

    put_le(directory, 0x02014b50, 4);
    put_le(directory, zip64 ? 45 : 20, 2);
    put_le(directory, zip64 ? 45 : 20, 2);
    put_le(directory, 0, 2);
    put_le(directory, method, 2);
    put_le(directory, 0, 4);
    put_le(directory, crc, 4);
    put_le(directory, zip64 ? 0xffffffffu : stored.size(), 4);
    put_le(directory, zip64 ? 0xffffffffu : item.data.size(), 4);
    put_le(directory, item.name.size(), 2);
    put_le(directory, zip64 ? 28 : 0, 2);
    put_le(directory, 0, 2);  // comment
    put_le(directory, 0, 2);  // disk
    put_le(directory, 0, 2);  // internal attributes
    put_le(directory, 0, 4);  // external attributes
    put_le(directory, zip64 ? 0xffffffffu : offset, 4);
    put_text(directory, item.name);
    if (zip64) {
      put_le(directory, 0x0001, 2);
      put_le(directory, 24, 2);
      put_le(directory, item.data.size(), 8);
      put_le(directory, stored.size(), 8);
      put_le(directory, offset, 8);
    }
  }
  const std::uint64_t directory_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  if (zip64) {
    const std::uint64_t record = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);  // size of the rest of the record
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    put_le(out, items.size(), 8);
    put_le(out, items.size(), 8);
    put_le(out, directory.size(), 8);
    put_le(out, directory_offset, 8);
    put_le(out, 0x07064b50, 4);  // locator
    put_le(out, 0, 4);
    put_le(out, record, 8);
    put_le(out, 1, 4);
  }
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, zip64 ? 0xffff : items.size(), 2);
  put_le(out, zip64 ? 0xffff : items.size(), 2);
  put_le(out, zip64 ? 0xffffffffu : directory.size(), 4);
  put_le(out, zip64 ? 0xffffffffu : directory_offset, 4);
  put_le(out, 0, 2);
  return out;
}

// Offsets inside the classic end-of-central-directory record (the last 22 bytes).
inline std::size_t eocd_directory_offset_field(const Bytes& zip) { return zip.size() - 22 + 16; }

// ---------------------------------------------------------------------------------------
// Pickle

class PickleWriter {
 public:
  explicit PickleWriter(int protocol = 2) {
    op(0x80);
    b_.push_back(static_cast<std::uint8_t>(protocol));
  }

  PickleWriter& op(std::uint8_t code) {
    b_.push_back(code);
    return *this;
  }
  PickleWriter& mark() { return op('('); }
  PickleWriter& tuple() { return op('t'); }
  PickleWriter& none() { return op('N'); }
  PickleWriter& boolean(bool v) { return op(v ? 0x88 : 0x89); }
  PickleWriter& integer(std::int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      put_le(b_, static_cast<std::uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      put_le(b_, static_cast<std::uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      put_le(b_, static_cast<std::uint64_t>(v), 4);
    } else {
      op(0x8a);
      b_.push_back(8);
      put_le(b_, static_cast<std::uint64_t>(v), 8);
    }
    return *this;
  }
  PickleWriter& string(std::string_view s) {
    op('X');
    put_le(b_, s.size(), 4);
    put_text(b_, s);
    return *this;
  }
  PickleWriter& bytes(const Bytes& data) {
    op('B');
    put_le(b_, data.size(), 4);
    b_.insert(b_.end(), data.begin(), data.end());
    return *this;
  }
  PickleWriter& bytearray(const Bytes& data) {  // BYTEARRAY8 (protocol 5)
    op(0x96);
    put_le(b_, data.size(), 8);
    b_.insert(b_.end(), data.begin(), data.end());
    return *this;
  }
  PickleWriter& global(std::string_view module, std::string_view name) {
    op('c');
    put_text(b_, module);
    b_.push_back('\n');
    put_text(b_, name);
    b_.push_back('\n');
    return *this;
  }
  PickleWriter& ints(const std::vector<std::int64_t>& values) {  // a tuple of ints
    mark();
    for (auto v : values) integer(v);
    return tuple();
  }
  PickleWriter& put(std::uint8_t key) { return op('q').raw(key); }
  PickleWriter& get(std::uint8_t key) { return op('h').raw(key); }
  PickleWriter& stop() { return op('.'); }

  // torch._utils._rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset,
  // shape, strides, False, OrderedDict()) as torch.save writes it.
  PickleWriter& tensor_v2(std::string_view storage_type, std::string_view key, std::int64_t numel, std::int64_t offset,
                          const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    storage(storage_type, key, numel);
    integer(offset).ints(shape).ints(strides).boolean(false);
    global("collections", "OrderedDict").op(')').op('R');
    return tuple().op('R');
  }
  PickleWriter& storage(std::string_view storage_type, std::string_view key, std::int64_t numel) {
    mark().string("storage").global("torch", storage_type).string(key).string("cpu").integer(numel).tuple();
    return op('Q');
  }

  const Bytes& data() const { return b_; }

 private:
  PickleWriter& raw(std::uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Bytes b_;
};

// A torch.save-style archive: "<prefix>/data.pkl", the storages "<prefix>/data/<key>", and
// "<prefix>/version".
inline Bytes make_torch_archive(const Bytes& data_pkl, const std::vector<std::pair<std::string, Bytes>>& storages,
                                const std::string& prefix = "archive", bool deflate = false) {
  std::vector<ZipItem> items{{prefix + "/data.pkl", data_pkl, deflate}};
  for (const auto& [key, bytes] : storages) items.push_back({prefix + "/data/" + key, bytes, deflate});
  items.push_back({prefix + "/version", bytes_of("3\n"), false});
  return make_zip(items);
}

// ---------------------------------------------------------------------------------------
// safetensors and npy

// `header_json` is written as is, after its length.
inline Bytes make_safetensors(const std::string& header_json, const Bytes& data) {
  Bytes out;
  put_le(out, header_json.size(), 8);
  put_text(out, header_json);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// An .npy file with the given header dict text, padded as NumPy pads it, and raw data.
inline Bytes make_npy(const std::string& header_dict, const Bytes& data, int major = 1) {
  std::string header = header_dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  Bytes out = bytes_of("\x93NUMPY");
  out.push_back(static_cast<std::uint8_t>(major));
  out.push_back(0);
  put_le(out, header.size(), major == 1 ? 2 : 4);
  put_text(out, header);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace safescan::testing::model_files
