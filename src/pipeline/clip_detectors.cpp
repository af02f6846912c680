#include "pipeline/clip_detectors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan::pipeline {

namespace fs = std::filesystem;

const std::vector<std::string> kClipDetectorNames = {"q16", "laion-nsfw", "laion-violence", "zeroshot"};

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

ClipPrecision parse_precision(const std::string& name) {
  if (name == "fp32") return ClipPrecision::fp32;
  if (name == "bf16") return ClipPrecision::bf16;
  if (name == "int8") return ClipPrecision::int8;
  throw Error(ErrorCode::invalid_argument, "unknown precision '" + name + "' (fp32, bf16, int8)");
}

std::string_view to_string(ClipPrecision precision) {
  switch (precision) {
    case ClipPrecision::bf16: return "bf16";
    case ClipPrecision::int8: return "int8";
    default: return "fp32";
  }
}

std::string clip_variant_name(const ClipConfig& c) {
  const ClipVariant* v = safescan::infer_clip_variant(c);
  return v ? std::string(v->name) : std::string();
}


ClipDetectors load_clip_detectors(const ClipDetectorRequest& req) {
  const bool explicit_list = !req.names.empty();
  const auto& names = explicit_list ? req.names : kClipDetectorNames;
  DetectorOptions dopt;
  dopt.clip_model = req.variant;
  dopt.threshold = req.threshold;
  ClipDetectors d;
  for (const auto& name : names) {
    try {
      if (name == "zeroshot") {
        if (!req.clip) throw Error(ErrorCode::invalid_argument, "the zero-shot detector needs the CLIP text encoder: pass --model clip:CHECKPOINT (classify) or --clip-model (scan)");
        auto prompts = load_zeroshot_prompts(req.prompts);
        if (req.threshold)
          for (auto& c : prompts.categories) c.threshold = *req.threshold;
        const ClipTokenizer tok = ClipTokenizer::load(resolve_clip_vocab(req.vocab));
        const ClipModel* clip = req.clip;
        auto encode = [&](const std::vector<std::string>& texts) {
          std::vector<std::vector<int>> tokens;
          for (const auto& t : texts) tokens.push_back(tok.encode(t, clip->config().context_length));
          return clip->encode_texts(tokens);
        };
        d.owned.push_back(std::make_unique<ZeroShotDetector>(std::move(prompts), encode, req.dim));
      } else {
        d.owned.push_back(make_detector(name, req.dim, dopt));
      }
      d.list.push_back(d.owned.back().get());
    } catch (const Error& e) {
      if (explicit_list) throw;
      spdlog::warn("detector {} skipped: {}", name, e.what());
    }
  }
  if (d.list.empty()) {
    throw Error(ErrorCode::model_missing,
                "no CLIP detector could be loaded; install their files with e.g. `safescan models pull q16-vit-b-32 "
                "laion-nsfw-vit-b-32 laion-violence-vit-b-32 clip-vocab`");
  }
  return d;
}

}  // namespace safescan::pipeline
