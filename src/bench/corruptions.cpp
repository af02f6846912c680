// Image corruptions (include/safescan/corruptions.hpp, docs/corruptions.md): imagecorruptions'
// definitions re-implemented in plain C++, and safescan's everyday transformations.
//
// The reference (bethgelab/imagecorruptions on numpy 1.24, scipy 1.10, scikit-image 0.19,
// OpenCV 4.6, Pillow 9.4) computes in float64 and ends with np.uint8(), which truncates. The
// functions below repeat its arithmetic in the same order where that decides the last bit
// (numpy's summation orders, scipy's correlation loop, skimage's HSV formulas), so that the
// truncation lands on the same side; tests/core/test_corruptions.cpp holds each one to the
// reference's outputs in tests/data/corruptions/.
//
// Severity tables (1 .. 5):
//   gaussian_noise    sigma          .08 .12 .18 .26 .38          x + N(0, sigma)
//   shot_noise        c              60 25 12 5 3                 Poisson(x c) / c
//   impulse_noise     amount         .03 .06 .09 .17 .27          values set to 0 or 1
//   gaussian_blur     sigma          1 2 3 4 6                    truncate 4, edge 'nearest'
//   defocus_blur      (radius, blur) (3,.1) (4,.5) (6,.5) (8,.5) (10,.5)
//   motion_blur       (radius, sigma)(10,3) (15,5) (15,8) (15,12) (20,15), angle U(-45, 45)
//   jpeg_compression  quality        25 18 15 10 7                libjpeg, 4:2:0
//   pixelate          scale          .6 .5 .4 .3 .25              BOX down, NEAREST up
//   contrast          c              .4 .3 .2 .1 .05              (x - mean) c + mean
//   brightness        c              .1 .2 .3 .4 .5               HSV: v + c
//   saturate          (a, b)         (.3,0) (.1,0) (2,0) (5,.1) (20,.2)   HSV: s a + b
//   rotate            degrees        5 10 20 30 45                counter-clockwise, bilinear
//   crop              kept side      90% 80% 70% 60% 50%          centred, not resized back
//   resize            scale          75% 50% 35% 25% 15%          area average, kept smaller
//   text_overlay      band height    12% 18% 25% 33% 45% of the height (font px: band / 10, fits W)
//   grid              gutter         2 px, then 2% 4% 6% 8% of the short side (at least 2 px)
#include "safescan/corruptions.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/corruptions_internal.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

constexpr int kMinSide = 32;
constexpr double kPi = 3.141592653589793;

// --- Random numbers: xoshiro256** seeded by splitmix64 (the same bytes on every platform;
// std::normal_distribution and friends are not specified to the bit). ----------------------

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // `stream` separates the uses of one seed (noise, motion blur's angle, the caption).
  Rng(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (auto& s : s_) s = splitmix64(x);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1), 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : static_cast<std::uint64_t>(uniform() * static_cast<double>(n)); }
  // Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * kPi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * kPi * u2);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

enum Stream : std::uint64_t { kNoiseStream = 1, kMotionStream = 2, kTextStream = 3 };

// --- Helpers --------------------------------------------------------------------------

Image blank(int width, int height, std::uint8_t fill = 0) {
  Image out;
  out.width = out.source_width = width;
  out.height = out.source_height = height;
  out.pixels.assign(static_cast<std::size_t>(width) * height * 3, fill);
  return out;
}

// np.array(x) / 255.
std::vector<double> to_unit(const Image& image) {
  std::vector<double> x(image.pixels.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = image.pixels[i] / 255.0;
  return x;
}

// np.uint8(np.clip(x, 0, 1) * 255): clipping, then truncation toward zero.
std::uint8_t unit_to_byte(double v) {
  v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
  return static_cast<std::uint8_t>(v * 255.0);
}

// np.uint8(np.clip(x, 0, 255)).
std::uint8_t clip_to_byte(double v) {
  v = v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v;
  return static_cast<std::uint8_t>(v);
}

std::uint8_t round_to_byte(double v) {
  v = v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v;
  return static_cast<std::uint8_t>(v + 0.5);
}

// numpy's sum of a contiguous float64 array (pairwise_sum: eight running sums below 128
// values, halves above), the order that np.sum and ndarray.sum() add in.
double numpy_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_sum(a, n2) + numpy_sum(a + n2, n - n2);
}

// --- Noise ----------------------------------------------------------------------------

Image gaussian_noise(const Image& in, int severity, std::uint64_t seed) {
  static constexpr double kSigma[] = {.08, .12, 0.18, 0.26, 0.38};
  const double sigma = kSigma[severity - 1];
  Rng rng(seed, kNoiseStream);
  Image out = blank(in.width, in.height);
  for (std::size_t i = 0; i < in.pixels.size(); ++i) out.pixels[i] = unit_to_byte(in.pixels[i] / 255.0 + rng.normal() * sigma);
  return out;
}

