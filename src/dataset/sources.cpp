// Work units: their ids, their byte encoding (for MPI messages), and reading one unit's items.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "dataset/source_readers.hpp"
#include "safescan/sources.hpp"

namespace safescan {

namespace fs = std::filesystem;

std::string_view to_string(SourceKind kind) noexcept {
  switch (kind) {
    case SourceKind::files: return "files";
    case SourceKind::tar: return "tar";
    case SourceKind::embeddings: return "embeddings";
  }
  return "files";
}

namespace detail {

std::string absolute_normal(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  return abs.lexically_normal().string();
}

}  // namespace detail

std::string WorkUnit::id() const {
  switch (kind) {
    case SourceKind::tar: return "tar:" + detail::absolute_normal(shard);
    case SourceKind::embeddings: return "npy:" + detail::absolute_normal(shard) + ":" + std::to_string(first_row);
    case SourceKind::files: break;
  }
  return "files:" + source + ":" + std::to_string(index);
}

// --- Encoding ---------------------------------------------------------------------------
//
// "SSWU", a version byte (1), then: kind (1 byte), index, first_row, row_count (LEB128
// varints), source and shard (varint length + bytes), the number of files, and per file its
// path, a byte 0/1 for "has an error", and when 1 the error's code (varint), message and where.

namespace {

constexpr std::string_view kMagic = "SSWU";
constexpr std::uint8_t kVersion = 1;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : bytes_(bytes) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_argument, "malformed work unit (" + std::to_string(bytes_.size()) + " bytes): " + what +
                                                 " at byte " + std::to_string(pos_));
  }
  std::uint8_t byte() {
    if (pos_ >= bytes_.size()) fail("unexpected end");
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint too long");
  }
  std::string string() {
    const std::uint64_t n = varint();
    if (n > bytes_.size() - pos_) fail("string of " + std::to_string(n) + " bytes runs past the end");
    std::string s(bytes_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string WorkUnit::serialize() const {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(kind));
  put_varint(out, index);
  put_varint(out, first_row);
  put_varint(out, row_count);
  put_string(out, source);
  put_string(out, shard);
  put_varint(out, files.size());
  for (const auto& f : files) {
    put_string(out, f.path);
    out.push_back(f.error ? 1 : 0);
    if (f.error) {
      put_varint(out, static_cast<std::uint64_t>(f.error->code()));
      put_string(out, f.error->message());
      put_string(out, f.error->where());
    }
  }
  return out;
}

WorkUnit WorkUnit::deserialize(std::string_view bytes) {
  Decoder in(bytes);
  for (char c : kMagic)
    if (in.byte() != static_cast<std::uint8_t>(c)) in.fail("bad magic (expected \"SSWU\")");
  if (const auto version = in.byte(); version != kVersion) in.fail("unknown version " + std::to_string(version));
  WorkUnit unit;
  const auto kind = in.byte();
  if (kind > static_cast<std::uint8_t>(SourceKind::embeddings)) in.fail("unknown kind " + std::to_string(kind));
  unit.kind = static_cast<SourceKind>(kind);
  unit.index = static_cast<std::size_t>(in.varint());
  unit.first_row = static_cast<std::size_t>(in.varint());
  unit.row_count = static_cast<std::size_t>(in.varint());
  unit.source = in.string();
  unit.shard = in.string();
  const std::uint64_t count = in.varint();
  if (count > bytes.size()) in.fail("impossible file count " + std::to_string(count));  // each file takes >= 2 bytes
  unit.files.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    UnitFile f;
    f.path = in.string();
    const auto flag = in.byte();
    if (flag > 1) in.fail("bad error flag " + std::to_string(flag));
    if (flag) {
      const std::uint64_t code = in.varint();
      if (code > static_cast<std::uint64_t>(ErrorCode::internal)) in.fail("unknown error code " + std::to_string(code));
      std::string message = in.string();
      std::string where = in.string();
      f.error.emplace(static_cast<ErrorCode>(code), std::move(message), std::move(where));
    }
    unit.files.push_back(std::move(f));
  }
  if (!in.at_end()) in.fail("trailing bytes");
  return unit;
}

// --- Reading ----------------------------------------------------------------------------

namespace {

// Files are not read here: the caller reads them on its worker threads. An empty
// WorkUnit::source marks a chunk of files named on the command line; each is its own source.
void read_files_unit(const WorkUnit& unit, const detail::ItemSink& sink) {
  for (const auto& f : unit.files) {
    SourceItem item;
    item.key = f.path;
    item.source = unit.source.empty() ? f.path : unit.source;
    item.path = detail::absolute_normal(f.path);
    item.error = f.error;
    if (!sink(std::move(item))) return;
  }
}

}  // namespace

void read_unit(const WorkUnit& unit, const std::function<bool(SourceItem&&)>& sink) {
  switch (unit.kind) {
    case SourceKind::files: return read_files_unit(unit, sink);
    case SourceKind::tar: return detail::read_tar_unit(unit, sink);
    case SourceKind::embeddings: return detail::read_npy_unit(unit, sink);
  }
}

}  // namespace safescan
