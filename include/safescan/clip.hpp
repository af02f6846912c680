// safescan/clip.hpp - CLIP (OpenAI's ViT models) in libtorch: tokenizer, image and text
// encoders, preprocessing. Computes what the reference implementation (openai/CLIP) computes.
//
//   auto tok = safescan::ClipTokenizer::load("bpe_simple_vocab_16e6.txt.gz");
//   auto clip = safescan::ClipModel::load("ViT-B-32.pt");
//   std::vector<float> px(clip.input_floats());
//   clip.preprocess(safescan::load_image("a.jpg"), px.data());
//   auto img = clip.encode_images(px.data(), 1);            // 1 x embed_dim, unnormalised
//   auto txt = clip.encode_texts({tok.encode("a photo of a cat")});
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/image.hpp"

namespace safescan {

namespace io {
struct RawTensor;
}

// Byte-level BPE tokenizer identical to CLIP's SimpleTokenizer.
class ClipTokenizer {
 public:
  static constexpr int kContextLength = 77;
  // The merges file (bpe_simple_vocab_16e6.txt.gz, gzip or plain text).
  static ClipTokenizer load(const std::filesystem::path& vocab_file);

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  // BPE token ids of the cleaned text, without start/end tokens.
  std::vector<int> bpe(std::string_view text) const;
  // <start> + bpe + <end>, truncated to `context_length` tokens keeping the end token last.
  std::vector<int> encode(std::string_view text, int context_length = kContextLength) const;
  std::string decode(const std::vector<int>& tokens) const;

  int start_token() const;  // 49406
  int end_token() const;    // 49407
  int vocab_size() const;   // 49408

 private:
  ClipTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Shapes of a CLIP model, inferred from its checkpoint.
struct ClipConfig {
  int embed_dim = 0;
  int image_resolution = 0;
  int vision_width = 0, vision_layers = 0, vision_patch_size = 0, vision_heads = 0;
  int context_length = 0, vocab_size = 0;
  int text_width = 0, text_layers = 0, text_heads = 0;
};

// OpenAI's released ViT variants: the one table of their names, shapes and the model-store
// names of the files made for each (src/heads/clip_variants.cpp).
struct ClipVariant {
  std::string_view name;    // "ViT-B-32"
  std::string_view suffix;  // "vit-b-32": clip-vit-b-32, q16-vit-b-32, laion-nsfw-vit-b-32 ... in the model store
  ClipConfig config;        // the published shapes
  bool laion_heads = false; // LAION published NSFW / violence heads for it
};
const std::vector<ClipVariant>& clip_variants();
// "ViT-B-32", "ViT-B/32", "vit-b-32" ... (case and punctuation ignored); nullptr when unknown.
const ClipVariant* find_clip_variant(std::string_view name);
// The variant with these shapes (embedding, vision width, patch size); nullptr for other CLIPs.
const ClipVariant* infer_clip_variant(const ClipConfig& config);
// "ViT-B-32, ViT-B-16, ViT-L-14", for messages.
std::string clip_variant_names();

enum class ClipPrecision { fp32, bf16, int8 };

// CLIP's image normalisation constants.
inline constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

std::string_view to_string(ClipPrecision precision) noexcept;  // "fp32", "bf16", "int8"
// Throws Error(invalid_argument) for another name.
ClipPrecision parse_precision(std::string_view name);

// --- Finding CLIP's files in the model store (src/modelstore/clip_files.cpp) --------------

// A checkpoint path, or an installed model name (e.g. clip-vit-b-32) resolved in the models
// directory. Throws Error(model_missing) with a hint (`safescan models pull NAME`).
std::filesystem::path resolve_clip_checkpoint(const std::string& name_or_path);
// `vocab_option` when given, else the installed clip-vocab model.
std::filesystem::path resolve_clip_vocab(const std::string& vocab_option);
// The first installed of clip-vit-b-32, clip-vit-b-16, clip-vit-l-14 (nullopt: none).
std::optional<std::string> first_installed_clip();

class ClipModel {
 public:
  // OpenAI TorchScript .pt, torch.save zip state dict (.pt/.bin), or .safetensors with the
  // reference key names. Throws Error(model_missing / model_invalid) naming the file and,
  // for a missing or mis-shaped key, the key.
  static ClipModel load(const std::filesystem::path& checkpoint, ClipPrecision precision = ClipPrecision::fp32);
  // A model of the given shapes with random weights (normal, std 0.02; LayerNorm weights 1),
  // for benchmarks: speed does not depend on the values.
  static ClipModel with_random_weights(const ClipConfig& config, ClipPrecision precision = ClipPrecision::fp32,
                                       std::uint64_t seed = 0);
  // OpenAI's published shapes: "ViT-B-32", "ViT-B-16", "ViT-L-14".
  static ClipConfig openai_config(std::string_view name);

  ClipModel(ClipModel&&) noexcept;
  ClipModel& operator=(ClipModel&&) noexcept;
  ~ClipModel();

  const ClipConfig& config() const;
  ClipPrecision precision() const;
  float logit_scale() const;  // exp(logit_scale) as the reference applies it

  // CLIP preprocessing of one image: bicubic resize of the short side to the resolution
  // (antialiased, as PIL does), centre crop, /255, normalise; 3 x R x R floats, NCHW.
  void preprocess(const Image& image, float* out) const;
  std::size_t input_floats() const;  // 3 * R * R

  // Unnormalised embeddings (the reference's encode_image / encode_text), batch x embed_dim.
  std::vector<float> encode_images(const float* pixels, int batch) const;
  // For the benchmark's white-box attacks: encode_images()'s embeddings, and in `pixel_grad`
  // the gradient of sum_i <grad_embedding_i, e_i> with respect to the (normalised) pixels.
  // fp32 and bf16 only (int8's quantised kernels have no gradient: Error(invalid_argument)).
  using Gradient = std::function<void(const float* embeddings, float* grad)>;
  std::vector<float> encode_images_with_gradient(const float* pixels, int batch, const Gradient& gradient,
                                                 float* pixel_grad) const;
  // Each token list is start..end without padding (as ClipTokenizer::encode gives).
  std::vector<float> encode_texts(const std::vector<std::vector<int>>& tokens) const;

 private:
  ClipModel();
  static ClipModel from_tensors(const std::map<std::string, io::RawTensor>& tensors, const std::filesystem::path& origin,
                                ClipPrecision precision);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan
