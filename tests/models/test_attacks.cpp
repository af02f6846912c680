// The attacks of `safescan bench` and the differentiable path under them:
//  - FGSM and PGD equal torchattacks' outputs on a linear two-class model (golden file made by
//    tests/data/make_attacks_golden.py), and the Square attack's schedule equals torchattacks';
//  - the differentiable forward of the nsfwjs CNN and of the CLIP image encoder equals the
//    normal path within 1e-5, and its gradient agrees with finite differences;
//  - the heads' gradients (prompt pair, zero-shot, LAION's MLP) agree with finite differences;
//  - an image at the model's input side is what the model sees (a written PNG re-scores the same).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "detectors/parts.hpp"
#include "evaluate/attacks.hpp"
#include "heads/keras_mlp.hpp"
#include "safescan/clip.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/runtime.hpp"
#include "testing.hpp"

namespace {

using namespace safescan;
using json = nlohmann::json;

const json& golden() {
  static const json g = [] {
    std::ifstream in(std::filesystem::path(SAFESCAN_SOURCE_DIR) / "tests/data/attacks_golden.json");
    return json::parse(in);
  }();
  return g;
}

// logits = W x + b as a differentiable backbone (features: the two logits) ...
class LinearBackbone final : public Backbone {
 public:
  LinearBackbone(std::vector<float> w, std::vector<float> b, int side) : w_(std::move(w)), b_(std::move(b)), side_(side) {}
  const std::string& name() const override { return name_; }
  std::size_t input_floats() const override { return 3ull * side_ * side_; }
  int min_side() const override { return side_; }
  void preprocess(const Image& image, float* out) const override {
    const bench::Planar p = bench::to_planar(image);
    std::copy(p.v.begin(), p.v.end(), out);
  }
  int feature_dim() const override { return 2; }
  std::vector<float> run(const float* x, int n) const override {
    const std::size_t d = input_floats();
    std::vector<float> out(2 * static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < 2; ++k) {
        float s = 0;
        for (std::size_t j = 0; j < d; ++j) s += w_[k * d + j] * x[i * d + j];
        out[i * 2 + k] = s + b_[k];
      }
    return out;
  }
  std::vector<ModelInfo> models() const override { return {}; }
  bool differentiable() const override { return true; }
  int input_side() const override { return side_; }
  std::vector<float> run_with_gradient(const float* x, int n, const FeatureGradient& gradient, float* input_grad) const override {
    const std::vector<float> f = run(x, n);
    std::vector<float> g(f.size());
    gradient(f.data(), g.data());
    const std::size_t d = input_floats();
    for (int i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) input_grad[i * d + j] = g[i * 2] * w_[j] + g[i * 2 + 1] * w_[d + j];
    return f;
  }

 private:
  std::string name_ = "linear";
  std::vector<float> w_, b_;
  int side_;
};

// ... and a head whose score is softmax(logits)[1].
class SoftmaxHead final : public Head {
 public:
  const std::string& name() const override { return name_; }
  const std::string& backbone() const override { return backbone_; }
  int feature_dim() const override { return 2; }
  const std::vector<std::string>& outputs() const override { return outputs_; }
  const std::vector<CategoryMap>& categories() const override { return categories_; }
  void score(const float* f, float* out) const override { out[0] = 1.0f / (1.0f + std::exp(f[0] - f[1])); }
  std::vector<ModelInfo> models() const override { return {}; }
  bool score_gradient(const float* f, const float* out_grad, float* feature_grad) const override {
    const float p = 1.0f / (1.0f + std::exp(f[0] - f[1]));
    feature_grad[0] = -out_grad[0] * p * (1 - p);
    feature_grad[1] = out_grad[0] * p * (1 - p);
    return true;
  }

