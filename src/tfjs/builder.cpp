#include "tfjs/builder.hpp"

#include <algorithm>
#include <cctype>

namespace safescan::tfjs {

int GraphBuilder::input(const std::string& name) {
  if (auto it = index_.find(name); it != index_.end()) return it->second;
  if (visiting_[name]) fail(name, "the graph has a cycle through this node");
  visiting_[name] = true;
  Node node = convert_(name);
  visiting_[name] = false;
  node.name = name;
  for (int in : node.inputs) {
    if (in < 0 || in >= static_cast<int>(graph_.nodes.size())) fail(name, "internal: bad operand index");
  }
  graph_.nodes.push_back(std::move(node));
  const int idx = static_cast<int>(graph_.nodes.size()) - 1;
  index_[name] = idx;
  return idx;
}

Graph GraphBuilder::finish(std::string format, const std::string& output_name) {
  graph_.output = input(output_name);
  graph_.format = std::move(format);
  const auto inputs = std::count_if(graph_.nodes.begin(), graph_.nodes.end(),
                                    [](const Node& n) { return n.kind == OpKind::input; });
  if (inputs != 1) fail(output_name, "the model must have exactly one image input, found " + std::to_string(inputs));
  for (const Node& n : graph_.nodes) {
    if (n.kind == OpKind::input) {
      graph_.input_size = static_cast<int>(n.out_shape.at(1));
      graph_.input_channels = static_cast<int>(n.out_shape.at(0));
    }
  }
  return std::move(graph_);
}

void GraphBuilder::fail(const std::string& node, const std::string& message) const {
  throw Error(ErrorCode::model_invalid, node.empty() ? message : "node '" + node + "': " + message, file_);
}

const HostTensor& require_weight(const ModelFiles& files, const std::string& weight_name, const std::string& node) {
  auto it = files.weights.find(weight_name);
  if (it == files.weights.end()) {
    throw Error(ErrorCode::model_invalid, "node '" + node + "': weight '" + weight_name + "' is missing from the weight files",
                files.model_json.string());
  }
  return it->second;
}

Activation parse_activation(const std::string& name, const GraphBuilder& b, const std::string& node) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n.empty() || n == "linear") return Activation::linear;
  if (n == "relu") return Activation::relu;
  if (n == "relu6") return Activation::relu6;
  if (n == "sigmoid") return Activation::sigmoid;
  if (n == "tanh") return Activation::tanh;
  if (n == "softmax") return Activation::softmax;
  b.fail(node, "unsupported activation '" + name + "'");
}

}  // namespace safescan::tfjs
