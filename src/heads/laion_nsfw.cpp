// LAION's CLIP-based NSFW detector (LAION-AI/CLIP-based-NSFW-Detector): the AutoKeras head
// on the L2-normalised image embedding, flagged when p > threshold (as clip-retrieval does).
#include "heads/keras_mlp.hpp"
#include "heads/vector_math.hpp"
#include "safescan/detectors.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

class LaionNsfwDetector final : public EmbeddingDetector {
 public:
  LaionNsfwDetector(detect::KerasMlp mlp, float threshold) : mlp_(std::move(mlp)), threshold_(threshold) {
    if (!(threshold >= 0 && threshold <= 1))
      throw Error(ErrorCode::invalid_argument, "threshold must be in [0, 1]", name_);
  }

  const std::string& name() const override { return name_; }
  int embed_dim() const override { return mlp_.input_dim; }

  DetectorResult score(const float* embedding) const override {
    const auto e = detect::l2_normalized(embedding, static_cast<std::size_t>(mlp_.input_dim));
    CategoryScore cs;
    cs.category = "nsfw";
    cs.score = mlp_.forward(e.data());
    cs.threshold = threshold_;
    cs.flagged = cs.score > threshold_;
    DetectorResult r;
    r.detector = name_;
    r.flagged = cs.flagged;
    r.categories.push_back(std::move(cs));
    return r;
  }

 private:
  std::string name_ = "laion-nsfw";
  detect::KerasMlp mlp_;
  float threshold_;
};

}  // namespace

std::unique_ptr<EmbeddingDetector> load_laion_nsfw_detector(const std::filesystem::path& zip_or_dir,
                                                            std::optional<float> threshold) {
  return std::make_unique<LaionNsfwDetector>(detect::load_autokeras_mlp(zip_or_dir),
                                             threshold.value_or(kLaionNsfwThreshold));
}

}  // namespace safescan
