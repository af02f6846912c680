// safescan/detector.hpp - the detector model: what every command runs (docs/detectors.md).
//
// A *backbone* turns pixels into features: the nsfwjs CNNs (five class probabilities), the
// CLIP image encoder (an embedding). It runs once per image, however many heads read it.
// A *head* turns a backbone's features into named scores (its outputs) and says which
// categories those scores cover: nsfwjs's softmax, Q16, LAION NSFW and violence, zero-shot.
// An *annotator* adds what is not a score (face boxes).
// A *detector* is what users name in `--detectors`: a head, or a composition of heads written
// as data in the same syntax: an ensemble (the mean of members' category scores) or a cascade
// (the second runs only where the first's score reaches a bound). DetectorSet holds the
// detectors of one run with their backbones and runs them on batches.
//
//   auto specs = safescan::parse_detector_specs("nsfw-mobilenet-v2,cascade(nsfw-mobilenet-v2,nsfw-inception-v3,0.5),faces");
//   safescan::DetectorSet set = safescan::load_detectors(specs, {});   // registry.hpp
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/image.hpp"
#include "safescan/result.hpp"

namespace safescan {

class Policy;

// A model file a detector depends on, recorded with every run.
struct ModelInfo {
  std::string name;    // "nsfw-mobilenet-v2", "clip", "q16", "yunet" ...
  std::string path;    // the file or folder ("" when built in)
  std::string sha256;  // of the file ("" for a folder: see files)
  std::map<std::string, std::string> files;  // folder models: file name -> sha256
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  virtual const std::string& name() const = 0;  // heads name the backbone they read
  // Floats per image after preprocess(); 0 when the backbone takes only precomputed features.
  virtual std::size_t input_floats() const = 0;
  // The smallest side an image may be decoded down to (reduced JPEG decoding) without
  // changing what preprocess() gives.
  virtual int min_side() const = 0;
  // Any thread, concurrently.
  virtual void preprocess(const Image& image, float* out) const = 0;
  virtual int feature_dim() const = 0;
  // n preprocessed inputs one after another -> n * feature_dim() floats. One caller at a time.
  virtual std::vector<float> run(const float* inputs, int n) const = 0;
  virtual std::vector<ModelInfo> models() const = 0;

  // --- Gradients, for the benchmark's white-box attacks (not needed to classify) ---
  // A differentiable backbone takes square RGB inputs of input_side(), preprocessed from
  // pixels p in [0, 1] (p = value / 255) of an image already at that size as
  // (p - input_mean()[c]) / input_std()[c], channel-major. The default: none.
  virtual bool differentiable() const { return false; }
  virtual int input_side() const { return 0; }
  virtual std::array<float, 3> input_mean() const { return {0, 0, 0}; }
  virtual std::array<float, 3> input_std() const { return {1, 1, 1}; }
  // run()'s features; `gradient` is then given them (n * feature_dim() floats) and writes
  // d loss / d features; `input_grad` (n * input_floats() floats) receives d loss / d inputs.
  // One caller at a time.
  using FeatureGradient = std::function<void(const float* features, float* feature_grad)>;
  virtual std::vector<float> run_with_gradient(const float* inputs, int n, const FeatureGradient& gradient, float* input_grad) const;
};

// A category score is the sum of some outputs (nsfwjs: Sexual = porn + hentai), at most 1.
struct CategoryMap {
  std::string category;      // canonical (kCategories)
  std::vector<int> outputs;  // indices into Head::outputs()
};

class Head {
 public:
  virtual ~Head() = default;
  virtual const std::string& name() const = 0;      // the detector name: "q16", "nsfw-mobilenet-v2"
  virtual const std::string& backbone() const = 0;  // whose features it reads
  virtual int feature_dim() const = 0;
  virtual const std::vector<std::string>& outputs() const = 0;   // raw score names
  virtual const std::vector<CategoryMap>& categories() const = 0;  // what it covers
  // `features`: feature_dim() floats; writes outputs().size() scores. Any thread.
  virtual void score(const float* features, float* out) const = 0;
  virtual std::vector<ModelInfo> models() const = 0;
  // For white-box attacks: the gradient of sum_k out_grad[k] * score_k with respect to the
  // features, into `feature_grad` (feature_dim() floats). False when the head has none.
  virtual bool score_gradient(const float* features, const float* out_grad, float* feature_grad) const {
    (void)features, (void)out_grad, (void)feature_grad;
    return false;
  }
};

class Annotator {
 public:
  virtual ~Annotator() = default;
  virtual const std::string& name() const = 0;  // "faces"
  virtual int min_side() const = 0;
  // On a decoded (possibly reduced) image whose upright full size is full_width x
  // full_height; writes into `result` (face boxes in full-size pixels). Any thread.
  virtual void annotate(const Image& image, int full_width, int full_height, ItemResult& result) const = 0;
  virtual std::vector<ModelInfo> models() const = 0;
};

// --- Detector specs: the one syntax of --detectors ------------------------------------
//
//   spec      := item ("," item)*
//   item      := [label "="] ( name [":" argument] | "ensemble(" spec ")" | "cascade(" item "," item ["," bound] ")" )
//   argument  := text up to the next "," or ")", or a "double-quoted" string
//
// e.g. "nsfw-mobilenet-v2,faces,q16:my/prompts.p,confirmed=cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid,0.5)".
struct DetectorSpec {
  enum class Kind { name, ensemble, cascade };
  Kind kind = Kind::name;
  std::string name;       // Kind::name: the registry name ("q16", "nsfw")
  std::string argument;   // after ':' ("" when none)
  std::string label;      // "label=" given by the user ("" when none)
  std::vector<DetectorSpec> members;  // ensemble: 2 or more; cascade: first, second
  float bound = 0.5f;     // cascade: the second runs where the first's score >= bound

