// Blurring and pixelating rectangles (or the ellipses inscribed in them) of an RGB8 image.
// Only the pixels of the region are written; the Gaussian reads a margin of 3 sigma around it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "safescan/blur.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

// The grown box, unclipped, in float pixels: what the ellipse and the strength refer to.
struct Grown {
  double x0, y0, x1, y1;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
};

Grown grow(const FaceBox& b, float expand) {
  const double ex = static_cast<double>(expand) * b.width, ey = static_cast<double>(expand) * b.height;
  return {b.x - ex, b.y - ey, b.x + b.width + ex, b.y + b.height + ey};
}

int clamp_to(double v, int hi) {
  if (!(v > 0)) return 0;  // also NaN
  if (v >= hi) return hi;
  return static_cast<int>(v);
}

// Whether pixel (x, y) (its centre) lies in the ellipse inscribed in `g`.
bool in_ellipse(const Grown& g, int x, int y) {
  const double rx = g.width() / 2, ry = g.height() / 2;
  const double dx = (x + 0.5 - (g.x0 + rx)) / rx, dy = (y + 0.5 - (g.y0 + ry)) / ry;
  return dx * dx + dy * dy <= 1.0;
}

// Copies the pixels of `r` (inside the ellipse of `g` when given) from `src`, an image whose
// origin is at (ox, oy) of `image`.
void write_back(Image& image, const PixelRect& r, const Grown* ellipse, const cv::Mat& src, int ox, int oy) {
  for (int y = r.y0; y < r.y1; ++y) {
    const std::uint8_t* from = src.ptr<std::uint8_t>(y - oy);
    std::uint8_t* to = image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3;
    for (int x = r.x0; x < r.x1; ++x) {
      if (ellipse && !in_ellipse(*ellipse, x, y)) continue;
      std::copy_n(from + static_cast<std::size_t>(x - ox) * 3, 3, to + static_cast<std::size_t>(x) * 3);
    }
  }
}

void gaussian(Image& image, const PixelRect& r, const Grown* ellipse, double size, const BlurOptions& opt) {
  const double sigma = std::max(1.0, opt.sigma_fraction * size);
  const int pad = static_cast<int>(std::ceil(3 * sigma));
  const int cx0 = std::max(0, r.x0 - pad), cy0 = std::max(0, r.y0 - pad);
  const int cx1 = std::min(image.width, r.x1 + pad), cy1 = std::min(image.height, r.y1 + pad);
  cv::Mat whole(image.height, image.width, CV_8UC3, image.pixels.data());
  const cv::Mat crop = whole(cv::Rect(cx0, cy0, cx1 - cx0, cy1 - cy0)).clone();
  cv::Mat out;
  if (sigma <= 6) {
    cv::GaussianBlur(crop, out, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT);
  } else {
    // A wide Gaussian is a low-pass filter: run it at 1/f scale (sigma / f = 3 px) and bring the
    // result back with bilinear interpolation. Same look, cost independent of the face size.
    const double f = sigma / 3;
    const int sw = std::max(1, static_cast<int>(std::lround(crop.cols / f)));
    const int sh = std::max(1, static_cast<int>(std::lround(crop.rows / f)));
    cv::Mat small;
    cv::resize(crop, small, cv::Size(sw, sh), 0, 0, cv::INTER_AREA);
    cv::GaussianBlur(small, small, cv::Size(0, 0), 3.0, 3.0, cv::BORDER_REFLECT);
    cv::resize(small, out, crop.size(), 0, 0, cv::INTER_LINEAR);
  }
  write_back(image, r, ellipse, out, cx0, cy0);
}