 private:
  std::string name_ = "linear", backbone_ = "linear";
  std::vector<std::string> outputs_{"unsafe"};
  std::vector<CategoryMap> categories_{{"Sexual", {0}}};
};

std::vector<float> floats(const json& j) { return j.get<std::vector<float>>(); }

TEST(AttacksGolden, FgsmAndPgdEqualTorchattacks) {
  const json& g = golden();
  const int n = g["n"];
  const LinearBackbone backbone(floats(g["w"]), floats(g["b"]), 8);
  const SoftmaxHead head;
  const bench::WhiteBox wb(backbone, head);
  const std::vector<float> x = floats(g["x"]);
  std::vector<std::vector<int>> outputs(n, std::vector<int>{0});
  std::vector<float> sign;
  for (const int label : g["labels"]) sign.push_back(label ? -1.0f : 1.0f);
  ASSERT_GE(g["cases"].size(), 4u);
  for (const auto& c : g["cases"]) {
    bench::PgdSetting s;
    const float eps = c["eps"], alpha = c["alpha"];
    s.eps = {eps, eps, eps};
    s.step = {alpha, alpha, alpha};
    s.steps = c["steps"];
    s.random_start = false;
    std::mt19937_64 rng(0);
    const std::vector<float> adv = bench::pgd(wb, x, n, outputs, sign, s, rng);
    const std::vector<float> want = floats(c["adversarial"]);
    ASSERT_EQ(adv.size(), want.size());
    std::size_t off = 0;
    double worst = 0;
    for (std::size_t i = 0; i < adv.size(); ++i) {
      worst = std::max(worst, std::fabs(static_cast<double>(adv[i]) - want[i]));
      off += std::fabs(adv[i] - want[i]) > 1e-6f;
    }
    EXPECT_EQ(off, 0u) << c["attack"] << " eps " << eps << ": worst difference " << worst;
    // Inside the ball and the pixel range, and the score moved the intended way.
    const auto before = wb.scores(x.data(), n, outputs, sign, nullptr), after = wb.scores(adv.data(), n, outputs, sign, nullptr);
    for (int i = 0; i < n; ++i) EXPECT_GT(sign[i] * (after[i] - before[i]), 0.0f) << "item " << i;
    for (std::size_t i = 0; i < adv.size(); ++i) {
      EXPECT_LE(std::fabs(adv[i] - x[i]), eps + 1e-6f);
      EXPECT_GE(adv[i], 0.0f);
      EXPECT_LE(adv[i], 1.0f);
    }
  }
}

TEST(AttacksGolden, PgdRandomStartStaysInTheBallAndIsSeeded) {
  const json& g = golden();
  const int n = g["n"];
  const LinearBackbone backbone(floats(g["w"]), floats(g["b"]), 8);
  const SoftmaxHead head;
  const bench::WhiteBox wb(backbone, head);
  const std::vector<float> x = floats(g["x"]);
  std::vector<std::vector<int>> outputs(n, std::vector<int>{0});
  std::vector<float> sign(n, 1.0f);
  bench::PgdSetting s;
  s.eps = {8 / 255.f, 4 / 255.f, 2 / 255.f};  // per channel, as in UnsafeBench's normalised setting
  s.step = {s.eps[0] / 4, s.eps[1] / 4, s.eps[2] / 4};
  s.steps = 3;
  std::mt19937_64 a(7), b(7), c(8);
  const auto x1 = bench::pgd(wb, x, n, outputs, sign, s, a), x2 = bench::pgd(wb, x, n, outputs, sign, s, b),
             x3 = bench::pgd(wb, x, n, outputs, sign, s, c);
  EXPECT_EQ(x1, x2);
  EXPECT_NE(x1, x3);
  const std::size_t plane = 64;
  for (std::size_t i = 0; i < x1.size(); ++i) {
    const int ch = static_cast<int>((i / plane) % 3);
    EXPECT_LE(std::fabs(x1[i] - x[i]), s.eps[ch] + 1e-6f) << i;
  }
}

TEST(AttacksGolden, SquareScheduleEqualsTorchattacks) {
  for (const auto& s : golden()["square_schedules"]) {
    const int queries = s["queries"];
    const float p_init = s["p_init"];
    const auto& p = s["p"];
    for (int i = 0; i < queries; ++i)
      ASSERT_FLOAT_EQ(bench::square_fraction(p_init, i, queries), p[i].get<float>()) << "query " << i << " of " << queries;
  }
}

TEST(Attacks, SquareFoolsALinearModelWithinItsBudgetAndBall) {
  const json& g = golden();
  const LinearBackbone backbone(floats(g["w"]), floats(g["b"]), 8);
  const SoftmaxHead head;
  const int n = g["n"];
  const std::vector<float> x = floats(g["x"]);
  std::vector<bench::Planar> x0(n);
  for (int i = 0; i < n; ++i) x0[i] = {8, 8, std::vector<float>(x.begin() + i * 192, x.begin() + (i + 1) * 192)};
  std::vector<int> labels;
  std::vector<float> thresholds(n, 0.5f);
  std::size_t calls = 0;
  const bench::SquareScorer scorer = [&](const std::vector<Image>& imgs, const std::vector<std::size_t>& which) {
    EXPECT_EQ(imgs.size(), which.size());
    ++calls;
    std::vector<float> out;
    for (const auto& img : imgs) {
      const bench::Planar p = bench::to_planar(img);
      const auto f = backbone.run(p.v.data(), 1);
      float s = 0;
      head.score(f.data(), &s);
      out.push_back(s);
    }
    return out;
  };
  // Labels as the model classifies each item (the attack starts from correct items).
  for (int i = 0; i < n; ++i) labels.push_back(scorer({bench::to_image(x0[i].v.data(), 8, 8)}, {0})[0] >= 0.5f);
  std::mt19937_64 rng(2023);
  const float eps = 16 / 255.f;
  const auto out = bench::square(scorer, x0, labels, thresholds, eps, 200, 0.8f, rng);
  ASSERT_EQ(out.adversarial.size(), static_cast<std::size_t>(n));
  int fooled = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_GE(out.queries[i], 1);
    EXPECT_LE(out.queries[i], 200);
    for (std::size_t k = 0; k < 192; ++k) {
      EXPECT_LE(std::fabs(out.adversarial[i].v[k] - x0[i].v[k]), eps + 1e-6f);
      EXPECT_GE(out.adversarial[i].v[k], 0.0f);
      EXPECT_LE(out.adversarial[i].v[k], 1.0f);
    }
    const float s = scorer({bench::to_image(out.adversarial[i].v.data(), 8, 8)}, {0})[0];
    const bool flipped = (s >= 0.5f) != static_cast<bool>(labels[i]);
    fooled += flipped;
    if (!flipped) EXPECT_EQ(out.queries[i], 200) << "item " << i << " stopped early without being fooled";
  }
  EXPECT_GT(fooled, 0) << "a linear model with margins this small should be fooled at 16/255";
}