  // The canonical text ("cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid,0.5)"), without label.
  std::string text() const;
  // The detector's name in results: the label, else text() ("q16", "q16:dir/prompts.p",
  // "cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid,0.5)").
  std::string display_name() const;
};

// Throws Error(invalid_argument) saying what is wrong and at which character.
std::vector<DetectorSpec> parse_detector_specs(std::string_view text);

// --- A loaded set of detectors ------------------------------------------------------------

class DetectorSet {
 public:
  // The parts a registry loaded: backbones by name, a head for every leaf of `specs` (keyed
  // by DetectorSpec::text() of the leaf), and the annotators named in `specs` (keyed the same
  // way). Throws Error(invalid_argument) for a composition that cannot work (an annotator in
  // an ensemble, members without a common category, a head whose backbone is missing).
  struct Parts {
    std::map<std::string, std::shared_ptr<const Backbone>> backbones;
    std::map<std::string, std::shared_ptr<const Head>> heads;
    std::map<std::string, std::shared_ptr<const Annotator>> annotators;
  };
  static DetectorSet compose(const std::vector<DetectorSpec>& specs, Parts parts);

  DetectorSet(DetectorSet&&) noexcept;
  DetectorSet& operator=(DetectorSet&&) noexcept;
  ~DetectorSet();

  struct Info {
    std::string name;                     // as in results
    std::string spec;                     // DetectorSpec::text()
    bool annotator = false;
    std::vector<std::string> outputs;     // raw score names (heads) or category names (compositions)
    std::vector<std::string> categories;  // covered, in kCategories order
  };
  const std::vector<Info>& detectors() const;  // in --detectors order
  std::vector<std::string> names() const;
  std::vector<std::string> categories() const;  // covered by any detector, in kCategories order

  bool needs_pixels() const;     // some backbone or annotator takes decoded images
  int min_side() const;          // for reduced JPEG decoding (0: any)
  std::size_t input_floats() const;  // per item: every pixel backbone's input, one after another
  // The width of the features precomputed embeddings stand for (the "clip" backbone's; 0 when
  // no detector reads CLIP features).
  int embedding_dim() const;

  // Worker threads: every backbone's input into `out` (input_floats() floats), and the annotators.
  void preprocess(const Image& image, float* out) const;
  void annotate(const Image& image, int full_width, int full_height, ItemResult& result) const;

  struct BatchItem {
    const float* input = nullptr;      // input_floats() floats, or
    const float* embedding = nullptr;  // embedding_dim() floats of precomputed CLIP features
    ItemResult* result = nullptr;
  };
  // Inference: runs each backbone once on the items that need it (a cascade's second stage
  // only on those it reaches), scores every detector, applies `policy` and marks the raw
  // scores that count towards a category it did not allow. With `keep_embedding`, the
  // "clip" backbone's features are copied into each result's `embedding`.
  void run_batch(const std::vector<BatchItem>& batch, const Policy& policy, bool keep_embedding = false) const;

  std::vector<ModelInfo> models() const;

  // A detector that is one head on one backbone (not an ensemble, a cascade or an
  // annotator), by its name in results: its parts, for white-box attacks. nullopt otherwise.
  struct Leaf {
    const Backbone* backbone = nullptr;
    const Head* head = nullptr;
  };
  std::optional<Leaf> leaf(const std::string& name) const;

 private:
  DetectorSet();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan
