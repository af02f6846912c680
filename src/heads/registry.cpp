// make_clip_head: head name + embedding width (+ CLIP variant) -> the model file under the
// model store (or a file given), loaded.
#include <algorithm>
#include <cctype>

#include "safescan/clip.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan {

namespace {

// The CLIP variant for `embed_dim`: the one named in the options (checked against the
// width), else the only variant of that width; nullptr when ambiguous.
const ClipVariant* variant_for(std::string_view detector, int embed_dim, const ClipHeadOptions& options) {
  if (!options.clip_variant.empty()) {
    const ClipVariant* v = find_clip_variant(options.clip_variant);
    if (!v)
      throw Error(ErrorCode::invalid_argument,
                  "unknown CLIP variant '" + options.clip_variant + "' (known: " + clip_variant_names() + ")",
                  std::string(detector));
    if (v->config.embed_dim != embed_dim)
      throw Error(ErrorCode::invalid_argument,
                  std::string(v->name) + " embeddings are " + std::to_string(v->config.embed_dim) + " wide, not " +
                      std::to_string(embed_dim),
                  std::string(detector));
    return v;
  }
  const ClipVariant* found = nullptr;
  std::string widths;
  for (const ClipVariant& v : clip_variants()) {
    widths += (widths.empty() ? "" : ", ") + std::to_string(v.config.embed_dim) + ": " + std::string(v.name);
    if (v.config.embed_dim == embed_dim) {
      if (found) return nullptr;
      found = &v;
    }
  }
  if (!found)
    throw Error(ErrorCode::invalid_argument,
                "no CLIP variant produces " + std::to_string(embed_dim) + "-wide embeddings (" + widths + ")",
                std::string(detector));
  return found;
}

// A detector's file: with DetectorOptions::models_dir, the upstream repositories' layout
// under it (<dir>/<folder>/<file>); otherwise the installed model store model (`safescan
// models pull <store_model>` installs it).
std::filesystem::path locate(const ClipHeadOptions& options, const std::string& folder, const std::string& file,
                             const std::string& store_model, const std::string& store_file) {
  if (!options.models_dir.empty()) return options.models_dir / folder / file;
  return model_file(store_model, store_file);
}

std::filesystem::path laion_file(std::string_view detector, int embed_dim, const ClipHeadOptions& options,
                                 const char* b32, const char* l14) {
  const ClipVariant* v = variant_for(detector, embed_dim, options);
  if (v && !v->laion_heads)
    throw Error(ErrorCode::invalid_argument,
                "LAION published this detector for ViT-B-32 (512) and ViT-L-14 (768) embeddings only, not " +
                    std::string(v->name),
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

const std::vector<std::string_view>& clip_head_names() {
  static const std::vector<std::string_view> names{"q16", "laion-nsfw", "laion-violence"};
  return names;
}

std::filesystem::path clip_head_file(std::string_view name, int embed_dim, const ClipHeadOptions& options) {
  if (name == "q16") {
    const ClipVariant* v = variant_for(name, embed_dim, options);
    if (!v)
      throw Error(ErrorCode::invalid_argument,
                  "Q16 has prompts for ViT-B-32 and ViT-B-16, both 512 wide: say which CLIP variant made the "
                  "embeddings (--clip-variant ViT-B-32 or ViT-B-16; ClipHeadOptions::clip_variant)",
                  "q16");
    return locate(options, "q16", std::string(v->name) + ".prompts.p", "q16-" + std::string(v->suffix), "prompts.p");
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
  for (const std::string_view n : clip_head_names()) known += (known.empty() ? "" : ", ") + std::string(n);
  throw Error(ErrorCode::invalid_argument,
              "unknown detector '" + std::string(name) + "' (known: " + known + "; zero-shot is built from a prompt file)",
              std::string(name));
}

std::unique_ptr<Head> make_clip_head(std::string_view name, int embed_dim, const ClipHeadOptions& options,
                                     const std::filesystem::path& given) {
  if (std::find(clip_head_names().begin(), clip_head_names().end(), name) == clip_head_names().end())
    clip_head_file(name, embed_dim, options);  // throws: unknown name
  const std::filesystem::path file = given.empty() ? clip_head_file(name, embed_dim, options) : given;
  if (given.empty()) require_file(file, name);
  std::error_code ec;
  if (!given.empty() && !std::filesystem::exists(file, ec))
    throw Error(ErrorCode::model_missing, "model file for detector '" + std::string(name) + "' not found", file.string());
  // A head named with its file ("q16:my.p") keeps that name in results.
  const std::string label = given.empty() ? std::string(name) : std::string(name) + ":" + given.string();
  std::unique_ptr<Head> head;
  if (name == "q16") head = load_q16_head(file, label);
  else if (name == "laion-nsfw") head = load_laion_nsfw_head(file, label);
  else head = load_laion_violence_head(file, label);
  if (head->feature_dim() != embed_dim)
    throw Error(ErrorCode::model_invalid,
                "the model expects " + std::to_string(head->feature_dim()) + "-wide embeddings, not " + std::to_string(embed_dim),
                file.string());
  return head;
}

}  // namespace safescan
