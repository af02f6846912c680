// The AutoKeras structured-data classifiers LAION trained on CLIP embeddings
// (CLIP-based-NSFW-Detector), rebuilt as plain C++ from a Keras SavedModel:
//
//   input (D) -> MultiCategoryEncoding -> Normalization -> [Dense -> ReLU]... -> Dense(1) -> sigmoid
//
// MultiCategoryEncoding passes numeric columns through (NaN -> 0) and sends the columns
// AutoKeras took for categorical through a StringLookup. Those lookups were saved without a
// vocabulary, so every value of such a column becomes the lookup's OOV index (a constant,
// 0 for these models; see docs/detectors.md). Normalization is Keras':
// (x - mean) / max(sqrt(variance), 1e-7).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "heads/keras_metadata.hpp"
#include "heads/tensor_bundle.hpp"

namespace safescan::detect {

enum class Activation { linear, relu, sigmoid };

struct DenseLayer {
  std::string name;  // Keras layer name ("dense_1")
  std::string key;   // bundle key prefix ("layer_with_weights-3")
  int in = 0, out = 0;
  std::vector<float> kernel;  // in x out, row-major (Keras layout)
  std::vector<float> bias;    // out
  Activation activation = Activation::linear;  // applied after this layer (incl. following ReLU/Activation layers)
};

struct KerasMlp {
  int input_dim = 0;
  // Columns AutoKeras encoded as categorical, and the value each one always takes (its
  // StringLookup's OOV index, as a float) before normalisation.
  std::vector<int> categorical_columns;
  std::vector<float> categorical_values;
  std::vector<float> mean, variance;  // Normalization, input_dim each
  float epsilon = 1e-7f;              // Keras backend.epsilon()
  std::vector<DenseLayer> layers;

  // The model's output (the sigmoid probability) for one input row of input_dim floats.
  float forward(const float* x) const;
  // The same, keeping every intermediate (for tests): [normalised input, layer 1 output, ...].
  std::vector<std::vector<float>> trace(const float* x) const;
  // The gradient of out_grad * forward(x) with respect to x (input_dim floats).
  std::vector<float> backward(const float* x, float out_grad) const;
};

// Builds the model from the Keras metadata and the variables. Every problem is
// Error(model_invalid) about `name`, naming the layer or variable key that does not fit.
KerasMlp build_autokeras_mlp(const std::vector<KerasNode>& nodes, const TensorBundle& bundle, const std::string& name);

// The files of a SavedModel, from a directory or a .zip holding one (LAION ships zips).
struct SavedModelFiles {
  std::string name;  // for messages: "x.zip:clip_autokeras_nsfw_b32/" or the directory
  std::vector<std::uint8_t> keras_metadata;
  std::vector<std::uint8_t> index;
  std::vector<std::vector<std::uint8_t>> shards;
};
SavedModelFiles read_saved_model_files(const std::filesystem::path& zip_or_dir);

// read_saved_model_files + TensorBundle + read_keras_metadata + build_autokeras_mlp.
KerasMlp load_autokeras_mlp(const std::filesystem::path& zip_or_dir);

}  // namespace safescan::detect
