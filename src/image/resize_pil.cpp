// Pillow's bicubic resampling (libImaging/Resample.c semantics) and CLIP's preprocessing.
#include <cmath>
#include <cstdint>
#include <vector>

#include "safescan/error.hpp"
#include "safescan/resize.hpp"

namespace safescan {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed-point precision for 8-bit images

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Per output pixel: the first input index, the number of taps, and fixed-point weights.
struct Coefficients {
  int taps = 0;  // stride of `weights`
  std::vector<int> first, count;
  std::vector<std::int32_t> weights;
};

Coefficients coefficients(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.taps, 0);
  std::vector<double> w(c.taps);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) / filter_scale);
      total += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = total != 0.0 ? w[x] / total : w[x];
      // Pillow rounds half away from zero when converting to fixed point.
      c.weights[static_cast<size_t>(xx) * c.taps + x] =
          static_cast<std::int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

std::uint8_t clip8(std::int64_t v) {
  v >>= kPrecisionBits;
  return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One separable pass along x (horizontal) or y (vertical) over RGB8.
Image resample_pass(const Image& in, int out_size, bool horizontal) {
  const int in_size = horizontal ? in.width : in.height;
  const Coefficients c = coefficients(in_size, out_size);
  Image out;
  out.width = horizontal ? out_size : in.width;
  out.height = horizontal ? in.height : out_size;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
  const std::int64_t half = std::int64_t{1} << (kPrecisionBits - 1);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      const int o = horizontal ? x : y;
      const std::int32_t* k = c.weights.data() + static_cast<size_t>(o) * c.taps;
      std::int64_t acc[3] = {half, half, half};
      for (int t = 0; t < c.count[o]; ++t) {
        const int sx = horizontal ? c.first[o] + t : x, sy = horizontal ? y : c.first[o] + t;
        const std::uint8_t* p = in.pixels.data() + (static_cast<size_t>(sy) * in.width + sx) * 3;
        for (int ch = 0; ch < 3; ++ch) acc[ch] += static_cast<std::int64_t>(p[ch]) * k[t];
      }
      std::uint8_t* q = out.pixels.data() + (static_cast<size_t>(y) * out.width + x) * 3;
      for (int ch = 0; ch < 3; ++ch) q[ch] = clip8(acc[ch]);
    }
  }
  return out;
}

}  // namespace

Image pil_resize_bicubic(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0 || image.width <= 0 || image.height <= 0) {
    throw Error(ErrorCode::invalid_argument, "resize to " + std::to_string(width) + "x" + std::to_string(height));
  }
  // Pillow resamples horizontally first, then vertically, skipping a pass whose size is unchanged.
  Image tmp = width != image.width ? resample_pass(image, width, true) : image;
  Image out = height != image.height ? resample_pass(tmp, height, false) : std::move(tmp);
  out.format = image.format;
  return out;
}

void clip_preprocess(const Image& image, int resolution, const float mean[3], const float std[3], float* out) {
  const int w = image.width, h = image.height;
  // torchvision Resize(int): the short side becomes `resolution`, the long side is truncated.
  int nw, nh;
  if (w <= h) {
    nw = resolution;
    nh = static_cast<int>(static_cast<std::int64_t>(resolution) * h / w);
  } else {
    nh = resolution;
    nw = static_cast<int>(static_cast<std::int64_t>(resolution) * w / h);
  }
  const Image resized = (nw == w && nh == h) ? image : pil_resize_bicubic(image, nw, nh);
  // CenterCrop: offsets int(round((size - crop) / 2)), Python's round (half to even).
  const int top = static_cast<int>(std::nearbyint((nh - resolution) / 2.0));
  const int left = static_cast<int>(std::nearbyint((nw - resolution) / 2.0));
  const size_t plane = static_cast<size_t>(resolution) * resolution;
  for (int y = 0; y < resolution; ++y) {
    for (int x = 0; x < resolution; ++x) {
      const int sy = y + top, sx = x + left;
      const bool inside = sy >= 0 && sy < nh && sx >= 0 && sx < nw;  // crop larger than image pads with 0
      const std::uint8_t* p = inside ? resized.pixels.data() + (static_cast<size_t>(sy) * nw + sx) * 3 : nullptr;
      for (int c = 0; c < 3; ++c) {
        const float v = p ? p[c] / 255.0f : 0.0f;
        out[c * plane + static_cast<size_t>(y) * resolution + x] = (v - mean[c]) / std[c];
      }
    }
  }
}

}  // namespace safescan
