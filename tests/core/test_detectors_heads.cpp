// The embedding detectors: Q16 and LAION violence (two prompts), the LAION NSFW head, the
// registry that finds their files, the .npy runner, and the one real-data check we have:
// every head calls the LAION aesthetic-rating mean embeddings (ordinary content) safe.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "io/tensor_file.hpp"
#include "safescan/detectors.hpp"
#include "safescan/error.hpp"
#include "testing.hpp"

namespace {

using namespace safescan;
using safescan::testing::shared_dir;

using safescan::testing::expect_error;

DetectorOptions shared_options(const std::string& clip_model = {}) {
  DetectorOptions o;
  o.models_dir = shared_dir() / "models";
  o.clip_model = clip_model;
  return o;
}

// --- Two-prompt detectors on constructed prompts ----------------------------------------

std::unique_ptr<EmbeddingDetector> toy_q16(float threshold = kQ16Threshold) {
  // 4-d prompts: row 0 along e0, row 1 along e1 (scaled: the detector normalises them).
  const std::vector<float> prompts{2, 0, 0, 0, 0, 3, 0, 0};
  PromptPairSpec spec;
  spec.detector = "q16";
  spec.category = "inappropriate";
  spec.threshold = threshold;
  return make_prompt_pair_detector(spec, prompts, 4);
}

TEST(PromptPair, EmbeddingEqualToAPromptScoresThatSide) {
  const auto d = toy_q16();
  const float inappropriate[4] = {0, 3, 0, 0};
  const DetectorResult r = d->score(inappropriate);
  ASSERT_EQ(r.categories.size(), 1u);
  EXPECT_EQ(r.detector, "q16");
  EXPECT_EQ(r.categories[0].category, "inappropriate");
  EXPECT_NEAR(r.categories[0].score, 1.0f, 1e-6f);  // softmax(100 * [0, 1])[1] = 1 - 3.7e-44
  EXPECT_TRUE(r.flagged);
  const float benign[4] = {5, 0, 0, 0};
  const DetectorResult b = d->score(benign);
  EXPECT_NEAR(b.categories[0].score, 0.0f, 1e-6f);
  EXPECT_FALSE(b.flagged);
}

TEST(PromptPair, ExactProbabilityOfAConstructedCase) {
  // e = (0.6, 0.62, 0, 0): cos0 = 0.6/|e| = 0.6954214275, cos1 = 0.62/|e| = 0.7186021418,
  // p = 1 / (1 + exp(-100 (cos1 - cos0))) = 1 / (1 + exp(-2.31807142)) = 0.9103626887.
  const float e[4] = {0.6f, 0.62f, 0, 0};
  const DetectorResult r = toy_q16()->score(e);
  EXPECT_NEAR(r.categories[0].score, 0.9103626887f, 2e-6f);
  EXPECT_FLOAT_EQ(r.categories[0].threshold, 0.9f);
  EXPECT_TRUE(r.flagged);                   // argmax and p >= 0.9
  EXPECT_FALSE(toy_q16(0.92f)->score(e).flagged);  // the threshold is configurable
  // The argmax condition: below 0.5 the threshold alone does not flag.
  const float other[4] = {0.62f, 0.6f, 0, 0};  // p = 1 - 0.9103626887
  EXPECT_NEAR(toy_q16(0.05f)->score(other).categories[0].score, 0.0896373113f, 2e-6f);
  EXPECT_FALSE(toy_q16(0.05f)->score(other).flagged);
}

TEST(PromptPair, RefusesBadPrompts) {
  PromptPairSpec spec;
  spec.detector = "q16";
  const std::vector<float> three(12, 1.0f);
  expect_error([&] { make_prompt_pair_detector(spec, three, 4); }, ErrorCode::invalid_argument, "2 x 4 floats");
  const std::vector<float> zero_row{1, 0, 0, 0, 0, 0, 0, 0};
  expect_error([&] { make_prompt_pair_detector(spec, zero_row, 4); }, ErrorCode::model_invalid, "prompt row 1 is zero");
  spec.threshold = 1.5f;
  const std::vector<float> ok{1, 0, 0, 0, 0, 1, 0, 0};
  expect_error([&] { make_prompt_pair_detector(spec, ok, 4); }, ErrorCode::invalid_argument, "threshold");
}

// --- Q16 and LAION violence on their real prompt files ----------------------------------

TEST(Q16, RealPromptsFlagTheirInappropriatePrompt) {
  SAFESCAN_REQUIRE_SHARED("models/q16");
  for (const char* variant : {"ViT-B-16", "ViT-B-32", "ViT-L-14"}) {
    const auto file = shared_dir() / "models/q16" / (std::string(variant) + ".prompts.p");
    const io::RawTensor t = io::read_pickled_ndarray(file);
    ASSERT_EQ(t.shape.size(), 2u);
    const int dim = static_cast<int>(t.shape[1]);
    EXPECT_EQ(dim, std::string(variant) == "ViT-L-14" ? 768 : 512);
    const std::vector<float> rows = t.to_float();
    const auto d = load_q16_detector(file);
    EXPECT_EQ(d->embed_dim(), dim);
    const DetectorResult bad = d->score(rows.data() + dim);
    EXPECT_GT(bad.categories[0].score, 0.99f) << variant;
    EXPECT_TRUE(bad.flagged) << variant;
    const DetectorResult good = d->score(rows.data());
    EXPECT_LT(good.categories[0].score, 0.01f) << variant;
    EXPECT_FALSE(good.flagged) << variant;
  }
}

TEST(LaionViolence, PromptsAreQ16sNormalisedAndRowOneIsViolence) {
  SAFESCAN_REQUIRE_SHARED("models/laion");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  // The LAION violence prompts are Q16's prompts of the same CLIP variant, normalised: the
  // rows agree to float16 precision (documented in docs/detectors.md).
  for (const auto& [npy, q16] : {std::pair{"violence_detection_vit_b_32.npy", "ViT-B-32.prompts.p"},
                                 std::pair{"violence_detection_vit_l_14.npy", "ViT-L-14.prompts.p"}}) {
    const io::RawTensor v = io::read_npy(shared_dir() / "models/laion" / npy);
    const io::RawTensor q = io::read_pickled_ndarray(shared_dir() / "models/q16" / q16);
    ASSERT_EQ(v.shape, q.shape);
    const auto vf = v.to_float(), qf = q.to_float();
    const std::size_t dim = static_cast<std::size_t>(v.shape[1]);
    for (std::size_t r = 0; r < 2; ++r) {
      double vv = 0, qq = 0, vq = 0;
      for (std::size_t i = 0; i < dim; ++i) {
        vv += vf[r * dim + i] * vf[r * dim + i];
        qq += qf[r * dim + i] * qf[r * dim + i];
        vq += vf[r * dim + i] * qf[r * dim + i];
      }
      EXPECT_NEAR(vq / std::sqrt(vv * qq), 1.0, 1e-5) << npy << " row " << r;
      EXPECT_NEAR(std::sqrt(vv), 1.0, 1e-3) << npy << " row " << r;
    }
    const auto d = load_laion_violence_detector(shared_dir() / "models/laion" / npy);
    EXPECT_EQ(d->name(), "laion-violence");
    EXPECT_TRUE(d->score(vf.data() + dim).flagged);  // row 1: violence
    EXPECT_FALSE(d->score(vf.data()).flagged);
    EXPECT_EQ(d->score(vf.data()).categories[0].category, "violence");
  }
}

// --- Registry ---------------------------------------------------------------------------

TEST(Registry, ChoosesTheFileByWidthAndVariant) {
  const DetectorOptions o = shared_options();
  const auto root = shared_dir() / "models";
  EXPECT_EQ(detector_model_file("laion-nsfw", 512, o), root / "laion/clip_autokeras_nsfw_b32.zip");
  EXPECT_EQ(detector_model_file("laion-nsfw", 768, o), root / "laion/clip_autokeras_binary_nsfw.zip");
  EXPECT_EQ(detector_model_file("laion-violence", 512, o), root / "laion/violence_detection_vit_b_32.npy");
  EXPECT_EQ(detector_model_file("laion-violence", 768, o), root / "laion/violence_detection_vit_l_14.npy");
  EXPECT_EQ(detector_model_file("q16", 768, o), root / "q16/ViT-L-14.prompts.p");
  EXPECT_EQ(detector_model_file("q16", 512, shared_options("ViT-B/16")), root / "q16/ViT-B-16.prompts.p");
  EXPECT_EQ(detector_model_file("q16", 512, shared_options("vit-b-32")), root / "q16/ViT-B-32.prompts.p");
  // 512 is B/32 or B/16: Q16 needs the variant.
  expect_error([&] { detector_model_file("q16", 512, o); }, ErrorCode::invalid_argument, "both 512 wide");
  expect_error([&] { detector_model_file("q16", 768, shared_options("ViT-B-32")); }, ErrorCode::invalid_argument,
               "ViT-B-32 embeddings are 512 wide, not 768");
  expect_error([&] { detector_model_file("laion-nsfw", 512, shared_options("ViT-B-16")); },
               ErrorCode::invalid_argument, "not ViT-B-16");
  expect_error([&] { detector_model_file("laion-nsfw", 640, o); }, ErrorCode::invalid_argument, "640-wide");
  expect_error([&] { detector_model_file("nudenet", 512, o); }, ErrorCode::invalid_argument,
               "unknown detector 'nudenet' (known: q16, laion-nsfw, laion-violence");
  expect_error([&] { detector_model_file("q16", 768, shared_options("RN50")); }, ErrorCode::invalid_argument,
               "unknown CLIP variant 'RN50'");
}

TEST(Registry, MissingModelNamesThePath) {
  safescan::testing::TempDir empty;
  DetectorOptions o;
  o.models_dir = empty.path();
  expect_error([&] { make_detector("laion-nsfw", 768, o); }, ErrorCode::model_missing,
               (empty.path() / "laion/clip_autokeras_binary_nsfw.zip").string());
}

TEST(Registry, LoadsEveryDetectorWithThresholdOverride) {
  SAFESCAN_REQUIRE_SHARED("models/laion");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  for (const int dim : {512, 768})
    for (const std::string_view name : detector_names()) {
      const auto d = make_detector(name, dim, shared_options(name == "q16" && dim == 512 ? "ViT-B-32" : ""));
      EXPECT_EQ(d->name(), name);
      EXPECT_EQ(d->embed_dim(), dim);
    }
  DetectorOptions o = shared_options();
  o.threshold = 0.25f;
  const auto d = make_detector("laion-nsfw", 512, o);
  const std::vector<float> zero(512, 0.01f);
  EXPECT_FLOAT_EQ(d->score(zero.data()).categories[0].threshold, 0.25f);
}

// --- Real benign embeddings: every head says safe ----------------------------------------

EmbeddingMatrix ratings(const std::string& variant) {
  EmbeddingMatrix all;
  for (int r = 0; r < 10; ++r) {
    const EmbeddingMatrix m = read_embeddings_npy(shared_dir() / "models/laion/rating_embeddings" /
                                                  (variant + "_embeddings") / ("rating" + std::to_string(r) + ".npy"));
    EXPECT_EQ(m.rows, 1);
    all.dim = m.dim;
    all.rows += m.rows;
    all.values.insert(all.values.end(), m.values.begin(), m.values.end());
  }
  return all;
}

TEST(BenignEmbeddings, EveryHeadCallsEveryRatingBucketSafe) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  struct Set {
    std::string variant;
    int dim;
    std::vector<std::string> q16;  // Q16 variants of that width
  };
  // Only B/32 and L/14 rating embeddings exist. Q16's B/16 prompts share the 512 width, so
  // they run on the B/32 embeddings too: not their model, but it must not flag benign means.
  for (const Set& s : {Set{"vit_b_32", 512, {"ViT-B-32", "ViT-B-16"}}, Set{"vit_l_14", 768, {"ViT-L-14"}}}) {
    const EmbeddingMatrix m = ratings(s.variant);
    ASSERT_EQ(m.dim, s.dim);
    std::vector<std::unique_ptr<EmbeddingDetector>> owned;
    for (const std::string& v : s.q16) owned.push_back(make_detector("q16", s.dim, shared_options(v)));
    owned.push_back(make_detector("laion-nsfw", s.dim, shared_options()));
    owned.push_back(make_detector("laion-violence", s.dim, shared_options()));
    std::vector<const EmbeddingDetector*> detectors;
    for (const auto& d : owned) detectors.push_back(d.get());
    const auto results = score_embeddings(m, detectors);
    ASSERT_EQ(results.size(), 10u);
    for (std::size_t r = 0; r < results.size(); ++r)
      for (const DetectorResult& res : results[r]) {
        EXPECT_FALSE(res.flagged) << s.variant << " rating" << r << " " << res.detector << " "
                                  << res.categories[0].score;
        // Not near the boundary either (the largest: q16 B/32 on rating0, p = 0.095).
        EXPECT_LT(res.categories[0].score, 0.2f) << s.variant << " rating" << r << " " << res.detector;
      }
  }
}

