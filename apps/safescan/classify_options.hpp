// Options of `safescan classify`, shared by its nsfwjs path (cmd_classify.cpp) and its CLIP
// path (classify_clip.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.hpp"
#include "safescan/image.hpp"
#include "safescan/models.hpp"
#include "safescan/nsfw.hpp"

namespace safescan::cli {

struct ClassifyOptions {
  std::string model{kDefaultNsfwModel};
  std::string format = "auto";
  float threshold = kDefaultNsfwThreshold;
  bool threshold_set = false;
  int batch = 16;
  std::uint64_t max_pixels = kDefaultMaxPixels;
  std::vector<std::string> paths;
  // CLIP path (--model clip:CHECKPOINT or --embeddings FILE.npy)
  std::string detectors;     // comma-separated; empty = every detector whose model is installed
  std::string clip_variant;  // ViT-B-32, ViT-B-16, ViT-L-14; empty = inferred from the checkpoint
  std::string embeddings;    // precomputed N x D .npy (+ FILE.keys.txt)
  std::string prompts;       // zero-shot prompt file
  std::string vocab;         // CLIP vocabulary for the zero-shot prompts
  std::string precision = "fp32";
};

bool is_clip_request(const ClassifyOptions& opt);
int run_classify_clip(const ClassifyOptions& opt, const GlobalOptions& global);

}  // namespace safescan::cli
