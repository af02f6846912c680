// Zero-shot detection from prompt ensembles: the prompt file (data/zeroshot_prompts.json and
// its validation) and the scoring, on synthetic prompt embeddings (no text encoder here).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "safescan/detectors.hpp"
#include "safescan/error.hpp"
#include "testing.hpp"

namespace {

using namespace safescan;
using safescan::testing::shared_dir;

using safescan::testing::expect_error;

std::filesystem::path prompt_file() { return std::filesystem::path(SAFESCAN_SOURCE_DIR) / "data/zeroshot_prompts.json"; }

TEST(ZeroShotPrompts, TheShippedFileCoversTheUnsafeBenchCategories) {
  const ZeroShotPrompts p = load_zeroshot_prompts(prompt_file());
  const std::vector<std::pair<std::string, std::string>> expected{
      {"hate", "Hate"},         {"harassment", "Harassment"},
      {"violence", "Violence"}, {"self-harm", "Self-harm"},
      {"sexual", "Sexual"},     {"shocking", "Shocking"},
      {"illegal-activity", "Illegal activity"},
      {"deception", "Deception"},
      {"political", "Political"},
      {"health", "Public and personal health"},
      {"spam", "Spam"}};
  ASSERT_EQ(p.categories.size(), expected.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(p.categories[i].name, expected[i].first);
    EXPECT_EQ(p.categories[i].label, expected[i].second);
    EXPECT_GE(p.categories[i].prompts.size(), 5u) << p.categories[i].name;
    EXPECT_LE(p.categories[i].prompts.size(), 8u) << p.categories[i].name;
    EXPECT_FLOAT_EQ(p.categories[i].threshold, 0.5f);
    total += p.categories[i].prompts.size();
  }
  EXPECT_EQ(p.safe.name, "safe");
  EXPECT_GE(p.safe.prompts.size(), 5u);
  EXPECT_FLOAT_EQ(p.temperature, 100.0f);
  const auto all = p.all_prompts();
  ASSERT_EQ(all.size(), total + p.safe.prompts.size());
  EXPECT_EQ(all.front(), p.categories.front().prompts.front());
  EXPECT_EQ(all.back(), p.safe.prompts.back());
}

TEST(ZeroShotPrompts, ValidationNamesTheProblem) {
  const std::string ok_safe = R"("safe": {"prompts": ["a photo"]})";
  auto parse = [](const std::string& text) { return parse_zeroshot_prompts(text, "p.json"); };
  const ZeroShotPrompts p =
      parse(R"({"categories": [{"name": "a", "prompts": ["x"], "threshold": 0.7}], )" + ok_safe + "}");
  EXPECT_EQ(p.categories[0].label, "a");  // the label defaults to the name
  EXPECT_FLOAT_EQ(p.categories[0].threshold, 0.7f);
  EXPECT_FLOAT_EQ(p.temperature, 100.0f);
  expect_error([&] { parse("{"); }, ErrorCode::invalid_argument, "not valid JSON");
  expect_error([&] { parse(R"({"categories": [{"name": "a", "prompts": ["x"]}]})"); }, ErrorCode::invalid_argument,
               "no \"safe\" class");
  expect_error([&] { parse(R"({"categories": [{"name": "a", "prompts": ["x"], "treshold": 0.2}], )" + ok_safe + "}"); },
               ErrorCode::invalid_argument, "category #1: unknown key \"treshold\"");
  expect_error([&] { parse(R"({"categories": [{"name": "a", "prompts": []}], )" + ok_safe + "}"); },
               ErrorCode::invalid_argument, "\"prompts\" must be a non-empty array");
  expect_error(
      [&] { parse(R"({"categories": [{"name": "a", "prompts": ["x"]}, {"name": "a", "prompts": ["y"]}], )" + ok_safe + "}"); },
      ErrorCode::invalid_argument, "category \"a\" appears twice");
  expect_error([&] { parse(R"({"categories": [{"name": "a", "prompts": ["x"], "threshold": 2}], )" + ok_safe + "}"); },
               ErrorCode::invalid_argument, "must be in [0, 1]");
  expect_error([&] { parse(R"({"temperature": 0, "categories": [{"name": "a", "prompts": ["x"]}], )" + ok_safe + "}"); },
               ErrorCode::invalid_argument, "\"temperature\" must be a positive number");
  expect_error([&] { parse(R"({"categories": [{"prompts": ["x"]}], )" + ok_safe + "}"); },
               ErrorCode::invalid_argument, "category #1 has no \"name\"");
  expect_error([&] { load_zeroshot_prompts("/nonexistent/prompts.json"); }, ErrorCode::model_missing, "not found");
}

// Deterministic synthetic "text embeddings": one Gaussian vector per prompt.
std::vector<float> random_rows(std::size_t rows, int dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(rows * static_cast<std::size_t>(dim));
  for (float& x : v) x = normal(rng);
  return v;
}

// The class embedding computed here independently: mean of normalised rows, renormalised.
std::vector<double> class_mean(const std::vector<float>& rows, std::size_t first, std::size_t count, int dim) {
  std::vector<double> m(static_cast<std::size_t>(dim), 0.0);
  for (std::size_t r = first; r < first + count; ++r) {
    double n = 0;
    for (int i = 0; i < dim; ++i) n += double(rows[r * dim + i]) * rows[r * dim + i];
    for (int i = 0; i < dim; ++i) m[i] += rows[r * dim + i] / std::sqrt(n);
  }
  double n = 0;
  for (const double v : m) n += v * v;
  for (double& v : m) v /= std::sqrt(n);
  return m;
}

TEST(ZeroShotDetector, AnEmbeddingEqualToACategoryMeanWinsThatCategory) {
  const ZeroShotPrompts p = load_zeroshot_prompts(prompt_file());
  const int dim = 64;
  const std::vector<float> emb = random_rows(p.all_prompts().size(), dim, 7);
  const ZeroShotDetector d(p, emb, dim);
  EXPECT_EQ(d.name(), "zeroshot");
  EXPECT_EQ(d.embed_dim(), dim);

  std::size_t first = 0;
  std::vector<std::vector<double>> means;
  for (const ZeroShotCategory& c : p.categories) {
    means.push_back(class_mean(emb, first, c.prompts.size(), dim));
    first += c.prompts.size();
  }
  means.push_back(class_mean(emb, first, p.safe.prompts.size(), dim));
  ASSERT_EQ(d.class_embeddings().size(), means.size() * dim);
  for (std::size_t c = 0; c < means.size(); ++c)
    for (int i = 0; i < dim; ++i) EXPECT_NEAR(d.class_embeddings()[c * dim + i], means[c][i], 1e-5);

  for (std::size_t c = 0; c < means.size(); ++c) {
    std::vector<float> e(means[c].begin(), means[c].end());
    for (float& v : e) v *= 3;  // the detector normalises
    const std::vector<float> probs = d.probabilities(e.data());
    ASSERT_EQ(probs.size(), means.size());
    EXPECT_EQ(std::max_element(probs.begin(), probs.end()) - probs.begin(), static_cast<long>(c));
    EXPECT_GT(probs[c], 0.99f);
    const DetectorResult r = d.score(e.data());
    ASSERT_EQ(r.categories.size(), p.categories.size());  // safe is not reported as a category
    if (c < p.categories.size()) {
      EXPECT_TRUE(r.flagged);
      EXPECT_EQ(r.categories[c].category, p.categories[c].name);
      EXPECT_TRUE(r.categories[c].flagged);
      for (std::size_t o = 0; o < r.categories.size(); ++o) {
        if (o != c) {
          EXPECT_FALSE(r.categories[o].flagged) << r.categories[o].category;
        }
      }
    } else {
      EXPECT_FALSE(r.flagged);  // the safe mean flags nothing
    }
  }

  // The formula, checked in double on an arbitrary embedding.
  const std::vector<float> x = random_rows(1, dim, 99);
  double xn = 0;
  for (const float v : x) xn += double(v) * v;
  std::vector<double> logits;
  for (const auto& m : means) {
    double dot = 0;
    for (int i = 0; i < dim; ++i) dot += m[i] * x[i] / std::sqrt(xn);
    logits.push_back(100.0 * dot);
  }
  const double mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (const double l : logits) sum += std::exp(l - mx);
  const std::vector<float> probs = d.probabilities(x.data());
  for (std::size_t c = 0; c < logits.size(); ++c) EXPECT_NEAR(probs[c], std::exp(logits[c] - mx) / sum, 1e-5);
  const DetectorResult r = d.score(x.data());
  for (std::size_t c = 0; c < r.categories.size(); ++c) {
    EXPECT_FLOAT_EQ(r.categories[c].score, probs[c]);
    EXPECT_EQ(r.categories[c].flagged, probs[c] >= 0.5f);
  }
}

TEST(ZeroShotDetector, TextEncoderConstructorAndSizeChecks) {
  const ZeroShotPrompts p = load_zeroshot_prompts(prompt_file());
  const int dim = 16;
  const std::vector<std::string> texts = p.all_prompts();
  const std::vector<float> emb = random_rows(texts.size(), dim, 3);
  std::vector<std::string> asked;
  const ZeroShotDetector via_encoder(
      p,
      [&](const std::vector<std::string>& t) {
        asked = t;
        return emb;
      },
      dim);
  EXPECT_EQ(asked, texts);
  const ZeroShotDetector direct(p, emb, dim);
  EXPECT_EQ(via_encoder.class_embeddings(), direct.class_embeddings());
  const std::vector<float> short_emb(emb.begin(), emb.end() - dim);
  expect_error([&] { ZeroShotDetector(p, short_emb, dim); }, ErrorCode::invalid_argument,
               "expected " + std::to_string(texts.size()) + " prompt embeddings of 16 floats");
  std::vector<float> zeros(emb.size(), 0.0f);
  expect_error([&] { ZeroShotDetector(p, zeros, dim); }, ErrorCode::invalid_argument, "of class \"hate\" are zero");
}

TEST(ZeroShotDetector, RatingEmbeddingsAreSafeWithSyntheticPrompts) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings");
  // No CLIP text encoder in these tests: the unsafe categories' prompt embeddings are random
  // directions and the safe prompts are benign image embeddings (rating buckets 0, 3, 6, 9)
  // plus noise. This checks the detector's arithmetic on real 512/768-wide embeddings, not the
  // quality of the prompts (that is for the benchmark with a real text encoder).
  const ZeroShotPrompts p = load_zeroshot_prompts(prompt_file());
  for (const auto& [variant, dim] : {std::pair{std::string("vit_b_32"), 512}, std::pair{std::string("vit_l_14"), 768}}) {
    std::vector<std::vector<float>> ratings;
    for (int r = 0; r < 10; ++r)
      ratings.push_back(read_embeddings_npy(shared_dir() / "models/laion/rating_embeddings" / (variant + "_embeddings") /
                                            ("rating" + std::to_string(r) + ".npy"))
                            .values);
    const std::size_t unsafe_prompts = p.all_prompts().size() - p.safe.prompts.size();
    std::vector<float> emb = random_rows(unsafe_prompts, dim, 11);
    const std::vector<float> noise = random_rows(p.safe.prompts.size(), dim, 12);
    for (std::size_t k = 0; k < p.safe.prompts.size(); ++k)
      for (int i = 0; i < dim; ++i)
        emb.push_back(ratings[(3 * k) % 10][i] + 0.02f * noise[k * dim + i]);  // |noise| ~ 0.02 sqrt(dim) < 1
    const ZeroShotDetector d(p, emb, dim);
    for (int r = 0; r < 10; ++r) {
      const DetectorResult res = d.score(ratings[r].data());
      EXPECT_FALSE(res.flagged) << variant << " rating" << r;
      const std::vector<float> probs = d.probabilities(ratings[r].data());
      EXPECT_GT(probs.back(), 0.9f) << variant << " rating" << r;
    }
  }
}

}  // namespace
