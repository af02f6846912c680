#include "io/mapped_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/invalid.hpp"

namespace safescan::io {

namespace {

[[noreturn]] void throw_missing(const std::string& file, const std::string& message) {
  throw Error(ErrorCode::model_missing, message, file);
}

class Descriptor {
 public:
  explicit Descriptor(int fd) noexcept : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& file) : name_(file.string()) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  const Descriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) throw_missing(name_, "no such file");
    throw_missing(name_, std::string("cannot open: ") + std::strerror(error));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw_missing(name_, std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) throw_missing(name_, "is a directory, not a file");
  if (!S_ISREG(info.st_mode)) throw_missing(name_, "not a regular file (device, FIFO or socket)");
  if (info.st_size == 0) throw_invalid(name_, "file is empty (0 bytes)");

  size_ = static_cast<std::size_t>(info.st_size);
  data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (data_ == MAP_FAILED) {
    data_ = nullptr;
    throw_missing(name_, std::string("cannot map into memory: ") + std::strerror(errno));
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

}  // namespace safescan::io
