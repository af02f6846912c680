// safescan/detectors.hpp - detectors that score one CLIP image embedding.
//
// A CLIP backbone runs once per image; every selected detector then scores the same
// embedding (a few small matrix products). Detectors also run on precomputed embeddings
// (.npy), as Q16 and clip-retrieval produce them.
//
//   safescan::DetectorOptions opt;
//   opt.clip_model = "ViT-B-32";
//   auto q16 = safescan::make_detector("q16", 512, opt);          // installed model q16-vit-b-32
//   auto nsfw = safescan::make_detector("laion-nsfw", 512, opt);  // installed model laion-nsfw-vit-b-32
//   safescan::DetectorResult r = nsfw->score(embedding);         // r.flagged, r.categories[0].score
//
// docs/detectors.md says where each detector comes from, its formula and why its default
// threshold is what it is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace safescan {

struct CategoryScore {
  std::string category;  // "inappropriate", "nsfw", "violence", "hate", ...
  float score = 0;       // probability-like, in [0, 1]
  float threshold = 0;   // the decision threshold in force for this category
  bool flagged = false;
};

struct DetectorResult {
  std::string detector;  // "q16", "laion-nsfw", "laion-violence", "zeroshot"
  std::vector<CategoryScore> categories;
  bool flagged = false;  // any category flagged
};

class EmbeddingDetector {
 public:
  virtual ~EmbeddingDetector() = default;
  virtual const std::string& name() const = 0;
  // Embedding width this detector expects (512 for ViT-B/32 and B/16, 768 for ViT-L/14).
  virtual int embed_dim() const = 0;
  // `embedding`: embed_dim() floats, the unnormalised CLIP image embedding (each detector
  // normalises as its reference does).
  virtual DetectorResult score(const float* embedding) const = 0;
};

// --- Default decision thresholds ------------------------------------------------------

inline constexpr float kQ16Threshold = 0.9f;            // Q16: argmax "inappropriate" and p >= 0.9
inline constexpr float kLaionNsfwThreshold = 0.5f;      // LAION/clip-retrieval: p > 0.5
inline constexpr float kLaionViolenceThreshold = 0.5f;  // clip-retrieval: argmax, i.e. p > 0.5
inline constexpr float kPromptLogitScale = 100.0f;      // CLIP's logit scale, as Q16 applies it

// --- Two-prompt detectors (Q16, LAION violence) -----------------------------------------
//
// p = softmax(scale * [cos(e, prompt0), cos(e, prompt1)])[1], embedding and prompts
// L2-normalised in float32. Flagged when prompt 1 is the argmax and p >= threshold (for
// LAION's violence rule, the threshold alone: p > 0.5 is the argmax).

struct PromptPairSpec {
  std::string detector;  // "q16"
  std::string category;  // "inappropriate" (what row 1 means)
  float threshold = kQ16Threshold;
  bool require_argmax = true;  // also require cos(e, prompt1) > cos(e, prompt0)
  bool strict = false;         // p > threshold instead of p >= threshold
  float logit_scale = kPromptLogitScale;
};

// `prompts`: 2 x dim floats, row 0 the benign prompt, row 1 the flagged one.
std::unique_ptr<EmbeddingDetector> make_prompt_pair_detector(const PromptPairSpec& spec, std::span<const float> prompts,
                                                             int dim);

// Q16's learned prompts (a pickled float16 numpy array, 2 x D: row 0 non-inappropriate,
// row 1 inappropriate), e.g. ViT-B-32.prompts.p.
std::unique_ptr<EmbeddingDetector> load_q16_detector(const std::filesystem::path& prompts_file,
                                                     std::optional<float> threshold = {});
// LAION's violence_detection_vit_*.npy (2 x D float32; row 1 is the violence prompt).
std::unique_ptr<EmbeddingDetector> load_laion_violence_detector(const std::filesystem::path& npy_file,
                                                                std::optional<float> threshold = {});

// --- LAION CLIP-based NSFW detector ---------------------------------------------------
//
// The AutoKeras head (a Keras SavedModel, as LAION's .zip or an unpacked directory) read
// without TensorFlow. p = model(L2-normalised embedding); flagged when p > threshold.
std::unique_ptr<EmbeddingDetector> load_laion_nsfw_detector(const std::filesystem::path& zip_or_dir,
                                                            std::optional<float> threshold = {});

// --- Registry -------------------------------------------------------------------------

