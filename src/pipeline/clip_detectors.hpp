// Finding CLIP's files and building the CLIP detectors (Q16, LAION NSFW and violence,
// zero-shot) on one model: shared by `classify --model clip:...`, `embed` and `scan`.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "safescan/clip.hpp"
#include "safescan/detectors.hpp"

namespace safescan::pipeline {

// The CLIP detectors, in the order they are tried when none is named.
extern const std::vector<std::string> kClipDetectorNames;  // q16, laion-nsfw, laion-violence, zeroshot

// A checkpoint path, or an installed model name (e.g. clip-vit-b-32) resolved in the models
// directory. Throws Error(model_missing) with a hint (`safescan models pull NAME`).
std::filesystem::path resolve_clip_checkpoint(const std::string& name_or_path);
// `vocab_option` when given, else the installed clip-vocab model.
std::filesystem::path resolve_clip_vocab(const std::string& vocab_option);
// The first installed of clip-vit-b-32, clip-vit-b-16, clip-vit-l-14 (nullopt: none).
std::optional<std::string> first_installed_clip();
ClipPrecision parse_precision(const std::string& name);
std::string_view to_string(ClipPrecision precision);
// OpenAI's ViT variants by shape ("ViT-B-32" ...); empty for other CLIPs.
std::string clip_variant_name(const ClipConfig& config);

struct ClipDetectorRequest {
  std::vector<std::string> names;  // empty: every detector whose files are installed
  int dim = 0;                     // embedding width
  std::string variant;             // "ViT-B-32" ... (for the per-variant head files)
  const ClipModel* clip = nullptr; // needed by zero-shot (text encoder)
  std::string prompts;             // zero-shot prompt file (empty: default)
  std::string vocab;               // CLIP vocabulary (empty: installed clip-vocab)
  std::optional<float> threshold;  // overrides every default threshold
};

struct ClipDetectors {
  std::vector<std::unique_ptr<EmbeddingDetector>> owned;
  std::vector<const EmbeddingDetector*> list;
};

// Named detectors must load (their Error is thrown); without names, the ones that cannot
// load are skipped with a warning. Throws Error(model_missing) when none loads.
ClipDetectors load_clip_detectors(const ClipDetectorRequest& request);

}  // namespace safescan::pipeline
