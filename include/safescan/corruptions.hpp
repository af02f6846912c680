// safescan/corruptions.hpp - image perturbations for robustness: the common corruptions of
// Hendrycks & Dietterich as bethgelab/imagecorruptions defines them (the same formulas and
// severity tables 1-5), and everyday transformations (rotation, crop, resize, text overlay,
// grid tiling). docs/bench.md lists each with its parameters; tests/core/test_corruptions.cpp
// compares the deterministic ones with the reference's outputs (tests/data/corruptions/).
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
// the text and its place): the same seed gives the same bytes. The result has the input's
// size, except `crop` (smaller), `resize` (smaller) and `grid` (the image tiled 3 x 3 at a
// third of its size each, i.e. the same size). Throws Error(invalid_argument) for an unknown
// name, a severity outside 1-5 or an image smaller than 32 x 32.
Image corrupt(const Image& image, std::string_view name, int severity, std::uint64_t seed = 0);

}  // namespace safescan
