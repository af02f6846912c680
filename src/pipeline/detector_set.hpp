// The backbones and detectors of one scan, loaded once: each backbone (nsfwjs CNN, CLIP
// image encoder, face detector) runs once per image and every detector built on it shares
// its output.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "safescan/clip.hpp"
#include "safescan/detectors.hpp"
#include "safescan/faces.hpp"
#include "safescan/image.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/scan.hpp"
#include "safescan/store.hpp"

namespace safescan::pipeline {

// One slice of an item's preprocessed input: the floats one backbone takes.
struct InputSegment {
  std::size_t offset = 0, size = 0;
};

// What the sources hold, for choosing defaults before any item is read.
struct SourceHints {
  int embeddings_dim = 0;        // width of the .npy sources (0: none)
  bool embeddings_only = false;  // every source is a .npy: the default set is the CLIP heads
};

class DetectorSet {
 public:
  // Resolves config.detectors (or the default set) and loads every model. Throws Error with
  // what is missing and how to install it.
  static DetectorSet load(const ScanConfig& config, const SourceHints& hints = {});

  DetectorSet(DetectorSet&&) noexcept;
  DetectorSet& operator=(DetectorSet&&) noexcept;
  ~DetectorSet();

  // The detector names in force, e.g. {"nsfw-mobilenet-v2", "faces"}.
  const std::vector<std::string>& names() const;
  bool has_image_models() const;  // anything that needs decoded pixels (nsfw, CLIP image, faces)
  bool has_embedding_detectors() const;
  int embed_dim() const;          // CLIP detectors' width (0 when none)
  // Smallest side a reduced JPEG decode may go down to without hurting any backbone.
  int min_side_hint() const;

  // Per-item preprocessed floats (every backbone's input, one after another).
  std::size_t floats_per_item() const;
  // Worker threads: fills `out` (floats_per_item()) from the decoded image.
  void preprocess(const Image& image, float* out) const;
  // Worker threads: face boxes in the pixels of the upright full-size image.
  void detect_faces(const Image& image, int full_width, int full_height, ItemRecord& record) const;

  // Inference thread: runs every backbone once on `n` items whose preprocessed inputs are
  // `inputs` (n * floats_per_item(), item after item) and appends every detector's scores.
  void run_batch(const std::vector<const float*>& inputs, const std::vector<ItemRecord*>& records) const;
  // Scores a precomputed CLIP embedding with the CLIP detectors.
  void score_embedding(const float* embedding, ItemRecord& record) const;

  // For the runs table: detectors, thresholds, precision, model files and their sha256.
  nlohmann::json describe_config() const;
  nlohmann::json describe_models() const;

 private:
  DetectorSet();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan::pipeline
