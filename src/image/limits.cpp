#include "image/limits.hpp"

#include <limits>
#include <string>

namespace safescan::detail {

namespace {

std::string_view display_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::png: return "PNG";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::gif: return "GIF";
    case ImageFormat::bmp: return "BMP";
    case ImageFormat::tiff: return "TIFF";
    case ImageFormat::unknown: break;
  }
  return "image";
}

std::string size_text(std::int64_t width, std::int64_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

}  // namespace

void check_dimensions(ImageFormat format, std::int64_t width, std::int64_t height,
                      std::uint64_t max_pixels, std::string_view where) {
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::corrupt,
                std::string(display_name(format)) + " header gives an invalid size " + size_text(width, height),
                std::string(where));
  }
  constexpr std::int64_t kMaxSide = std::numeric_limits<std::int32_t>::max();
  if (width > kMaxSide || height > kMaxSide) {
    throw Error(ErrorCode::too_large,
                std::string(display_name(format)) + " image is " + size_text(width, height) +
                    ", wider or taller than the largest supported side (" + std::to_string(kMaxSide) + ")",
                std::string(where));
  }
  const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
  if (max_pixels != 0 && pixels > max_pixels) {
    throw Error(ErrorCode::too_large,
                std::string(display_name(format)) + " image is " + size_text(width, height) + " (" +
                    std::to_string(pixels) + " pixels), over the limit of " +
                    std::to_string(max_pixels) + " pixels (DecodeOptions::max_pixels)",
                std::string(where));
  }
}

}  // namespace safescan::detail
