// read_safetensors: [u64 little-endian header length N][N bytes of JSON][data].
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]},
// offsets relative to the start of the data; "__metadata__" (free-form strings) is ignored.
#include <algorithm>
#include <array>
#include <cstring>

#include <nlohmann/json.hpp>

#include "io/invalid.hpp"
#include "io/mapped_file.hpp"
#include "io/strided_view.hpp"
#include "io/tensor_file.hpp"

namespace safescan::io {

namespace {

using nlohmann::json;

// The reference implementation refuses headers over 100 MB too.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

constexpr std::array<std::pair<std::string_view, DType>, 10> kDTypes{{
    {"F32", DType::f32},
    {"F16", DType::f16},
    {"BF16", DType::bf16},
    {"F64", DType::f64},
    {"I64", DType::i64},
    {"I32", DType::i32},
    {"I16", DType::i16},
    {"I8", DType::i8},
    {"U8", DType::u8},
    {"BOOL", DType::boolean},
}};

struct Entry {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin, end;
};

Entry parse_entry(const std::string& file, const std::string& name, const json& spec, std::uint64_t data_size) {
  const auto fail = [&](const std::string& message) { throw_invalid(file, "safetensors tensor '" + name + "': " + message); };
  if (!spec.is_object()) fail("its header entry is not a JSON object");
  Entry e{name, DType::f32, {}, 0, 0};

  const auto dtype = spec.find("dtype");
  if (dtype == spec.end() || !dtype->is_string()) fail("no \"dtype\" string");
  const std::string dtype_name = dtype->get<std::string>();
  const auto it = std::find_if(kDTypes.begin(), kDTypes.end(), [&](const auto& p) { return p.first == dtype_name; });
  if (it == kDTypes.end()) fail("dtype '" + dtype_name + "' is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL are)");
  e.dtype = it->second;

  const auto shape = spec.find("shape");
  if (shape == spec.end() || !shape->is_array()) fail("no \"shape\" array");
  for (const auto& d : *shape) {  // (not dumped before it is known to be flat: dump() recurses)
    if (!d.is_number_unsigned()) fail("shape has an entry that is not a non-negative integer");
    if (d.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) fail("a shape entry is too large");
    e.shape.push_back(d.get<std::int64_t>());
  }

  const auto offsets = spec.find("data_offsets");
  if (offsets == spec.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail("no \"data_offsets\" pair of non-negative integers");
  e.begin = (*offsets)[0].get<std::uint64_t>();
  e.end = (*offsets)[1].get<std::uint64_t>();
  const std::string range = "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  if (e.begin > e.end) fail(range + " end before they begin");
  if (e.end > data_size) fail(range + " reach past the " + std::to_string(data_size) + " bytes of data in the file (truncated?)");

  const auto needed = checked_nbytes(e.shape, e.dtype);
  if (!needed) fail("shape " + shape->dump() + " is too large");
  if (e.end - e.begin != *needed)
    fail(range + " hold " + std::to_string(e.end - e.begin) + " bytes, but shape " + shape->dump() + " of " + dtype_name +
         " needs " + std::to_string(*needed));
  return e;
}

// Two tensors may not share bytes.
void check_overlaps(const std::string& file, std::vector<const Entry*> entries) {
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  const Entry* previous = nullptr;
  for (const Entry* e : entries) {
    if (e->begin == e->end) continue;  // empty tensors occupy nothing
    if (previous && e->begin < previous->end) {
      throw_invalid(file, "safetensors tensors '" + previous->name + "' (bytes " + std::to_string(previous->begin) + "-" +
                              std::to_string(previous->end) + ") and '" + e->name + "' (bytes " + std::to_string(e->begin) +
                              "-" + std::to_string(e->end) + ") overlap");
    }
    previous = e;
  }
}

}  // namespace

TensorMap read_safetensors(const std::filesystem::path& path) {
  const MappedFile file(path);
  const auto bytes = file.bytes();
  if (bytes.size() < 8)
    throw_invalid(file.name(), "safetensors file of " + std::to_string(bytes.size()) + " bytes: too short for the 8-byte header length");
  std::uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= std::uint64_t{bytes[static_cast<std::size_t>(i)]} << (8 * i);
  if (header_size > bytes.size() - 8)
    throw_invalid(file.name(), "safetensors header length " + std::to_string(header_size) + " is larger than the rest of the file (" +
                                   std::to_string(bytes.size() - 8) + " bytes): truncated, or not a safetensors file");
  if (header_size > kMaxHeaderBytes)
    throw_invalid(file.name(), "safetensors header of " + std::to_string(header_size) + " bytes is over the 100 MB limit");

  const auto header_bytes = bytes.subspan(8, static_cast<std::size_t>(header_size));
  json header;
  try {
    header = json::parse(header_bytes.begin(), header_bytes.end());
  } catch (const json::exception& e) {
    throw_invalid(file.name(), std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw_invalid(file.name(), "safetensors header is not a JSON object");

  const auto data = bytes.subspan(8 + static_cast<std::size_t>(header_size));
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, spec] : header.items()) {
    if (name == "__metadata__") continue;
    entries.push_back(parse_entry(file.name(), name, spec, data.size()));
  }
  std::vector<const Entry*> pointers;
  for (const Entry& e : entries) pointers.push_back(&e);
  check_overlaps(file.name(), std::move(pointers));

  TensorMap tensors;
  for (const Entry& e : entries) {
    RawTensor t;
    t.dtype = e.dtype;
    t.shape = e.shape;
    t.data.assign(data.begin() + static_cast<std::ptrdiff_t>(e.begin), data.begin() + static_cast<std::ptrdiff_t>(e.end));
    tensors.emplace(e.name, std::move(t));
  }
  return tensors;
}

}  // namespace safescan::io