Image shot_noise(const Image& in, int severity, std::uint64_t seed) {
  static constexpr int kC[] = {60, 25, 12, 5, 3};
  const double c = kC[severity - 1];
  // Poisson(lambda = (v / 255) c) drawn by inversion of its cumulative distribution, one
  // table per input value (lambda <= 60: the table ends where the tail is below 1e-17).
  std::array<std::vector<double>, 256> cdf;
  for (int v = 0; v < 256; ++v) {
    const double lambda = (v / 255.0) * c;
    double p = std::exp(-lambda), total = p;
    std::vector<double>& t = cdf[v];
    t.push_back(total);
    for (int k = 1; 1.0 - total > 1e-17 && k < 400; ++k) {
      p *= lambda / k;
      total += p;
      t.push_back(total);
    }
  }
  Rng rng(seed, kNoiseStream);
  Image out = blank(in.width, in.height);
  for (std::size_t i = 0; i < in.pixels.size(); ++i) {
    const std::vector<double>& t = cdf[in.pixels[i]];
    const auto k = std::upper_bound(t.begin(), t.end(), rng.uniform()) - t.begin();
    out.pixels[i] = unit_to_byte(static_cast<double>(k) / c);
  }
  return out;
}

// skimage.util.random_noise(mode='s&p', amount, salt_vs_pepper=0.5): each value (each
// channel of each pixel) is replaced with probability `amount`, by 1 or 0 with equal odds.
Image impulse_noise(const Image& in, int severity, std::uint64_t seed) {
  static constexpr double kAmount[] = {.03, .06, .09, 0.17, 0.27};
  const double amount = kAmount[severity - 1];
  Rng rng(seed, kNoiseStream);
  Image out = blank(in.width, in.height);
  for (std::size_t i = 0; i < in.pixels.size(); ++i) {
    const bool flipped = rng.uniform() < amount;
    const bool salt = rng.uniform() < 0.5;
    out.pixels[i] = flipped ? (salt ? 255 : 0) : unit_to_byte(in.pixels[i] / 255.0);
  }
  return out;
}

// --- Blurs ----------------------------------------------------------------------------

// scipy.ndimage.correlate1d of one line with a symmetric kernel (weights[r + j] ==
// weights[r - j]), mode 'nearest', in scipy's order: centre tap first, then the pairs from
// the outermost in.
void correlate_symmetric_nearest(const double* in, std::size_t stride, int n, const std::vector<double>& w,
                                 std::vector<double>& line, double* out) {
  const int r = static_cast<int>(w.size() / 2);
  line.resize(static_cast<std::size_t>(n) + 2 * r);
  for (int i = 0; i < n + 2 * r; ++i) line[i] = in[static_cast<std::size_t>(std::clamp(i - r, 0, n - 1)) * stride];
  for (int i = 0; i < n; ++i) {
    const double* c = line.data() + i + r;
    double acc = c[0] * w[r];
    for (int j = -r; j < 0; ++j) acc += (c[j] + c[-j]) * w[r + j];
    out[static_cast<std::size_t>(i) * stride] = acc;
  }
}

// skimage.filters.gaussian(x / 255, sigma, channel_axis=-1): scipy.ndimage.gaussian_filter
// with sigma (s, s, 0), truncate 4, mode 'nearest', rows (axis 0) then columns (axis 1).
Image gaussian_blur(const Image& in, int severity) {
  static constexpr int kSigma[] = {1, 2, 3, 4, 6};
  const double sigma = kSigma[severity - 1];
  const int radius = static_cast<int>(4.0 * sigma + 0.5);
  std::vector<double> w(2 * radius + 1);
  const double a = -0.5 / (sigma * sigma);
  for (int i = 0; i <= 2 * radius; ++i) {
    const double x = i - radius;
    w[i] = std::exp(a * (x * x));
  }
  const double total = numpy_sum(w.data(), w.size());
  for (double& v : w) v = v / total;

  const int W = in.width, H = in.height;
  std::vector<double> x = to_unit(in), y(x.size()), line;
  for (int col = 0; col < W; ++col)  // axis 0: each column of each channel
    for (int ch = 0; ch < 3; ++ch) {
      const std::size_t start = static_cast<std::size_t>(col) * 3 + ch;
      correlate_symmetric_nearest(x.data() + start, static_cast<std::size_t>(W) * 3, H, w, line, y.data() + start);
    }
  for (int row = 0; row < H; ++row)  // axis 1: each row of each channel
    for (int ch = 0; ch < 3; ++ch) {
      const std::size_t start = static_cast<std::size_t>(row) * W * 3 + ch;
      correlate_symmetric_nearest(y.data() + start, 3, W, w, line, x.data() + start);
    }
  Image out = blank(W, H);
  for (std::size_t i = 0; i < x.size(); ++i) out.pixels[i] = unit_to_byte(x[i]);
  return out;
}

