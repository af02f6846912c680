// Reading entries of a ZIP archive held in memory: the central directory (ZIP64 included),
// stored and deflated entries, every offset and size checked against the file, CRC-32
// verified. Enough for PyTorch archives (torch.save, torch.jit.save) and other model zips;
// encrypted, multi-disk and other compression methods are refused with a clear error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace safescan::io {

std::uint32_t crc32(std::span<const std::uint8_t> bytes);

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;  // uncompressed
  std::uint64_t local_header_offset = 0;
};

// The contents of one entry: a view into the archive for stored entries, an owned buffer for
// inflated ones. bytes() stays valid while the object (and the archive's memory) lives.
class ZipEntryData {
 public:
  ZipEntryData() = default;
  explicit ZipEntryData(std::span<const std::uint8_t> view) : view_(view) {}
  explicit ZipEntryData(std::vector<std::uint8_t> owned) : owned_(std::move(owned)), view_(owned_) {}
  ZipEntryData(ZipEntryData&& other) noexcept = default;  // moving a vector keeps its buffer
  ZipEntryData& operator=(ZipEntryData&& other) noexcept = default;
  ZipEntryData(const ZipEntryData&) = delete;
  ZipEntryData& operator=(const ZipEntryData&) = delete;

  std::span<const std::uint8_t> bytes() const noexcept { return view_; }

 private:
  std::vector<std::uint8_t> owned_;
  std::span<const std::uint8_t> view_;
};

class ZipArchive {
 public:
  // True when `bytes` start like a ZIP file (a local file header or an empty archive).
  static bool looks_like_zip(std::span<const std::uint8_t> bytes) noexcept;

  // Parses the central directory of `archive`, which must outlive this object. Errors are
  // Error(model_invalid) about `file`, saying what is wrong and at which offset or entry.
  ZipArchive(std::span<const std::uint8_t> archive, std::string file);

  const std::vector<ZipEntry>& entries() const noexcept { return entries_; }
  // The entry of that exact name, or nullptr.
  const ZipEntry* find(std::string_view name) const;
  // The entry's contents, CRC-checked.
  ZipEntryData read(const ZipEntry& entry) const;

  const std::string& file() const noexcept { return file_; }

 private:
  struct Directory {
    std::uint64_t entries = 0, size = 0, offset = 0, end = 0;  // end: where the directory must stop
  };
  Directory locate_directory() const;
  void read_directory(const Directory& directory);
  std::uint64_t data_offset(const ZipEntry& entry) const;
  [[noreturn]] void fail(const std::string& message) const;

  std::span<const std::uint8_t> archive_;
  std::string file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> by_name_;  // name -> index in entries_
};

}  // namespace safescan::io
