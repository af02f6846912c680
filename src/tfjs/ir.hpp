// The network representation shared by the TensorFlow.js readers and the executor.
//
// Both tfjs formats (Keras layers-model and TF graph-model) are translated into this small
// list of operations, in topological order, with weights as plain host arrays in
// TensorFlow's layouts (conv kernels HWIO, depthwise HWCM, dense [in, out]). Nothing here
// depends on libtorch, so readers compile fast and can be tested without it; executor.cpp
// turns a Graph into libtorch modules.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace safescan::tfjs {

struct HostTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;

  std::int64_t numel() const;
  std::int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
  std::string shape_string() const;  // "[3, 3, 16, 96]"
};

enum class OpKind {
  input,
  conv2d,            // weight HWIO, optional bias; then activation
  depthwise_conv2d,  // weight HW C M (channel multiplier M), optional bias; then activation
  batch_norm,        // y = x * scale + shift, per channel (inference form)
  activation,        // elementwise activation only
  add,               // elementwise sum of all inputs (same shape)
  scale_shift,       // y = x * scale + shift with scalar scale/shift (graph-model Mul/Sub on the input)
  concat,            // along channels
  pad,               // zero padding (top, bottom, left, right)
  avg_pool,          // TF semantics: padded positions are not counted
  max_pool,
  global_avg_pool,   // mean over H and W, keeps [N, C]
  flatten,           // NHWC order, as TensorFlow flattens
  squeeze,           // [N, 1, 1, C] -> [N, C]
  dense,             // weight [in, out], optional bias; then activation
  softmax,           // over the last axis
  identity,          // Dropout, Identity, Squeeze of 1x1 spatial dims, ...
};

enum class Activation { linear, relu, relu6, sigmoid, tanh, softmax };

enum class Padding { valid, same };

struct Node {
  std::string name;  // the layer or node name in the model file (used in error messages)
  OpKind kind = OpKind::identity;
  std::vector<int> inputs;  // indices of earlier nodes

  HostTensor weight;  // conv / depthwise / dense kernel
  HostTensor bias;    // optional
  HostTensor scale;   // batch_norm: per-channel multiplier; scale_shift: scalar
  HostTensor shift;   // batch_norm: per-channel offset;     scale_shift: scalar

  std::array<int, 2> kernel{1, 1};
  std::array<int, 2> strides{1, 1};
  std::array<int, 2> dilation{1, 1};
  Padding padding = Padding::valid;
  std::array<int, 4> pads{0, 0, 0, 0};  // top, bottom, left, right: the pad op's, or (after infer_shapes) a window's
  Activation activation = Activation::linear;

  // Output shape, inferred by infer_shapes(): {C, H, W} for feature maps, {C} for vectors.
  std::vector<std::int64_t> out_shape;
};

struct Graph {
  std::string format;  // "layers-model" or "graph-model"
  std::vector<Node> nodes;
  int output = -1;     // index of the node whose value is the model output
  int input_size = 0;  // H = W of the input, from the model's input shape
  int input_channels = 3;
};

// Shape of a TensorFlow 'same'/'valid' window along one axis: output size and the padding
// before/after (TensorFlow puts the odd pixel after).
struct WindowGeometry {
  std::int64_t out = 0;
  int pad_before = 0;
  int pad_after = 0;
};
WindowGeometry window_geometry(std::int64_t in, int kernel, int stride, int dilation, Padding padding);

// Infers every node's output shape from the input and checks the weights against it. Throws
// safescan::Error(model_invalid) naming `model_file` and the node on any mismatch.
void infer_shapes(Graph& graph, const std::string& model_file);

// Inference-time rewrites that keep the function: folds batch norms into the convolution
// before them, fuses an activation into the op before it, and bypasses identities (their
// nodes stay, unreferenced). Run after infer_shapes().
void optimize(Graph& graph);

const char* to_string(OpKind kind);

}  // namespace safescan::tfjs
