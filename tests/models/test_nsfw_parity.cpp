// Parity of the nsfwjs models with nsfwjs 4.4.0 itself (../shared/golden/nsfwjs_public.jsonl):
// every class probability within 2e-3 and the same top class, for every image and model.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "safescan/image.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/runtime.hpp"
#include "golden.hpp"
#include "testing.hpp"

namespace {

using safescan::testing::shared_dir;

constexpr double kTolerance = 2e-3;

std::filesystem::path image_for(const std::string& stem) {
  for (const char* ext : {".png", ".jpg", ".jpeg"}) {
    auto p = shared_dir() / "images" / (stem + ext);
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

class NsfwParity : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(NsfwParity, MatchesNsfwjsWithin2e3) {
  SAFESCAN_REQUIRE_SHARED("golden/nsfwjs_public.jsonl");
  safescan::configure_runtime();
  const auto [model_name, golden_name] = GetParam();
  const auto& rows = safescan::testing::nsfwjs_golden(golden_name);
  ASSERT_FALSE(rows.empty()) << "no golden rows for " << golden_name;
  ASSERT_GE(rows.size(), 30u);

  const auto clf = safescan::NsfwClassifier::load(model_name);
  std::vector<safescan::Image> images;
  for (const auto& r : rows) {
    const auto path = image_for(r.image);
    ASSERT_FALSE(path.empty()) << "image " << r.image << " named by the golden file is missing";
    images.push_back(safescan::load_image(path));
  }
  // Classify in batches of 8 (batching must not change results).
  std::vector<safescan::NsfwScores> scores;
  for (size_t i = 0; i < images.size(); i += 8) {
    std::vector<const safescan::Image*> batch;
    for (size_t k = i; k < std::min(images.size(), i + 8); ++k) batch.push_back(&images[k]);
    const auto s = clf.classify(batch);
    scores.insert(scores.end(), s.begin(), s.end());
  }
  double worst = 0;
  std::string worst_at;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& want = rows[i].probs;
    const auto& got = scores[i].probs;
    for (int c = 0; c < 5; ++c) {
      const double diff = std::abs(got[c] - want[c]);
      if (diff > worst) worst = diff, worst_at = rows[i].image + "/" + std::string(safescan::kNsfwClassNames[c]);
      EXPECT_LE(diff, kTolerance) << model_name << " " << rows[i].image << " class " << safescan::kNsfwClassNames[c]
                                  << ": got " << got[c] << ", nsfwjs " << want[c];
    }
    const int want_top = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
    EXPECT_EQ(static_cast<int>(scores[i].top()), want_top) << model_name << " " << rows[i].image << ": top class differs";
  }
  std::cout << "[ parity ] " << model_name << ": " << rows.size() << " images, max |diff| = " << worst << " at "
            << worst_at << "\n";
  // A single-image call gives the same scores as the batched one.
  const auto single = clf.classify(images[0]);
  for (int c = 0; c < 5; ++c) EXPECT_NEAR(single.probs[c], scores[0].probs[c], 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Models, NsfwParity,
                         ::testing::Values(std::make_pair("nsfw-mobilenet-v2", "MobileNetV2"),
                                           std::make_pair("nsfw-mobilenet-v2-mid", "MobileNetV2Mid"),
                                           std::make_pair("nsfw-inception-v3", "InceptionV3")),
                         [](const auto& info) {
                           std::string n = info.param.first;
                           for (auto& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
