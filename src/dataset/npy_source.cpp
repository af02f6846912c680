// Precomputed embeddings as a source: an N x D float .npy read a slice of rows at a time
// (seeking, never loading the file), keys from "<file>.npy.keys.txt".
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <spdlog/spdlog.h>

#include "dataset/source_readers.hpp"
#include "io/numpy_dtype.hpp"
#include "io/tensor_file.hpp"

namespace safescan::detail {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void corrupt(const fs::path& file, const std::string& what) {
  throw Error(ErrorCode::corrupt, "not a valid .npy of embeddings: " + what, file.string());
}

// --- keys: a sparse index of line offsets, built once per file and process ---

constexpr std::uint64_t kKeyStride = 4096;

struct KeyIndex {
  std::uint64_t lines = 0;
  std::vector<std::uint64_t> offsets;  // byte offset of line k * kKeyStride
};

std::optional<KeyIndex> build_key_index(const fs::path& keys_file) {
  std::ifstream in(keys_file, std::ios::binary);
  if (!in) return std::nullopt;
  KeyIndex index;
  index.offsets.push_back(0);
  std::uint64_t offset = 0;
  bool at_line_start = true;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < n; ++i) {
      if (at_line_start) {
        if (index.lines > 0 && index.lines % kKeyStride == 0) index.offsets.push_back(offset + i);
        at_line_start = false;
      }
      if (buffer[i] == '\n') {
        ++index.lines;
        at_line_start = true;
      }
    }
    offset += n;
  }
  if (!at_line_start) ++index.lines;  // a last line without '\n'
  if (in.bad()) return std::nullopt;
  return index;
}

// Indexes stay cached per (path, size, mtime); a few files at a time.
std::shared_ptr<const KeyIndex> key_index(const fs::path& keys_file) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const KeyIndex>> cache;
  std::error_code ec;
  const auto size = fs::file_size(keys_file, ec);
  if (ec) return nullptr;
  const auto mtime = fs::last_write_time(keys_file, ec).time_since_epoch().count();
  const std::string id = keys_file.string() + '\0' + std::to_string(size) + '\0' + std::to_string(mtime);
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(id); it != cache.end()) return it->second;
  }
  auto built = build_key_index(keys_file);
  if (!built) return nullptr;
  auto index = std::make_shared<const KeyIndex>(std::move(*built));
  std::lock_guard lock(mutex);
  if (cache.size() >= 16) cache.erase(cache.begin());
  cache.emplace(id, index);
  return index;
}

// Lines [first, first + count) of the keys file; fewer when it ends early.
std::vector<std::string> read_keys(const fs::path& keys_file, const KeyIndex& index, std::uint64_t first,
                                   std::uint64_t count) {
  std::vector<std::string> keys;
  std::ifstream in(keys_file, std::ios::binary);
  const std::uint64_t block = first / kKeyStride;
  if (!in || block >= index.offsets.size()) return keys;
  in.seekg(static_cast<std::streamoff>(index.offsets[block]));
  std::string line;
  for (std::uint64_t skip = first - block * kKeyStride; skip > 0 && std::getline(in, line); --skip) {
  }
  keys.reserve(static_cast<std::size_t>(count));
  while (keys.size() < count && std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    keys.push_back(line);
  }
  return keys;
}

float to_float(const char* p, int element_size) {
  if (element_size == 4) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (element_size == 2) {
    std::uint16_t h;
    std::memcpy(&h, p, 2);
    return io::half_to_float(h);
  }
  double d;
  std::memcpy(&d, p, 8);
  return static_cast<float>(d);
}

}  // namespace

fs::path keys_file_for(const fs::path& npy_file) { return fs::path(npy_file.string() + ".keys.txt"); }

std::optional<std::uint64_t> count_key_lines(const fs::path& keys_file) {
  std::error_code ec;
  if (!fs::is_regular_file(keys_file, ec)) return std::nullopt;
  const auto index = key_index(keys_file);
  if (!index) return std::nullopt;
  return index->lines;
}