int reflect101(int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; }

// imagecorruptions' disk(): a float32 disk of `radius` on a (2L+1)^2 grid (L = max(8,
// radius)), normalised to sum 1, then cv2.GaussianBlur(ksize 3 or 5, sigma) in float32 with
// OpenCV's symmetric separable filter (centre product, then fused multiply-adds of the
// pairs) and BORDER_REFLECT_101. Returns the kernel widened to double, row-major.
std::vector<double> disk_kernel(int radius, double alias_blur, int& side) {
  const int half = radius <= 8 ? 8 : radius;
  const int ksize = radius <= 8 ? 3 : 5;
  const int n = 2 * half + 1;
  side = n;
  std::vector<float> disk(static_cast<std::size_t>(n) * n);
  int count = 0;
  for (int y = -half; y <= half; ++y)
    for (int x = -half; x <= half; ++x) {
      const bool inside = x * x + y * y <= radius * radius;
      disk[static_cast<std::size_t>(y + half) * n + (x + half)] = inside ? 1.0f : 0.0f;
      count += inside;
    }
  for (float& v : disk) v = v / static_cast<float>(count);

  // cv::getGaussianKernel(ksize, sigma, CV_32F).
  std::vector<double> g(ksize);
  double total = 0.0;
  const double scale2 = -0.5 / (alias_blur * alias_blur);
  for (int i = 0; i < ksize; ++i) {
    const double x = i - (ksize - 1) * 0.5;
    g[i] = std::exp(scale2 * x * x);
    total += g[i];
  }
  std::vector<float> k(ksize);
  for (int i = 0; i < ksize; ++i) k[i] = static_cast<float>(g[i] / total);
  const int r = ksize / 2;

  auto pass = [&](const std::vector<float>& src, bool horizontal) {
    std::vector<float> dst(src.size());
    auto at = [&](int y, int x) { return src[static_cast<std::size_t>(reflect101(y, n)) * n + reflect101(x, n)]; };
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        float s = at(y, x) * k[r];
        for (int j = 1; j <= r; ++j) {
          const float pair = horizontal ? at(y, x - j) + at(y, x + j) : at(y - j, x) + at(y + j, x);
          s = std::fma(pair, k[r + j], s);
        }
        dst[static_cast<std::size_t>(y) * n + x] = s;
      }
    return dst;
  };
  const std::vector<float> blurred = pass(pass(disk, true), false);
  return std::vector<double>(blurred.begin(), blurred.end());
}

// cv2.filter2D(x[:, :, d], -1, kernel) per channel: correlation, BORDER_REFLECT_101, in
// double (OpenCV computes this size of kernel through a DFT, so its last bits differ).
Image defocus_blur(const Image& in, int severity) {
  static constexpr int kRadius[] = {3, 4, 6, 8, 10};
  static constexpr double kAlias[] = {0.1, 0.5, 0.5, 0.5, 0.5};
  int n = 0;
  const std::vector<double> kernel = disk_kernel(kRadius[severity - 1], kAlias[severity - 1], n);
  const int half = n / 2, W = in.width, H = in.height;
  const std::vector<double> x = to_unit(in);
  std::vector<int> cols(static_cast<std::size_t>(W) + 2 * half), rows(static_cast<std::size_t>(H) + 2 * half);
  for (int i = 0; i < W + 2 * half; ++i) cols[i] = reflect101(i - half, W);
  for (int i = 0; i < H + 2 * half; ++i) rows[i] = reflect101(i - half, H);
  Image out = blank(W, H);
  for (int yy = 0; yy < H; ++yy)
    for (int xx = 0; xx < W; ++xx) {
      double acc[3] = {0.0, 0.0, 0.0};
      for (int i = 0; i < n; ++i) {
        const double* krow = kernel.data() + static_cast<std::size_t>(i) * n;
        const double* src = x.data() + static_cast<std::size_t>(rows[yy + i]) * W * 3;
        for (int j = 0; j < n; ++j) {
          const double* p = src + static_cast<std::size_t>(cols[xx + j]) * 3;
          acc[0] += krow[j] * p[0];
          acc[1] += krow[j] * p[1];
          acc[2] += krow[j] * p[2];
        }
      }
      std::uint8_t* q = out.pixels.data() + (static_cast<std::size_t>(yy) * W + xx) * 3;
      for (int ch = 0; ch < 3; ++ch) q[ch] = unit_to_byte(acc[ch]);
    }
  return out;
}

}  // namespace

