// The per-batch loop shared by the image commands: decode and preprocess a batch on a pool
// of threads (a failure is recorded on its item, never thrown), pack the good images into
// one tensor, run the model once, then report every item in input order.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "safescan/error.hpp"
#include "safescan/image.hpp"
#include "safescan/inputs.hpp"
#include "safescan/parallel.hpp"

namespace safescan::cli {

struct BatchItem {
  std::string path;
  std::optional<Error> error;
  int width = 0, height = 0;
  ImageFormat format = ImageFormat::unknown;
  int row = -1;  // row of this item in the batch's model output (-1 when it failed)
};

// preprocess(const Image&, float* out) writes `per_image` floats; run(const float* tensor,
// int n) runs the model on n packed images; emit(const BatchItem&) reports one item.
// Returns the number of failed items.
template <typename Preprocess, typename Run, typename Emit>
size_t for_each_batch(const std::vector<InputPath>& inputs, size_t batch, unsigned threads, size_t per_image,
                      const DecodeOptions& decode, Preprocess&& preprocess, Run&& run, Emit&& emit) {
  std::vector<float> tensor(per_image * batch);
  size_t failed = 0;
  for (size_t start = 0; start < inputs.size(); start += batch) {
    const size_t n = std::min(batch, inputs.size() - start);
    std::vector<BatchItem> items(n);
    parallel_for(n, threads, [&](size_t i) {
      const InputPath& in = inputs[start + i];
      BatchItem& it = items[i];
      it.path = in.path.string();
      if (in.error) {
        it.error = in.error;
        return;
      }
      try {
        const Image img = load_image(in.path, decode);
        it.width = img.width;
        it.height = img.height;
        it.format = img.format;
        preprocess(img, tensor.data() + i * per_image);
      } catch (const Error& e) {
        it.error = e;
      } catch (const std::bad_alloc&) {
        it.error = Error(ErrorCode::too_large, "out of memory while decoding", it.path);
      }
    });
    int rows = 0;
    for (size_t i = 0; i < n; ++i) {
      if (items[i].error) continue;
      if (static_cast<size_t>(rows) != i) std::copy_n(tensor.data() + i * per_image, per_image, tensor.data() + rows * per_image);
      items[i].row = rows++;
    }
    if (rows > 0) run(static_cast<const float*>(tensor.data()), rows);
    for (const auto& it : items) {
      if (it.error) ++failed;
      emit(it);
    }
  }
  return failed;
}

}  // namespace safescan::cli
