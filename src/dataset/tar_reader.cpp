// Streaming a WebDataset tar shard with libarchive: consecutive members sharing a key form a
// sample; its image members become items, its other members their metadata.
//
// WebDataset's rule: the key is the member name up to the FIRST dot of its basename, the
// field is the rest ("a/b/000123.seg.png" -> key "a/b/000123", field "seg.png"); a member
// whose basename has no dot or starts with one is skipped. A field already present in the
// current sample starts a new sample (as webdataset's group_by_keys does). A field is an image
// when its last extension is an image one. Everything else (txt, json, cls ...) goes into the
// sample's meta_json when it is UTF-8 text of at most kMaxMetaBytes (fields ending in "json"
// parsed when they parse); binary fields are skipped.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <system_error>

#include "dataset/source_readers.hpp"
#include "safescan/image.hpp"

namespace safescan::detail {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::int64_t kMaxImageBytes = std::int64_t{512} << 20;  // larger members become too_large items
constexpr std::int64_t kMaxMetaBytes = std::int64_t{1} << 20;     // larger metadata fields are skipped

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

// A member's key and field by WebDataset's rule; false when the member has none.
bool split_member(std::string_view name, std::string& key, std::string& field) {
  const auto slash = name.rfind('/');
  const std::size_t base_at = slash == std::string_view::npos ? 0 : slash + 1;
  const auto dot = name.find('.', base_at);
  if (dot == std::string_view::npos || dot == base_at || dot + 1 == name.size()) return false;
  key.assign(name.substr(0, dot));
  field.assign(name.substr(dot + 1));
  std::transform(field.begin(), field.end(), field.begin(), [](unsigned char c) { return std::tolower(c); });
  return true;
}

struct Member {
  std::string name;
  std::string field;
  std::vector<std::uint8_t> bytes;
  std::optional<Error> error;
};

struct Sample {
  std::string key;
  std::vector<Member> images;
  json meta = json::object();
  std::vector<std::string> fields;

  bool has(const std::string& field) const { return std::find(fields.begin(), fields.end(), field) != fields.end(); }
};

class ShardReader {
 public:
  ShardReader(const WorkUnit& unit, const ItemSink& sink)
      : unit_(unit), sink_(sink), shard_(absolute_normal(unit.shard)) {}

  void run() {
    std::error_code ec;
    const auto st = fs::status(unit_.shard, ec);
    if (ec || !fs::exists(st)) return fail(ErrorCode::unreadable, "tar shard not found" + why(ec));
    if (fs::is_directory(st)) return fail(ErrorCode::unreadable, "tar shard is a directory");
    if (fs::is_regular_file(st) && fs::file_size(unit_.shard, ec) == 0 && !ec)
      return fail(ErrorCode::empty, "tar shard is empty (0 bytes)");

    ArchivePtr a(archive_read_new());
    if (!a) return fail(ErrorCode::internal, "cannot allocate a libarchive reader");
    // gzip/bzip2/xz/zstd shards (.tar.gz, .tgz ...) are decompressed on the fly.
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_bzip2(a.get());
    archive_read_support_filter_xz(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_format_tar(a.get());
    if (!std::ifstream(unit_.shard, std::ios::binary))
      return fail(ErrorCode::unreadable, "cannot open the tar shard: " + std::generic_category().message(errno));
    // The file opens, so a failure here is libarchive finding no tar (or compressed tar) in it.
    if (archive_read_open_filename(a.get(), unit_.shard.c_str(), 1 << 16) != ARCHIVE_OK)
      return fail(ErrorCode::corrupt, "not a readable tar archive (at byte 0): " + error_string(a.get()));
    read_members(a.get());
  }

 private:
  static std::string error_string(archive* a) {
    const char* s = archive_error_string(a);
    return s ? s : "unknown libarchive error";
  }
  static std::string why(const std::error_code& ec) { return ec ? " (" + ec.message() + ")" : ""; }

  // The one error item that ends a shard; `key` / `member` name the damaged member when known.
  void fail(ErrorCode code, const std::string& message, const std::string& key = {}, const std::string& member = {}) {
    if (stopped_) return;
    SourceItem item;
    item.key = key.empty() ? unit_.source : key;
    item.source = unit_.source;
    item.path = shard_;
    item.member = member;
    item.error.emplace(code, message, shard_);
    emit(std::move(item));
  }

  void emit(SourceItem&& item) {
    if (!stopped_ && !sink_(std::move(item))) stopped_ = true;
  }

  void flush() {
    const std::string meta = sample_.meta.empty() ? std::string()
                                                  : sample_.meta.dump(-1, ' ', false, json::error_handler_t::replace);
    for (std::size_t i = 0; i < sample_.images.size() && !stopped_; ++i) {
      Member& m = sample_.images[i];
      SourceItem item;
      item.key = i == 0 ? sample_.key : sample_.key + "." + m.field;
      item.source = unit_.source;
      item.path = shard_;
      item.member = std::move(m.name);
      item.bytes = std::move(m.bytes);
      item.meta_json = meta;
      item.error = std::move(m.error);
      emit(std::move(item));
    }
    sample_ = Sample{};
  }

  // Reads the current member's data into `out` (at most `limit` bytes are expected).
  bool read_data(archive* a, std::int64_t expected, std::vector<std::uint8_t>& out) {
    if (expected > 0) out.reserve(static_cast<std::size_t>(expected));
    std::uint8_t buffer[1 << 16];
    while (true) {
      const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
      if (n < 0) {
        data_error_ = error_string(a);
        return false;
      }
      if (n == 0) break;
      out.insert(out.end(), buffer, buffer + n);
    }
    if (expected >= 0 && static_cast<std::int64_t>(out.size()) != expected) {
      data_error_ = "member data ends after " + std::to_string(out.size()) + " of " + std::to_string(expected) + " bytes";
      return false;
    }
    return true;
  }

  void add_meta(const std::string& name, const std::string& field, std::vector<std::uint8_t>&& bytes) {
    std::string text(bytes.begin(), bytes.end());
    if (!valid_utf8(text) || text.find('\0') != std::string::npos) {
      spdlog::debug("{}: member '{}' is not UTF-8 text; left out of the metadata", shard_, name);
      return;
    }
    const bool is_json = field == "json" || field.ends_with(".json");
    if (is_json) {
      json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) {
        sample_.meta[field] = std::move(parsed);
        return;
      }
    }
    sample_.meta[field] = std::move(text);
  }

