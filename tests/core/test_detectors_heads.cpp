// The CLIP heads: Q16 and LAION violence (two prompts), the LAION NSFW head, the registry that
// finds their files, the .npy reader, and the one real-data check we have: every head gives
// the LAION aesthetic-rating mean embeddings (ordinary content) low scores. Heads only score
// and declare what they cover; the thresholds that turn scores into decisions are the
// policy's (policy.hpp), tested with it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/tensor_file.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/error.hpp"
#include "testing.hpp"

namespace {

using namespace safescan;
using safescan::testing::shared_dir;

using safescan::testing::expect_error;

ClipHeadOptions shared_options(const std::string& clip_variant = {}) {
  ClipHeadOptions o;
  o.models_dir = shared_dir() / "models";
  o.clip_variant = clip_variant;
  return o;
}

// The head's outputs on one embedding.
std::vector<float> scores(const Head& h, const float* embedding) {
  std::vector<float> out(h.outputs().size(), std::numeric_limits<float>::quiet_NaN());
  h.score(embedding, out.data());
  return out;
}

// The one output of a single-output head (Q16, LAION NSFW, LAION violence).
float score1(const Head& h, const float* embedding) {
  EXPECT_EQ(h.outputs().size(), 1u) << h.name();
  return scores(h, embedding).at(0);
}

// The 11 UnsafeBench categories, canonical spelling, in kCategories order.
std::vector<std::string> unsafebench() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kUnsafeBenchCategories; ++i) out.emplace_back(kCategories[i]);
  return out;
}

// What Q16 covers, as UnsafeBench aligns it: every category but Sexual and Spam.
std::vector<std::string> q16_covers() {
  return {"Hate", "Harassment", "Violence", "Self-harm", "Shocking", "Illegal activity", "Deception", "Political",
          "Public and personal health"};
}

// A single-output head declares `categories`, each the sum of output 0 alone.
void expect_covers(const Head& h, const std::vector<std::string>& categories) {
  std::vector<std::string> names;
  for (const CategoryMap& c : h.categories()) {
    names.push_back(c.category);
    EXPECT_EQ(c.outputs, std::vector<int>{0}) << h.name() << " " << c.category;
  }
  EXPECT_EQ(names, categories) << h.name();
}

// --- Two-prompt heads on constructed prompts ----------------------------------------------

std::unique_ptr<Head> toy_q16(float logit_scale = kPromptLogitScale) {
  // 4-d prompts: row 0 along e0, row 1 along e1 (scaled: the head normalises them).
  const std::vector<float> prompts{2, 0, 0, 0, 0, 3, 0, 0};
  PromptPairSpec spec;
  spec.name = "q16";
  spec.output = "inappropriate";
  spec.categories = unsafebench();
  spec.logit_scale = logit_scale;
  return make_prompt_pair_head(spec, prompts, 4);
}

TEST(PromptPair, EmbeddingEqualToAPromptScoresThatSide) {
  const auto d = toy_q16();
  EXPECT_EQ(d->name(), "q16");
  EXPECT_EQ(d->backbone(), "clip");
  EXPECT_EQ(d->feature_dim(), 4);
  EXPECT_EQ(d->outputs(), std::vector<std::string>{"inappropriate"});
  expect_covers(*d, unsafebench());
  EXPECT_TRUE(d->models().empty());  // built from memory: no model file to record
  const float inappropriate[4] = {0, 3, 0, 0};
  const float p = score1(*d, inappropriate);
  EXPECT_NEAR(p, 1.0f, 1e-6f);  // softmax(100 * [0, 1])[1] = 1 - 3.7e-44
  EXPECT_GE(p, 0.9f);           // was flagged; the decision (Q16: p >= 0.9) is the policy's now
  const float benign[4] = {5, 0, 0, 0};
  const float b = score1(*d, benign);
  EXPECT_NEAR(b, 0.0f, 1e-6f);
  EXPECT_LT(b, 0.5f);  // was not flagged (row 0 wins); the decision is the policy's now
}

