// read_file_bytes() and load_image(): reading a file with precise error codes.
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safescan/image.hpp"

namespace safescan {

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(ErrorCode code, const std::string& message, const std::filesystem::path& path) {
  throw Error(code, message, path.string());
}

[[noreturn]] void fail_open(int error, const std::filesystem::path& path) {
  struct stat link {};
  if (error == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(path, ec);
    fail(ErrorCode::unreadable, "dangling symbolic link (its target " + (ec ? std::string("?") : target.string()) +
                                    " does not exist)", path);
  }
  switch (error) {
    case ENOENT: fail(ErrorCode::unreadable, "no such file", path);
    case EACCES:
    case EPERM: fail(ErrorCode::unreadable, "permission denied", path);
    default: fail(ErrorCode::unreadable, std::string("cannot open: ") + std::strerror(error), path);
  }
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) fail_open(errno, path);

  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail(ErrorCode::unreadable, std::string("cannot stat: ") + std::strerror(errno), path);
  if (S_ISDIR(info.st_mode)) fail(ErrorCode::unreadable, "is a directory, not a file", path);
  if (!S_ISREG(info.st_mode)) fail(ErrorCode::unreadable, "not a regular file (device, FIFO or socket)", path);
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size == 0) fail(ErrorCode::empty, "file is empty (0 bytes)", path);
  if (max_bytes != 0 && size > max_bytes) {
    fail(ErrorCode::too_large,
         "file is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(max_bytes) +
             " bytes (DecodeOptions::max_file_bytes)",
         path);
  }

  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(ErrorCode::unreadable, std::string("read failed: ") + std::strerror(errno), path);
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  if (bytes.empty()) fail(ErrorCode::empty, "file is empty (0 bytes)", path);
  return bytes;
}

Image load_image(const std::filesystem::path& path, const DecodeOptions& options) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path, options.max_file_bytes);
  return decode_image(bytes, options, path.string());
}

}  // namespace safescan
