// A whole file mapped read-only into memory (RAII), so that multi-gigabyte checkpoints are
// parsed in place instead of copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace safescan::io {

class MappedFile {
 public:
  // Throws Error: model_missing when the file does not exist or cannot be opened (also for
  // directories and other non-regular files), model_invalid when it is empty.
  explicit MappedFile(const std::filesystem::path& file);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::uint8_t> bytes() const noexcept { return {static_cast<const std::uint8_t*>(data_), size_}; }
  // The path as given, for error messages.
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace safescan::io
