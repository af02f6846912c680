// rewrite_tar: a tar shard copied member by member with libarchive, regular files kept,
// replaced or dropped on the way (tar_writer.hpp).
#include "dataset/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <memory>

namespace safescan::detail {

namespace {

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string error_string(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::string_view x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

class Writer {
 public:
  Writer(const std::filesystem::path& dst) : file_(dst.string()), a_(archive_write_new()) {
    if (!a_) throw Error(ErrorCode::internal, "cannot allocate a libarchive writer", file_);
    archive_write_set_format_pax_restricted(a_.get());
    int rc = ARCHIVE_OK;
    switch (tar_compression_for(dst)) {
      case TarCompression::gzip:
        rc = archive_write_add_filter_gzip(a_.get());
        break;
      case TarCompression::bzip2:
        rc = archive_write_add_filter_bzip2(a_.get());
        break;
      case TarCompression::xz:
        rc = archive_write_add_filter_xz(a_.get());
        break;
      case TarCompression::zstd:
        rc = archive_write_add_filter_zstd(a_.get());
        break;
      case TarCompression::none:
        break;
    }
    if (rc != ARCHIVE_OK) fail("cannot set the compression");
    if (archive_write_open_filename(a_.get(), file_.c_str()) != ARCHIVE_OK) fail("cannot create the tar shard");
  }

  void add(archive_entry* entry, const std::vector<std::uint8_t>* data) {
    const int rc = archive_write_header(a_.get(), entry);
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail("cannot write a member header");
    if (data && !data->empty() &&
        archive_write_data(a_.get(), data->data(), data->size()) != static_cast<la_ssize_t>(data->size()))
      fail("cannot write member data");
    if (archive_write_finish_entry(a_.get()) < ARCHIVE_WARN) fail("cannot finish a member");
  }

  void close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("cannot finish the tar shard");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw Error(ErrorCode::unreadable, what + ": " + error_string(a_.get()), file_);
  }
  std::string file_;
  std::unique_ptr<archive, WriteDeleter> a_;
};

}  // namespace

TarCompression tar_compression_for(const std::filesystem::path& file) {
  std::string name = file.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ends_with(name, ".gz") || ends_with(name, ".tgz")) return TarCompression::gzip;
  if (ends_with(name, ".bz2") || ends_with(name, ".tbz2") || ends_with(name, ".tbz")) return TarCompression::bzip2;
  if (ends_with(name, ".xz") || ends_with(name, ".txz")) return TarCompression::xz;
  if (ends_with(name, ".zst") || ends_with(name, ".tzst")) return TarCompression::zstd;
  return TarCompression::none;
}

std::optional<Error> rewrite_tar(const std::filesystem::path& src, const std::filesystem::path& dst,
                                 const TarRewriteHooks& hooks) {
  const std::string where = src.string();
  if (!std::ifstream(src, std::ios::binary)) return Error(ErrorCode::unreadable, "cannot open the tar shard", where);
  std::unique_ptr<archive, ReadDeleter> r(archive_read_new());
  if (!r) throw Error(ErrorCode::internal, "cannot allocate a libarchive reader", where);
  archive_read_support_filter_gzip(r.get());
  archive_read_support_filter_bzip2(r.get());
  archive_read_support_filter_xz(r.get());
  archive_read_support_filter_zstd(r.get());
  archive_read_support_format_tar(r.get());
  if (archive_read_open_filename(r.get(), where.c_str(), 1 << 16) != ARCHIVE_OK)
    return Error(ErrorCode::corrupt, "not a readable tar archive: " + error_string(r.get()), where);

  Writer w(dst);
  std::optional<Error> damage;
  std::string last = "the start";
  std::vector<std::uint8_t> data;
  std::uint8_t buffer[1 << 16];
  for (;;) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(r.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      damage.emplace(ErrorCode::corrupt, "damaged tar shard after " + last + ": " + error_string(r.get()), where);
      break;
    }
    const char* path = archive_entry_pathname(entry);
    const std::string name = path ? path : "";
    const bool regular = archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry);
    if (!regular) {
      w.add(entry, nullptr);
      last = "'" + name + "'";
      continue;
    }
    data.clear();
    bool read_ok = true;
    for (;;) {
      const la_ssize_t n = archive_read_data(r.get(), buffer, sizeof buffer);
      if (n < 0) {
        read_ok = false;
        break;
      }
      if (n == 0) break;
      data.insert(data.end(), buffer, buffer + n);
    }
    if (!read_ok ||
        (archive_entry_size_is_set(entry) && static_cast<la_int64_t>(data.size()) != archive_entry_size(entry))) {
      damage.emplace(ErrorCode::corrupt,
                     "damaged tar shard: member '" + name + "' cannot be read whole: " + error_string(r.get()), where);
      break;
    }
    last = "'" + name + "'";
    if (!hooks.wants || !hooks.wants(name)) {
      w.add(entry, &data);
      continue;
    }
    TarMemberEdit e = hooks.edit(name, data);
    if (e.action == TarMemberEdit::Action::drop) continue;
    if (e.action == TarMemberEdit::Action::keep) {
      w.add(entry, &data);
      continue;
    }
    std::unique_ptr<archive_entry, EntryDeleter> copy(archive_entry_clone(entry));
    if (!e.name.empty()) archive_entry_copy_pathname(copy.get(), e.name.c_str());
    archive_entry_set_size(copy.get(), static_cast<la_int64_t>(e.bytes.size()));
    w.add(copy.get(), &e.bytes);
  }
  w.close();
  return damage;
}

}  // namespace safescan::detail
