// What every head on the CLIP embedding shares: its name, the "clip" backbone, its width, its
// outputs and categories, and the model file it was loaded from (recorded with runs).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/sha256.hpp"
#include "safescan/clip_heads.hpp"

namespace safescan::detect {

class ClipHead : public Head {
 public:
  const std::string& name() const override { return name_; }
  const std::string& backbone() const override { return backbone_name(); }
  int feature_dim() const override { return dim_; }
  const std::vector<std::string>& outputs() const override { return outputs_; }
  const std::vector<CategoryMap>& categories() const override { return categories_; }
  std::vector<ModelInfo> models() const override { return models_; }

  static const std::string& backbone_name() {
    static const std::string name(kClipBackbone);
    return name;
  }
  // The file this head was read from: its sha256 is recorded with every run.
  // A folder (an unpacked SavedModel) records the sha256 of each of its files.
  void set_file(const std::filesystem::path& file) {
    std::error_code ec;
    ModelInfo m{name_, file.string(), "", {}};
    if (std::filesystem::is_regular_file(file, ec)) {
      m.sha256 = sha256_file(file);
    } else {
      for (const auto& e : std::filesystem::recursive_directory_iterator(file, ec))
        if (e.is_regular_file(ec)) m.files[std::filesystem::relative(e.path(), file, ec).string()] = sha256_file(e.path());
    }
    models_ = {m};
  }

 protected:
  // One output covering `covers` (canonical category names).
  ClipHead(std::string name, int dim, std::string output, const std::vector<std::string>& covers)
      : name_(std::move(name)), dim_(dim), outputs_{std::move(output)} {
    for (const auto& c : covers) categories_.push_back({c, {0}});
  }

  std::string name_;
  int dim_ = 0;
  std::vector<std::string> outputs_;
  std::vector<CategoryMap> categories_;
  std::vector<ModelInfo> models_;
};

// What Q16 covers: UnsafeBench's categories but Sexual and Spam, as UnsafeBench aligns it
// (YitingQu/UnsafeBench unsafe_datasets.py, align_unsafe_categories): its prompts were
// learned on SMID, which holds neither nudity nor spam.
inline std::vector<std::string> q16_categories() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kUnsafeBenchCategories; ++i)
    if (kCategories[i] != "Sexual" && kCategories[i] != "Spam") out.emplace_back(kCategories[i]);
  return out;
}

}  // namespace safescan::detect
