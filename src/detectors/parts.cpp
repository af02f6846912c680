// The concrete backbones, heads and annotators of the registry: the nsfwjs classifiers, the
// CLIP image encoder (or precomputed embeddings standing in for it), and the face detectors.
#include "detectors/parts.hpp"

#include <algorithm>
#include <cstring>

#include "core/sha256.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan::detectors {

namespace fs = std::filesystem;

namespace {

// The sha256 of every file of a model folder (recorded at install), else computed.
std::map<std::string, std::string> folder_checksums(const std::string& name, const fs::path& path) {
  std::map<std::string, std::string> files;
  if (auto m = find_installed_model(name); m && !m->files.empty()) return m->files;
  std::error_code ec;
  const fs::path dir = fs::is_directory(path, ec) ? path : path.parent_path();
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) files[e.path().filename().string()] = sha256_file(e.path());
  return files;
}

// --- nsfwjs: the CNN is the backbone (features: the five class probabilities) ------------

std::vector<float> flatten(const std::vector<NsfwScores>& scores) {
  std::vector<float> out;
  out.reserve(scores.size() * kNsfwClassNames.size());
  for (const auto& s : scores) out.insert(out.end(), s.probs.begin(), s.probs.end());
  return out;
}

class NsfwBackbone final : public Backbone {
 public:
  NsfwBackbone(NsfwClassifier model, std::string name) : model_(std::move(model)), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  std::size_t input_floats() const override { return 3ull * model_.input_size() * model_.input_size(); }
  int min_side() const override { return model_.input_size(); }
  void preprocess(const Image& image, float* out) const override { model_.preprocess(image, out); }
  int feature_dim() const override { return static_cast<int>(kNsfwClassNames.size()); }
  std::vector<float> run(const float* inputs, int n) const override { return flatten(model_.run(inputs, n)); }
  std::vector<ModelInfo> models() const override {
    return {{model_.name(), model_.path().string(), "", folder_checksums(model_.name(), model_.path())}};
  }
  // nsfwjs's input is pixel / 255: the [0, 1] pixels themselves.
  bool differentiable() const override { return true; }
  int input_side() const override { return model_.input_size(); }
  std::vector<float> run_with_gradient(const float* inputs, int n, const FeatureGradient& gradient, float* input_grad) const override {
    return flatten(model_.run_with_gradient(inputs, n, gradient, input_grad));
  }

 private:
  NsfwClassifier model_;
  std::string name_;
};

// ... and the head reads the probabilities as they are: Sexual = porn + hentai, Suggestive = sexy.
class NsfwHead final : public Head {
 public:
  explicit NsfwHead(std::string name) : name_(std::move(name)) {
    for (const auto c : kNsfwClassNames) outputs_.emplace_back(c);
    categories_ = {{"Sexual", {static_cast<int>(NsfwClass::hentai), static_cast<int>(NsfwClass::porn)}},
                   {"Suggestive", {static_cast<int>(NsfwClass::sexy)}}};
  }
  const std::string& name() const override { return name_; }
  const std::string& backbone() const override { return name_; }
  int feature_dim() const override { return static_cast<int>(kNsfwClassNames.size()); }
  const std::vector<std::string>& outputs() const override { return outputs_; }
  const std::vector<CategoryMap>& categories() const override { return categories_; }
  void score(const float* features, float* out) const override { std::copy_n(features, outputs_.size(), out); }
  std::vector<ModelInfo> models() const override { return {}; }  // the backbone's
  bool score_gradient(const float*, const float* out_grad, float* feature_grad) const override {
    std::copy_n(out_grad, outputs_.size(), feature_grad);
    return true;
  }

 private:
  std::string name_;
  std::vector<std::string> outputs_;
  std::vector<CategoryMap> categories_;
};

// --- CLIP ---------------------------------------------------------------------------

