// Two-prompt detectors: Q16 (learned prompts, ml-research/Q16) and LAION's violence
// prompts (which are Q16's ViT prompts, normalised; see docs/detectors.md).
#include <cmath>
#include <limits>

#include "heads/vector_math.hpp"
#include "io/tensor_file.hpp"
#include "safescan/detectors.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

class PromptPairDetector final : public EmbeddingDetector {
 public:
  PromptPairDetector(PromptPairSpec spec, std::span<const float> prompts, int dim) : spec_(std::move(spec)), dim_(dim) {
    if (dim <= 0 || prompts.size() != 2 * static_cast<std::size_t>(dim))
      throw Error(ErrorCode::invalid_argument,
                  "prompt pair needs 2 x " + std::to_string(dim) + " floats, got " + std::to_string(prompts.size()),
                  spec_.detector);
    if (!(spec_.threshold >= 0 && spec_.threshold <= 1))
      throw Error(ErrorCode::invalid_argument, "threshold must be in [0, 1]", spec_.detector);
    for (int r = 0; r < 2; ++r) {
      const auto row = detect::l2_normalized(prompts.data() + r * dim, static_cast<std::size_t>(dim));
      for (const float v : row)
        if (!std::isfinite(v))
          throw Error(ErrorCode::model_invalid, "prompt row " + std::to_string(r) + " is not finite", spec_.detector);
      if (detect::dot(row.data(), row.data(), row.size()) == 0)
        throw Error(ErrorCode::model_invalid, "prompt row " + std::to_string(r) + " is zero", spec_.detector);
      rows_.insert(rows_.end(), row.begin(), row.end());
    }
  }

  const std::string& name() const override { return spec_.detector; }
  int embed_dim() const override { return dim_; }

  DetectorResult score(const float* embedding) const override {
    const auto e = detect::l2_normalized(embedding, static_cast<std::size_t>(dim_));
    const float c0 = detect::dot(e.data(), rows_.data(), e.size());
    const float c1 = detect::dot(e.data(), rows_.data() + dim_, e.size());
    float logits[2] = {spec_.logit_scale * c0, spec_.logit_scale * c1};
    detect::softmax(logits);
    CategoryScore cs;
    cs.category = spec_.category;
    cs.score = logits[1];
    cs.threshold = spec_.threshold;
    const bool above = spec_.strict ? cs.score > spec_.threshold : cs.score >= spec_.threshold;
    cs.flagged = above && (!spec_.require_argmax || c1 > c0);
    DetectorResult r;
    r.detector = spec_.detector;
    r.flagged = cs.flagged;
    r.categories.push_back(std::move(cs));
    return r;
  }

 private:
  PromptPairSpec spec_;
  int dim_;
  std::vector<float> rows_;  // 2 x dim, normalised
};

// A 2 x D tensor as floats, or Error(model_invalid) naming the file.
std::vector<float> prompt_rows(const io::RawTensor& t, const std::filesystem::path& file, int& dim) {
  if (t.shape.size() != 2 || t.shape[0] != 2 || t.shape[1] <= 0)
    throw Error(ErrorCode::model_invalid, "expected a 2 x D array of prompt embeddings, got " + t.shape_string(),
                file.string());
  if (t.dtype != io::DType::f16 && t.dtype != io::DType::f32 && t.dtype != io::DType::f64)
    throw Error(ErrorCode::model_invalid, std::string("expected float prompt embeddings, got ") + io::to_string(t.dtype),
                file.string());
  dim = static_cast<int>(t.shape[1]);
  return t.to_float();  // float16 widened exactly, then normalised in float32 as Q16 does
}

}  // namespace

std::unique_ptr<EmbeddingDetector> make_prompt_pair_detector(const PromptPairSpec& spec, std::span<const float> prompts,
                                                             int dim) {
  return std::make_unique<PromptPairDetector>(spec, prompts, dim);
}

std::unique_ptr<EmbeddingDetector> load_q16_detector(const std::filesystem::path& prompts_file,
                                                     std::optional<float> threshold) {
  int dim = 0;
  const std::vector<float> rows = prompt_rows(io::read_pickled_ndarray(prompts_file), prompts_file, dim);
  PromptPairSpec spec;
  spec.detector = "q16";
  spec.category = "inappropriate";
  spec.threshold = threshold.value_or(kQ16Threshold);
  spec.require_argmax = true;
  return make_prompt_pair_detector(spec, rows, dim);
}

std::unique_ptr<EmbeddingDetector> load_laion_violence_detector(const std::filesystem::path& npy_file,
                                                                std::optional<float> threshold) {
  int dim = 0;
  const std::vector<float> rows = prompt_rows(io::read_npy(npy_file), npy_file, dim);
  PromptPairSpec spec;
  spec.detector = "laion-violence";
  spec.category = "violence";
  spec.threshold = threshold.value_or(kLaionViolenceThreshold);
  // clip-retrieval flags the argmax of the two dot products, i.e. p > 0.5: strict, and with
  // another threshold the threshold alone decides.
  spec.require_argmax = false;
  spec.strict = true;
  return make_prompt_pair_detector(spec, rows, dim);
}

}  // namespace safescan
