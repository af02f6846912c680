#include "image/pixels.hpp"

namespace safescan::detail {

void allocate_pixels(Image& image, int width, int height) {
  image.width = width;
  image.height = height;
  image.pixels.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3, 0);
}

bool composite_rgba(const std::uint8_t* rgba, std::uint8_t* rgb, std::size_t count, Rgb8 background) noexcept {
  std::uint8_t min_alpha = 255;
  for (std::size_t i = 0; i < count; ++i, rgba += 4, rgb += 3) {
    const std::uint8_t a = rgba[3];
    min_alpha = a < min_alpha ? a : min_alpha;
    rgb[0] = blend(a, rgba[0], background.r);
    rgb[1] = blend(a, rgba[1], background.g);
    rgb[2] = blend(a, rgba[2], background.b);
  }
  return min_alpha != 255;
}

}  // namespace safescan::detail
