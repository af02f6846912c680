// The zero-shot head from prompt ensembles: the prompt file (data/zeroshot_prompts.json and
// its validation) and the scoring, on synthetic prompt embeddings (no text encoder here). The
// head writes one probability per category; the thresholds are the policy's (policy.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "safescan/clip_heads.hpp"
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
    // The label is the canonical UnsafeBench name, in kCategories order (what the head covers).
    EXPECT_EQ(canonical_category(p.categories[i].label), kCategories[i]) << p.categories[i].label;
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
  EXPECT_EQ(p.categories[0].prompts, std::vector<std::string>{"x"});  // "threshold": the policy's now
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
  // A threshold outside [0, 1] was refused here; thresholds are the policy's now (it checks its
  // own), so the ignored key need only be a number.
  EXPECT_NO_THROW(parse(R"({"categories": [{"name": "a", "prompts": ["x"], "threshold": 2}], )" + ok_safe + "}"));
  expect_error([&] { parse(R"({"categories": [{"name": "a", "prompts": ["x"], "threshold": "high"}], )" + ok_safe + "}"); },
               ErrorCode::invalid_argument, "category #1 (\"a\"): \"threshold\" must be a number");
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

// The head's outputs on one embedding.
std::vector<float> scores(const Head& h, const float* embedding) {
  std::vector<float> out(h.outputs().size(), std::nanf(""));
  h.score(embedding, out.data());
  return out;
}

TEST(ZeroShotPrompts, AThresholdKeyFromBeforePoliciesStillParses) {
  // Prompt files written before policies carried a "threshold" per class (the shipped file had
  // 0.5 on each): they still load, the key ignored with a warning, since the decision
  // thresholds are the policy's now. The result is the same as without the key.
  const std::string with = R"({"temperature": 50,
    "categories": [{"name": "hate", "label": "Hate", "threshold": 0.5, "prompts": ["a hate symbol", "a hateful rally"]},
                   {"name": "self_harm", "threshold": 0.25, "prompts": ["self-harm"]}],
    "safe": {"name": "safe", "label": "Safe", "threshold": 0.9, "prompts": ["a photo of a cat"]}})";
  const std::string without = R"({"temperature": 50,
    "categories": [{"name": "hate", "label": "Hate", "prompts": ["a hate symbol", "a hateful rally"]},
                   {"name": "self_harm", "prompts": ["self-harm"]}],
    "safe": {"name": "safe", "label": "Safe", "prompts": ["a photo of a cat"]}})";
  safescan::testing::TempDir dir;
  safescan::testing::write_all(dir / "old.json", with);
  const ZeroShotPrompts old_file = load_zeroshot_prompts(dir / "old.json");
  const ZeroShotPrompts old_text = parse_zeroshot_prompts(with, "old.json");
  const ZeroShotPrompts now = parse_zeroshot_prompts(without, "new.json");
  for (const ZeroShotPrompts* p : {&old_file, &old_text}) {
    ASSERT_EQ(p->categories.size(), now.categories.size());
    for (std::size_t i = 0; i < now.categories.size(); ++i) {
      EXPECT_EQ(p->categories[i].name, now.categories[i].name);
      EXPECT_EQ(p->categories[i].label, now.categories[i].label);
      EXPECT_EQ(p->categories[i].prompts, now.categories[i].prompts);
    }
    EXPECT_EQ(p->safe.name, "safe");
    EXPECT_EQ(p->safe.label, now.safe.label);
    EXPECT_EQ(p->safe.prompts, now.safe.prompts);
    EXPECT_FLOAT_EQ(p->temperature, 50.0f);
    EXPECT_EQ(p->all_prompts(), now.all_prompts());
  }
  // And the head built from it is the one built without the key.
  const int dim = 8;
  const std::vector<float> emb = random_rows(now.all_prompts().size(), dim, 5);
  const ZeroShotHead a(old_file, emb, dim), b(now, emb, dim);
  EXPECT_EQ(a.outputs(), (std::vector<std::string>{"hate", "self_harm"}));
  EXPECT_EQ(a.outputs(), b.outputs());
  EXPECT_EQ(a.class_embeddings(), b.class_embeddings());
  const std::vector<float> x = random_rows(1, dim, 6);
  EXPECT_EQ(a.probabilities(x.data()), b.probabilities(x.data()));
}

