// Precomputed embeddings (.npy, as clip-retrieval and Q16 write them) for the CLIP heads.
#include <cmath>

#include "io/tensor_file.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/error.hpp"

namespace safescan {

EmbeddingMatrix read_embeddings_npy(const std::filesystem::path& file) {
  const io::RawTensor t = io::read_npy(file);
  if (t.dtype != io::DType::f32 && t.dtype != io::DType::f16 && t.dtype != io::DType::f64)
    throw Error(ErrorCode::invalid_argument,
                std::string("embeddings must be float32, float16 or float64, not ") + io::to_string(t.dtype),
                file.string());
  EmbeddingMatrix m;
  if (t.shape.size() == 1) {
    m.rows = 1;
    m.dim = static_cast<int>(t.shape[0]);
  } else if (t.shape.size() == 2) {
    m.rows = t.shape[0];
    m.dim = static_cast<int>(t.shape[1]);
  } else if (t.shape.size() == 3 && t.shape[1] == 1) {  // N x 1 x D, as some pipelines keep a batch axis
    m.rows = t.shape[0];
    m.dim = static_cast<int>(t.shape[2]);
  } else {
    throw Error(ErrorCode::invalid_argument, "expected an N x D array of embeddings, got " + t.shape_string(),
                file.string());
  }
  if (m.dim <= 0) throw Error(ErrorCode::invalid_argument, "embeddings have zero width", file.string());
  m.values = t.to_float();
  for (std::size_t i = 0; i < m.values.size(); ++i)
    if (!std::isfinite(m.values[i]))
      throw Error(ErrorCode::invalid_argument,
                  "row " + std::to_string(i / static_cast<std::size_t>(m.dim)) + " holds a non-finite value",
                  file.string());
  return m;
}

}  // namespace safescan
