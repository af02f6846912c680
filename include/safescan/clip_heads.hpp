// safescan/clip_heads.hpp - heads on the CLIP image embedding (detector.hpp's Head): Q16's
// learned prompts, LAION's NSFW MLP and violence prompts, zero-shot UnsafeBench categories.
// All libtorch-free: a few small matrix products per image, on the embedding the CLIP
// backbone computed once, or on precomputed embeddings (.npy).
//
//   safescan::ClipHeadOptions opt;
//   opt.clip_variant = "ViT-B-32";
//   auto q16 = safescan::make_clip_head("q16", 512, opt);     // installed model q16-vit-b-32
//   std::vector<float> p(q16->outputs().size());
//   q16->score(embedding, p.data());                          // p[0]: P(inappropriate)
//
// docs/detectors.md says where each head comes from, its formula and the categories it covers;
// the thresholds that turn its scores into decisions are the policy's (policy.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/detector.hpp"

namespace safescan {

inline constexpr float kPromptLogitScale = 100.0f;  // CLIP's logit scale, as Q16 applies it

// --- Two-prompt heads (Q16, LAION violence) -------------------------------------------------
//
// p = softmax(scale * [cos(e, prompt0), cos(e, prompt1)])[1], embedding and prompts
// L2-normalised in float32: one output, the probability of the flagged prompt (row 1).

struct PromptPairSpec {
  std::string name;                     // "q16"
  std::string output;                   // "inappropriate": what row 1 means
  std::vector<std::string> categories;  // what that output covers (canonical names)
  float logit_scale = kPromptLogitScale;
};

// `prompts`: 2 x dim floats, row 0 the benign prompt, row 1 the flagged one.
std::unique_ptr<Head> make_prompt_pair_head(const PromptPairSpec& spec, std::span<const float> prompts, int dim);

// Q16's learned prompts (a pickled float16 numpy array, 2 x D: row 0 non-inappropriate, row 1
// inappropriate), e.g. ViT-B-32.prompts.p. Output "inappropriate", covering UnsafeBench's
// categories but Sexual and Spam (UnsafeBench scores this general detector on those nine).
std::unique_ptr<Head> load_q16_head(const std::filesystem::path& prompts_file, std::string name = "q16");
// LAION's violence_detection_vit_*.npy (2 x D float32; row 1 the violence prompt): "violence" -> Violence.
std::unique_ptr<Head> load_laion_violence_head(const std::filesystem::path& npy_file, std::string name = "laion-violence");

// --- LAION CLIP-based NSFW detector ---------------------------------------------------------
//
// The AutoKeras head (a Keras SavedModel, as LAION's .zip or an unpacked directory) read
// without TensorFlow: p = model(L2-normalised embedding), output "nsfw" -> Sexual.
std::unique_ptr<Head> load_laion_nsfw_head(const std::filesystem::path& zip_or_dir, std::string name = "laion-nsfw");

// --- By name, from the model store ------------------------------------------------------------

struct ClipHeadOptions {
  // Where model files are looked up (layout in docs/detectors.md):
  //   <models_dir>/q16/ViT-B-32.prompts.p, ViT-B-16.prompts.p, ViT-L-14.prompts.p
  //   <models_dir>/laion/clip_autokeras_nsfw_b32.zip, clip_autokeras_binary_nsfw.zip,
  //                      violence_detection_vit_b_32.npy, violence_detection_vit_l_14.npy
  // Empty: the model store (`safescan models pull q16-vit-b-32 laion-nsfw-vit-b-32 ...`).
  std::filesystem::path models_dir;
  // The CLIP variant that produced the embeddings: "ViT-B-32", "ViT-B-16", "ViT-L-14"
  // ("ViT-B/32" also accepted). Empty: inferred from the width where unambiguous (768 ->
  // ViT-L-14); 512 is ViT-B-32 or ViT-B-16, so Q16 then needs it spelled out.
  std::string clip_variant;
};

// The heads make_clip_head knows: "q16", "laion-nsfw", "laion-violence".
const std::vector<std::string_view>& clip_head_names();

// The model file make_clip_head(name, embed_dim, options) would load. Throws
// Error(invalid_argument) for an unknown name or a width/variant the head has no model for.
std::filesystem::path clip_head_file(std::string_view name, int embed_dim, const ClipHeadOptions& options = {});

// Loads the head from `file` (empty: clip_head_file). Throws Error: invalid_argument (unknown
// name, unsupported width or variant), model_missing (file absent, with the path),
// model_invalid (file damaged, or made for another width).
std::unique_ptr<Head> make_clip_head(std::string_view name, int embed_dim, const ClipHeadOptions& options = {},
                                     const std::filesystem::path& file = {});

// --- Zero-shot over the UnsafeBench categories --------------------------------------------------
//
// Every category (plus "safe") is the mean of its prompts' normalised CLIP text embeddings,
// renormalised (CLIP's prompt ensembling). p = softmax(temperature * cos(e, class)) over the
// categories and safe; one output per category. The prompts come from a JSON file users can
// edit (data/zeroshot_prompts.json, compiled in):
//   {"temperature": 100,
//    "categories": [{"name": "hate", "label": "Hate", "prompts": ["...", ...]}, ...],
//    "safe": {"name": "safe", "label": "Safe", "prompts": ["...", ...]}}
// A category whose label (or name) is one of kCategories covers that category.

struct ZeroShotCategory {
  std::string name;   // "hate": the output's name
  std::string label;  // "Hate"
  std::vector<std::string> prompts;
};

struct ZeroShotPrompts {
  std::vector<ZeroShotCategory> categories;  // the unsafe categories, in file order
  ZeroShotCategory safe;                     // the benign class (not an output)
  float temperature = 100.0f;