TEST(ZeroShotHead, AnEmbeddingEqualToACategoryMeanWinsThatCategory) {
  const ZeroShotPrompts p = load_zeroshot_prompts(prompt_file());
  const int dim = 64;
  const std::vector<float> emb = random_rows(p.all_prompts().size(), dim, 7);
  const ZeroShotHead d(p, emb, dim);
  EXPECT_EQ(d.name(), "zeroshot");
  EXPECT_EQ(d.backbone(), "clip");
  EXPECT_EQ(d.feature_dim(), dim);
  EXPECT_TRUE(d.models().empty());
  // One output per category, named as in the file (safe is not an output), each covering the
  // canonical UnsafeBench category of its label.
  ASSERT_EQ(d.outputs().size(), p.categories.size());
  ASSERT_EQ(d.categories().size(), p.categories.size());
  for (std::size_t c = 0; c < p.categories.size(); ++c) {
    EXPECT_EQ(d.outputs()[c], p.categories[c].name);
    EXPECT_EQ(d.categories()[c].category, kCategories[c]);
    EXPECT_EQ(d.categories()[c].outputs, std::vector<int>{static_cast<int>(c)}) << d.categories()[c].category;
  }

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
    for (float& v : e) v *= 3;  // the head normalises
    const std::vector<float> probs = d.probabilities(e.data());
    ASSERT_EQ(probs.size(), means.size());
    EXPECT_EQ(std::max_element(probs.begin(), probs.end()) - probs.begin(), static_cast<long>(c));
    EXPECT_GT(probs[c], 0.99f);
    const std::vector<float> out = scores(d, e.data());
    ASSERT_EQ(out.size(), p.categories.size());  // safe is not an output
    for (std::size_t o = 0; o < out.size(); ++o) EXPECT_FLOAT_EQ(out[o], probs[o]) << d.outputs()[o];
    // Flagging (p >= 0.5) is the policy's now: the category mean scores >= 0.5 in its own
    // output alone (it was the only one flagged), and the safe mean in none (flagged nothing).
    for (std::size_t o = 0; o < out.size(); ++o) {
      if (o == c) {
        EXPECT_GE(out[o], 0.5f) << d.outputs()[o];
      } else {
        EXPECT_LT(out[o], 0.5f) << d.outputs()[o] << " on the mean of class " << c;
      }
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
  const std::vector<float> out = scores(d, x.data());
  ASSERT_EQ(out.size(), p.categories.size());
  for (std::size_t c = 0; c < out.size(); ++c) EXPECT_FLOAT_EQ(out[c], probs[c]);
  // The outputs and safe's probability (not an output) make up the whole softmax.
  EXPECT_NEAR(std::accumulate(out.begin(), out.end(), 0.0) + probs.back(), 1.0, 1e-5);

  // The name is the caller's (a detector label).
  const ZeroShotHead named(p, emb, dim, "zeroshot:mine");
  EXPECT_EQ(named.name(), "zeroshot:mine");
  EXPECT_EQ(named.class_embeddings(), d.class_embeddings());
}

TEST(ZeroShotHead, CategoriesComeFromTheLabelElseTheName) {
  // A category covers the canonical category its label spells, else its name's; one that is
  // neither is still an output, covering nothing.
  const ZeroShotPrompts p = parse_zeroshot_prompts(R"({
    "categories": [{"name": "self_harm", "prompts": ["a"]},
                   {"name": "nsfw", "label": "sexual", "prompts": ["b"]},
                   {"name": "weapons", "label": "Weapons", "prompts": ["c"]},
                   {"name": "spam", "label": "Junk mail", "prompts": ["d"]}],
    "safe": {"prompts": ["e"]}})",
                                                   "custom.json");
  const int dim = 8;
  const ZeroShotHead d(p, random_rows(p.all_prompts().size(), dim, 21), dim);
  EXPECT_EQ(d.outputs(), (std::vector<std::string>{"self_harm", "nsfw", "weapons", "spam"}));
  std::vector<std::pair<std::string, std::vector<int>>> covers;
  for (const CategoryMap& c : d.categories()) covers.emplace_back(c.category, c.outputs);
  EXPECT_EQ(covers, (std::vector<std::pair<std::string, std::vector<int>>>{
                        {"Self-harm", {0}}, {"Sexual", {1}}, {"Spam", {3}}}));
  const std::vector<float> x = random_rows(1, dim, 22);
  const std::vector<float> out = scores(d, x.data());
  const std::vector<float> probs = d.probabilities(x.data());
  ASSERT_EQ(out.size(), 4u);
  for (std::size_t c = 0; c < out.size(); ++c) EXPECT_FLOAT_EQ(out[c], probs[c]);
}

TEST(ZeroShotHead, TextEncoderConstructorAndSizeChecks) {
  const ZeroShotPrompts p = load_zeroshot_prompts(prompt_file());
  const int dim = 16;
  const std::vector<std::string> texts = p.all_prompts();
  const std::vector<float> emb = random_rows(texts.size(), dim, 3);
  std::vector<std::string> asked;
  const ZeroShotHead via_encoder(
      p,
      [&](const std::vector<std::string>& t) {
        asked = t;
        return emb;
      },
      dim, "zs");
  EXPECT_EQ(asked, texts);
  EXPECT_EQ(via_encoder.name(), "zs");
  const ZeroShotHead direct(p, emb, dim);
  EXPECT_EQ(via_encoder.class_embeddings(), direct.class_embeddings());
  EXPECT_EQ(via_encoder.outputs(), direct.outputs());
  const std::vector<float> short_emb(emb.begin(), emb.end() - dim);
  expect_error([&] { ZeroShotHead(p, short_emb, dim); }, ErrorCode::invalid_argument,
               "expected " + std::to_string(texts.size()) + " prompt embeddings of 16 floats");
  std::vector<float> zeros(emb.size(), 0.0f);
  expect_error([&] { ZeroShotHead(p, zeros, dim); }, ErrorCode::invalid_argument, "of class \"hate\" are zero");
}

TEST(ZeroShotHead, RatingEmbeddingsScoreLowWithSyntheticPrompts) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings");
  // No CLIP text encoder in these tests: the unsafe categories' prompt embeddings are random
  // directions and the safe prompts are benign image embeddings (rating buckets 0, 3, 6, 9)
  // plus noise. This checks the head's arithmetic on real 512/768-wide embeddings, not the
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
    const ZeroShotHead d(p, emb, dim);
    for (int r = 0; r < 10; ++r) {
      // Was not flagged (every category below 0.5); the decision is the policy's now.
      const std::vector<float> out = scores(d, ratings[r].data());
      ASSERT_EQ(out.size(), p.categories.size());
      for (std::size_t c = 0; c < out.size(); ++c)
        EXPECT_LT(out[c], 0.5f) << variant << " rating" << r << " " << d.outputs()[c];
      const std::vector<float> probs = d.probabilities(ratings[r].data());
      EXPECT_GT(probs.back(), 0.9f) << variant << " rating" << r;
    }
  }
}

}  // namespace
