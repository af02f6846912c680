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

namespace safescan {

// Pillow's Image.resize(..., BICUBIC) on 8-bit RGB: separable bicubic (a = -0.5) with
// antialiasing (the kernel widens by the scale factor when shrinking), fixed-point
// coefficients and rounding/clipping after each pass, exactly as Pillow computes it.
Image pil_resize_bicubic(const Image& image, int width, int height);

// CLIP's preprocessing (torchvision Resize(R, BICUBIC) + CenterCrop(R) + ToTensor +
// Normalize(mean, std)): the short side becomes R (the long side int(R * long / short)),
// centre crop with Python's round-half-even offsets, then (x / 255 - mean) / std. Writes
// 3 planes of R * R floats (NCHW).
void clip_preprocess(const Image& image, int resolution, const float mean[3], const float std[3], float* out);

}  // namespace safescan