// Central differences of f along v against <grad f, v>.
// `abs`: the float32 noise of f divided by 2h (a deep network's outputs carry ~1e-7).
template <class F>
void expect_directional_derivative(F&& f, const std::vector<float>& x, const std::vector<float>& grad, float h, double rel,
                                   const std::string& what, double abs = 0) {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> nd(0, 1);
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<float> v(x.size()), xp = x, xm = x;
    double gv = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      v[i] = trial == 0 ? (grad[i] > 0 ? 1.0f : grad[i] < 0 ? -1.0f : 0.0f) : nd(rng);
      xp[i] += h * v[i];
      xm[i] -= h * v[i];
      gv += static_cast<double>(grad[i]) * v[i];
    }
    const double fd = (static_cast<double>(f(xp)) - f(xm)) / (2.0 * h);
    EXPECT_NEAR(fd, gv, rel * std::max(std::fabs(gv), 1e-6) + abs) << what << ", direction " << trial;
  }
}

TEST(DifferentiablePath, HeadGradientsAgreeWithFiniteDifferences) {
  const int dim = 16;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> prompts(2 * dim), e(dim);
  for (float& v : prompts) v = nd(rng);
  for (float& v : e) v = nd(rng) * 0.3f;
  // A prompt pair at a small logit scale keeps the softmax away from saturation.
  const auto pair = make_prompt_pair_head({"pair", "flagged", {"Violence"}, 5.0f}, prompts, dim);
  // Zero-shot: two categories and safe, two prompts each.
  ZeroShotPrompts zp;
  zp.categories = {{"violence", "Violence", {"a", "b"}}, {"hate", "Hate", {"c", "d"}}};
  zp.safe = {"safe", "Safe", {"e", "f"}};
  zp.temperature = 4.0f;
  std::vector<float> texts(6 * dim);
  for (float& v : texts) v = nd(rng);
  const ZeroShotHead zeroshot(zp, texts, dim);

  for (const Head* head : {static_cast<const Head*>(pair.get()), static_cast<const Head*>(&zeroshot)}) {
    const std::size_t outs = head->outputs().size();
    for (std::size_t o = 0; o < outs; ++o) {
      std::vector<float> og(outs, 0.0f), grad(dim);
      og[o] = 1.0f;
      ASSERT_TRUE(head->score_gradient(e.data(), og.data(), grad.data()));
      auto f = [&](const std::vector<float>& x) {
        std::vector<float> out(outs);
        head->score(x.data(), out.data());
        return out[o];
      };
      expect_directional_derivative(f, e, grad, 2e-3f, 0.03, head->name() + " output " + std::to_string(o));
    }
  }

  // LAION's MLP shape: normalisation, ReLU layers, a sigmoid; one categorical column.
  detect::KerasMlp mlp;
  mlp.input_dim = dim;
  mlp.categorical_columns = {3};
  mlp.categorical_values = {0.0f};
  mlp.mean.assign(dim, 0.01f);
  mlp.variance.assign(dim, 0.02f);
  const int widths[] = {dim, 12, 8, 1};
  for (int l = 0; l < 3; ++l) {
    detect::DenseLayer d;
    d.in = widths[l];
    d.out = widths[l + 1];
    d.kernel.resize(static_cast<std::size_t>(d.in) * d.out);
    d.bias.resize(static_cast<std::size_t>(d.out));
    for (float& v : d.kernel) v = nd(rng) * 0.3f;
    for (float& v : d.bias) v = nd(rng) * 0.1f;
    d.activation = l == 2 ? detect::Activation::sigmoid : detect::Activation::relu;
    mlp.layers.push_back(std::move(d));
  }
  std::vector<float> u(dim);
  for (float& v : u) v = nd(rng) * 0.25f;
  const std::vector<float> grad = mlp.backward(u.data(), 1.0f);
  EXPECT_EQ(grad[3], 0.0f) << "a categorical column is a constant";
  expect_directional_derivative([&](const std::vector<float>& x) { return mlp.forward(x.data()); }, u, grad, 1e-3f, 0.03, "MLP");
}