namespace corruptions_internal {

double motion_blur_angle(std::uint64_t seed) {
  Rng rng(seed, kMotionStream);
  return -45.0 + 90.0 * rng.uniform();
}

// imagecorruptions' _motion_blur on the uint8 image: `width` = 2 radius + 1 copies, copy i
// shifted by dy = -ceil(i p0 / |p| - 0.5), dx = -ceil(i p1 / |p| - 0.5) pixels where
// p = width (sin a, cos a) (its shift() repeats the edge rows and columns), weighted by a
// half Gaussian normalised to sum 1 and added in float64 in that order; it stops at the first
// shift as large as the image.
Image motion_blur(const Image& in, int severity, double angle_degrees) {
  static constexpr int kRadius[] = {10, 15, 15, 15, 20};
  static constexpr int kSigma[] = {3, 5, 8, 12, 15};
  const int width = 2 * kRadius[severity - 1] + 1;
  const int sigma = kSigma[severity - 1];
  std::vector<double> kernel(width);
  const double norm = std::sqrt(2 * kPi) * sigma;
  for (int i = 0; i < width; ++i) kernel[i] = std::exp(static_cast<double>(-(i * i)) / static_cast<double>(2 * (sigma * sigma))) / norm;
  const double total = numpy_sum(kernel.data(), kernel.size());
  for (double& k : kernel) k = k / total;

  const double radians = angle_degrees * (kPi / 180.0);
  const double p0 = width * std::sin(radians), p1 = width * std::cos(radians);
  const double hypot = std::hypot(p0, p1);
  const int W = in.width, H = in.height;
  std::vector<double> acc(in.pixels.size(), 0.0);
  for (int i = 0; i < width; ++i) {
    const int dy = -static_cast<int>(std::ceil((i * p0) / hypot - 0.5));
    const int dx = -static_cast<int>(std::ceil((i * p1) / hypot - 0.5));
    if (std::abs(dy) >= H || std::abs(dx) >= W) break;
    for (int y = 0; y < H; ++y) {
      const int sy = std::clamp(y - dy, 0, H - 1);
      for (int x = 0; x < W; ++x) {
        const int sx = std::clamp(x - dx, 0, W - 1);
        const std::uint8_t* p = in.pixel(sx, sy);
        double* a = acc.data() + (static_cast<std::size_t>(y) * W + x) * 3;
        for (int ch = 0; ch < 3; ++ch) a[ch] = a[ch] + kernel[i] * p[ch];
      }
    }
  }
  Image out = blank(W, H);
  for (std::size_t i = 0; i < acc.size(); ++i) out.pixels[i] = clip_to_byte(acc[i]);
  return out;
}

}  // namespace corruptions_internal

namespace {

// --- Digital --------------------------------------------------------------------------

// PIL: image.save(quality=q) (libjpeg defaults: 4:2:0, baseline, no optimised tables), reload.
Image jpeg_compression(const Image& in, int severity) {
  static constexpr int kQuality[] = {25, 18, 15, 10, 7};
  JpegOptions options;
  options.quality = kQuality[severity - 1];
  options.subsample_chroma = true;
  options.optimize_coding = false;
  const std::vector<std::uint8_t> bytes =
      encode_jpeg(in.pixels.data(), in.width, in.height, static_cast<std::size_t>(in.width) * 3, options);
  Image decoded = decode_image(bytes);
  Image out = blank(decoded.width, decoded.height);
  out.pixels = std::move(decoded.pixels);
  return out;
}

// Pillow's resampling with the BOX filter on 8-bit RGB (libImaging/Resample.c): a pixel's
// taps are the input pixels whose centres fall in its footprint, equal weights in 22-bit
// fixed point, horizontal pass first, a pass skipped when its size is unchanged.
constexpr int kPilPrecisionBits = 32 - 8 - 2;

Image pil_box_pass(const Image& in, int out_size, bool horizontal) {
  const int in_size = horizontal ? in.width : in.height;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 0.5 * filter_scale;
  const double ss = 1.0 / filter_scale;
  std::vector<int> first(out_size), count(out_size);
  std::vector<std::vector<std::int32_t>> weights(out_size);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    std::vector<double> w(xmax);
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double t = (x + xmin - center + 0.5) * ss;
      w[x] = (t > -0.5 && t <= 0.5) ? 1.0 : 0.0;
      ww += w[x];
    }
    weights[xx].resize(xmax);
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      weights[xx][x] = static_cast<std::int32_t>(0.5 + v * (1 << kPilPrecisionBits));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  Image out = blank(horizontal ? out_size : in.width, horizontal ? in.height : out_size);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const int o = horizontal ? x : y;
      std::int64_t acc[3] = {1 << (kPilPrecisionBits - 1), 1 << (kPilPrecisionBits - 1), 1 << (kPilPrecisionBits - 1)};
      for (int t = 0; t < count[o]; ++t) {
        const std::uint8_t* p = horizontal ? in.pixel(first[o] + t, y) : in.pixel(x, first[o] + t);
        for (int ch = 0; ch < 3; ++ch) acc[ch] += static_cast<std::int64_t>(p[ch]) * weights[o][t];
      }
      std::uint8_t* q = out.pixels.data() + (static_cast<std::size_t>(y) * out.width + x) * 3;
      for (int ch = 0; ch < 3; ++ch) q[ch] = static_cast<std::uint8_t>(std::clamp<std::int64_t>(acc[ch] >> kPilPrecisionBits, 0, 255));
    }
  return out;
}

