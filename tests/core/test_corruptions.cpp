// Tests of src/bench/corruptions.cpp: the deterministic corruptions against
// bethgelab/imagecorruptions' outputs (tests/data/corruptions/, written by
// tests/data/make_corruptions_golden.py), the random ones by their statistics, safescan's own
// transformations by their definitions, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/corruptions_internal.hpp"
#include "safescan/corruptions.hpp"
#include "safescan/error.hpp"
#include "safescan/image.hpp"

namespace fs = std::filesystem;
using safescan::Image;

namespace {

const fs::path kData = fs::path(SAFESCAN_SOURCE_DIR) / "tests/data/corruptions";

Image solid(int width, int height, std::uint8_t value) {
  Image image;
  image.width = width;
  image.height = height;
  image.pixels.assign(static_cast<std::size_t>(width) * height * 3, value);
  return image;
}

// A deterministic textured image (gradients plus a pattern), for the runs that only need pixels.
Image textured(int width, int height) {
  Image image = solid(width, height, 0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = image.pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3;
      p[0] = static_cast<std::uint8_t>(x * 255 / (width - 1));
      p[1] = static_cast<std::uint8_t>(y * 255 / (height - 1));
      p[2] = static_cast<std::uint8_t>(((x / 4 + y / 4) % 2) * 200 + 20);
    }
  return image;
}

// How far a result is from the golden image: the largest per-value difference and the number
// of values (channels of pixels) that differ at all.
struct Difference {
  int max = 0;
  std::size_t count = 0;
  std::size_t total = 0;
};

Difference compare(const Image& got, const Image& expected) {
  EXPECT_EQ(got.width, expected.width);
  EXPECT_EQ(got.height, expected.height);
  Difference d;
  if (got.pixels.size() != expected.pixels.size()) {
    d.max = 256;
    return d;
  }
  d.total = got.pixels.size();
  for (std::size_t i = 0; i < got.pixels.size(); ++i) {
    const int diff = std::abs(static_cast<int>(got.pixels[i]) - static_cast<int>(expected.pixels[i]));
    d.max = std::max(d.max, diff);
    d.count += diff != 0;
  }
  return d;
}

// The tolerance each corruption is held to against the reference: the largest difference of
// one value (0-255), and the fraction of values allowed to differ at all.
struct Tolerance {
  int max;
  double fraction;
};

Tolerance tolerance_of(const std::string& name) {
  // Integer or exactly repeated arithmetic, bit-exact:
  //  - jpeg_compression: the same libjpeg-turbo (Debian's, used by Pillow and by safescan's
  //    codecs) with the same settings (quality, 4:2:0, baseline tables, islow DCT, fancy
  //    upsampling), so the same bytes.
  //  - pixelate: Pillow's BOX resampling is fixed point (22 bits) and NEAREST is index
  //    arithmetic; both are repeated operation for operation.
  //  - contrast, brightness, saturate: element-wise float64 formulas (numpy's sequential
  //    channel sums for the mean, skimage's HSV conversion) repeated in the same order, so
  //    every double is the same and np.uint8's truncation lands on the same integer.
  if (name == "jpeg_compression" || name == "pixelate" || name == "contrast" || name == "brightness" ||
      name == "saturate")
    return {0, 0.0};
  // Blurs: float64 sums whose result is truncated, so that a last-bit difference anywhere
  // moves a value sitting within 1e-13 of an integer down (or up) by one level; in flat
  // regions, where every value of the sum is an integer times a kernel summing to 1 +- 1e-16,
  // that is a large share of them.
  //  - gaussian_blur: scipy's loop order is repeated exactly; the kernel needs exp(), which
  //    comes from the C library here and in the goldens (the script turns numpy's AVX-512 exp
  //    off), and another libm may round it differently in the last bit.
  //  - defocus_blur: OpenCV runs filter2D with a 17x17 or 21x21 kernel through a DFT, whose
  //    rounding a direct sum does not repeat, and the float32 disk kernel can differ from
  //    OpenCV's GaussianBlur by one float ulp (radius 8).
  //  - motion_blur: the sum order is repeated; the kernel needs exp() and the shifts sin(),
  //    cos() and hypot() (the last three matter only when i p / |p| - 0.5 is within an ulp of
  //    an integer), all from the C library, as for gaussian_blur.
  // So: at most one level, on at most 0.5% of the values. On these goldens and on 400 more
  // cases checked while writing this (random crops of ten images, 32-140 px, and a flat
  // synthetic image), all three are bit-exact: the log below names any value that is not.
  return {1, 0.005};
}

Image load(const std::string& file) { return safescan::load_image(kData / file); }

TEST(CorruptionsGolden, MatchesImagecorruptions) {
  std::ifstream in(kData / "index.json");
  ASSERT_TRUE(in) << "missing " << (kData / "index.json");
  const nlohmann::json index = nlohmann::json::parse(in);
  std::map<std::string, Image> inputs;
  for (const auto& entry : index.at("inputs")) {
    Image image = load(entry.at("file").get<std::string>());
    ASSERT_EQ(image.width, entry.at("width").get<int>());
    ASSERT_EQ(image.height, entry.at("height").get<int>());
    inputs[entry.at("name").get<std::string>()] = std::move(image);
  }
  ASSERT_EQ(inputs.size(), 2u);
  std::map<std::string, int> checked;
  for (const auto& entry : index.at("outputs")) {
    const std::string name = entry.at("corruption").get<std::string>();
    const int severity = entry.at("severity").get<int>();
    const std::string file = entry.at("file").get<std::string>();
    const Image& input = inputs.at(entry.at("input").get<std::string>());
    const Image expected = load(file);
    const Image got = name == "motion_blur"
                          ? safescan::corruptions_internal::motion_blur(input, severity, entry.at("angle").get<double>())
                          : safescan::corrupt(input, name, severity);
    const Difference d = compare(got, expected);
    const Tolerance t = tolerance_of(name);
    EXPECT_LE(d.max, t.max) << file;
    EXPECT_LE(static_cast<double>(d.count), t.fraction * static_cast<double>(d.total)) << file;
    if (d.count != 0)
      std::cout << "[ info ] " << file << ": " << d.count << " of " << d.total << " values differ, by at most " << d.max
                << "\n";
    ++checked[name];
  }
  // Every deterministic corruption of the reference, at every severity, on both inputs.
  for (const char* name : {"gaussian_blur", "defocus_blur", "motion_blur", "jpeg_compression", "pixelate", "contrast",
                           "brightness", "saturate"})
    EXPECT_EQ(checked[name], 10) << name;
}

// --- Noise: statistics over a 256 x 256 mid-grey image -------------------------------------

constexpr int kSide = 256;
constexpr std::uint8_t kGrey = 128;

struct Moments {
  double mean = 0.0, sd = 0.0;
};

// Mean and standard deviation of (output - input) over all values.
Moments moments_of(const Image& image) {
  double sum = 0.0, sum2 = 0.0;
  for (std::uint8_t v : image.pixels) {
    const double d = static_cast<double>(v) - kGrey;
    sum += d;
    sum2 += d * d;
  }
  const double n = static_cast<double>(image.pixels.size());
  Moments m;
  m.mean = sum / n;
  m.sd = std::sqrt(std::max(0.0, sum2 / n - m.mean * m.mean));
  return m;
}

// Moments of a distribution over the output values 0..255, relative to the input value.
Moments moments_of(const std::vector<double>& p) {
  double mean = 0.0, second = 0.0;
  for (int k = 0; k < 256; ++k) {
    const double d = k - static_cast<double>(kGrey);
    mean += p[k] * d;
    second += p[k] * d * d;
  }
  return {mean, std::sqrt(second - mean * mean)};
}

// The output value of a float x the way the reference stores it: np.uint8(clip(x, 0, 1) * 255).
int stored(double x) { return static_cast<int>(std::clamp(x, 0.0, 1.0) * 255.0); }

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Sample moments within 6 standard errors of the exact ones (n = 196,608 values): the mean's
// standard error is sd / sqrt(n), the standard deviation's about sd / sqrt(2 n).
void expect_moments(const Moments& got, const Moments& exact, const std::string& what) {
  const double n = 3.0 * kSide * kSide;
  EXPECT_NEAR(got.mean, exact.mean, 6.0 * exact.sd / std::sqrt(n) + 1e-9) << what;
  EXPECT_NEAR(got.sd, exact.sd, 6.0 * exact.sd / std::sqrt(2.0 * n) + 1e-9) << what;
}

TEST(CorruptionsNoise, GaussianNoiseHasTheSeverityStandardDeviation) {
  const double sigma[] = {.08, .12, 0.18, 0.26, 0.38};
  const Image grey = solid(kSide, kSide, kGrey);
  for (int severity = 1; severity <= 5; ++severity) {
    const double c = sigma[severity - 1], x0 = kGrey / 255.0;
    // Exact distribution of np.uint8(clip(x0 + N(0, c), 0, 1) * 255): value k for
    // x in [k / 255, (k + 1) / 255), 0 below 1 / 255, 255 from 1 up.
    std::vector<double> p(256);
    for (int k = 0; k < 256; ++k) {
      const double lo = k == 0 ? -INFINITY : k / 255.0, hi = k == 255 ? INFINITY : (k + 1) / 255.0;
      p[k] = (k == 255 ? 1.0 : normal_cdf((hi - x0) / c)) - (k == 0 ? 0.0 : normal_cdf((lo - x0) / c));
    }
    const Moments exact = moments_of(p);
    const Moments got = moments_of(safescan::corrupt(grey, "gaussian_noise", severity, 7));
    expect_moments(got, exact, "gaussian_noise " + std::to_string(severity));
    // Where clipping is rare (severities 1-2: 6 and 4 sigma of room), the spread is c * 255
    // (with truncation's 1/12 of a level squared, and its mean of -0.5).
    if (severity <= 2) {
      EXPECT_NEAR(got.sd, std::sqrt(c * 255 * c * 255 + 1.0 / 12), 0.02 * c * 255) << severity;
      EXPECT_NEAR(got.mean, -0.5, 0.1 + 6.0 * c * 255 / std::sqrt(3.0 * kSide * kSide)) << severity;
    }
  }
}

TEST(CorruptionsNoise, ShotNoiseIsPoissonOfTheScaledValue) {
  const int cs[] = {60, 25, 12, 5, 3};
  const Image grey = solid(kSide, kSide, kGrey);
  for (int severity = 1; severity <= 5; ++severity) {
    const double c = cs[severity - 1], lambda = (kGrey / 255.0) * c;
    // Exact distribution of np.uint8(clip(Poisson(lambda) / c, 0, 1) * 255).
    std::vector<double> p(256, 0.0);
    double pk = std::exp(-lambda);
    for (int k = 0; k < 400; ++k) {
      if (k > 0) pk *= lambda / k;
      p[stored(k / c)] += pk;
    }
    const Moments exact = moments_of(p);
    const Moments got = moments_of(safescan::corrupt(grey, "shot_noise", severity, 7));
    expect_moments(got, exact, "shot_noise " + std::to_string(severity));
    // Poisson(x c) / c has the standard deviation sqrt(x / c) (times 255) where the clip at 1
    // is rare (severities 1-2: lambda 30 and 12.5 for c 60 and 25); truncation adds a little.
    if (severity <= 2) {
      EXPECT_NEAR(got.sd, std::sqrt((kGrey / 255.0) / c) * 255, 0.03 * std::sqrt((kGrey / 255.0) / c) * 255) << severity;
    }
  }
}

TEST(CorruptionsNoise, ImpulseNoiseSetsTheSeverityFractionToBlackOrWhite) {
  const double amount[] = {.03, .06, .09, 0.17, 0.27};
  const Image grey = solid(kSide, kSide, kGrey);
  for (int severity = 1; severity <= 5; ++severity) {
    const Image out = safescan::corrupt(grey, "impulse_noise", severity, 7);
    std::size_t salt = 0, pepper = 0, other = 0;
    for (std::uint8_t v : out.pixels) {
      salt += v == 255;
      pepper += v == 0;
      other += v != 0 && v != 255 && v != kGrey;
    }
    const double n = static_cast<double>(out.pixels.size()), c = amount[severity - 1];
    EXPECT_EQ(other, 0u);
    // Binomial counts: within 6 standard deviations.
    EXPECT_NEAR((salt + pepper) / n, c, 6.0 * std::sqrt(c * (1 - c) / n)) << severity;
    EXPECT_NEAR(salt / n, c / 2, 6.0 * std::sqrt(c / 2 * (1 - c / 2) / n)) << severity;
  }
}

TEST(CorruptionsNoise, SeedDecidesTheBytes) {
  const Image image = textured(64, 48);
  for (const char* name : {"gaussian_noise", "shot_noise", "impulse_noise", "motion_blur"}) {
    for (int severity : {1, 5}) {
      const Image a = safescan::corrupt(image, name, severity, 1234);
      const Image b = safescan::corrupt(image, name, severity, 1234);
      const Image c = safescan::corrupt(image, name, severity, 1235);
      EXPECT_EQ(a.pixels, b.pixels) << name << " " << severity;
      EXPECT_NE(a.pixels, c.pixels) << name << " " << severity;
    }
  }
  // motion_blur's angle is uniform in [-45, 45).
  double lo = 90, hi = -90;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const double a = safescan::corruptions_internal::motion_blur_angle(seed);
    ASSERT_GE(a, -45.0);
    ASSERT_LT(a, 45.0);
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  EXPECT_LT(lo, -40.0);
  EXPECT_GT(hi, 40.0);
  // The same seed, the same caption and band.
  EXPECT_EQ(safescan::corrupt(image, "text_overlay", 3, 9).pixels, safescan::corrupt(image, "text_overlay", 3, 9).pixels);
}

// --- safescan's own transformations ------------------------------------------------------

TEST(CorruptionsOwn, RotateKeepsTheCentreAndBlackensTheCorners) {
  const Image white = solid(64, 48, 255);
  for (int severity = 1; severity <= 5; ++severity) {
    const Image out = safescan::corrupt(white, "rotate", severity);
    ASSERT_EQ(out.width, 64);
    ASSERT_EQ(out.height, 48);
    EXPECT_EQ(out.pixel(32, 24)[0], 255) << severity;
    for (const auto& [x, y] : std::vector<std::pair<int, int>>{{0, 0}, {63, 0}, {0, 47}, {63, 47}})
      EXPECT_EQ(out.pixel(x, y)[1], 0) << severity << " " << x << "," << y;
  }
  // 45 degrees counter-clockwise: the source's right edge comes to the top.
  Image half = solid(64, 64, 0);
  for (int y = 0; y < 64; ++y)
    for (int x = 48; x < 64; ++x) std::fill_n(half.pixels.data() + (static_cast<std::size_t>(y) * 64 + x) * 3, 3, 255);
  const Image turned = safescan::corrupt(half, "rotate", 5);
  EXPECT_GT(turned.pixel(45, 12)[0], 200);  // up and to the right of the centre
  EXPECT_EQ(turned.pixel(45, 52)[0], 0);    // down and to the right
}

TEST(CorruptionsOwn, CropKeepsTheCentre) {
  const Image image = textured(40, 33);
  const int kept[] = {90, 80, 70, 60, 50};
  for (int severity = 1; severity <= 5; ++severity) {
    const Image out = safescan::corrupt(image, "crop", severity);
    const int w = (40 * kept[severity - 1] + 50) / 100, h = (33 * kept[severity - 1] + 50) / 100;
    ASSERT_EQ(out.width, w);
    ASSERT_EQ(out.height, h);
    const int left = (40 - w) / 2, top = (33 - h) / 2;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        ASSERT_TRUE(std::equal(out.pixel(x, y), out.pixel(x, y) + 3, image.pixel(left + x, top + y))) << severity;
  }
}

TEST(CorruptionsOwn, ResizeAveragesAreas) {
  // 2 x 2 blocks of 0 and 255 halve into 128 (127.5 rounded up); a flat image stays flat.
  Image checker = solid(64, 64, 0);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      if ((x + y) % 2) std::fill_n(checker.pixels.data() + (static_cast<std::size_t>(y) * 64 + x) * 3, 3, 255);
  const Image half = safescan::corrupt(checker, "resize", 2);
  ASSERT_EQ(half.width, 32);
  ASSERT_EQ(half.height, 32);
  for (std::uint8_t v : half.pixels) ASSERT_EQ(v, 128);
  const Image flat = safescan::corrupt(solid(100, 37, 77), "resize", 3);
  EXPECT_EQ(flat.width, 35);
  EXPECT_EQ(flat.height, 13);
  for (std::uint8_t v : flat.pixels) ASSERT_EQ(v, 77);
}

TEST(CorruptionsOwn, TextOverlayDrawsWhiteOnABlackBand) {
  const Image grey = solid(96, 64, 100);
  int previous_band = 0;
  for (int severity = 1; severity <= 5; ++severity) {
    const Image out = safescan::corrupt(grey, "text_overlay", severity, 3);
    ASSERT_EQ(out.width, 96);
    ASSERT_EQ(out.height, 64);
    int band = 0, white = 0;
    for (int y = 0; y < 64; ++y) {
      const std::uint8_t* row = out.pixel(0, y);
      const bool untouched = std::all_of(row, row + 96 * 3, [](std::uint8_t v) { return v == 100; });
      const bool in_band = std::all_of(row, row + 96 * 3, [](std::uint8_t v) { return v == 0 || v == 255; });
      ASSERT_TRUE(untouched || in_band) << "row " << y;
      band += in_band;
      white += static_cast<int>(std::count(row, row + 96 * 3, 255));
    }
    EXPECT_GT(white, 0) << severity;
    EXPECT_GE(band, previous_band) << severity;
    previous_band = band;
  }
  EXPECT_EQ(previous_band, 29);  // 45% of 64
}

TEST(CorruptionsOwn, GridTilesTheShrunkImage) {
  const Image image = textured(40, 33);
  for (int severity = 1; severity <= 5; ++severity) {
    const Image out = safescan::corrupt(image, "grid", severity);
    ASSERT_EQ(out.width, 40);
    ASSERT_EQ(out.height, 33);
    const int gutter = severity == 1 ? 2 : std::max(2, (33 * 2 * (severity - 1) + 50) / 100);
    const int tw = (40 - 2 * gutter) / 3, th = (33 - 2 * gutter) / 3;
    const int left = (40 - 2 * gutter - 3 * tw) / 2, top = (33 - 2 * gutter - 3 * th) / 2;
    // The nine tiles are the same; the gutters are white.
    for (int ty = 0; ty < 3; ++ty)
      for (int tx = 0; tx < 3; ++tx)
        for (int y = 0; y < th; ++y)
          for (int x = 0; x < tw; ++x)
            ASSERT_TRUE(std::equal(out.pixel(left + tx * (tw + gutter) + x, top + ty * (th + gutter) + y),
                                   out.pixel(left + tx * (tw + gutter) + x, top + ty * (th + gutter) + y) + 3,
                                   out.pixel(left + x, top + y)));
    for (int y = 0; y < 33; ++y)
      for (int g = 0; g < gutter; ++g) ASSERT_EQ(out.pixel(left + tw + g, y)[0], 255) << severity;
  }
}

// --- Every corruption, every severity; errors ------------------------------------------------

TEST(CorruptionsAll, EveryNameRunsAtEverySeverityWithTheDocumentedSize) {
  const auto& names = safescan::corruption_names();
  ASSERT_EQ(names.size(), 16u);
  EXPECT_EQ(names.front(), "gaussian_noise");
  EXPECT_EQ(names.back(), "grid");
  const Image image = textured(40, 33);
  for (std::string_view name : names)
    for (int severity = 1; severity <= 5; ++severity) {
      const Image out = safescan::corrupt(image, name, severity, 5);
      int w = 40, h = 33;
      if (name == "crop" || name == "resize") {
        const int crop[] = {90, 80, 70, 60, 50}, resize[] = {75, 50, 35, 25, 15};
        const int percent = (name == "crop" ? crop : resize)[severity - 1];
        w = (40 * percent + 50) / 100;
        h = (33 * percent + 50) / 100;
      }
      EXPECT_EQ(out.width, w) << name << " " << severity;
      EXPECT_EQ(out.height, h) << name << " " << severity;
      EXPECT_EQ(out.pixels.size(), static_cast<std::size_t>(w) * h * 3) << name << " " << severity;
      if (w == 40 && h == 33) {
        EXPECT_NE(out.pixels, image.pixels) << name << " " << severity;
      }
    }
}

void expect_invalid(const Image& image, std::string_view name, int severity) {
  try {
    (void)safescan::corrupt(image, name, severity);
    ADD_FAILURE() << name << " " << severity << " did not throw";
  } catch (const safescan::Error& e) {
    EXPECT_EQ(e.code(), safescan::ErrorCode::invalid_argument) << e.what();
  }
}

TEST(CorruptionsErrors, RejectsBadArguments) {
  const Image image = textured(40, 33);
  expect_invalid(image, "frost", 1);
  expect_invalid(image, "", 1);
  expect_invalid(image, "Gaussian_Noise", 1);
  expect_invalid(image, "gaussian_noise", 0);
  expect_invalid(image, "gaussian_noise", 6);
  expect_invalid(image, "crop", -1);
  expect_invalid(textured(31, 40), "contrast", 1);
  expect_invalid(textured(40, 31), "contrast", 1);
  expect_invalid(Image{}, "contrast", 1);
  Image inconsistent = textured(40, 40);
  inconsistent.pixels.pop_back();
  expect_invalid(inconsistent, "contrast", 1);
  EXPECT_NO_THROW((void)safescan::corrupt(textured(32, 32), "motion_blur", 5));
}

}  // namespace
