// Where CLIP's checkpoint and vocabulary are: a path given, or a model of the store.
#include <algorithm>

#include "safescan/clip.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan {

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

std::optional<std::string> first_installed_clip() {
  for (const auto& v : clip_variants())
    if (const std::string name = "clip-" + std::string(v.suffix); find_installed_model(name)) return name;
  return std::nullopt;
}

}  // namespace safescan