Image pil_resize_box(const Image& in, int width, int height) {
  Image tmp = width != in.width ? pil_box_pass(in, width, true) : in;
  return height != in.height ? pil_box_pass(tmp, height, false) : tmp;
}

// Pillow's resize(NEAREST) (ImagingScaleAffine): source x = int(x0), x0 starting at
// scale / 2 and growing by scale = in / out per pixel (accumulated, as Pillow does).
Image pil_resize_nearest(const Image& in, int width, int height) {
  auto table = [](int in_size, int out_size) {
    std::vector<int> index(out_size);
    const double a = static_cast<double>(static_cast<float>(in_size)) / out_size;
    double pos = a * 0.5;
    for (int i = 0; i < out_size; ++i) {
      const int v = pos < 0.0 ? -1 : static_cast<int>(pos);
      index[i] = v < in_size ? v : -1;
      pos += a;
    }
    return index;
  };
  const std::vector<int> xs = table(in.width, width), ys = table(in.height, height);
  Image out = blank(width, height);
  for (int y = 0; y < height; ++y) {
    if (ys[y] < 0) continue;
    for (int x = 0; x < width; ++x) {
      if (xs[x] < 0) continue;
      const std::uint8_t* p = in.pixel(xs[x], ys[y]);
      std::copy(p, p + 3, out.pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3);
    }
  }
  return out;
}

Image pixelate(const Image& in, int severity) {
  static constexpr double kScale[] = {0.6, 0.5, 0.4, 0.3, 0.25};
  const double c = kScale[severity - 1];
  const int w = static_cast<int>(in.width * c), h = static_cast<int>(in.height * c);
  return pil_resize_nearest(pil_resize_box(in, w, h), in.width, in.height);
}

// np.mean(x, axis=(0, 1)): numpy adds the pixels of each channel one after the other (the
// reduction's inner loop runs over the channels), then divides by the count.
Image contrast(const Image& in, int severity) {
  static constexpr double kC[] = {0.4, .3, .2, .1, .05};
  const double c = kC[severity - 1];
  const std::vector<double> x = to_unit(in);
  const std::size_t n = static_cast<std::size_t>(in.width) * in.height;
  double mean[3] = {0.0, 0.0, 0.0};
  for (std::size_t i = 0; i < n; ++i)
    for (int ch = 0; ch < 3; ++ch) mean[ch] += x[i * 3 + ch];
  for (double& m : mean) m = m / static_cast<double>(n);
  Image out = blank(in.width, in.height);
  for (std::size_t i = 0; i < x.size(); ++i) out.pixels[i] = unit_to_byte((x[i] - mean[i % 3]) * c + mean[i % 3]);
  return out;
}

// skimage.color.rgb2hsv (0.19), one pixel.
void rgb2hsv(const double* rgb, double* hsv) {
  const double r = rgb[0], g = rgb[1], b = rgb[2];
  const double v = std::max({r, g, b});
  const double delta = v - std::min({r, g, b});
  const double s = delta == 0.0 ? 0.0 : delta / v;
  double h = 0.0;
  if (delta != 0.0) {
    // Later cases overwrite earlier ones, as skimage's masked assignments do.
    if (r == v) h = (g - b) / delta;
    if (g == v) h = 2. + (b - r) / delta;
    if (b == v) h = 4. + (r - g) / delta;
    // (h / 6.) % 1. with numpy's remainder: fmod, moved into [0, 1) when negative.
    h = h / 6.;
    double mod = std::fmod(h, 1.0);
    if (mod != 0.0) {
      if (mod < 0.0) mod += 1.0;
    } else {
      mod = 0.0;
    }
    h = mod;
  }
  hsv[0] = h;
  hsv[1] = s;
  hsv[2] = v;
}

