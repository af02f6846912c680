// Comparing decoded images with expected rasters in GoogleTest tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "image_writers.hpp"
#include "safescan/image.hpp"

namespace safescan::testing {

// Largest per-channel difference between a decoded image and an expected RGB raster;
// fails the test (and returns 256) when the sizes differ.
inline int max_difference(const Image& image, const Raster& expected) {
  EXPECT_EQ(expected.channels, 3);
  EXPECT_EQ(image.width, expected.width);
  EXPECT_EQ(image.height, expected.height);
  if (image.width != expected.width || image.height != expected.height || expected.channels != 3) return 256;
  EXPECT_EQ(image.pixels.size(), expected.data.size());
  if (image.pixels.size() != expected.data.size()) return 256;
  int worst = 0;
  for (std::size_t i = 0; i < expected.data.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<int>(image.pixels[i]) - static_cast<int>(expected.data[i])));
  }
  return worst;
}

}  // namespace safescan::testing
