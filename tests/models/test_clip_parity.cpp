// CLIP in libtorch against the reference implementation (openai/CLIP, PyTorch, float32) on
// ../shared/fixtures/clip-tiny: a randomly initialised ViT CLIP saved three ways.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/tensor_file.hpp"
#include "safescan/clip.hpp"
#include "safescan/runtime.hpp"
#include "golden.hpp"
#include "testing.hpp"

namespace {

using safescan::testing::shared_dir;
namespace fs = std::filesystem;

const fs::path kFixture = "fixtures/clip-tiny";

const nlohmann::json& reference() { return safescan::testing::clip_tiny_reference(); }

double cosine(const float* a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    ab += a[i] * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

std::vector<double> normalized(const float* v, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(v[i]) * v[i];
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = v[i] / std::sqrt(s);
  return out;
}

class ClipParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SAFESCAN_REQUIRE_SHARED(kFixture / "reference.json");
    safescan::configure_runtime();
  }
};

TEST_P(ClipParity, ConfigInferredFromShapes) {
  const auto clip = safescan::ClipModel::load(shared_dir() / kFixture / GetParam());
  const auto ref = reference()["config"];
  const auto& c = clip.config();
  EXPECT_EQ(c.embed_dim, ref["embed_dim"]);
  EXPECT_EQ(c.image_resolution, ref["image_resolution"]);
  EXPECT_EQ(c.vision_width, ref["vision_width"]);
  EXPECT_EQ(c.vision_layers, ref["vision_layers"]);
  EXPECT_EQ(c.vision_patch_size, ref["vision_patch_size"]);
  EXPECT_EQ(c.text_width, ref["text_width"]);
  EXPECT_EQ(c.text_layers, ref["text_layers"]);
  EXPECT_EQ(c.context_length, ref["context_length"]);
  EXPECT_EQ(c.vocab_size, ref["vocab_size"]);
  EXPECT_EQ(c.vision_heads, c.vision_width / 64);
}

TEST_P(ClipParity, EmbeddingsAndLogitsMatchTheReference) {
  const auto clip = safescan::ClipModel::load(shared_dir() / kFixture / GetParam());
  const auto& ref = reference();
  const int dim = clip.config().embed_dim;

  // Texts: the reference's own tokens, so this checks the encoder alone.
  std::vector<std::vector<int>> tokens;
  for (const auto& t : ref["texts"]) tokens.push_back(t["tokens"].get<std::vector<int>>());
  const auto text_emb = clip.encode_texts(tokens);
  std::vector<std::vector<double>> text_unit;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto want = ref["texts"][i]["embedding"].get<std::vector<double>>();
    EXPECT_GE(cosine(text_emb.data() + i * dim, want), 0.99999) << "text " << i << ": " << ref["texts"][i]["text"];
    text_unit.push_back(normalized(text_emb.data() + i * dim, dim));
  }

  for (const auto& img : ref["images"]) {
    const auto pre = safescan::io::read_npy(shared_dir() / kFixture / img["preprocessed"].get<std::string>());
    ASSERT_EQ(pre.shape, (std::vector<std::int64_t>{1, 3, 224, 224}));
    const auto pixels = pre.to_float();
    const auto emb = clip.encode_images(pixels.data(), 1);
    const auto want = img["embedding"].get<std::vector<double>>();
    EXPECT_GE(cosine(emb.data(), want), 0.99999) << img["file"];

    // logits_per_image = logit_scale * cos(image, text) for every text.
    const auto unit = normalized(emb.data(), dim);
    const auto logits = img["logits_per_image"].get<std::vector<double>>();
    ASSERT_EQ(logits.size(), text_unit.size());
    for (size_t t = 0; t < logits.size(); ++t) {
      double dot = 0;
      for (int k = 0; k < dim; ++k) dot += unit[k] * text_unit[t][k];
      EXPECT_NEAR(clip.logit_scale() * dot, logits[t], 1e-2) << img["file"] << " text " << t;
    }
  }
}

TEST_P(ClipParity, FromImageFilesThroughOurPreprocessing) {
  const auto clip = safescan::ClipModel::load(shared_dir() / kFixture / GetParam());
  const auto& ref = reference();  // keep the document alive for the loop
  for (const auto& img : ref["images"]) {
    const auto image = safescan::load_image(shared_dir() / "images" / img["file"].get<std::string>());
    std::vector<float> px(clip.input_floats());
    clip.preprocess(image, px.data());
    const auto emb = clip.encode_images(px.data(), 1);
    EXPECT_GE(cosine(emb.data(), img["embedding"].get<std::vector<double>>()), 0.999) << img["file"];
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, ClipParity, ::testing::Values("clip.jit.pt", "clip.state_dict.pt", "clip.safetensors"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n) if (ch == '.') ch = '_';
                           return n;
                         });

TEST(ClipFormats, AllThreeGiveTheSameEmbeddings) {
  SAFESCAN_REQUIRE_SHARED(kFixture / "reference.json");
  const auto pre = safescan::io::read_npy(shared_dir() / kFixture / "pre_astronaut.npy").to_float();
  std::vector<std::vector<float>> out;
  for (const char* f : {"clip.jit.pt", "clip.state_dict.pt", "clip.safetensors"}) {
    const auto clip = safescan::ClipModel::load(shared_dir() / kFixture / f);
    out.push_back(clip.encode_images(pre.data(), 1));
    const auto t = clip.encode_texts({{49406, 320, 1125, 539, 320, 2368, 49407}});
    out.back().insert(out.back().end(), t.begin(), t.end());
  }
  for (size_t i = 0; i < out[0].size(); ++i) {
    EXPECT_EQ(out[0][i], out[1][i]) << i;
    EXPECT_EQ(out[0][i], out[2][i]) << i;
  }
}

TEST(ClipBatching, BatchedEqualsSingle) {
  SAFESCAN_REQUIRE_SHARED(kFixture / "reference.json");
  const auto clip = safescan::ClipModel::load(shared_dir() / kFixture / "clip.safetensors");
  auto a = safescan::io::read_npy(shared_dir() / kFixture / "pre_astronaut.npy").to_float();
  const auto b = safescan::io::read_npy(shared_dir() / kFixture / "pre_coffee.npy").to_float();
  const auto ea = clip.encode_images(a.data(), 1), eb = clip.encode_images(b.data(), 1);
  a.insert(a.end(), b.begin(), b.end());
  const auto eab = clip.encode_images(a.data(), 2);
  const int d = clip.config().embed_dim;
  for (int i = 0; i < d; ++i) {
    EXPECT_NEAR(eab[i], ea[i], 1e-5);
    EXPECT_NEAR(eab[d + i], eb[i], 1e-5);
  }
  // Texts of different lengths in one batch equal each text alone.
  const std::vector<int> t1 = {49406, 320, 1125, 539, 320, 2368, 49407}, t2 = {49406, 320, 49407};
  const auto e12 = clip.encode_texts({t1, t2}), e1 = clip.encode_texts({t1}), e2 = clip.encode_texts({t2});
  for (int i = 0; i < d; ++i) {
    EXPECT_NEAR(e12[i], e1[i], 1e-5);
    EXPECT_NEAR(e12[d + i], e2[i], 1e-5);
  }
}

}  // namespace
