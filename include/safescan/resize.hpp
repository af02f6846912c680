// safescan/resize.hpp - resampling an RGB8 image into a model's float input.
#pragma once

#include "safescan/image.hpp"

namespace safescan {

// TensorFlow.js preprocessing of nsfwjs: pixel / 255 (float32), then
// tf.image.resizeBilinear(size x size, alignCorners = true, halfPixelCenters = false),
// computed exactly as the tfjs CPU backend does (double arithmetic, float32 results).
// An image that is already size x size is only scaled. Writes 3 planes of size * size
// floats (R, G, B: channel-major, the NCHW layout) to `out`.
void tfjs_resize_bilinear_planar(const Image& image, int size, float* out);

}  // namespace safescan
