// Internals shared by the source files of src/dataset: the readers read_unit dispatches to,
// and the .npy layout the enumerator needs to cut an embeddings file into row slices.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "safescan/sources.hpp"

namespace safescan::detail {

using ItemSink = std::function<bool(SourceItem&&)>;

// absolute(p).lexically_normal(), never throwing (p itself when the current directory is gone).
std::string absolute_normal(const std::filesystem::path& p);

// --- tar shards (tar_reader.cpp) ---
void read_tar_unit(const WorkUnit& unit, const ItemSink& sink);

// --- embeddings (npy_source.cpp) ---
struct NpyLayout {
  std::uint64_t rows = 0;
  std::uint64_t dim = 0;
  int element_size = 4;  // 2 (float16), 4 (float32) or 8 (float64)
  bool fortran_order = false;
  std::uint64_t data_offset = 0;  // where the elements start
};

// Reads and checks the header of an N x D (or D) float .npy: Error(unreadable) when the file
// cannot be opened, Error(corrupt) when the header is malformed or the file is shorter than
// the header says, Error(unsupported) for a non-float dtype or another rank.
NpyLayout read_npy_layout(const std::filesystem::path& file);

// "<file>.npy.keys.txt" next to `file`.
std::filesystem::path keys_file_for(const std::filesystem::path& npy_file);

// Number of lines of the keys file (a last line without '\n' counts), or nullopt when the file
// does not exist or cannot be read.
std::optional<std::uint64_t> count_key_lines(const std::filesystem::path& keys_file);

void read_npy_unit(const WorkUnit& unit, const ItemSink& sink);

}  // namespace safescan::detail
