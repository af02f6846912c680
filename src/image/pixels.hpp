// Pixel-level helpers shared by the decoders: allocating the RGB8 buffer and
// compositing alpha over the background colour.
#pragma once

#include <cstddef>
#include <cstdint>

#include "safescan/image.hpp"

namespace safescan::detail {

// Sets the size and allocates width * height * 3 bytes. Call check_dimensions() first.
void allocate_pixels(Image& image, int width, int height);

// One channel of straight (non-premultiplied) alpha over the background, rounded to
// nearest: (a*fg + (255-a)*bg + 127) / 255.
constexpr std::uint8_t blend(std::uint8_t alpha, std::uint8_t fg, std::uint8_t bg) noexcept {
  return static_cast<std::uint8_t>((alpha * fg + (255 - alpha) * bg + 127) / 255);
}

// The same for premultiplied colour (fg already multiplied by alpha / 255):
// (255*fg + (255-a)*bg + 127) / 255, clamped for inconsistent inputs (fg > a).
constexpr std::uint8_t blend_premultiplied(std::uint8_t alpha, std::uint8_t fg, std::uint8_t bg) noexcept {
  const int v = (255 * fg + (255 - alpha) * bg + 127) / 255;
  return static_cast<std::uint8_t>(v > 255 ? 255 : v);
}

// Composites `count` RGBA pixels (straight alpha) over `background` into RGB.
// Returns true when any pixel was not fully opaque.
bool composite_rgba(const std::uint8_t* rgba, std::uint8_t* rgb, std::size_t count, Rgb8 background) noexcept;

}  // namespace safescan::detail