class ClipBackbone final : public Backbone {
 public:
  ClipBackbone(std::shared_ptr<const ClipModel> model, fs::path file) : model_(std::move(model)), file_(std::move(file)) {}
  const std::string& name() const override { return name_; }
  std::size_t input_floats() const override { return model_->input_floats(); }
  int min_side() const override { return model_->config().image_resolution; }
  void preprocess(const Image& image, float* out) const override { model_->preprocess(image, out); }
  int feature_dim() const override { return model_->config().embed_dim; }
  std::vector<float> run(const float* inputs, int n) const override { return model_->encode_images(inputs, n); }
  std::vector<ModelInfo> models() const override { return {{"clip", file_.string(), sha256_file(file_), {}}}; }
  bool differentiable() const override { return model_->precision() != ClipPrecision::int8; }
  int input_side() const override { return model_->config().image_resolution; }
  std::array<float, 3> input_mean() const override { return {kClipMean[0], kClipMean[1], kClipMean[2]}; }
  std::array<float, 3> input_std() const override { return {kClipStd[0], kClipStd[1], kClipStd[2]}; }
  std::vector<float> run_with_gradient(const float* inputs, int n, const FeatureGradient& gradient, float* input_grad) const override {
    return model_->encode_images_with_gradient(inputs, n, gradient, input_grad);
  }

 private:
  std::string name_{kClipBackbone};
  std::shared_ptr<const ClipModel> model_;
  fs::path file_;
};

// Precomputed CLIP embeddings (.npy sources) stand in for the encoder: nothing to run.
class PrecomputedClip final : public Backbone {
 public:
  explicit PrecomputedClip(int dim) : dim_(dim) {}
  const std::string& name() const override { return name_; }
  std::size_t input_floats() const override { return 0; }
  int min_side() const override { return 0; }
  void preprocess(const Image&, float*) const override {}
  int feature_dim() const override { return dim_; }
  std::vector<float> run(const float*, int) const override {
    throw Error(ErrorCode::invalid_argument, "CLIP features of an image need a CLIP model (--clip-model)");
  }
  std::vector<ModelInfo> models() const override { return {}; }

 private:
  std::string name_{kClipBackbone};
  int dim_;
};

// --- faces ---------------------------------------------------------------------------

class FaceAnnotator final : public Annotator {
 public:
  explicit FaceAnnotator(std::unique_ptr<FaceDetector> detector) : detector_(std::move(detector)) {}
  const std::string& name() const override { return name_; }
  // Faces are searched at up to face_max_side on the longer side: a decode whose shorter side
  // is >= 224 loses little for typical aspect ratios.
  int min_side() const override { return 224; }
  void annotate(const Image& image, int full_width, int full_height, ItemResult& result) const override {
    const float sx = image.width > 0 ? static_cast<float>(full_width) / image.width : 1.f;
    const float sy = image.height > 0 ? static_cast<float>(full_height) / image.height : 1.f;
    std::vector<FaceRecord> faces;
    for (const FaceBox& b : detector_->detect(image))
      faces.push_back({b.x * sx, b.y * sy, b.width * sx, b.height * sy, b.confidence});
    result.faces = std::move(faces);
    result.face_detector = detector_->name();
  }
  std::vector<ModelInfo> models() const override {
    return {{detector_->name(), detector_->model_file().string(), detector_->model_sha256(), {}}};
  }

 private:
  std::string name_ = "faces";
  std::unique_ptr<FaceDetector> detector_;
};

}  // namespace

std::shared_ptr<const Backbone> nsfw_backbone(const std::string& name_or_path, const std::string& name) {
  return std::make_shared<NsfwBackbone>(NsfwClassifier::load(name_or_path), name);
}

std::shared_ptr<const Head> nsfw_head(const std::string& name) { return std::make_shared<NsfwHead>(name); }

std::shared_ptr<const Backbone> clip_backbone(std::shared_ptr<const ClipModel> model, const fs::path& file) {
  return std::make_shared<ClipBackbone>(std::move(model), file);
}

std::shared_ptr<const Backbone> precomputed_clip(int dim) { return std::make_shared<PrecomputedClip>(dim); }

std::shared_ptr<const Annotator> face_annotator(std::string_view kind, const FaceDetectorOptions& options) {
  return std::make_shared<FaceAnnotator>(make_face_detector(kind, options));
}

}  // namespace safescan::detectors
