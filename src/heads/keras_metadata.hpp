// keras_metadata.pb of a Keras SavedModel: a SavedMetadata protobuf listing every saved
// object (node_path "root", "root.layer_with_weights-2", ...) with its Keras metadata as
// JSON text (class_name, config: units, activation, StringLookup settings ...).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace safescan::detect {

struct KerasNode {
  std::string path;        // "root.layer_with_weights-2"
  std::string identifier;  // "_tf_keras_layer", "_tf_keras_network", ...
  nlohmann::json metadata;  // the parsed JSON (an object)
};

// Errors are Error(model_invalid) about `file`.
std::vector<KerasNode> read_keras_metadata(std::span<const std::uint8_t> bytes, const std::string& file);

}  // namespace safescan::detect
