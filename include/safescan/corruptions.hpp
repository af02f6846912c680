// safescan/corruptions.hpp - image perturbations for robustness: the common corruptions of
// Hendrycks & Dietterich as bethgelab/imagecorruptions defines them (the same formulas and
// severity tables 1-5), and everyday transformations (rotation, crop, resize, text overlay,
// grid tiling). docs/corruptions.md lists each with its formula, its five severities and how
// closely it matches the reference (the severity tables are also at the top of
// src/bench/corruptions.cpp); tests/core/test_corruptions.cpp compares the deterministic ones
// with the reference's outputs (tests/data/corruptions/) and the random ones by statistics.
//
//   safescan::Image noisy = safescan::corrupt(image, "gaussian_noise", 3, /*seed=*/42);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/image.hpp"

namespace safescan {

// The names corrupt() knows, in this order: gaussian_noise, shot_noise, impulse_noise,
// gaussian_blur, defocus_blur, motion_blur, jpeg_compression, pixelate, contrast, brightness,
// saturate (imagecorruptions'), then rotate, crop, resize, text_overlay, grid (safescan's).
const std::vector<std::string_view>& corruption_names();

// `image`: RGB8; `severity` 1-5; `seed` drives the random ones (noise, motion blur's angle,
// the caption and its row): the same seed gives the same bytes (the generator is safescan's
// own, not numpy's: the noise matches the reference's in distribution, not byte for byte).
// The result has the input's size, except `crop` (a centred 90/80/70/60/50% of each side)
// and `resize` (75/50/35/25/15% of each side, area-averaged, not scaled back); `grid` tiles
// the image 3 x 3 at about a third of its size each, on the same size. The result carries
// only pixels (format unknown, no EXIF). Throws Error(invalid_argument) for an unknown name,
// a severity outside 1-5, an empty or inconsistent image, or one smaller than 32 x 32.
Image corrupt(const Image& image, std::string_view name, int severity, std::uint64_t seed = 0);

}  // namespace safescan
