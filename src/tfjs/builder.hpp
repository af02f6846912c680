// Helpers shared by the layers-model and graph-model builders.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "tfjs/weights.hpp"
#include "safescan/error.hpp"

namespace safescan::tfjs {

// Builds a Graph from named definitions by depth-first search from the output, so nodes come
// out in topological order whatever order the file lists them in, and unused ones are dropped.
class GraphBuilder {
 public:
  // `convert(name)` fills a Node for the named definition; it calls input(name) for each
  // operand, which converts operands first and returns their node index.
  using Convert = std::function<Node(const std::string& name)>;

  GraphBuilder(std::string model_file, Convert convert) : file_(std::move(model_file)), convert_(std::move(convert)) {}

  int input(const std::string& name);
  Graph finish(std::string format, const std::string& output_name);

  [[noreturn]] void fail(const std::string& node, const std::string& message) const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  Convert convert_;
  Graph graph_;
  std::map<std::string, int> index_;
  std::map<std::string, bool> visiting_;
};

// Looks up a weight by name; a missing one is model_invalid naming the node.
const HostTensor& require_weight(const ModelFiles& files, const std::string& weight_name, const std::string& node);

// Activation names of Keras ("relu", "softmax", ...) and TF fused ops ("Relu6", ...).
Activation parse_activation(const std::string& name, const GraphBuilder& b, const std::string& node);

}  // namespace safescan::tfjs