TEST(PromptPair, ExactProbabilityOfAConstructedCase) {
  // e = (0.6, 0.62, 0, 0): cos0 = 0.6/|e| = 0.6954214275, cos1 = 0.62/|e| = 0.7186021418,
  // p = 1 / (1 + exp(-100 (cos1 - cos0))) = 1 / (1 + exp(-2.31807142)) = 0.9103626887.
  const float e[4] = {0.6f, 0.62f, 0, 0};
  const float p = score1(*toy_q16(), e);
  EXPECT_NEAR(p, 0.9103626887f, 2e-6f);
  // Was flagged at Q16's 0.9 (row 1 the argmax and p >= 0.9), not at a configured 0.92:
  // those thresholds are the policy's now, so the score must sit between them.
  EXPECT_GE(p, 0.9f);
  EXPECT_LT(p, 0.92f);
  // The other side: p = 1 - 0.9103626887. Row 0 is the argmax (p < 0.5), which the old
  // argmax condition refused to flag at any threshold; the policy decides on p now.
  const float other[4] = {0.62f, 0.6f, 0, 0};
  const float q = score1(*toy_q16(), other);
  EXPECT_NEAR(q, 0.0896373113f, 2e-6f);
  EXPECT_LT(q, 0.5f);
  EXPECT_NEAR(p + q, 1.0f, 2e-6f);
  // The logit scale is the spec's: 1 / (1 + exp(-50 (cos1 - cos0))) = 0.7611574546.
  EXPECT_NEAR(score1(*toy_q16(50.0f), e), 0.7611574546f, 2e-6f);
}

TEST(PromptPair, RefusesBadPrompts) {
  PromptPairSpec spec;
  spec.name = "q16";
  spec.output = "inappropriate";
  spec.categories = {"Violence"};
  const std::vector<float> three(12, 1.0f);
  expect_error([&] { make_prompt_pair_head(spec, three, 4); }, ErrorCode::invalid_argument, "2 x 4 floats");
  const std::vector<float> zero_row{1, 0, 0, 0, 0, 0, 0, 0};
  expect_error([&] { make_prompt_pair_head(spec, zero_row, 4); }, ErrorCode::model_invalid, "prompt row 1 is zero");
  const std::vector<float> inf_row{1, 0, std::numeric_limits<float>::infinity(), 0, 0, 1, 0, 0};
  expect_error([&] { make_prompt_pair_head(spec, inf_row, 4); }, ErrorCode::model_invalid, "prompt row 0 is not finite");
  // The spec has no threshold to refuse any more (the policy checks its thresholds are in
  // [0, 1]): a valid spec builds, with the output and categories it names.
  const std::vector<float> ok{1, 0, 0, 0, 0, 1, 0, 0};
  const auto h = make_prompt_pair_head(spec, ok, 4);
  EXPECT_EQ(h->outputs(), std::vector<std::string>{"inappropriate"});
  expect_covers(*h, {"Violence"});
}

// --- Q16 and LAION violence on their real prompt files ------------------------------------

