#include "clip_common.hpp"

#include <algorithm>
#include <fstream>

#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan::cli {

namespace fs = std::filesystem;

namespace {

// The first file in an installed model's folder with one of `extensions`.
fs::path installed_file(const std::string& name, std::initializer_list<const char*> extensions) {
  const fs::path dir = models_dir() / name;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      for (const char* ext : extensions)
        if (f.filename().string().ends_with(ext)) return f;
  }
  throw Error(ErrorCode::model_missing,
              "model '" + name + "' is not installed in " + models_dir().string() + ": run `safescan models pull " + name +
                  "` (or `safescan models import FILE`), or pass a file path");
}

}  // namespace

fs::path resolve_clip_checkpoint(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  if (name_or_path.find('/') != std::string::npos || fs::path(name_or_path).has_extension()) {
    throw Error(ErrorCode::model_missing, "no CLIP checkpoint at this path", name_or_path);
  }
  return installed_file(name_or_path, {".safetensors", ".pt", ".bin"});
}

fs::path resolve_clip_vocab(const std::string& vocab_option) {
  if (!vocab_option.empty()) return vocab_option;
  return installed_file("clip-vocab", {".txt.gz", ".txt"});
}

std::vector<std::string> read_text_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::unreadable, "cannot open the texts file", file.string());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

ClipPrecision parse_precision(const std::string& name) {
  if (name == "fp32") return ClipPrecision::fp32;
  if (name == "bf16") return ClipPrecision::bf16;
  if (name == "int8") return ClipPrecision::int8;
  throw Error(ErrorCode::invalid_argument, "unknown precision '" + name + "' (fp32, bf16, int8)");
}

}  // namespace safescan::cli