NpyLayout read_npy_layout(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(ErrorCode::unreadable, "embeddings file not found", file.string());
  if (fs::is_directory(file, ec)) throw Error(ErrorCode::unreadable, "embeddings file is a directory", file.string());
  io::NpyHeader header;
  try {
    header = io::read_npy_header(file);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::model_invalid) throw;
    // "model_invalid" is the tensor readers' word for a damaged file; as a source it is corrupt data.
    if (e.message().find("is not supported") != std::string::npos || e.message().find("dtype") != std::string::npos)
      throw Error(ErrorCode::unsupported, e.message(), file.string());
    corrupt(file, e.message());
  }
  const std::string& descr = header.descr;
  NpyLayout layout;
  layout.fortran_order = header.fortran_order;
  const auto& shape = header.shape;
  switch (header.dtype) {
    case io::DType::f32: layout.element_size = 4; break;
    case io::DType::f16: layout.element_size = 2; break;
    case io::DType::f64: layout.element_size = 8; break;
    default:
      throw Error(ErrorCode::unsupported, "embeddings must be float16, float32 or float64, not '" + descr + "'",
                  file.string());
  }
  if (shape.size() == 1) {
    layout.rows = 1, layout.dim = shape[0];
  } else if (shape.size() == 2) {
    layout.rows = shape[0], layout.dim = shape[1];
  } else {
    throw Error(ErrorCode::unsupported,
                "embeddings must be N x D (or D), not of rank " + std::to_string(shape.size()), file.string());
  }
  if (layout.dim == 0 && layout.rows > 0) corrupt(file, "rows of width 0");
  layout.data_offset = header.data_offset;
  return layout;
}

void read_npy_unit(const WorkUnit& unit, const ItemSink& sink) {
  const std::string abs = absolute_normal(unit.shard);
  auto error_item = [&](const Error& e, std::uint64_t row, bool has_row) {
    SourceItem item;
    item.key = has_row ? std::to_string(row) : unit.source;
    item.source = unit.source;
    item.path = abs;
    item.member = has_row ? std::to_string(row) : std::string();
    item.error = e;
    sink(std::move(item));
  };
  NpyLayout layout;
  try {
    layout = read_npy_layout(unit.shard);
  } catch (const Error& e) {
    return error_item(e, 0, false);
  }
  const std::uint64_t first = unit.first_row;
  const std::uint64_t end = std::min<std::uint64_t>(first + unit.row_count, layout.rows);

  std::vector<std::string> keys;
  const fs::path keys_path = keys_file_for(unit.shard);
  std::error_code ec;
  if (fs::is_regular_file(keys_path, ec) && end > first) {
    if (const auto index = key_index(keys_path); index && index->lines == layout.rows)
      keys = read_keys(keys_path, *index, first, end - first);
  }

  std::ifstream in(unit.shard, std::ios::binary);
  const auto es = static_cast<std::uint64_t>(layout.element_size);
  const std::uint64_t dim = layout.dim;
  constexpr std::uint64_t kBlockRows = 1024;
  std::vector<char> buffer;
  for (std::uint64_t block = first; block < end; block += kBlockRows) {
    const std::uint64_t n = std::min(kBlockRows, end - block);
    buffer.resize(static_cast<std::size_t>(n * dim * es));
    bool ok = static_cast<bool>(in);
    if (!layout.fortran_order) {
      in.seekg(static_cast<std::streamoff>(layout.data_offset + block * dim * es));
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      ok = ok && static_cast<std::uint64_t>(in.gcount()) == buffer.size();
    } else {  // column c of the block: rows [block, block + n) are contiguous; transpose into rows
      std::vector<char> column(static_cast<std::size_t>(n * es));
      for (std::uint64_t c = 0; c < dim && ok; ++c) {
        in.seekg(static_cast<std::streamoff>(layout.data_offset + (c * layout.rows + block) * es));
        in.read(column.data(), static_cast<std::streamsize>(column.size()));
        ok = static_cast<std::uint64_t>(in.gcount()) == column.size();
        for (std::uint64_t r = 0; r < n && ok; ++r)
          std::memcpy(buffer.data() + (r * dim + c) * es, column.data() + r * es, static_cast<std::size_t>(es));
      }
    }
    if (!ok) {
      return error_item(Error(ErrorCode::corrupt, "cannot read rows " + std::to_string(block) + " to " +
                                                      std::to_string(block + n - 1) + " (file shorter than its header says?)",
                              abs),
                        block, true);
    }
    for (std::uint64_t r = 0; r < n; ++r) {
      const std::uint64_t row = block + r;
      SourceItem item;
      item.member = std::to_string(row);
      item.key = row - first < keys.size() ? keys[static_cast<std::size_t>(row - first)] : item.member;
      item.source = unit.source;
      item.path = abs;
      item.embedding.resize(static_cast<std::size_t>(dim));
      const char* p = buffer.data() + r * dim * es;
      for (std::uint64_t c = 0; c < dim; ++c) item.embedding[c] = to_float(p + c * es, layout.element_size);
      if (!sink(std::move(item))) return;
    }
  }
  if (first + unit.row_count > layout.rows) {
    error_item(Error(ErrorCode::corrupt,
                     "the unit asks for rows up to " + std::to_string(first + unit.row_count - 1) + " but the file has " +
                         std::to_string(layout.rows) + " (changed since the scan started?)",
                     abs),
               end, true);
  }
}

}  // namespace safescan::detail