TEST(Q16, RealPromptsScoreTheirInappropriatePromptHigh) {
  SAFESCAN_REQUIRE_SHARED("models/q16");
  for (const char* variant : {"ViT-B-16", "ViT-B-32", "ViT-L-14"}) {
    const auto file = shared_dir() / "models/q16" / (std::string(variant) + ".prompts.p");
    const io::RawTensor t = io::read_pickled_ndarray(file);
    ASSERT_EQ(t.shape.size(), 2u);
    const int dim = static_cast<int>(t.shape[1]);
    EXPECT_EQ(dim, std::string(variant) == "ViT-L-14" ? 768 : 512);
    const std::vector<float> rows = t.to_float();
    const auto d = load_q16_head(file);
    EXPECT_EQ(d->name(), "q16");
    EXPECT_EQ(d->backbone(), "clip");
    EXPECT_EQ(d->feature_dim(), dim);
    EXPECT_EQ(d->outputs(), std::vector<std::string>{"inappropriate"});
    expect_covers(*d, q16_covers());  // a general detector: UnsafeBench scores it on these nine
    ASSERT_EQ(d->models().size(), 1u);
    EXPECT_EQ(d->models()[0].path, file.string());
    EXPECT_EQ(d->models()[0].sha256.size(), 64u);
    const float bad = score1(*d, rows.data() + dim);
    EXPECT_GT(bad, 0.99f) << variant;
    EXPECT_GE(bad, 0.9f) << variant;  // was flagged; Q16's p >= 0.9 is the policy's now
    const float good = score1(*d, rows.data());
    EXPECT_LT(good, 0.01f) << variant;
    EXPECT_LT(good, 0.5f) << variant;  // was not flagged (row 0 the argmax); the policy's now
  }
  EXPECT_EQ(load_q16_head(shared_dir() / "models/q16/ViT-B-32.prompts.p", "q16-b32")->name(), "q16-b32");
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
    const auto d = load_laion_violence_head(shared_dir() / "models/laion" / npy);
    EXPECT_EQ(d->name(), "laion-violence");
    EXPECT_EQ(d->feature_dim(), static_cast<int>(dim));
    EXPECT_EQ(d->outputs(), std::vector<std::string>{"violence"});
    expect_covers(*d, {"Violence"});
    // Row 1 (violence) was flagged and row 0 not, by clip-retrieval's argmax rule (p > 0.5);
    // the decision is the policy's now.
    EXPECT_GT(score1(*d, vf.data() + dim), 0.5f) << npy;
    EXPECT_LT(score1(*d, vf.data()), 0.5f) << npy;
  }
}

// --- Registry ---------------------------------------------------------------------------

TEST(ClipHeadRegistry, ChoosesTheFileByWidthAndVariant) {
  const ClipHeadOptions o = shared_options();
  const auto root = shared_dir() / "models";
  EXPECT_EQ(clip_head_names(), (std::vector<std::string_view>{"q16", "laion-nsfw", "laion-violence"}));
  EXPECT_EQ(clip_head_file("laion-nsfw", 512, o), root / "laion/clip_autokeras_nsfw_b32.zip");
  EXPECT_EQ(clip_head_file("laion-nsfw", 768, o), root / "laion/clip_autokeras_binary_nsfw.zip");
  EXPECT_EQ(clip_head_file("laion-violence", 512, o), root / "laion/violence_detection_vit_b_32.npy");
  EXPECT_EQ(clip_head_file("laion-violence", 768, o), root / "laion/violence_detection_vit_l_14.npy");
  EXPECT_EQ(clip_head_file("q16", 768, o), root / "q16/ViT-L-14.prompts.p");
  EXPECT_EQ(clip_head_file("q16", 512, shared_options("ViT-B/16")), root / "q16/ViT-B-16.prompts.p");
  EXPECT_EQ(clip_head_file("q16", 512, shared_options("vit-b-32")), root / "q16/ViT-B-32.prompts.p");
  // 512 is B/32 or B/16: Q16 needs the variant.
  expect_error([&] { clip_head_file("q16", 512, o); }, ErrorCode::invalid_argument, "both 512 wide");
  expect_error([&] { clip_head_file("q16", 768, shared_options("ViT-B-32")); }, ErrorCode::invalid_argument,
               "ViT-B-32 embeddings are 512 wide, not 768");
  expect_error([&] { clip_head_file("laion-nsfw", 512, shared_options("ViT-B-16")); },
               ErrorCode::invalid_argument, "not ViT-B-16");
  expect_error([&] { clip_head_file("laion-nsfw", 640, o); }, ErrorCode::invalid_argument, "640-wide");
  expect_error([&] { clip_head_file("nudenet", 512, o); }, ErrorCode::invalid_argument,
               "unknown detector 'nudenet' (known: q16, laion-nsfw, laion-violence");
  expect_error([&] { clip_head_file("q16", 768, shared_options("RN50")); }, ErrorCode::invalid_argument,
               "unknown CLIP variant 'RN50'");
}