// skimage.color.hsv2rgb (0.19), one pixel.
void hsv2rgb(const double* hsv, double* rgb) {
  const double h = hsv[0], s = hsv[1], v = hsv[2];
  const double hi = std::floor(h * 6);
  const double f = h * 6 - hi;
  const double p = v * (1 - s);
  const double q = v * (1 - f * s);
  const double t = v * (1 - (1 - f) * s);
  switch (static_cast<int>(static_cast<std::uint8_t>(hi)) % 6) {
    case 0: rgb[0] = v, rgb[1] = t, rgb[2] = p; break;
    case 1: rgb[0] = q, rgb[1] = v, rgb[2] = p; break;
    case 2: rgb[0] = p, rgb[1] = v, rgb[2] = t; break;
    case 3: rgb[0] = p, rgb[1] = q, rgb[2] = v; break;
    case 4: rgb[0] = t, rgb[1] = p, rgb[2] = v; break;
    default: rgb[0] = v, rgb[1] = p, rgb[2] = q; break;
  }
}

template <typename Adjust>
Image through_hsv(const Image& in, Adjust adjust) {
  Image out = blank(in.width, in.height);
  for (std::size_t i = 0; i < in.pixels.size(); i += 3) {
    const double rgb[3] = {in.pixels[i] / 255.0, in.pixels[i + 1] / 255.0, in.pixels[i + 2] / 255.0};
    double hsv[3], back[3];
    rgb2hsv(rgb, hsv);
    adjust(hsv);
    hsv2rgb(hsv, back);
    for (int ch = 0; ch < 3; ++ch) out.pixels[i + ch] = unit_to_byte(back[ch]);
  }
  return out;
}

double clip01(double v) { return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

Image brightness(const Image& in, int severity) {
  static constexpr double kC[] = {.1, .2, .3, .4, .5};
  const double c = kC[severity - 1];
  return through_hsv(in, [c](double* hsv) { hsv[2] = clip01(hsv[2] + c); });
}

Image saturate(const Image& in, int severity) {
  static constexpr double kA[] = {0.3, 0.1, 2, 5, 20};
  static constexpr double kB[] = {0, 0, 0, 0.1, 0.2};
  const double a = kA[severity - 1], b = kB[severity - 1];
  return through_hsv(in, [a, b](double* hsv) { hsv[1] = clip01(hsv[1] * a + b); });
}

// --- safescan's transformations ---------------------------------------------------------

// Rotation about the centre by `degrees` counter-clockwise (as seen), same size; bilinear,
// with the area outside the source black (so the edges are antialiased).
Image rotate(const Image& in, int severity) {
  static constexpr double kDegrees[] = {5, 10, 20, 30, 45};
  const double a = kDegrees[severity - 1] * (kPi / 180.0);
  const double cs = std::cos(a), sn = std::sin(a);
  const int W = in.width, H = in.height;
  const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
  Image out = blank(W, H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double dx = x - cx, dy = y - cy;
      const double sx = cx + cs * dx - sn * dy, sy = cy + sn * dx + cs * dy;
      const double fx0 = std::floor(sx), fy0 = std::floor(sy);
      const int x0 = static_cast<int>(fx0), y0 = static_cast<int>(fy0);
      const double fx = sx - fx0, fy = sy - fy0;
      double acc[3] = {0.0, 0.0, 0.0};
      for (int j = 0; j < 2; ++j)
        for (int i = 0; i < 2; ++i) {
          const int px = x0 + i, py = y0 + j;
          if (px < 0 || px >= W || py < 0 || py >= H) continue;
          const double wgt = (i ? fx : 1.0 - fx) * (j ? fy : 1.0 - fy);
          const std::uint8_t* p = in.pixel(px, py);
          for (int ch = 0; ch < 3; ++ch) acc[ch] += wgt * p[ch];
        }
      std::uint8_t* q = out.pixels.data() + (static_cast<std::size_t>(y) * W + x) * 3;
      for (int ch = 0; ch < 3; ++ch) q[ch] = round_to_byte(acc[ch]);
    }
  return out;
}

// round(size * percent / 100), halves up, at least 1.
int scaled(int size, int percent) { return std::max(1, (size * percent + 50) / 100); }

Image crop(const Image& in, int severity) {
  static constexpr int kPercent[] = {90, 80, 70, 60, 50};
  const int w = scaled(in.width, kPercent[severity - 1]), h = scaled(in.height, kPercent[severity - 1]);
  const int left = (in.width - w) / 2, top = (in.height - h) / 2;
  Image out = blank(w, h);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* p = in.pixel(left, top + y);
    std::copy(p, p + static_cast<std::size_t>(w) * 3, out.pixels.data() + static_cast<std::size_t>(y) * w * 3);
  }
  return out;
}

