// Applying an EXIF/TIFF orientation (1..8) to decoded pixels.
#pragma once

#include "safescan/image.hpp"

namespace safescan::detail {

// Rotates/flips `image` so that pixels stored with `orientation` become upright:
// 1 as is, 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
// 7 transverse, 8 rotate 90 counter-clockwise. Values outside 1..8 do nothing.
// Orientations 5..8 swap width and height.
void apply_orientation(Image& image, int orientation);

}  // namespace safescan::detail