TEST(ClipHeadRegistry, MissingModelNamesThePath) {
  safescan::testing::TempDir empty;
  ClipHeadOptions o;
  o.models_dir = empty.path();
  expect_error([&] { make_clip_head("laion-nsfw", 768, o); }, ErrorCode::model_missing,
               (empty.path() / "laion/clip_autokeras_binary_nsfw.zip").string());
  o.clip_variant = "ViT-B-16";
  expect_error([&] { make_clip_head("q16", 512, o); }, ErrorCode::model_missing,
               (empty.path() / "q16/ViT-B-16.prompts.p").string());
  // A file given explicitly that is absent: model_missing with its path, before the name is looked at.
  expect_error([&] { make_clip_head("q16", 512, {}, empty / "mine.prompts.p"); }, ErrorCode::model_missing,
               (empty / "mine.prompts.p").string());
}

TEST(ClipHeadRegistry, LoadsEveryHead) {
  SAFESCAN_REQUIRE_SHARED("models/laion");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  const std::map<std::string_view, std::pair<std::string, std::vector<std::string>>> expected{
      {"q16", {"inappropriate", q16_covers()}},
      {"laion-nsfw", {"nsfw", {"Sexual"}}},
      {"laion-violence", {"violence", {"Violence"}}}};
  for (const int dim : {512, 768})
    for (const std::string_view name : clip_head_names()) {
      const ClipHeadOptions o = shared_options(name == "q16" && dim == 512 ? "ViT-B-32" : "");
      const auto d = make_clip_head(name, dim, o);
      EXPECT_EQ(d->name(), name);
      EXPECT_EQ(d->backbone(), "clip");
      EXPECT_EQ(d->feature_dim(), dim);
      EXPECT_EQ(d->outputs(), std::vector<std::string>{expected.at(name).first}) << name;
      expect_covers(*d, expected.at(name).second);
      ASSERT_EQ(d->models().size(), 1u) << name;
      EXPECT_EQ(d->models()[0].name, name);
      EXPECT_EQ(d->models()[0].path, clip_head_file(name, dim, o).string());
      EXPECT_EQ(d->models()[0].sha256.size(), 64u) << name;  // every shared model is a file
    }
  // DetectorOptions::threshold (--threshold) no longer reaches the head: the threshold is the
  // policy's now (Policy::set_block_threshold). The head scores as the file loaded directly.
  const auto d = make_clip_head("laion-nsfw", 512, shared_options());
  const auto direct = load_laion_nsfw_head(clip_head_file("laion-nsfw", 512, shared_options()));
  const std::vector<float> flat(512, 0.01f);
  const float p = score1(*d, flat.data());
  EXPECT_GE(p, 0.0f);
  EXPECT_LE(p, 1.0f);
  EXPECT_EQ(p, score1(*direct, flat.data()));
}

TEST(ClipHeadRegistry, AGivenFileIsLoadedUnderItsNameAndMustFitTheWidth) {
  SAFESCAN_REQUIRE_SHARED("models/laion");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  const auto b16 = shared_dir() / "models/q16/ViT-B-16.prompts.p";
  // 512 without a variant is ambiguous for the lookup, not when the file is given.
  const auto h = make_clip_head("q16", 512, {}, b16);
  EXPECT_EQ(h->name(), "q16:" + b16.string());
  EXPECT_EQ(h->feature_dim(), 512);
  expect_covers(*h, q16_covers());
  ASSERT_EQ(h->models().size(), 1u);
  EXPECT_EQ(h->models()[0].path, b16.string());
  // A model made for another width: model_invalid naming the file.
  expect_error([&] { make_clip_head("q16", 768, {}, b16); }, ErrorCode::model_invalid,
               b16.string() + ": the model expects 512-wide embeddings, not 768");
  expect_error([&] { make_clip_head("laion-violence", 512, {}, shared_dir() / "models/laion/violence_detection_vit_l_14.npy"); },
               ErrorCode::model_invalid, "the model expects 768-wide embeddings, not 512");
  expect_error([&] { make_clip_head("nudenet", 512, {}, b16); }, ErrorCode::invalid_argument, "unknown detector 'nudenet'");
}

