// NumPy .npy: "\x93NUMPY", version (1.0, 2.0 or 3.0), header length (u16 for 1.0, u32 after),
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
// padded with spaces and a newline, then the raw elements.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>

#include "io/invalid.hpp"
#include "io/mapped_file.hpp"
#include "io/numpy_dtype.hpp"
#include "io/strided_view.hpp"
#include "io/tensor_file.hpp"
#include "safescan/tensors.hpp"

namespace safescan::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<std::int64_t>> shape;
};

// A recursive-descent reader of the one dict literal np.save writes (never evaluated).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  Header parse() {
    Header h;
    expect('{');
    while (!accept('}')) {
      const std::string key = string();
      expect(':');
      if (key == "descr") {
        if (peek() == '[') fail("structured dtypes (a list of fields) are not supported");
        h.descr = string();
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
      } else if (key == "shape") {
        h.shape = tuple();
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw_invalid(file_, "npy header " + std::string(text_) + ": " + message);
  }
  char peek() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "' at character " + std::to_string(pos_));
  }
  std::string string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string at character " + std::to_string(pos_));
    const auto end = text_.find(quote, ++pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    peek();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("expected True or False at character " + std::to_string(pos_));
  }
  std::vector<std::int64_t> tuple() {
    std::vector<std::int64_t> values;
    expect('(');
    while (!accept(')')) {
      peek();
      std::int64_t v = 0;
      std::size_t digits = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text_[pos_] - '0', &v)) fail("dimension too large");
        ++pos_;
        ++digits;
      }
      if (digits == 0) fail("expected a non-negative integer dimension at character " + std::to_string(pos_));
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long
      values.push_back(v);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return values;
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t pos_ = 0;
};

std::string shape_tuple(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

NpyHeader parse_npy_header(std::span<const std::uint8_t> bytes, std::uint64_t file_size, const std::string& file) {
  if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
    throw_invalid(file, "not a NumPy .npy file (bad magic: expected \\x93NUMPY)");
  const int major = bytes[6], minor = bytes[7];
  std::size_t header_at = 10;
  std::uint64_t header_size = bytes[8] | (std::uint32_t{bytes[9]} << 8);
  if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw_invalid(file, "npy file truncated inside its header length");
    header_at = 12;
    header_size |= (std::uint64_t{bytes[10]} << 16) | (std::uint64_t{bytes[11]} << 24);
  } else if (major != 1) {
    throw_invalid(file, "npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                            " is not supported (1.0, 2.0 and 3.0 are)");
  }
  if (header_size > bytes.size() - header_at)
    throw_invalid(file, "npy header of " + std::to_string(header_size) + " bytes runs past the end of the file (truncated)");

  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + header_at), static_cast<std::size_t>(header_size));
  const Header header = HeaderParser(text, file).parse();
  if (!header.descr || !header.fortran_order || !header.shape)
    throw_invalid(file, "npy header " + std::string(text) + " lacks 'descr', 'fortran_order' or 'shape'");
  NpyHeader h;
  h.descr = *header.descr;
  h.dtype = parse_numpy_descr(h.descr, file);
  h.fortran_order = *header.fortran_order;
  h.shape = *header.shape;
  h.data_offset = header_at + header_size;
  const auto needed = checked_nbytes(h.shape, h.dtype);
  const std::uint64_t present = file_size - std::min(file_size, h.data_offset);
  if (!needed || *needed != present) {
    throw_invalid(file, std::string(needed && present > *needed ? "npy data is longer than its header says: "
                                                                 : "npy data is truncated: ") +
                            std::to_string(present) + " bytes, but shape " + shape_tuple(h.shape) + " of '" + h.descr +
                            "' needs " + (needed ? std::to_string(*needed) : "too many"));
  }
  return h;
}

NpyHeader read_npy_header(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorCode::unreadable, "is a directory, not an .npy file", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::unreadable, "cannot open the file", path.string());
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorCode::unreadable, "cannot read the file's size: " + ec.message(), path.string());
  // The magic, the length, then the header itself (np.save keeps it small; 1 MiB at most here).
  std::vector<std::uint8_t> head(12);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::uint64_t header_size = 0;
  if (head.size() >= 10) header_size = head[8] | (std::uint32_t{head[9]} << 8);
  if (head.size() >= 12 && (head[6] == 2 || head[6] == 3))
    header_size |= (std::uint64_t{head[10]} << 16) | (std::uint64_t{head[11]} << 24);
  if (header_size > (1u << 20)) throw_invalid(path.string(), "npy header of " + std::to_string(header_size) + " bytes (at most 1 MiB)");
  const std::size_t want = 12 + static_cast<std::size_t>(header_size);
  if (head.size() == 12) {
    head.resize(want);
    in.read(reinterpret_cast<char*>(head.data()) + 12, static_cast<std::streamsize>(want - 12));
    head.resize(12 + static_cast<std::size_t>(in.gcount()));
  }
  return parse_npy_header(head, size, path.string());
}

RawTensor read_npy(const std::filesystem::path& path) {
  const MappedFile file(path);
  const auto bytes = file.bytes();
  const NpyHeader h = parse_npy_header(bytes, bytes.size(), file.name());
  StridedView view;
  view.dtype = h.dtype;
  view.shape = h.shape;
  view.strides = h.fortran_order ? column_major_strides(view.shape) : row_major_strides(view.shape);
  const auto data = bytes.subspan(static_cast<std::size_t>(h.data_offset));
  return materialize(view, data, data.size(), file.name(), "npy array");
}

void write_npy_f32(const std::filesystem::path& file, const std::vector<std::int64_t>& shape, const float* data) {
  const auto numel = checked_numel(shape);
  if (!numel) throw Error(ErrorCode::invalid_argument, "cannot write an array of shape " + shape_tuple(shape), file.string());

  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Pad with spaces and end with '\n' so that the data starts on a 64-byte boundary.
  const std::size_t unpadded = kMagicSize + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 0xffff) throw Error(ErrorCode::invalid_argument, "shape too long for an npy 1.0 header", file.string());

  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::invalid_argument, "cannot create the file", file.string());
  out.write(kMagic, kMagicSize);
  const char version_and_length[4] = {1, 0, static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(version_and_length, 4);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(*numel * sizeof(float)));
  out.close();
  if (!out) throw Error(ErrorCode::invalid_argument, "write failed (disk full?)", file.string());
}

}  // namespace safescan::io

namespace safescan {

void write_npy_f32(const std::filesystem::path& file, const std::vector<std::int64_t>& shape, const float* data) {
  io::write_npy_f32(file, shape, data);
}

}  // namespace safescan