  // Every prompt, in the order the text embeddings are expected: the categories' prompts in
  // file order, then the safe prompts.
  std::vector<std::string> all_prompts() const;
};

// Throws Error(invalid_argument) naming `where` and the offending field. A "threshold" key
// (files written for safescan before policies) is read and ignored, with a warning.
ZeroShotPrompts parse_zeroshot_prompts(std::string_view json_text, const std::string& where = "zero-shot prompts");
// Throws Error(model_missing) when absent, else as parse_zeroshot_prompts. An empty path
// gives the built-in prompts (data/zeroshot_prompts.json, compiled in).
ZeroShotPrompts load_zeroshot_prompts(const std::filesystem::path& file);

class ZeroShotHead final : public Head {
 public:
  // Computes CLIP text embeddings (texts.size() x dim floats, unnormalised is fine).
  using TextEncoder = std::function<std::vector<float>(const std::vector<std::string>& texts)>;

  // `prompt_embeddings`: one row of `dim` floats per prompt of prompts.all_prompts().
  ZeroShotHead(ZeroShotPrompts prompts, std::span<const float> prompt_embeddings, int dim, std::string name = "zeroshot");
  ZeroShotHead(ZeroShotPrompts prompts, const TextEncoder& encode, int dim, std::string name = "zeroshot");

  const std::string& name() const override { return name_; }
  const std::string& backbone() const override;
  int feature_dim() const override { return dim_; }
  const std::vector<std::string>& outputs() const override { return outputs_; }
  const std::vector<CategoryMap>& categories() const override { return categories_; }
  void score(const float* embedding, float* out) const override;
  std::vector<ModelInfo> models() const override { return models_; }
  bool score_gradient(const float* embedding, const float* out_grad, float* feature_grad) const override;
  void set_models(std::vector<ModelInfo> models) { models_ = std::move(models); }

  const ZeroShotPrompts& prompts() const { return prompts_; }
  // Softmax over the categories then safe (categories.size() + 1 values).
  std::vector<float> probabilities(const float* embedding) const;
  // The normalised class embeddings, (categories.size() + 1) x dim, safe last.
  const std::vector<float>& class_embeddings() const { return classes_; }

 private:
  std::string name_;
  ZeroShotPrompts prompts_;
  int dim_ = 0;
  std::vector<float> classes_;
  std::vector<std::string> outputs_;
  std::vector<CategoryMap> categories_;
  std::vector<ModelInfo> models_;
};

// The name of the backbone every CLIP head reads.
inline constexpr std::string_view kClipBackbone = "clip";

// --- Precomputed embeddings ------------------------------------------------------------

struct EmbeddingMatrix {
  std::int64_t rows = 0;
  int dim = 0;
  std::vector<float> values;  // rows x dim, row-major
  const float* row(std::int64_t i) const { return values.data() + i * dim; }
};

// An N x D (or D) float32/float16/float64 .npy of embeddings. Throws Error naming the file.
EmbeddingMatrix read_embeddings_npy(const std::filesystem::path& file);

}  // namespace safescan
