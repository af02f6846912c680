// OpenAI's CLIP ViT variants: names, published shapes (openai/CLIP clip/model.py, build_model
// on the released checkpoints) and the suffix of their files in the model store.
#include <cctype>

#include "safescan/clip.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

ClipConfig vit(int embed_dim, int vision_width, int vision_layers, int patch, int text_width) {
  ClipConfig c;
  c.embed_dim = embed_dim;
  c.image_resolution = 224;
  c.vision_width = vision_width;
  c.vision_layers = vision_layers;
  c.vision_patch_size = patch;
  c.vision_heads = vision_width / 64;
  c.context_length = 77;
  c.vocab_size = 49408;
  c.text_width = text_width;
  c.text_layers = 12;
  c.text_heads = text_width / 64;
  return c;
}

std::string key(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;  // "ViT-B/32" -> "vitb32"
}

}  // namespace

const std::vector<ClipVariant>& clip_variants() {
  static const std::vector<ClipVariant> variants = {
      {"ViT-B-32", "vit-b-32", vit(512, 768, 12, 32, 512), true},
      {"ViT-B-16", "vit-b-16", vit(512, 768, 12, 16, 512), false},
      {"ViT-L-14", "vit-l-14", vit(768, 1024, 24, 14, 768), true},
  };
  return variants;
}

const ClipVariant* find_clip_variant(std::string_view name) {
  const std::string k = key(name);
  for (const auto& v : clip_variants())
    if (key(v.name) == k) return &v;
  return nullptr;
}

const ClipVariant* infer_clip_variant(const ClipConfig& c) {
  for (const auto& v : clip_variants())
    if (v.config.embed_dim == c.embed_dim && v.config.vision_width == c.vision_width &&
        v.config.vision_patch_size == c.vision_patch_size)
      return &v;
  return nullptr;
}

std::string_view to_string(ClipPrecision precision) noexcept {
  switch (precision) {
    case ClipPrecision::bf16: return "bf16";
    case ClipPrecision::int8: return "int8";
    default: return "fp32";
  }
}

ClipPrecision parse_precision(std::string_view name) {
  if (name == "fp32") return ClipPrecision::fp32;
  if (name == "bf16") return ClipPrecision::bf16;
  if (name == "int8") return ClipPrecision::int8;
  throw Error(ErrorCode::invalid_argument, "unknown precision '" + std::string(name) + "' (fp32, bf16, int8)");
}

std::string clip_variant_names() {
  std::string names;
  for (const auto& v : clip_variants()) names += (names.empty() ? "" : ", ") + std::string(v.name);
  return names;
}

}  // namespace safescan