// The differentiable path of a real detector: outputs equal to the normal path, gradients
// agree with finite differences, and an image at the input side is seen as it is.
void check_real_path(const Backbone& backbone, const Head& head, const std::vector<int>& outputs, const std::string& what) {
  const bench::WhiteBox wb(backbone, head);
  const int n = 2;
  std::vector<Image> images = {load_image(safescan::testing::shared_image("kodim05.png")), load_image(safescan::testing::shared_image("messi5.jpg"))};
  std::vector<float> x;
  for (const auto& img : images) {
    const auto p = wb.pixels(img);
    x.insert(x.end(), p.begin(), p.end());
  }
  std::vector<std::vector<int>> outs(n, outputs);
  std::vector<float> sign(n, 1.0f), grad(x.size());
  const std::vector<float> diff = wb.scores(x.data(), n, outs, sign, grad.data());
  const std::vector<float> plain = wb.scores(x.data(), n, outs, sign, nullptr);
  // The normal path: preprocess, run, score.
  const std::size_t per = backbone.input_floats();
  std::vector<float> in(per * n);
  for (int i = 0; i < n; ++i) backbone.preprocess(images[i], in.data() + i * per);
  const std::vector<float> features = backbone.run(in.data(), n);
  std::vector<float> o(head.outputs().size());
  for (int i = 0; i < n; ++i) {
    head.score(features.data() + static_cast<std::size_t>(i) * head.feature_dim(), o.data());
    float want = 0;
    for (const int k : outputs) want += o[static_cast<std::size_t>(k)];
    want = std::min(want, 1.0f);
    EXPECT_NEAR(diff[i], want, 1e-5) << what << ": differentiable path, image " << i;
    EXPECT_NEAR(plain[i], want, 1e-5) << what << ": white-box forward, image " << i;
  }
  // Gradient of image 0 along its sign and two random directions.
  const std::size_t d = wb.floats();
  const std::vector<float> x0(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(d)), g0(grad.begin(), grad.begin() + static_cast<std::ptrdiff_t>(d));
  std::vector<std::vector<int>> one(1, outputs);
  std::vector<float> s1(1, 1.0f);
  expect_directional_derivative([&](const std::vector<float>& v) { return wb.scores(v.data(), 1, one, s1, nullptr)[0]; }, x0, g0, 1e-4f, 0.1,
                                what + " gradient", 1e-3);
  // An image already at the input side is what the model sees: the 8-bit PNG the attack
  // writes is scored on exactly its pixels.
  const Image img = bench::to_image(x0.data(), wb.side(), wb.side());
  const Image back = decode_image(encode_png(img));
  const auto seen = wb.pixels(back);
  double worst = 0;
  for (std::size_t i = 0; i < d; ++i) worst = std::max(worst, std::fabs(static_cast<double>(seen[i]) - std::lround(x0[i] * 255) / 255.0));
  EXPECT_LT(worst, 1e-6) << what << ": the input-side image is resized or filtered on the way in";
}