// Area averaging: each output pixel is the mean of the input over its footprint, input pixels
// weighted by the part of them it covers (exact rational weights, double sums, rounded).
Image area_resize(const Image& in, int width, int height) {
  struct Tap {
    int index;
    double weight;
  };
  auto taps = [](int in_size, int out_size) {
    std::vector<std::vector<Tap>> t(out_size);
    for (int o = 0; o < out_size; ++o) {
      // The footprint [o in, (o + 1) in) and input pixel j's [j out, (j + 1) out), in 1/out units.
      const std::int64_t lo = static_cast<std::int64_t>(o) * in_size, hi = lo + in_size;
      for (std::int64_t j = lo / out_size; j * out_size < hi; ++j) {
        const std::int64_t overlap = std::min(hi, (j + 1) * out_size) - std::max(lo, j * out_size);
        if (overlap > 0) t[o].push_back({static_cast<int>(j), static_cast<double>(overlap) / in_size});
      }
    }
    return t;
  };
  const auto tx = taps(in.width, width), ty = taps(in.height, height);
  std::vector<double> rows(static_cast<std::size_t>(width) * in.height * 3, 0.0);
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < width; ++x) {
      double* r = rows.data() + (static_cast<std::size_t>(y) * width + x) * 3;
      for (const Tap& t : tx[x]) {
        const std::uint8_t* p = in.pixel(t.index, y);
        for (int ch = 0; ch < 3; ++ch) r[ch] += t.weight * p[ch];
      }
    }
  Image out = blank(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      double acc[3] = {0.0, 0.0, 0.0};
      for (const Tap& t : ty[y]) {
        const double* r = rows.data() + (static_cast<std::size_t>(t.index) * width + x) * 3;
        for (int ch = 0; ch < 3; ++ch) acc[ch] += t.weight * r[ch];
      }
      std::uint8_t* q = out.pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3;
      for (int ch = 0; ch < 3; ++ch) q[ch] = round_to_byte(acc[ch]);
    }
  return out;
}

Image resize(const Image& in, int severity) {
  static constexpr int kPercent[] = {75, 50, 35, 25, 15};
  return area_resize(in, scaled(in.width, kPercent[severity - 1]), scaled(in.height, kPercent[severity - 1]));
}

// A 5 x 7 bitmap font: seven rows per glyph, bit 4 the leftmost column.
struct Glyph {
  char c;
  std::uint8_t rows[7];
};
constexpr Glyph kFont[] = {
    {' ', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}}, {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}}, {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}}, {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}}, {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}},
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}}, {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
    {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}}, {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}}, {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}}, {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}}, {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}}, {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}}, {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}}, {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}}, {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}}, {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
    {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}}, {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
    {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}}, {'!', {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}}, {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'\'', {0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00}}, {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}}, {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
    {'&', {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D}},
};

const Glyph& glyph(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (const Glyph& g : kFont)
    if (g.c == c) return g;
  return kFont[0];  // anything else is a space
}

constexpr const char* kCaptions[] = {
    "SAMPLE TEXT",   "BREAKING NEWS",  "CLICK HERE",    "NOT FOR SALE",  "HELLO WORLD",
    "50% OFF TODAY", "WATCH THIS!",    "COPYRIGHT 2024", "SUBSCRIBE NOW", "WHAT IS THIS?",
};

