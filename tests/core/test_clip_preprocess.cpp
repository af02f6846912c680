// CLIP preprocessing against the reference's own (PIL bicubic + torchvision centre crop +
// normalise): ../shared/fixtures/clip-tiny/pre_<stem>.npy. Required: every value within one
// 8-bit step (1/255 before normalisation); we are in fact bit-exact.
#include <gtest/gtest.h>

#include <cmath>

#include "io/tensor_file.hpp"
#include "safescan/clip.hpp"
#include "safescan/resize.hpp"
#include "testing.hpp"

namespace {

using safescan::testing::shared_dir;

class ClipPreprocess : public ::testing::TestWithParam<std::string> {};

TEST_P(ClipPreprocess, MatchesTheReferenceWithinOneEightBitStep) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/pre_" + GetParam() + ".npy");
  const auto ref = safescan::io::read_npy(shared_dir() / ("fixtures/clip-tiny/pre_" + GetParam() + ".npy"));
  ASSERT_EQ(ref.shape, (std::vector<std::int64_t>{1, 3, 224, 224}));
  const auto want = ref.to_float();
  std::filesystem::path file;
  for (const char* ext : {".png", ".jpg"})
    if (std::filesystem::exists(shared_dir() / "images" / (GetParam() + ext))) file = shared_dir() / "images" / (GetParam() + ext);
  ASSERT_FALSE(file.empty());
  std::vector<float> got(3 * 224 * 224);
  safescan::clip_preprocess(safescan::load_image(file), 224, safescan::kClipMean, safescan::kClipStd, got.data());
  double worst = 0;  // in 8-bit steps, before normalisation
  for (size_t i = 0; i < got.size(); ++i) {
    const int c = static_cast<int>(i / (224 * 224));
    worst = std::max(worst, std::abs(got[i] - want[i]) * safescan::kClipStd[c] * 255.0);
  }
  EXPECT_LE(worst, 1.0) << GetParam();
  EXPECT_LE(worst, 1e-3) << GetParam() << ": expected bit-exact (Pillow's fixed-point arithmetic is reproduced)";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ClipPreprocess,
                         ::testing::Values("astronaut", "camera", "coffee", "kodim04", "kodim15", "kodim23", "messi5"));

TEST(PilResize, UpscalesAndKeepsSolidColours) {
  safescan::Image img;
  img.width = 3;
  img.height = 2;
  img.pixels.assign(3 * 2 * 3, 200);
  const auto up = safescan::pil_resize_bicubic(img, 7, 5);
  ASSERT_EQ(up.width, 7);
  ASSERT_EQ(up.height, 5);
  for (auto v : up.pixels) EXPECT_EQ(v, 200);  // normalised weights keep a flat image flat
  EXPECT_THROW(safescan::pil_resize_bicubic(img, 0, 5), safescan::Error);
}

}  // namespace
