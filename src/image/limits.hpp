// The one place that validates image dimensions read from a header.
#pragma once

#include <cstdint>
#include <string_view>

#include "safescan/image.hpp"

namespace safescan::detail {

// Throws Error(corrupt) when a side is <= 0 or too big for an Image (> INT32_MAX), and
// Error(too_large) when width * height exceeds max_pixels (0 = no pixel limit). Every
// decoder calls it with the sizes from the file header, before allocating pixels.
void check_dimensions(ImageFormat format, std::int64_t width, std::int64_t height,
                      std::uint64_t max_pixels, std::string_view where);

}  // namespace safescan::detail
