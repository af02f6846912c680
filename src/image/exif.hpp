// Reading the orientation from an EXIF block.
#pragma once

#include <cstdint>
#include <span>

namespace safescan::detail {

// The Orientation tag (0x0112) of IFD0 in an EXIF block: a TIFF structure ("II*\0" or
// "MM\0*"), optionally preceded by the "Exif\0\0" identifier (JPEG APP1, some WebP
// writers). Returns 1..8, or 1 when the block is absent, malformed or has no valid tag.
// Never reads outside `exif`.
int exif_orientation(std::span<const std::uint8_t> exif) noexcept;

}  // namespace safescan::detail