struct DetectorOptions {
  // Where model files are looked up (layout in docs/detectors.md):
  //   <models_dir>/q16/ViT-B-32.prompts.p, ViT-B-16.prompts.p, ViT-L-14.prompts.p
  //   <models_dir>/laion/clip_autokeras_nsfw_b32.zip, clip_autokeras_binary_nsfw.zip,
  //                      violence_detection_vit_b_32.npy, violence_detection_vit_l_14.npy
  // Empty: the model store (`safescan models pull q16-vit-b-32 laion-nsfw-vit-b-32 ...`),
  // via safescan::model_file().
  std::filesystem::path models_dir;
  // The CLIP variant that produced the embeddings: "ViT-B-32", "ViT-B-16", "ViT-L-14"
  // ("ViT-B/32" also accepted). Empty: inferred from the width where unambiguous (768 ->
  // ViT-L-14); 512 is ViT-B-32 or ViT-B-16, so Q16 then needs it spelled out.
  std::string clip_model;
  std::optional<float> threshold;  // overrides the detector's default threshold
};

// The names make_detector knows: "q16", "laion-nsfw", "laion-violence".
const std::vector<std::string_view>& detector_names();

// The model file make_detector(name, embed_dim, options) would load. Throws
// Error(invalid_argument) for an unknown name or a width/variant the detector has no model
// for.
std::filesystem::path detector_model_file(std::string_view name, int embed_dim, const DetectorOptions& options = {});

// Loads the detector. Throws Error: invalid_argument (unknown name, unsupported width or
// variant), model_missing (file absent, with the path), model_invalid (file damaged).
std::unique_ptr<EmbeddingDetector> make_detector(std::string_view name, int embed_dim,
                                                 const DetectorOptions& options = {});

// --- Zero-shot over the UnsafeBench categories ------------------------------------------
//
// Every category (plus "safe") is the mean of its prompts' normalised CLIP text embeddings,
// renormalised (CLIP's prompt ensembling). p = softmax(temperature * cos(e, class)) over the
// categories and safe; a category is flagged when its p >= its threshold. The prompts come
// from a JSON file users can edit (data/zeroshot_prompts.json):
//   {"temperature": 100,
//    "categories": [{"name": "hate", "label": "Hate", "threshold": 0.5, "prompts": ["...", ...]}, ...],
//    "safe": {"name": "safe", "label": "Safe", "prompts": ["...", ...]}}

struct ZeroShotCategory {
  std::string name;   // "hate": the CategoryScore::category
  std::string label;  // "Hate"
  std::vector<std::string> prompts;
  float threshold = 0.5f;
};

struct ZeroShotPrompts {
  std::vector<ZeroShotCategory> categories;  // the unsafe categories, in file order
  ZeroShotCategory safe;                     // never flagged
  float temperature = 100.0f;

  // Every prompt, in the order the text embeddings are expected: the categories' prompts in
  // file order, then the safe prompts.
  std::vector<std::string> all_prompts() const;
};

// Throws Error(invalid_argument) naming `where` and the offending field.
ZeroShotPrompts parse_zeroshot_prompts(std::string_view json_text, const std::string& where = "zero-shot prompts");
// Throws Error(model_missing) when absent, else as parse_zeroshot_prompts. An empty path
// gives the built-in prompts (data/zeroshot_prompts.json, compiled in).
ZeroShotPrompts load_zeroshot_prompts(const std::filesystem::path& file);

class ZeroShotDetector final : public EmbeddingDetector {
 public:
  // Computes CLIP text embeddings (texts.size() x dim floats, unnormalised is fine).
  using TextEncoder = std::function<std::vector<float>(const std::vector<std::string>& texts)>;

  // `prompt_embeddings`: one row of `dim` floats per prompt of prompts.all_prompts().
  ZeroShotDetector(ZeroShotPrompts prompts, std::span<const float> prompt_embeddings, int dim);
  ZeroShotDetector(ZeroShotPrompts prompts, const TextEncoder& encode, int dim);

  const std::string& name() const override { return name_; }
  int embed_dim() const override { return dim_; }
  DetectorResult score(const float* embedding) const override;

  const ZeroShotPrompts& prompts() const { return prompts_; }
  // Softmax over the categories then safe (categories.size() + 1 values).
  std::vector<float> probabilities(const float* embedding) const;
  // The normalised class embeddings, (categories.size() + 1) x dim, safe last.
  const std::vector<float>& class_embeddings() const { return classes_; }

 private:
  std::string name_ = "zeroshot";
  ZeroShotPrompts prompts_;
  int dim_ = 0;
  std::vector<float> classes_;
};

// --- Precomputed embeddings ------------------------------------------------------------

struct EmbeddingMatrix {
  std::int64_t rows = 0;
  int dim = 0;
  std::vector<float> values;  // rows x dim, row-major
  const float* row(std::int64_t i) const { return values.data() + i * dim; }
};

// An N x D (or D) float32/float16/float64 .npy of embeddings. Throws Error naming the file.
EmbeddingMatrix read_embeddings_npy(const std::filesystem::path& file);

// Scores every row with every detector: result[row][detector]. Throws
// Error(invalid_argument) when a detector's width differs from the matrix's.
std::vector<std::vector<DetectorResult>> score_embeddings(const EmbeddingMatrix& embeddings,
                                                          const std::vector<const EmbeddingDetector*>& detectors);

}  // namespace safescan
