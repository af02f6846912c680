// Internals of src/bench/corruptions.cpp that the tests reach: the pieces that corrupt()
// draws at random, given explicitly, so that they can be compared with the reference.
#pragma once

#include <cstdint>

#include "safescan/image.hpp"

namespace safescan::corruptions_internal {

// motion_blur at `severity` (1-5) along `angle_degrees`, as imagecorruptions' motion_blur
// with np.random.uniform(-45, 45) having drawn that angle. No size check.
Image motion_blur(const Image& image, int severity, double angle_degrees);

// The angle corrupt(image, "motion_blur", severity, seed) uses: uniform in [-45, 45).
double motion_blur_angle(std::uint64_t seed);

}  // namespace safescan::corruptions_internal