// A black band across the image with a white caption in the 5 x 7 font, centred: the band is
// 12/18/25/33/45% of the height (at least 9 px); a font pixel is band / 10 px, or less when
// the caption would not fit in the width (at least 1: then the caption is clipped on the
// right); the seed picks the caption and the band's row.
Image text_overlay(const Image& in, int severity, std::uint64_t seed) {
  static constexpr int kPercent[] = {12, 18, 25, 33, 45};
  const int W = in.width, H = in.height;
  Image out = blank(W, H);
  out.pixels = in.pixels;
  const int band = std::min(H, std::max(9, (H * kPercent[severity - 1] + 50) / 100));
  Rng rng(seed, kTextStream);
  const std::string_view text = kCaptions[rng.below(std::size(kCaptions))];
  const int top = static_cast<int>(rng.below(static_cast<std::uint64_t>(H - band) + 1));
  // A caption of n glyphs is 6 n - 1 font pixels wide (one blank column between glyphs).
  const int columns = static_cast<int>(text.size()) * 6 - 1;
  const int scale = std::max(1, std::min(band / 10, (W - 2) / columns));
  for (int y = top; y < top + band; ++y)
    std::fill_n(out.pixels.data() + static_cast<std::size_t>(y) * W * 3, static_cast<std::size_t>(W) * 3, 0);
  const int text_width = columns * scale;
  const int left = text_width <= W ? (W - text_width) / 2 : 1;
  const int text_top = top + (band - 7 * scale) / 2;
  for (std::size_t k = 0; k < text.size(); ++k) {
    const Glyph& g = glyph(text[k]);
    const int gx = left + static_cast<int>(k) * 6 * scale;
    for (int row = 0; row < 7; ++row)
      for (int col = 0; col < 5; ++col) {
        if (!(g.rows[row] & (0x10 >> col))) continue;
        for (int dy = 0; dy < scale; ++dy)
          for (int dx = 0; dx < scale; ++dx) {
            const int x = gx + col * scale + dx, y = text_top + row * scale + dy;
            if (x < 0 || x >= W || y < 0 || y >= H) continue;
            std::fill_n(out.pixels.data() + (static_cast<std::size_t>(y) * W + x) * 3, 3, 255);
          }
      }
  }
  return out;
}

// The whole image shrunk (area average) into each of 3 x 3 equal tiles separated by white
// gutters, on a white canvas of the input's size; the leftover 0-2 px are split between the
// two outer margins. Gutter: 2 px at severity 1, then 2/4/6/8% of the short side (>= 2 px).
Image grid(const Image& in, int severity) {
  static constexpr int kPercent[] = {0, 2, 4, 6, 8};
  const int W = in.width, H = in.height;
  const int gutter = std::max(2, (std::min(W, H) * kPercent[severity - 1] + 50) / 100);
  const int tw = (W - 2 * gutter) / 3, th = (H - 2 * gutter) / 3;
  const int left = (W - 2 * gutter - 3 * tw) / 2, top = (H - 2 * gutter - 3 * th) / 2;
  const Image tile = area_resize(in, tw, th);
  Image out = blank(W, H, 255);
  for (int ty = 0; ty < 3; ++ty)
    for (int tx = 0; tx < 3; ++tx) {
      const int x0 = left + tx * (tw + gutter), y0 = top + ty * (th + gutter);
      for (int y = 0; y < th; ++y)
        std::copy(tile.pixel(0, y), tile.pixel(0, y) + static_cast<std::size_t>(tw) * 3,
                  out.pixels.data() + (static_cast<std::size_t>(y0 + y) * W + x0) * 3);
    }
  return out;
}

}  // namespace

const std::vector<std::string_view>& corruption_names() {
  static const std::vector<std::string_view> names = {
      "gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "defocus_blur", "motion_blur",
      "jpeg_compression", "pixelate", "contrast", "brightness", "saturate",
      "rotate", "crop", "resize", "text_overlay", "grid"};
  return names;
}

Image corrupt(const Image& image, std::string_view name, int severity, std::uint64_t seed) {
  const auto& names = corruption_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw Error(ErrorCode::invalid_argument, "unknown corruption '" + std::string(name) + "'");
  if (severity < 1 || severity > 5)
    throw Error(ErrorCode::invalid_argument, "corruption severity " + std::to_string(severity) + " is not in 1-5",
                std::string(name));
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw Error(ErrorCode::invalid_argument, "cannot corrupt an empty or inconsistent image", std::string(name));
  if (image.width < kMinSide || image.height < kMinSide)
    throw Error(ErrorCode::invalid_argument,
                "cannot corrupt a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " image (both sides must be at least " + std::to_string(kMinSide) + " px)",
                std::string(name));

  if (name == "gaussian_noise") return gaussian_noise(image, severity, seed);
  if (name == "shot_noise") return shot_noise(image, severity, seed);
  if (name == "impulse_noise") return impulse_noise(image, severity, seed);
  if (name == "gaussian_blur") return gaussian_blur(image, severity);
  if (name == "defocus_blur") return defocus_blur(image, severity);
  if (name == "motion_blur")
    return corruptions_internal::motion_blur(image, severity, corruptions_internal::motion_blur_angle(seed));
  if (name == "jpeg_compression") return jpeg_compression(image, severity);
  if (name == "pixelate") return pixelate(image, severity);
  if (name == "contrast") return contrast(image, severity);
  if (name == "brightness") return brightness(image, severity);
  if (name == "saturate") return saturate(image, severity);
  if (name == "rotate") return rotate(image, severity);
  if (name == "crop") return crop(image, severity);
  if (name == "resize") return resize(image, severity);
  if (name == "text_overlay") return text_overlay(image, severity, seed);
  return grid(image, severity);
}

}  // namespace safescan
