// Reading a TensorFlow.js model directory: model.json and its binary weight shards.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tfjs/ir.hpp"

namespace safescan::tfjs {

struct ModelFiles {
  std::filesystem::path model_json;  // .../model.json
  nlohmann::json json;               // its parsed content
  std::map<std::string, HostTensor> weights;  // by name, dequantised to float32
};

// Reads model.json and every shard its weightsManifest lists, and dequantises the weights
// as TensorFlow.js does (uint8/uint16: q * scale + min; float16 widened). Errors name the file:
// missing or unreadable files are model_missing; truncated shards, bad JSON, unknown dtypes
// and size mismatches are model_invalid.
ModelFiles read_model_files(const std::filesystem::path& model_dir_or_json);

// Builders for the two tfjs formats (layers_model.cpp, graph_model.cpp).
Graph build_layers_model(const ModelFiles& files);
Graph build_graph_model(const ModelFiles& files);

// Reads the files and builds the graph for whichever format model.json declares, then
// infers and checks shapes.
Graph load_graph(const std::filesystem::path& model_dir_or_json);

}  // namespace safescan::tfjs
