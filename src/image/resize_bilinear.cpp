#include <cmath>
#include <vector>

#include "safescan/resize.hpp"

namespace safescan {

namespace {

// For one output coordinate: the two source indices and the weight of the second.
struct Tap {
  int lo, hi;
  double frac;
};

std::vector<Tap> taps(int in, int out) {
  const bool align = out > 1;  // tfjs: alignCorners only applies when the output has > 1 sample
  const double ratio = align ? static_cast<double>(in - 1) / (out - 1) : static_cast<double>(in) / out;
  std::vector<Tap> t(out);
  for (int i = 0; i < out; ++i) {
    const double src = ratio * i;
    const int lo = std::max(0, static_cast<int>(std::floor(src)));
    t[i] = {lo, std::min(in - 1, static_cast<int>(std::ceil(src))), src - lo};
  }
  return t;
}

}  // namespace

void tfjs_resize_bilinear_planar(const Image& image, int size, float* out) {
  const int w = image.width, h = image.height;
  const size_t plane = static_cast<size_t>(size) * size;
  // pixel / 255 in float32, as tfjs divides the int tensor after casting to float.
  float lut[256];
  for (int v = 0; v < 256; ++v) lut[v] = static_cast<float>(v) / 255.0f;
  if (w == size && h == size) {
    for (size_t i = 0; i < plane; ++i)
      for (int c = 0; c < 3; ++c) out[c * plane + i] = lut[image.pixels[i * 3 + c]];
    return;
  }
  const auto rows = taps(h, size), cols = taps(w, size);
  const std::uint8_t* px = image.pixels.data();
  for (int y = 0; y < size; ++y) {
    const Tap& r = rows[y];
    const std::uint8_t* top_row = px + static_cast<size_t>(r.lo) * w * 3;
    const std::uint8_t* bot_row = px + static_cast<size_t>(r.hi) * w * 3;
    for (int x = 0; x < size; ++x) {
      const Tap& c = cols[x];
      for (int ch = 0; ch < 3; ++ch) {
        const double tl = lut[top_row[c.lo * 3 + ch]], tr = lut[top_row[c.hi * 3 + ch]];
        const double bl = lut[bot_row[c.lo * 3 + ch]], br = lut[bot_row[c.hi * 3 + ch]];
        const double top = tl + (tr - tl) * c.frac;
        const double bottom = bl + (br - bl) * c.frac;
        out[ch * plane + static_cast<size_t>(y) * size + x] = static_cast<float>(top + (bottom - top) * r.frac);
      }
    }
  }
}

}  // namespace safescan