TEST(ClipHeadRegistry, PromptFilesOfTheWrongShapeAreModelInvalid) {
  safescan::testing::TempDir dir;
  const std::vector<float> values(12, 1.0f);
  io::write_npy_f32(dir / "three.npy", {3, 4}, values.data());
  expect_error([&] { load_laion_violence_head(dir / "three.npy"); }, ErrorCode::model_invalid,
               "expected a 2 x D array of prompt embeddings");
  expect_error([&] { make_clip_head("laion-violence", 4, {}, dir / "three.npy"); }, ErrorCode::model_invalid,
               (dir / "three.npy").string());
}

// --- Real benign embeddings: every head scores them low -----------------------------------

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

TEST(BenignEmbeddings, EveryHeadScoresEveryRatingBucketLow) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  struct Set {
    std::string variant;
    int dim;
    std::vector<std::string> q16;  // Q16 variants of that width
  };
  // Only B/32 and L/14 rating embeddings exist. Q16's B/16 prompts share the 512 width, so
  // they run on the B/32 embeddings too: not their model, but it must not score benign means high.
  for (const Set& s : {Set{"vit_b_32", 512, {"ViT-B-32", "ViT-B-16"}}, Set{"vit_l_14", 768, {"ViT-L-14"}}}) {
    const EmbeddingMatrix m = ratings(s.variant);
    ASSERT_EQ(m.dim, s.dim);
    std::vector<std::unique_ptr<Head>> heads;
    std::vector<std::string> labels;
    for (const std::string& v : s.q16) {
      heads.push_back(make_clip_head("q16", s.dim, shared_options(v)));
      labels.push_back("q16 " + v);
    }
    heads.push_back(make_clip_head("laion-nsfw", s.dim, shared_options()));
    labels.push_back("laion-nsfw");
    heads.push_back(make_clip_head("laion-violence", s.dim, shared_options()));
    labels.push_back("laion-violence");
    ASSERT_EQ(m.rows, 10);
    for (std::int64_t r = 0; r < m.rows; ++r)
      for (std::size_t h = 0; h < heads.size(); ++h) {
        ASSERT_EQ(heads[h]->feature_dim(), m.dim);
        const float p = score1(*heads[h], m.row(r));
        // None was flagged (the thresholds, 0.5 and Q16's 0.9, are the policy's now), and none
        // is near a boundary either (the largest: q16 B/32 on rating0, p = 0.095).
        EXPECT_LT(p, 0.5f) << s.variant << " rating" << r << " " << labels[h];
        EXPECT_LT(p, 0.2f) << s.variant << " rating" << r << " " << labels[h];
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
    const auto d = make_clip_head("laion-nsfw", dim, shared_options());
    for (std::int64_t r = 0; r < m.rows; ++r) {
      EXPECT_LT(score1(*d, m.row(r)), 1e-3f) << variant << " rating" << r;
      std::vector<float> big(m.row(r), m.row(r) + dim);
      for (float& v : big) v *= 10;
      EXPECT_LT(score1(*d, big.data()), 1e-3f);  // the head normalises
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
  ASSERT_EQ(d->feature_dim(), m.dim);
  std::vector<float> p;  // one score per row (score_embeddings is gone: callers loop)
  for (std::int64_t r = 0; r < m.rows; ++r) p.push_back(score1(*d, m.row(r)));
  ASSERT_EQ(p.size(), 3u);
  EXPECT_GE(p[0], 0.9f);  // was flagged; the decision is the policy's now
  EXPECT_LT(p[1], 0.5f);  // was not flagged
  EXPECT_NEAR(p[0], 1.0f, 1e-6f);
  EXPECT_NEAR(p[1], 0.0f, 1e-6f);
  EXPECT_NEAR(p[2], 0.9103626887f, 2e-6f);

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
  // score_embeddings refused a matrix of another width; it is gone, and the width is for the
  // caller to compare (DetectorSet checks each head's feature_dim() against its backbone's).
  EXPECT_EQ(w.dim, 3);
  EXPECT_NE(w.dim, d->feature_dim());
  io::write_npy_f32(dir / "c.npy", {1, 2, 2, 3}, values.data());
  expect_error([&] { read_embeddings_npy(dir / "c.npy"); }, ErrorCode::invalid_argument, "expected an N x D array");
}

}  // namespace