  void read_members(archive* a) {
    std::string last_member;  // the last member read whole, for error messages
    std::string key, field;
    while (!stopped_) {
      archive_entry* entry = nullptr;
      const int r = archive_read_next_header(a, &entry);
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_WARN) spdlog::warn("{}: {}", shard_, error_string(a));
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {  // RETRY (a damaged header), FAILED, FATAL
        // libarchive could skip ahead to the next valid header; a damaged shard is reported instead.
        const std::string where = last_member.empty() ? "in the first member header"
                                                      : "in the member header after '" + last_member + "'";
        flush();
        return fail(ErrorCode::corrupt, "truncated or corrupt tar shard: " + where + " (at byte " +
                                            std::to_string(archive_read_header_position(a)) + "): " + error_string(a));
      }
      const char* path = archive_entry_pathname(entry);
      const std::string name = path ? path : "";
      if (archive_entry_filetype(entry) != AE_IFREG) continue;  // directories, links, devices...
      if (!split_member(name, key, field)) {
        spdlog::debug("{}: member '{}' has no WebDataset key.field name; skipped", shard_, name);
        continue;
      }
      if (key != sample_.key || sample_.has(field)) {
        flush();
        sample_.key = key;
      }
      sample_.fields.push_back(field);
      const std::int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
      const bool image = safescan::has_image_extension(field);
      const std::int64_t at = archive_read_header_position(a);
      Member m{name, field, {}, std::nullopt};
      bool ok = true;
      if (size > (image ? kMaxImageBytes : kMaxMetaBytes)) {
        if (image)
          m.error.emplace(ErrorCode::too_large,
                          "tar member '" + name + "' is " + std::to_string(size) + " bytes (limit " +
                              std::to_string(kMaxImageBytes) + ")",
                          shard_);
        else
          spdlog::debug("{}: metadata member '{}' of {} bytes skipped", shard_, name, size);
        ok = archive_read_data_skip(a) == ARCHIVE_OK;
        if (!ok) data_error_ = error_string(a);
      } else {
        ok = read_data(a, size, m.bytes);
      }
      if (!ok) {
        flush();
        return fail(ErrorCode::corrupt,
                    "truncated or corrupt tar shard: member '" + name + "' (header at byte " + std::to_string(at) +
                        ") cannot be read whole: " + data_error_,
                    key, name);
      }
      last_member = name;
      if (image)
        sample_.images.push_back(std::move(m));
      else if (!m.bytes.empty() || size == 0)
        add_meta(name, field, std::move(m.bytes));
    }
    flush();
  }

  const WorkUnit& unit_;
  const ItemSink& sink_;
  const std::string shard_;
  Sample sample_;
  std::string data_error_;
  bool stopped_ = false;
};

}  // namespace

void read_tar_unit(const WorkUnit& unit, const ItemSink& sink) {
  ShardReader reader(unit, sink);
  try {
    reader.run();
  } catch (const std::bad_alloc&) {
    SourceItem item;
    item.key = unit.source;
    item.source = unit.source;
    item.path = absolute_normal(unit.shard);
    item.error.emplace(ErrorCode::too_large, "out of memory while reading the tar shard", item.path);
    sink(std::move(item));
  }
}

}  // namespace safescan::detail
