// A TensorFlow.js image classifier compiled for libtorch (CPU).
//
// The only place that knows libtorch for tfjs models is network.cpp; this header is plain C++.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "tfjs/ir.hpp"

namespace safescan::tfjs {

class Network {
 public:
  // Takes a graph after infer_shapes(); optimises and converts it (weights to NCHW layout).
  explicit Network(Graph graph);
  ~Network();
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;

  // Reads, validates and compiles a model directory (or model.json).
  static Network load(const std::filesystem::path& model_dir_or_json);

  int input_size() const;      // H = W
  int input_channels() const;  // C
  int output_size() const;     // number of outputs per image
  const std::string& format() const;

  // input: `batch` images, each C x S x S float32, channel-major (NCHW), contiguous.
  // Returns batch * output_size() values. Thread-safe (const, no shared mutable state).
  std::vector<float> run(const float* input, int batch) const;

  // The same function with gradients (the benchmark's white-box attacks): the outputs y of
  // `batch` inputs; `gradient` is given y (batch * output_size()) and writes d loss / d y;
  // `input_grad` (batch * C * S * S floats) receives d loss / d inputs. Runs an unfrozen copy
  // of the network (built on first use), in float32.
  using Gradient = std::function<void(const float* outputs, float* grad)>;
  std::vector<float> run_with_gradient(const float* input, int batch, const Gradient& gradient, float* input_grad) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan::tfjs
