// The registry's concrete parts (parts.cpp), made by registry.cpp.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "safescan/clip.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/detector.hpp"
#include "safescan/faces.hpp"
#include "safescan/nsfw.hpp"

namespace safescan::detectors {

// An nsfwjs classifier (a catalogue name or a tfjs model folder) as backbone `name`, and the
// head that reads its five class probabilities under the same name.
std::shared_ptr<const Backbone> nsfw_backbone(const std::string& name_or_path, const std::string& name);
std::shared_ptr<const Head> nsfw_head(const std::string& name);

// The CLIP image encoder ("clip"), or precomputed embeddings of `dim` standing in for it.
std::shared_ptr<const Backbone> clip_backbone(std::shared_ptr<const ClipModel> model, const std::filesystem::path& file);
std::shared_ptr<const Backbone> precomputed_clip(int dim);

// kind: "auto", "yunet", "hog".
std::shared_ptr<const Annotator> face_annotator(std::string_view kind, const FaceDetectorOptions& options);

}  // namespace safescan::detectors
