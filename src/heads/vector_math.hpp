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

// Gradients (white-box attacks): given d/du of something, with u = l2_normalized(x), its
// d/dx = (g - u <u, g>) / ||x|| (zero at x = 0).
inline std::vector<float> l2_normalized_vjp(const float* x, const float* grad_u, std::size_t n) {
  std::vector<float> out(n, 0.0f);
  const float norm = std::sqrt(dot(x, x, n));
  if (!(norm > 0)) return out;
  const std::vector<float> u = l2_normalized(x, n);
  const float ug = dot(u.data(), grad_u, n);
  for (std::size_t i = 0; i < n; ++i) out[i] = (grad_u[i] - u[i] * ug) / norm;
  return out;
}

// ... and with p = softmax(z): d/dz = p * (g - <p, g>), in place of `grad_p`.
inline void softmax_vjp(std::span<const float> p, std::span<float> grad_p) {
  float pg = 0;
  for (std::size_t i = 0; i < p.size(); ++i) pg += p[i] * grad_p[i];
  for (std::size_t i = 0; i < p.size(); ++i) grad_p[i] = p[i] * (grad_p[i] - pg);
}

}  // namespace safescan::detect
