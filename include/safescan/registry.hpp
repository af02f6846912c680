// safescan/registry.hpp - every detector safescan knows, by name, and loading a --detectors
// spec into a DetectorSet (detector.hpp): the one list of names (docs/detectors.md).
//
//   safescan::DetectorOptions opt;
//   opt.clip_model = "clip-vit-b-32";
//   safescan::DetectorSet set = safescan::load_detectors(
//       safescan::parse_detector_specs("nsfw-mobilenet-v2,q16,faces"), opt);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "safescan/detector.hpp"

namespace safescan {

struct DetectorOptions {
  // CLIP, for q16, laion-nsfw, laion-violence, zeroshot (and `embed`): an installed name or a
  // checkpoint file; empty: the first installed CLIP model.
  std::string clip_model;
  std::string clip_precision = "fp32";  // fp32, bf16, int8
  // ViT-B-32, ViT-B-16, ViT-L-14: which CLIP made precomputed embeddings, when their width
  // does not say (512); inferred from the checkpoint otherwise.
  std::string clip_variant;
  std::string prompts;  // zero-shot prompt file (empty: data/zeroshot_prompts.json, built in)
  std::string vocab;    // CLIP vocabulary (empty: the installed clip-vocab)
  // Faces: YuNet's .onnx (empty: the installed yunet) and the longest side searched.
  std::string face_model;
  int face_max_side = 640;
  // Precomputed embeddings of this width only (every source a .npy): the CLIP heads then
  // load without a CLIP model (0: images).
  int embeddings_dim = 0;
};

struct RegistryEntry {
  std::string_view name;
  std::string_view kind;        // "nsfwjs", "clip head", "faces", "alias"
  std::string_view argument;    // what NAME:ARG takes ("" when nothing)
  std::string_view categories;  // what it covers
  std::string_view description;
};
// The one list of detector names (and the compositions' syntax is detector.hpp's).
const std::vector<RegistryEntry>& detector_registry();
// "nsfw-mobilenet-v2, nsfw-mobilenet-v2-mid, ...": for help texts and errors.
std::string detector_names();

// The detectors a command uses when --detectors is not given: "nsfw-mobilenet-v2" for
// classify; for scan also "faces" and, when a CLIP model is installed, "clip"; for
// embeddings-only input, "clip".
std::string default_detectors(std::string_view command, bool embeddings_only = false);

// Expands the aliases (nsfw, faces, clip), loads every backbone, head and annotator once and
// composes them. Named detectors must load; those an alias brings in are skipped with a
// warning when their files are missing. Throws Error: invalid_argument (unknown name, with the
// list; a composition that cannot work), model_missing (with how to install), model_invalid.
DetectorSet load_detectors(const std::vector<DetectorSpec>& specs, const DetectorOptions& options);

// The CLIP image encoder alone, for `embed` (its features are kept in each result).
DetectorSet load_clip_embedder(const DetectorOptions& options);

}  // namespace safescan