TEST(BenignEmbeddings, NsfwPolarity) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings");
  // The polarity check docs/detectors.md reports: L2-normalised benign embeddings score
  // near 0 (1 = NSFW, as LAION's README says); the same embeddings unnormalised (norm 10, the
  // scale of raw CLIP outputs) score near 1, which is what the "inverted output" issue reports
  // see when they skip the normalisation.
  for (const auto& [variant, dim] : {std::pair{std::string("vit_b_32"), 512}, std::pair{std::string("vit_l_14"), 768}}) {
    const EmbeddingMatrix m = ratings(variant);
    const auto d = make_detector("laion-nsfw", dim, shared_options());
    for (std::int64_t r = 0; r < m.rows; ++r) {
      EXPECT_LT(d->score(m.row(r)).categories[0].score, 1e-3f) << variant << " rating" << r;
      std::vector<float> big(m.row(r), m.row(r) + dim);
      for (float& v : big) v *= 10;
      EXPECT_LT(d->score(big.data()).categories[0].score, 1e-3f);  // the detector normalises
    }
  }
}

// --- .npy embeddings ---------------------------------------------------------------------

TEST(EmbeddingsNpy, ReadsFloat32AndFloat16AndChecksWidths) {
  safescan::testing::TempDir dir;
  const std::vector<float> values{0, 3, 0, 0, 5, 0, 0, 0, 0.6f, 0.62f, 0, 0};
  io::write_npy_f32(dir / "e.npy", {3, 4}, values.data());
  const EmbeddingMatrix m = read_embeddings_npy(dir / "e.npy");
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.dim, 4);
  EXPECT_EQ(m.values, values);
  const auto d = toy_q16();
  const auto results = score_embeddings(m, {d.get()});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0][0].flagged);
  EXPECT_FALSE(results[1][0].flagged);
  EXPECT_NEAR(results[2][0].categories[0].score, 0.9103626887f, 2e-6f);

  // A float16 .npy (hand-written: 0.5 = 0x3800, 1 = 0x3c00, -2 = 0xc000, 0 = 0x0000).
  std::string header = "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 4), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';  // numpy pads the header to 64 bytes
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  file += header;
  for (const std::uint16_t h : {0x3800, 0x3c00, 0xc000, 0x0000}) {
    file += static_cast<char>(h & 0xff);
    file += static_cast<char>(h >> 8);
  }
  std::ofstream(dir / "h.npy", std::ios::binary) << file;
  const EmbeddingMatrix h = read_embeddings_npy(dir / "h.npy");
  EXPECT_EQ(h.rows, 1);
  EXPECT_EQ(h.values, (std::vector<float>{0.5f, 1.0f, -2.0f, 0.0f}));

  io::write_npy_f32(dir / "w.npy", {2, 3}, values.data());
  const EmbeddingMatrix w = read_embeddings_npy(dir / "w.npy");
  expect_error([&] { score_embeddings(w, {d.get()}); }, ErrorCode::invalid_argument,
               "detector expects 4-wide embeddings, the matrix is 3 wide");
  io::write_npy_f32(dir / "c.npy", {1, 2, 2, 3}, values.data());
  expect_error([&] { read_embeddings_npy(dir / "c.npy"); }, ErrorCode::invalid_argument, "expected an N x D array");
}

}  // namespace
