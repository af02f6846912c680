// read_checkpoint: a CLIP-style checkpoint of any supported format, chosen by content.
#include "io/invalid.hpp"
#include "io/mapped_file.hpp"
#include "io/tensor_file.hpp"
#include "io/zip_reader.hpp"

namespace safescan::io {

TensorMap read_checkpoint(const std::filesystem::path& file) {
  enum class Format { torch, safetensors } format;
  {
    const MappedFile mapped(file);  // also reports missing and empty files
    const auto bytes = mapped.bytes();
    // 0x80 (pickle PROTO): a legacy torch.save file, which read_torch_archive explains.
    if (ZipArchive::looks_like_zip(bytes) || bytes[0] == 0x80) {
      format = Format::torch;
    } else if (bytes.size() >= 9 && bytes[8] == '{') {  // 8-byte length, then the JSON header
      format = Format::safetensors;
    } else {
      throw_invalid(mapped.name(), "unrecognised checkpoint format: neither a PyTorch zip archive nor safetensors");
    }
  }
  return format == Format::torch ? read_torch_archive(file) : read_safetensors(file);
}

}  // namespace safescan::io