TEST(DifferentiablePath, NsfwMobileNetV2EqualsTheNormalPath) {
  SAFESCAN_REQUIRE_SHARED("images/kodim05.png");
  configure_runtime();
  std::shared_ptr<const Backbone> backbone;
  try {
    backbone = detectors::nsfw_backbone("nsfw-mobilenet-v2", "nsfw-mobilenet-v2");
  } catch (const Error& e) {
    GTEST_SKIP() << "nsfw-mobilenet-v2 is not installed (scripts/setup.sh installs it): " << e.what();
  }
  const auto head = detectors::nsfw_head("nsfw-mobilenet-v2");
  ASSERT_TRUE(backbone->differentiable());
  EXPECT_EQ(backbone->input_side(), 224);
  check_real_path(*backbone, *head, {1, 3}, "nsfw-mobilenet-v2 Sexual (hentai + porn)");
  check_real_path(*backbone, *head, {4}, "nsfw-mobilenet-v2 Suggestive");
}

TEST(DifferentiablePath, ClipImageEncoderWithPromptHeadEqualsTheNormalPath) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images/kodim05.png");
  configure_runtime();
  const auto file = safescan::testing::shared_path("fixtures/clip-tiny/clip.safetensors");
  auto model = std::make_shared<const ClipModel>(ClipModel::load(file));
  const auto backbone = detectors::clip_backbone(model, file);
  const int dim = backbone->feature_dim();
  std::mt19937_64 rng(5);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> prompts(2 * static_cast<std::size_t>(dim));
  for (float& v : prompts) v = nd(rng);
  const auto head = make_prompt_pair_head({"q16-like", "inappropriate", {"Violence"}, 10.0f}, prompts, dim);
  ASSERT_TRUE(backbone->differentiable());
  check_real_path(*backbone, *head, {0}, "tiny CLIP + prompt pair");
}

}  // namespace
