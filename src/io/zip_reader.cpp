#include "io/zip_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include <zlib.h>

#include "image/byte_reader.hpp"
#include "io/invalid.hpp"

namespace safescan::io {

namespace {

using detail::ByteReader;

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::size_t kEndOfDirectorySize = 22;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EndOfDirectorySize = 56;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
// Deflate cannot compress better than about 1032:1; a larger claimed ratio is a lie (or a bomb).
constexpr std::uint64_t kMaxDeflateRatio = 1032;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string quoted(std::string_view name) {
  std::string s(1, '\'');
  s.append(name).push_back('\'');
  return s;
}

// Bounds-checked little-endian reads that fail with a message instead of returning nullopt.
class Fields {
 public:
  Fields(const ByteReader& reader, const ZipArchive& zip) : reader_(reader), zip_(zip) {}
  std::uint16_t u16(std::uint64_t at) const { return value(reader_.u16(at), at); }
  std::uint32_t u32(std::uint64_t at) const { return value(reader_.u32(at), at); }
  std::uint64_t u64(std::uint64_t at) const { return u32(at) | (std::uint64_t{u32(at + 4)} << 32); }

 private:
  template <typename T>
  T value(std::optional<T> v, std::uint64_t at) const {
    if (!v) throw_invalid(zip_.file(), "zip structure at offset " + std::to_string(at) + " runs past the end of the file (" +
                                           std::to_string(reader_.size()) + " bytes): truncated");
    return *v;
  }
  const ByteReader& reader_;
  const ZipArchive& zip_;
};

// Inflates raw deflate data into exactly `size` bytes; returns an error message or "".
std::string inflate_raw(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  struct Stream {
    z_stream z{};
    bool open = false;
    ~Stream() {
      if (open) inflateEnd(&z);
    }
  } stream;
  if (inflateInit2(&stream.z, -MAX_WBITS) != Z_OK) return "cannot initialise zlib";
  stream.open = true;
  constexpr std::size_t kChunk = 1u << 30;  // z_stream counts are 32-bit
  std::uint8_t spare[1];                    // zlib wants a valid output pointer even for 0 bytes
  std::size_t in_done = 0, out_done = 0;
  for (;;) {
    const std::size_t in_now = std::min(kChunk, in.size() - in_done);
    const std::size_t out_now = std::min(kChunk, out.size() - out_done);
    stream.z.next_in = const_cast<Bytef*>(in.data() + in_done);
    stream.z.avail_in = static_cast<uInt>(in_now);
    stream.z.next_out = out_now ? out.data() + out_done : spare;
    stream.z.avail_out = out_now ? static_cast<uInt>(out_now) : 1u;
    const int rc = inflate(&stream.z, Z_NO_FLUSH);
    in_done += in_now - stream.z.avail_in;
    if (out_now == 0 && stream.z.avail_out == 0)
      return "inflates to more than the " + std::to_string(out.size()) + " bytes the directory declares";
    out_done += out_now ? out_now - stream.z.avail_out : 0;
    if (rc == Z_STREAM_END) {
      if (out_done != out.size())
        return "deflate stream ends after " + std::to_string(out_done) + " of " + std::to_string(out.size()) + " bytes";
      return "";
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && out_done == out.size())
      return "inflates to more than the " + std::to_string(out.size()) + " bytes the directory declares";
    if (rc == Z_BUF_ERROR && in_done == in.size()) return "deflate stream is truncated";
    return std::string("corrupt deflate data (") + (stream.z.msg ? stream.z.msg : "zlib error " + std::to_string(rc)) + ")";
  }
}

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  return static_cast<std::uint32_t>(::crc32_z(0, bytes.data(), bytes.size()));
}

bool ZipArchive::looks_like_zip(std::span<const std::uint8_t> bytes) noexcept {
  const ByteReader reader(bytes);
  const auto magic = reader.u32(0);
  return magic && (*magic == kLocalHeader || *magic == kEndOfDirectory);
}

ZipArchive::ZipArchive(std::span<const std::uint8_t> archive, std::string file)
    : archive_(archive), file_(std::move(file)) {
  read_directory(locate_directory());
}

void ZipArchive::fail(const std::string& message) const { throw_invalid(file_, message); }

ZipArchive::Directory ZipArchive::locate_directory() const {
  const ByteReader reader(archive_);
  const Fields f(reader, *this);
  if (archive_.size() < kEndOfDirectorySize)
    fail("not a zip archive: " + std::to_string(archive_.size()) + " bytes is too short for one (truncated?)");

  // The end-of-central-directory record is the last 22 bytes plus a comment of up to 64 KiB.
  const std::uint64_t last = archive_.size() - kEndOfDirectorySize;
  const std::uint64_t first = last > 0xffff ? last - 0xffff : 0;
  std::uint64_t eocd = std::numeric_limits<std::uint64_t>::max();
  for (std::uint64_t at = last + 1; at-- > first;) {
    if (f.u32(at) == kEndOfDirectory && at + kEndOfDirectorySize + f.u16(at + 20) <= archive_.size()) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::numeric_limits<std::uint64_t>::max())
    fail("not a zip archive, or a truncated one: no end-of-central-directory record in the last " +
         std::to_string(archive_.size() - first) + " bytes");

  if (f.u16(eocd + 4) != 0 || f.u16(eocd + 6) != 0) fail("multi-disk (split) zip archives are not supported");
  Directory dir{f.u16(eocd + 10), f.u32(eocd + 12), f.u32(eocd + 16), eocd};

  // ZIP64: a locator just before the record points to the 64-bit end-of-directory record.
  if (eocd >= kZip64LocatorSize && f.u32(eocd - kZip64LocatorSize) == kZip64Locator) {
    const std::uint64_t locator = eocd - kZip64LocatorSize;
    const std::uint64_t record = f.u64(locator + 8);
    if (record > locator || locator - record < kZip64EndOfDirectorySize)
      fail("ZIP64 end-of-directory record offset " + std::to_string(record) + " is outside the file");
    if (f.u32(record) != kZip64EndOfDirectory)
      fail("no ZIP64 end-of-directory record at offset " + std::to_string(record) + " (bad signature " + hex(f.u32(record)) + ")");
    if (f.u32(record + 16) != 0 || f.u32(record + 20) != 0) fail("multi-disk (split) zip archives are not supported");
    dir = Directory{f.u64(record + 32), f.u64(record + 40), f.u64(record + 48), record};
  }

  if (dir.offset > dir.end || dir.size > dir.end - dir.offset) {
    fail("zip central directory (offset " + std::to_string(dir.offset) + ", " + std::to_string(dir.size) +
         " bytes) lies outside the file (its end record is at offset " + std::to_string(dir.end) + "): truncated or corrupt");
  }
  if (dir.entries > dir.size / kCentralHeaderSize)
    fail("zip central directory claims " + std::to_string(dir.entries) + " entries in " + std::to_string(dir.size) + " bytes");
  return dir;
}

void ZipArchive::read_directory(const Directory& dir) {
  // Only the directory's own bytes are visible while parsing it.
  const ByteReader reader(archive_.subspan(static_cast<std::size_t>(dir.offset), static_cast<std::size_t>(dir.size)));
  const Fields f(reader, *this);
  std::uint64_t at = 0;
  entries_.reserve(static_cast<std::size_t>(dir.entries));
  for (std::uint64_t i = 0; i < dir.entries; ++i) {
    const std::string where = "zip central directory entry " + std::to_string(i) + " (offset " + std::to_string(dir.offset + at) + ")";
    if (f.u32(at) != kCentralHeader) fail(where + ": bad signature " + hex(f.u32(at)));
    const std::uint16_t flags = f.u16(at + 8);
    ZipEntry e;
    e.method = f.u16(at + 10);
    e.crc32 = f.u32(at + 16);
    e.compressed_size = f.u32(at + 20);
    e.size = f.u32(at + 24);
    const std::uint16_t name_length = f.u16(at + 28), extra_length = f.u16(at + 30), comment_length = f.u16(at + 32);
    const std::uint16_t disk = f.u16(at + 34);
    e.local_header_offset = f.u32(at + 42);
    const std::uint64_t name_at = at + kCentralHeaderSize, extra_at = name_at + name_length;
    if (!reader.has(name_at, std::uint64_t{name_length} + extra_length + comment_length))
      fail(where + ": name, extra field and comment run past the central directory");
    const auto name = reader.slice(name_at, name_length);
    e.name.assign(name.begin(), name.end());

    // ZIP64 extended information: 64-bit values for the fields saturated at 0xffffffff, in order.
    std::uint64_t x = extra_at;
    while (x + 4 <= extra_at + extra_length) {
      const std::uint16_t id = f.u16(x), length = f.u16(x + 2);
      if (x + 4 + length > extra_at + extra_length) fail(where + " " + quoted(e.name) + ": extra field runs past its end");
      if (id == kZip64ExtraId) {
        std::uint64_t p = x + 4;
        const auto take = [&](std::uint64_t& field) {
          if (p + 8 > x + 4 + length) fail(where + " " + quoted(e.name) + ": ZIP64 extra field is too short");
          field = f.u64(p);
          p += 8;
        };
        if (e.size == 0xffffffffu) take(e.size);
        if (e.compressed_size == 0xffffffffu) take(e.compressed_size);
        if (e.local_header_offset == 0xffffffffu) take(e.local_header_offset);
      }
      x += 4 + length;
    }
    at = extra_at + extra_length + comment_length;

    if (flags & 0x1) fail("zip entry " + quoted(e.name) + " is encrypted; encrypted archives are not supported");
    if (disk != 0 && disk != 0xffff) fail("zip entry " + quoted(e.name) + " is on another disk; split archives are not supported");
    if (e.method != 0 && e.method != 8)
      fail("zip entry " + quoted(e.name) + " uses compression method " + std::to_string(e.method) + " (only stored and deflate are supported)");
    if (by_name_.contains(e.name)) fail("zip entry " + quoted(e.name) + " appears twice in the central directory");
    by_name_.emplace(e.name, entries_.size());
    entries_.push_back(std::move(e));
  }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  const auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::uint64_t ZipArchive::data_offset(const ZipEntry& e) const {
  const ByteReader reader(archive_);
  const Fields f(reader, *this);
  const std::string what = "zip entry " + quoted(e.name);
  const std::uint64_t at = e.local_header_offset;
  if (!reader.has(at, kLocalHeaderSize))
    fail(what + ": local header offset " + std::to_string(at) + " is outside the file (" + std::to_string(archive_.size()) + " bytes)");
  if (f.u32(at) != kLocalHeader) fail(what + ": no local header at offset " + std::to_string(at) + " (bad signature " + hex(f.u32(at)) + ")");
  const std::uint16_t name_length = f.u16(at + 26), extra_length = f.u16(at + 28);
  const auto local_name = reader.slice(at + kLocalHeaderSize, name_length);
  if (local_name.size() != name_length || !std::equal(local_name.begin(), local_name.end(), e.name.begin(), e.name.end()))
    fail(what + ": the local header at offset " + std::to_string(at) + " names a different entry");
  const std::uint64_t data = at + kLocalHeaderSize + name_length + extra_length;
  if (!reader.has(data, e.compressed_size))
    fail(what + ": its " + std::to_string(e.compressed_size) + " bytes of data at offset " + std::to_string(data) +
         " run past the end of the file (" + std::to_string(archive_.size()) + " bytes): truncated");
  return data;
}

ZipEntryData ZipArchive::read(const ZipEntry& e) const {
  const std::string what = "zip entry " + quoted(e.name);
  const auto raw = archive_.subspan(static_cast<std::size_t>(data_offset(e)), static_cast<std::size_t>(e.compressed_size));
  ZipEntryData data;
  if (e.method == 0) {
    if (e.size != e.compressed_size)
      fail(what + ": stored entry with different sizes (" + std::to_string(e.compressed_size) + " and " + std::to_string(e.size) + ")");
    data = ZipEntryData(raw);
  } else {
    if (e.size > (e.compressed_size + 1) * kMaxDeflateRatio)
      fail(what + ": claims " + std::to_string(e.size) + " bytes from " + std::to_string(e.compressed_size) +
           " compressed bytes, more than deflate can produce");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(e.size));
    if (const std::string error = inflate_raw(raw, out); !error.empty()) fail(what + ": " + error);
    data = ZipEntryData(std::move(out));
  }
  if (const std::uint32_t crc = crc32(data.bytes()); crc != e.crc32)
    fail(what + ": CRC-32 mismatch (directory says " + hex(e.crc32) + ", data has " + hex(crc) + "): corrupt");
  return data;
}

}  // namespace safescan::io
