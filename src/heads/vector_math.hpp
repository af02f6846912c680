// The little linear algebra the embedding heads need, in float32 like the references
// (Q16 and CLIP normalise and take dot products in float32).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace safescan::detect {

inline float dot(const float* a, const float* b, std::size_t n) {
  float s = 0;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// x / ||x||; a zero vector stays zero (as clip-retrieval's `normalized` does).
inline std::vector<float> l2_normalized(const float* x, std::size_t n) {
  std::vector<float> out(x, x + n);
  const float norm = std::sqrt(dot(x, x, n));
  if (norm > 0)
    for (float& v : out) v /= norm;
  return out;
}

// Numerically stable softmax of `logits` in place.
inline void softmax(std::span<float> logits) {
  if (logits.empty()) return;
  float m = logits[0];
  for (const float v : logits) m = v > m ? v : m;
  float sum = 0;
  for (float& v : logits) sum += (v = std::exp(v - m));
  for (float& v : logits) v /= sum;
}

}  // namespace safescan::detect