void pixelate(Image& image, const PixelRect& r, const Grown* ellipse, double size, const BlurOptions& opt) {
  const int block = std::max(1, static_cast<int>(std::ceil(size / opt.blocks)));
  for (int by = r.y0; by < r.y1; by += block) {
    for (int bx = r.x0; bx < r.x1; bx += block) {
      const int ex = std::min(r.x1, bx + block), ey = std::min(r.y1, by + block);
      std::uint64_t sum[3] = {0, 0, 0};
      const std::uint64_t n = static_cast<std::uint64_t>(ex - bx) * (ey - by);
      for (int y = by; y < ey; ++y)
        for (int x = bx; x < ex; ++x) {
          const std::uint8_t* p = image.pixel(x, y);
          sum[0] += p[0], sum[1] += p[1], sum[2] += p[2];
        }
      const std::uint8_t mean[3] = {static_cast<std::uint8_t>((sum[0] + n / 2) / n),
                                    static_cast<std::uint8_t>((sum[1] + n / 2) / n),
                                    static_cast<std::uint8_t>((sum[2] + n / 2) / n)};
      for (int y = by; y < ey; ++y)
        for (int x = bx; x < ex; ++x) {
          if (ellipse && !in_ellipse(*ellipse, x, y)) continue;
          std::copy_n(mean, 3, image.pixels.data() + (static_cast<std::size_t>(y) * image.width + x) * 3);
        }
    }
  }
}

void blur_rect(Image& image, const PixelRect& r, const Grown* ellipse, double size, const BlurOptions& opt) {
  if (r.empty()) return;
  if (opt.method == BlurMethod::gaussian)
    gaussian(image, r, ellipse, size, opt);
  else
    pixelate(image, r, ellipse, size, opt);
}

void check_image(const Image& image) {
  if (image.width < 0 || image.height < 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw Error(ErrorCode::invalid_argument, "image pixels do not match its size (RGB8 expected)");
}

}  // namespace

void check_blur_options(const BlurOptions& o) {
  if (!(o.expand >= 0 && o.expand <= 10))
    throw Error(ErrorCode::invalid_argument, "blur expand must be in [0, 10], got " + std::to_string(o.expand));
  if (!(o.sigma_fraction > 0 && o.sigma_fraction <= 10))
    throw Error(ErrorCode::invalid_argument, "blur sigma must be in (0, 10], got " + std::to_string(o.sigma_fraction));
  if (o.blocks < 1 || o.blocks > 10000)
    throw Error(ErrorCode::invalid_argument, "pixelate blocks must be in [1, 10000], got " + std::to_string(o.blocks));
}

PixelRect blur_region(const FaceBox& box, int w, int h, float expand) {
  if (!(box.width > 0) || !(box.height > 0) || !std::isfinite(box.x) || !std::isfinite(box.y) || w <= 0 || h <= 0)
    return {};
  const Grown g = grow(box, std::max(0.0f, expand));
  // Pixels the box covers by more than kSliver (float noise, such as 0.2f * 20 = 4.0000001, adds none).
  constexpr double kSliver = 1e-3;
  PixelRect r{clamp_to(std::floor(g.x0 + kSliver), w), clamp_to(std::floor(g.y0 + kSliver), h),
              clamp_to(std::ceil(g.x1 - kSliver), w), clamp_to(std::ceil(g.y1 - kSliver), h)};
  if (r.empty()) return {};
  return r;
}

void blur_boxes(Image& image, std::span<const FaceBox> boxes, const BlurOptions& options) {
  check_blur_options(options);
  check_image(image);
  for (const FaceBox& b : boxes) {
    const PixelRect r = blur_region(b, image.width, image.height, options.expand);
    if (r.empty()) continue;
    const Grown g = grow(b, options.expand);
    blur_rect(image, r, options.ellipse ? &g : nullptr, std::max(g.width(), g.height()), options);
  }
}

void blur_whole(Image& image, const BlurOptions& options) {
  check_blur_options(options);
  check_image(image);
  blur_rect(image, PixelRect{0, 0, image.width, image.height}, nullptr, std::max(image.width, image.height), options);
}

}  // namespace safescan
