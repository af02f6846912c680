// The attacks of bench's robustness part (attacks.cpp), apart from the bookkeeping: the
// white-box view of one head on a differentiable backbone, L-inf PGD (FGSM is one step of it)
// and the Square attack. Internal; tests/models/test_attacks.cpp checks them against
// torchattacks' outputs.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "safescan/detector.hpp"
#include "safescan/error.hpp"
#include "safescan/image.hpp"
#include "safescan/result.hpp"

namespace safescan::bench {

// An image as [0, 1] floats, channel-major (C x H x W).
struct Planar {
  int width = 0, height = 0;
  std::vector<float> v;
};
Planar to_planar(const Image& img);
// Rounded to 8 bits (values clamped to [0, 1] first).
Image to_image(const float* v, int width, int height);

// One head on one differentiable backbone, seen as a function of [0, 1] pixels at the
// backbone's input side: category scores and their gradients.
class WhiteBox {
 public:
  WhiteBox(const Backbone& backbone, const Head& head) : backbone_(backbone), head_(head) {
    side_ = backbone.input_side();
    mean_ = backbone.input_mean();
    std_ = backbone.input_std();
  }
  int side() const { return side_; }
  std::size_t floats() const { return 3ull * side_ * side_; }
  const std::array<float, 3>& stdev() const { return std_; }

  // The backbone's view of an image as [0, 1] pixels at side x side.
  std::vector<float> pixels(const Image& image) const {
    std::vector<float> x(floats());
    backbone_.preprocess(image, x.data());
    const std::size_t plane = static_cast<std::size_t>(side_) * side_;
    for (int c = 0; c < 3; ++c)
      for (std::size_t i = 0; i < plane; ++i) x[c * plane + i] = std::clamp(x[c * plane + i] * std_[c] + mean_[c], 0.0f, 1.0f);
    return x;
  }

  // The outputs whose sum is the score of `category` ("": the highest category of `clean`).
  std::vector<int> outputs_of(const std::string& category, const ItemResult& clean, const std::string& detector) const {
    std::string cat = category;
    if (!canonical_category(cat)) {
      float best = -1;
      for (const auto& c : clean.categories)
        if (c.detector == detector && c.score > best) best = c.score, cat = c.category;
    }
    for (const auto& m : head_.categories())
      if (m.category == cat) return m.outputs;
    return {};
  }

  // The category score of each of n inputs (x: n * floats() pixels in [0, 1]); with `grad`,
  // also d (sum_i sign_i * score_i) / d x.
  std::vector<float> scores(const float* x, int n, const std::vector<std::vector<int>>& outputs, const std::vector<float>& sign,
                            float* grad) const {
    const std::size_t per = floats(), plane = per / 3;
    std::vector<float> in(per * n);
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        for (std::size_t k = 0; k < plane; ++k) {
          const std::size_t at = i * per + c * plane + k;
          in[at] = (x[at] - mean_[c]) / std_[c];
        }
    const auto f = static_cast<std::size_t>(head_.feature_dim());
    const std::size_t outs = head_.outputs().size();
    std::vector<float> result(static_cast<std::size_t>(n)), o(outs), og(outs);
    // Scores item i into result[i]; with feature_grad, also d (sign_i * score_i) / d features.
    auto score = [&](const float* features, int i, float* feature_grad) {
      head_.score(features + i * f, o.data());
      float raw = 0;
      for (const int k : outputs[i]) raw += o[static_cast<std::size_t>(k)];
      result[i] = std::min(raw, 1.0f);
      if (!feature_grad) return;
      std::fill(og.begin(), og.end(), 0.0f);
      if (raw <= 1.0f)  // past the cap of 1 the score is flat
        for (const int k : outputs[i]) og[static_cast<std::size_t>(k)] = sign[i];
      if (!head_.score_gradient(features + i * f, og.data(), feature_grad + i * f))
        throw Error(ErrorCode::invalid_argument, "detector " + head_.name() + " has no gradient (white-box attacks need one)");
    };
    if (!grad) {
      const std::vector<float> features = backbone_.run(in.data(), n);
      for (int i = 0; i < n; ++i) score(features.data(), i, nullptr);
      return result;
    }
    backbone_.run_with_gradient(
        in.data(), n,
        [&](const float* features, float* feature_grad) {
          for (int i = 0; i < n; ++i) score(features, i, feature_grad);
        },
        grad);
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        for (std::size_t k = 0; k < plane; ++k) grad[i * per + c * plane + k] /= std_[c];
    return result;
  }

 private:
  const Backbone& backbone_;
  const Head& head_;
  int side_ = 0;
  std::array<float, 3> mean_{}, std_{};
};

// L-inf projected gradient ascent on sign_i * score_i (sign +1 raises a safe item's score: a
// false alarm; -1 lowers an unsafe one's: an evasion), in [0, 1] pixels with per-channel
// epsilon and step, as torchattacks' PGD: x <- clip(x0 + clip(x + step * sign(grad) - x0,
// -eps, eps), 0, 1). FGSM is one step of epsilon without a random start.
struct PgdSetting {
  std::array<float, 3> eps{}, step{};
  int steps = 10;
  bool random_start = true;  // x0 + U(-eps, eps), clipped to [0, 1]
};
std::vector<float> pgd(const WhiteBox& wb, const std::vector<float>& x0, int n, const std::vector<std::vector<int>>& outputs,
                       const std::vector<float>& sign, const PgdSetting& setting, std::mt19937_64& rng);

// The Square attack (Andriushchenko et al., 2020; torchattacks' Square, L-inf, margin loss):
// the fraction of the image a square covers at `iteration` of `queries`.
float square_fraction(float p_init, int iteration, int queries);
// Scores of images (8-bit, as a query-only attacker submits them); which[k] is the index of
// images[k] among the attacked items.
using SquareScorer = std::function<std::vector<float>(const std::vector<Image>& images, const std::vector<std::size_t>& which)>;
struct SquareOutcome {
  std::vector<Planar> adversarial;
  std::vector<int> queries;  // queries used per item (at most `queries`)
};
// Item i is classified unsafe when its score >= thresholds[i]; the attack stops on an item
// once that differs from labels[i], or after `queries` queries.
SquareOutcome square(const SquareScorer& score, const std::vector<Planar>& x0, const std::vector<int>& labels,
                     const std::vector<float>& thresholds, float eps, int queries, float p_init, std::mt19937_64& rng);

}  // namespace safescan::bench
