// make_detector: detector name + embedding width (+ CLIP variant) -> the model file under
// the model store, loaded.
#include <algorithm>
#include <cctype>

#include "safescan/detectors.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan {

namespace {

struct Variant {
  std::string_view name;  // canonical: "ViT-B-32"
  int width;
};
constexpr Variant kVariants[] = {{"ViT-B-32", 512}, {"ViT-B-16", 512}, {"ViT-L-14", 768}};

std::string canonical_key(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;  // "ViT-B/32" -> "vitb32"
}

// The CLIP variant for `embed_dim`: the one named in the options (checked against the
// width), else the only variant of that width; nullptr when ambiguous.
const Variant* variant_for(std::string_view detector, int embed_dim, const DetectorOptions& options) {
  if (!options.clip_model.empty()) {
    const std::string key = canonical_key(options.clip_model);
    for (const Variant& v : kVariants)
      if (canonical_key(v.name) == key) {
        if (v.width != embed_dim)
          throw Error(ErrorCode::invalid_argument,
                      std::string(v.name) + " embeddings are " + std::to_string(v.width) + " wide, not " +
                          std::to_string(embed_dim),
                      std::string(detector));
        return &v;
      }
    throw Error(ErrorCode::invalid_argument,
                "unknown CLIP variant '" + options.clip_model + "' (known: ViT-B-32, ViT-B-16, ViT-L-14)",
                std::string(detector));
  }
  const Variant* found = nullptr;
  for (const Variant& v : kVariants)
    if (v.width == embed_dim) {
      if (found) return nullptr;
      found = &v;
    }
  if (!found)
    throw Error(ErrorCode::invalid_argument,
                "no CLIP variant produces " + std::to_string(embed_dim) + "-wide embeddings (512: ViT-B-32/B-16, 768: ViT-L-14)",
                std::string(detector));
  return found;
}

// "ViT-B-32" -> "vit-b-32", the suffix of the model store's names (q16-vit-b-32, ...).
std::string store_suffix(std::string_view variant) {
  std::string out;
  for (const char c : variant) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A detector's file: with DetectorOptions::models_dir, the upstream repositories' layout
// under it (<dir>/<folder>/<file>); otherwise the installed model store model (`safescan
// models pull <store_model>` installs it).
std::filesystem::path locate(const DetectorOptions& options, const std::string& folder, const std::string& file,
                             const std::string& store_model, const std::string& store_file) {
  if (!options.models_dir.empty()) return options.models_dir / folder / file;
  return model_file(store_model, store_file);
}

std::filesystem::path laion_file(std::string_view detector, int embed_dim, const DetectorOptions& options,
                                 const char* b32, const char* l14) {
  const Variant* v = variant_for(detector, embed_dim, options);
  if (v && v->name == "ViT-B-16")
    throw Error(ErrorCode::invalid_argument,
                "LAION published this detector for ViT-B-32 (512) and ViT-L-14 (768) embeddings only, not ViT-B-16",
                std::string(detector));
  const char* file = embed_dim == 768 ? l14 : b32;
  return locate(options, "laion", file, std::string(detector) + (embed_dim == 768 ? "-vit-l-14" : "-vit-b-32"), file);
}

void require_file(const std::filesystem::path& file, std::string_view detector) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    throw Error(ErrorCode::model_missing,
                std::string("model file for detector '") + std::string(detector) +
                    "' not found (docs/detectors.md lists the files and where they come from)",
                file.string());
}

}  // namespace

const std::vector<std::string_view>& detector_names() {
  static const std::vector<std::string_view> names{"q16", "laion-nsfw", "laion-violence"};
  return names;
}

std::filesystem::path detector_model_file(std::string_view name, int embed_dim, const DetectorOptions& options) {
  if (name == "q16") {
    const Variant* v = variant_for(name, embed_dim, options);
    if (!v)
      throw Error(ErrorCode::invalid_argument,
                  "Q16 has prompts for ViT-B-32 and ViT-B-16, both 512 wide: say which CLIP variant made the "
                  "embeddings (--clip-variant ViT-B-32 or ViT-B-16; DetectorOptions::clip_model)",
                  "q16");
    return locate(options, "q16", std::string(v->name) + ".prompts.p", "q16-" + store_suffix(v->name), "prompts.p");
  }
  if (name == "laion-nsfw") {
    auto file = laion_file(name, embed_dim, options, "clip_autokeras_nsfw_b32.zip", "clip_autokeras_binary_nsfw.zip");
    // An unpacked SavedModel directory next to where the zip would be is used when the zip is absent.
    std::error_code ec;
    auto dir = file;
    dir.replace_extension();
    if (!std::filesystem::exists(file, ec) && std::filesystem::is_directory(dir, ec)) return dir;
    return file;
  }
  if (name == "laion-violence")
    return laion_file(name, embed_dim, options, "violence_detection_vit_b_32.npy", "violence_detection_vit_l_14.npy");
  std::string known;
  for (const std::string_view n : detector_names()) known += (known.empty() ? "" : ", ") + std::string(n);
  throw Error(ErrorCode::invalid_argument,
              "unknown detector '" + std::string(name) + "' (known: " + known + "; zero-shot is built from a prompt file)",
              std::string(name));
}

std::unique_ptr<EmbeddingDetector> make_detector(std::string_view name, int embed_dim, const DetectorOptions& options) {
  const std::filesystem::path file = detector_model_file(name, embed_dim, options);
  require_file(file, name);
  std::unique_ptr<EmbeddingDetector> detector;
  if (name == "q16") detector = load_q16_detector(file, options.threshold);
  else if (name == "laion-nsfw") detector = load_laion_nsfw_detector(file, options.threshold);
  else detector = load_laion_violence_detector(file, options.threshold);
  if (detector->embed_dim() != embed_dim)
    throw Error(ErrorCode::model_invalid,
                "the model expects " + std::to_string(detector->embed_dim()) + "-wide embeddings, not " +
                    std::to_string(embed_dim),
                file.string());
  return detector;
}

}  // namespace safescan
