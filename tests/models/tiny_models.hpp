// Small TensorFlow.js models written by the tests themselves, to exercise the readers and the
// executor on known weights, and to corrupt in controlled ways.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace safescan::testing {

inline void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void append_floats(std::vector<std::uint8_t>& out, const std::vector<float>& values) {
  const size_t at = out.size();
  out.resize(at + values.size() * 4);
  std::memcpy(out.data() + at, values.data(), values.size() * 4);
}

// A layers-model: input 8x8x3 -> Conv2D(4, 3x3, same, relu) -> GlobalAveragePooling2D ->
// Dense(5, softmax). Conv weights uint8-quantised, the rest float32. Returns model.json.
inline nlohmann::json write_tiny_layers_model(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  using nlohmann::json;
  json layers = json::array();
  layers.push_back({{"class_name", "InputLayer"}, {"name", "input_1"},
                    {"config", {{"batch_input_shape", {nullptr, 8, 8, 3}}, {"name", "input_1"}}}, {"inbound_nodes", json::array()}});
  layers.push_back({{"class_name", "Conv2D"}, {"name", "conv"},
                    {"config", {{"name", "conv"}, {"filters", 4}, {"kernel_size", {3, 3}}, {"strides", {1, 1}}, {"padding", "same"},
                                {"data_format", "channels_last"}, {"dilation_rate", {1, 1}}, {"activation", "relu"}, {"use_bias", true}}},
                    {"inbound_nodes", {{{"input_1", 0, 0, json::object()}}}}});
  layers.push_back({{"class_name", "GlobalAveragePooling2D"}, {"name", "gap"},
                    {"config", {{"name", "gap"}, {"data_format", "channels_last"}}}, {"inbound_nodes", {{{"conv", 0, 0, json::object()}}}}});
  layers.push_back({{"class_name", "Dense"}, {"name", "dense"},
                    {"config", {{"name", "dense"}, {"units", 5}, {"activation", "softmax"}, {"use_bias", true}}},
                    {"inbound_nodes", {{{"gap", 0, 0, json::object()}}}}});
  json topology = {{"keras_version", "2.2.4"}, {"backend", "tensorflow"},
                   {"model_config", {{"class_name", "Model"}, {"config", {{"name", "tiny"}, {"layers", layers},
                                                                         {"input_layers", {{"input_1", 0, 0}}},
                                                                         {"output_layers", {{"dense", 0, 0}}}}}}}};
  std::vector<std::uint8_t> bin;
  for (int i = 0; i < 3 * 3 * 3 * 4; ++i) bin.push_back(static_cast<std::uint8_t>((i * 37) % 256));  // conv/kernel q
  append_floats(bin, {0.1f, -0.2f, 0.3f, 0.0f});                                                    // conv/bias
  std::vector<float> dense(4 * 5);
  for (size_t i = 0; i < dense.size(); ++i) dense[i] = static_cast<float>(i % 7) * 0.25f - 0.5f;
  append_floats(bin, dense);                                        // dense/kernel
  append_floats(bin, {0.0f, 0.1f, 0.2f, 0.3f, 0.4f});               // dense/bias
  json weights = json::array({
      {{"name", "conv/kernel"}, {"shape", {3, 3, 3, 4}}, {"dtype", "float32"},
       {"quantization", {{"dtype", "uint8"}, {"min", -1.0}, {"scale", 2.0 / 255}}}},
      {{"name", "conv/bias"}, {"shape", {4}}, {"dtype", "float32"}},
      {{"name", "dense/kernel"}, {"shape", {4, 5}}, {"dtype", "float32"}},
      {{"name", "dense/bias"}, {"shape", {5}}, {"dtype", "float32"}},
  });
  // Split the weights over two shards, as large models are.
  const size_t half = bin.size() / 2;
  write_bytes(dir / "group1-shard1of2.bin", std::vector<std::uint8_t>(bin.begin(), bin.begin() + half));
  write_bytes(dir / "group1-shard2of2.bin", std::vector<std::uint8_t>(bin.begin() + half, bin.end()));
  json model = {{"modelTopology", topology},
                {"weightsManifest", {{{"paths", {"group1-shard1of2.bin", "group1-shard2of2.bin"}}, {"weights", weights}}}}};
  std::ofstream(dir / "model.json") << model.dump();
  return model;
}

// A graph-model: input 4x4x1 -> x * 2 -> - 1 -> pool_op (3x3, stride 2, SAME, so padded only
// after: TensorFlow's asymmetric case) -> Mean over H, W -> Identity. Output: a vector of size 1.
inline nlohmann::json write_tiny_graph_model(const std::filesystem::path& dir, const std::string& pool_op = "AvgPool") {
  std::filesystem::create_directories(dir);
  using nlohmann::json;
  auto ints = [](std::vector<int> v) {
    json l = json::array();
    for (int i : v) l.push_back(std::to_string(i));
    return json{{"list", {{"i", l}}}};
  };
  const json nhwc = {{"s", "TkhXQw=="}}, same = {{"s", "U0FNRQ=="}};
  json nodes = json::array({
      {{"name", "input"}, {"op", "Placeholder"},
       {"attr", {{"shape", {{"shape", {{"dim", {{{"size", "-1"}}, {{"size", "4"}}, {{"size", "4"}}, {{"size", "1"}}}}}}}}}}},
      {{"name", "two"}, {"op", "Const"}, {"attr", json::object()}},
      {{"name", "one"}, {"op", "Const"}, {"attr", json::object()}},
      {{"name", "axes"}, {"op", "Const"}, {"attr", json::object()}},
      {{"name", "mul"}, {"op", "Mul"}, {"input", {"two", "input"}}},
      {{"name", "sub"}, {"op", "Sub"}, {"input", {"mul", "one"}}},
      {{"name", "pool"}, {"op", pool_op}, {"input", {"sub"}},
       {"attr", {{"ksize", ints({1, 3, 3, 1})}, {"strides", ints({1, 2, 2, 1})}, {"padding", same}, {"data_format", nhwc}}}},
      {{"name", "mean"}, {"op", "Mean"}, {"input", {"pool", "axes"}}},
      {{"name", "Identity"}, {"op", "Identity"}, {"input", {"mean"}}},
  });
  std::vector<std::uint8_t> bin;
  append_floats(bin, {2.0f, 1.0f});
  const std::int32_t axes[2] = {1, 2};
  bin.resize(bin.size() + 8);
  std::memcpy(bin.data() + 8, axes, 8);
  write_bytes(dir / "weights.bin", bin);
  json weights = json::array({{{"name", "two"}, {"shape", json::array()}, {"dtype", "float32"}},
                              {{"name", "one"}, {"shape", json::array()}, {"dtype", "float32"}},
                              {{"name", "axes"}, {"shape", {2}}, {"dtype", "int32"}}});
  json model = {{"format", "graph-model"},
                {"modelTopology", {{"node", nodes}, {"versions", {{"producer", 175}}}}},
                {"weightsManifest", {{{"paths", {"weights.bin"}}, {"weights", weights}}}}};
  std::ofstream(dir / "model.json") << model.dump();
  return model;
}

}  // namespace safescan::testing
