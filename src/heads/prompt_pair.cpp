// Two-prompt heads: Q16 (learned prompts, ml-research/Q16) and LAION's violence prompts
// (which are Q16's ViT prompts, normalised; see docs/detectors.md).
#include <cmath>
#include <limits>

#include "heads/clip_head.hpp"
#include "heads/vector_math.hpp"
#include "io/tensor_file.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/error.hpp"

namespace safescan {

using detect::ClipHead;

namespace {

class PromptPairHead final : public ClipHead {
 public:
  PromptPairHead(PromptPairSpec spec, std::span<const float> prompts, int dim)
      : ClipHead(spec.name, dim, spec.output, spec.categories), logit_scale_(spec.logit_scale) {
    if (!(spec.logit_scale > 0.0f) || !std::isfinite(spec.logit_scale))
      throw Error(ErrorCode::invalid_argument, "the logit scale must be a positive number", name_);
    for (const auto& c : spec.categories)
      if (!canonical_category(c) || *canonical_category(c) != c)
        throw Error(ErrorCode::invalid_argument, "'" + c + "' is not a category (docs/detectors.md lists them)", name_);
    if (dim <= 0 || prompts.size() != 2 * static_cast<std::size_t>(dim))
      throw Error(ErrorCode::invalid_argument,
                  "prompt pair needs 2 x " + std::to_string(dim) + " floats, got " + std::to_string(prompts.size()), name_);
    for (int r = 0; r < 2; ++r) {
      const auto row = detect::l2_normalized(prompts.data() + r * dim, static_cast<std::size_t>(dim));
      for (const float v : row)
        if (!std::isfinite(v)) throw Error(ErrorCode::model_invalid, "prompt row " + std::to_string(r) + " is not finite", name_);
      if (detect::dot(row.data(), row.data(), row.size()) == 0)
        throw Error(ErrorCode::model_invalid, "prompt row " + std::to_string(r) + " is zero", name_);
      rows_.insert(rows_.end(), row.begin(), row.end());
    }
  }

  void score(const float* embedding, float* out) const override {
    const auto e = detect::l2_normalized(embedding, static_cast<std::size_t>(dim_));
    const float c0 = detect::dot(e.data(), rows_.data(), e.size());
    const float c1 = detect::dot(e.data(), rows_.data() + dim_, e.size());
    float logits[2] = {logit_scale_ * c0, logit_scale_ * c1};
    detect::softmax(logits);
    out[0] = logits[1];
  }

  bool score_gradient(const float* embedding, const float* out_grad, float* feature_grad) const override {
    const auto n = static_cast<std::size_t>(dim_);
    const auto e = detect::l2_normalized(embedding, n);
    float p[2] = {logit_scale_ * detect::dot(e.data(), rows_.data(), n), logit_scale_ * detect::dot(e.data(), rows_.data() + n, n)};
    detect::softmax(p);
    float g[2] = {0.0f, out_grad[0]};
    detect::softmax_vjp(p, g);
    std::vector<float> grad_e(n);
    for (std::size_t i = 0; i < n; ++i) grad_e[i] = logit_scale_ * (g[0] * rows_[i] + g[1] * rows_[n + i]);
    const auto gx = detect::l2_normalized_vjp(embedding, grad_e.data(), n);
    std::copy(gx.begin(), gx.end(), feature_grad);
    return true;
  }

 private:
  float logit_scale_;
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

std::unique_ptr<Head> make_prompt_pair_head(const PromptPairSpec& spec, std::span<const float> prompts, int dim) {
  return std::make_unique<PromptPairHead>(spec, prompts, dim);
}

std::unique_ptr<Head> load_q16_head(const std::filesystem::path& prompts_file, std::string name) {
  int dim = 0;
  const std::vector<float> rows = prompt_rows(io::read_pickled_ndarray(prompts_file), prompts_file, dim);
  PromptPairSpec spec{std::move(name), "inappropriate", detect::q16_categories(), kPromptLogitScale};
  auto head = std::make_unique<PromptPairHead>(spec, rows, dim);
  head->set_file(prompts_file);
  return head;
}

std::unique_ptr<Head> load_laion_violence_head(const std::filesystem::path& npy_file, std::string name) {
  int dim = 0;
  const std::vector<float> rows = prompt_rows(io::read_npy(npy_file), npy_file, dim);
  PromptPairSpec spec{std::move(name), "violence", {"Violence"}, kPromptLogitScale};
  auto head = std::make_unique<PromptPairHead>(spec, rows, dim);
  head->set_file(npy_file);
  return head;
}

}  // namespace safescan
