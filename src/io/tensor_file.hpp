// Reading tensors from the files users bring: safetensors, PyTorch zip archives (torch.save
// state dicts and TorchScript archives such as OpenAI's CLIP .pt files), NumPy .npy, and
// pickled NumPy arrays. No Python, no libtorch: plain bytes in, named tensors out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace safescan::io {

enum class DType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

const char* to_string(DType dtype);  // "float32", "float16", "bfloat16", ... (PyTorch's names)
std::size_t element_size(DType dtype);

// Exact widening of IEEE half (subnormals, infinities and NaN kept) and bfloat16 bits.
float half_to_float(std::uint16_t bits);
float bfloat16_to_float(std::uint16_t bits);

// A dense, row-major (C-contiguous), little-endian tensor. Readers make views contiguous.
struct RawTensor {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;  // numel() * element_size(dtype) bytes

  std::int64_t numel() const;
  std::string shape_string() const;  // "[768, 3, 32, 32]"
  // Values widened/narrowed to float32 (f16 and bf16 exactly; f64 rounded; integers converted).
  std::vector<float> to_float() const;
};

using TensorMap = std::map<std::string, RawTensor>;

// Every reader throws safescan::Error naming the file (model_missing when absent,
// model_invalid when truncated, malformed or unsupported, with what and where).

// safetensors: 8-byte header length, JSON header, data. Keys as stored.
TensorMap read_safetensors(const std::filesystem::path& file);

// A PyTorch zip archive: torch.save(state_dict) (<name>/data.pkl + <name>/data/N) or a
// TorchScript archive (<name>/data.pkl holding the module tree, <name>/data/N, code/ ...).
// For TorchScript archives the module tree is flattened to dotted names of its parameters
// and buffers ("visual.conv1.weight"), exactly the names of the module's state_dict(); the
// code is never run.
TensorMap read_torch_archive(const std::filesystem::path& file);

// Chooses by content (zip magic -> torch archive, else safetensors).
TensorMap read_checkpoint(const std::filesystem::path& file);

// NumPy .npy (versions 1-3, little-endian f2/f4/f8/i4/i8/u1/b1, C or Fortran order).
RawTensor read_npy(const std::filesystem::path& file);

// The header of a NumPy .npy (the one parser of it): dtype, order, shape and where the data
// starts. parse_npy_header reads it from the file's first bytes (at least the whole header)
// and checks the data size against `file_size`; read_npy_header reads only the header from
// disk. Throw Error(model_invalid) naming the file (unreadable when it cannot be opened).
struct NpyHeader {
  DType dtype{};
  std::string descr;  // as written: "<f4", "<f2" ...
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::uint64_t data_offset = 0;
};
NpyHeader parse_npy_header(std::span<const std::uint8_t> bytes, std::uint64_t file_size, const std::string& file);
NpyHeader read_npy_header(const std::filesystem::path& file);
// Writes a float32 .npy (C order).
void write_npy_f32(const std::filesystem::path& file, const std::vector<std::int64_t>& shape, const float* data);

// A Python pickle holding one NumPy array (numpy.core.multiarray._reconstruct / ndarray
// __setstate__), as Q16's *.prompts.p files are.
RawTensor read_pickled_ndarray(const std::filesystem::path& file);

}  // namespace safescan::io
