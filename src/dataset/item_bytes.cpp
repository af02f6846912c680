// read_item_bytes: a file, or one member of a tar shard (libarchive, read sequentially).
#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "safescan/error.hpp"
#include "safescan/item_bytes.hpp"

namespace safescan {

std::vector<std::uint8_t> read_item_bytes(std::string_view path, std::string_view member, std::uint64_t max_bytes) {
  const std::string file(path);
  if (member.empty()) return read_file_bytes(file, max_bytes);
  const std::string where = file + ":" + std::string(member);
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) throw Error(ErrorCode::internal, "cannot allocate a libarchive reader", where);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(ErrorCode::unreadable, std::string("cannot read the tar shard: ") + archive_error_string(a.get()), file);
  archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      throw Error(ErrorCode::corrupt, std::string("damaged tar shard: ") + archive_error_string(a.get()), where);
    const char* name = archive_entry_pathname(entry);
    if (!name || member != name) continue;
    const la_int64_t size = archive_entry_size(entry);
    if (size < 0 || static_cast<std::uint64_t>(size) > max_bytes)
      throw Error(ErrorCode::too_large, "tar member is larger than the limit", where);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (size > 0 && archive_read_data(a.get(), bytes.data(), bytes.size()) != size)
      throw Error(ErrorCode::corrupt, "tar member is truncated", where);
    return bytes;
  }
  throw Error(ErrorCode::unreadable, "no such member in the tar shard", where);
}

}  // namespace safescan
