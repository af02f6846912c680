#include <gtest/gtest.h>

#include "safescan/resize.hpp"

namespace {

safescan::Image gray_image(int w, int h, std::initializer_list<int> values) {
  safescan::Image img;
  img.width = w;
  img.height = h;
  for (int v : values)
    for (int c = 0; c < 3; ++c) img.pixels.push_back(static_cast<std::uint8_t>(v + c));
  return img;
}

// The case from tfjs-core's own resizeBilinear tests (alignCorners = true).
TEST(TfjsResizeBilinear, MatchesTfjsAlignCornersExample) {
  const auto img = gray_image(2, 2, {2, 2, 4, 4});
  std::vector<float> out(3 * 9);
  safescan::tfjs_resize_bilinear_planar(img, 3, out.data());
  const float want[9] = {2, 2, 2, 3, 3, 3, 4, 4, 4};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 9; ++i) EXPECT_FLOAT_EQ(out[c * 9 + i], (want[i] + c) / 255.0f) << "channel " << c << " at " << i;
}

TEST(TfjsResizeBilinear, CornersAreKeptAndPlanesAreChannelMajor) {
  const auto img = gray_image(3, 2, {0, 50, 100, 150, 200, 250});
  std::vector<float> out(3 * 16);
  safescan::tfjs_resize_bilinear_planar(img, 4, out.data());
  EXPECT_FLOAT_EQ(out[0], 0.f);
  EXPECT_FLOAT_EQ(out[3], 100 / 255.f);
  EXPECT_FLOAT_EQ(out[12], 150 / 255.f);
  EXPECT_FLOAT_EQ(out[15], 250 / 255.f);
  EXPECT_FLOAT_EQ(out[16 + 15], 251 / 255.f);  // green plane follows the red one
  EXPECT_FLOAT_EQ(out[32 + 0], 2 / 255.f);
  // Between (0,0)=0 and (1,0)=50 at x = 1 * (2/3): 33.33 / 255.
  EXPECT_NEAR(out[1], (50.0 * 2 / 3) / 255.0, 1e-6);
}

TEST(TfjsResizeBilinear, ImageOfTheTargetSizeIsOnlyScaled) {
  const auto img = gray_image(2, 2, {0, 64, 128, 250});
  std::vector<float> out(3 * 4);
  safescan::tfjs_resize_bilinear_planar(img, 2, out.data());
  EXPECT_FLOAT_EQ(out[1], 64 / 255.f);
  EXPECT_FLOAT_EQ(out[3], 250 / 255.f);
  EXPECT_FLOAT_EQ(out[4 + 3], 251 / 255.f);
}

}  // namespace
