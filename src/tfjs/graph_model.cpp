// TensorFlow graph-model (model.json "modelTopology.node", a GraphDef in JSON) -> Graph.
//
// Supports the ops that the TensorFlow.js converter emits for image classifiers: fused and
// plain convolutions (regular and depthwise) with BiasAdd / Relu / Relu6, element-wise
// Add/Mul/Sub (with scalar constants on the input side), pooling, Mean over H and W,
// Squeeze, (fused) MatMul, Softmax, ConcatV2 on channels, Identity.
#include <map>

#include "tfjs/builder.hpp"

namespace safescan::tfjs {

using nlohmann::json;

namespace {

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    const auto pos = chars.find(static_cast<char>(c));
    if (pos == std::string::npos) break;  // '=' padding or junk ends the data
    val = (val << 6) | static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// Strips ":0" output suffixes; control inputs ("^name") are returned empty.
std::string operand_name(const std::string& input) {
  if (!input.empty() && input[0] == '^') return {};
  const auto colon = input.rfind(':');
  if (colon != std::string::npos && input.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    return input.substr(0, colon);
  }
  return input;
}

struct Attrs {
  const json& attr;
  const GraphBuilder& b;
  const std::string& node;

  bool has(const char* key) const { return attr.contains(key); }
  std::string str(const char* key, const std::string& fallback = {}) const {
    return has(key) ? base64_decode(attr.at(key).value("s", std::string())) : fallback;
  }
  std::vector<std::string> strs(const char* key) const {
    std::vector<std::string> out;
    if (has(key) && attr.at(key).contains("list")) {
      for (const auto& s : attr.at(key).at("list").value("s", json::array())) out.push_back(base64_decode(s.get<std::string>()));
    }
    return out;
  }
  std::vector<std::int64_t> ints(const char* key) const {
    std::vector<std::int64_t> out;
    if (has(key) && attr.at(key).contains("list")) {
      for (const auto& v : attr.at(key).at("list").value("i", json::array())) {
        out.push_back(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<std::int64_t>());
      }
    }
    return out;
  }
  bool boolean(const char* key) const { return has(key) && attr.at(key).value("b", false); }

  // NHWC 4-vector attributes (strides, ksize, dilations) -> the H, W pair.
  std::array<int, 2> hw(const char* key, int fallback) const {
    const auto v = ints(key);
    if (v.empty()) return {fallback, fallback};
    if (v.size() != 4 || v[0] != 1 || v[3] != 1) b.fail(node, std::string("unsupported ") + key);
    return {static_cast<int>(v[1]), static_cast<int>(v[2])};
  }
  void require_nhwc() const {
    const auto fmt = str("data_format", "NHWC");
    if (fmt != "NHWC") b.fail(node, "only data_format NHWC is supported, not " + fmt);
  }
  Padding padding() const {
    const auto p = str("padding", "VALID");
    if (p == "SAME") return Padding::same;
    if (p == "VALID") return Padding::valid;
    b.fail(node, "unsupported padding '" + p + "'");
  }
};

}  // namespace

Graph build_graph_model(const ModelFiles& files) {
  std::map<std::string, const json*> defs;
  for (const auto& n : files.json.at("modelTopology").at("node")) defs[n.at("name").get<std::string>()] = &n;

  GraphBuilder g(files.model_json.string(), [&](const std::string& name) -> Node {
    auto it = defs.find(name);
    if (it == defs.end()) g.fail(name, "is referenced but not defined");
    const json& def = *it->second;
    const std::string op = def.at("op").get<std::string>();
    const json empty = json::object();
    Attrs a{def.contains("attr") ? def.at("attr") : empty, g, name};
    std::vector<std::string> operands;
    for (const auto& in : def.value("input", json::array())) {
      if (auto o = operand_name(in.get<std::string>()); !o.empty()) operands.push_back(o);
    }
    auto is_const = [&](const std::string& operand) {
      auto d = defs.find(operand);
      return d != defs.end() && d->second->at("op") == "Const";
    };
    auto constant = [&](const std::string& operand) -> const HostTensor& {
      if (!is_const(operand)) g.fail(name, "operand '" + operand + "' must be a constant");
      return require_weight(files, operand, name);
    };
    auto want_operands = [&](size_t count) {
      if (operands.size() < count) g.fail(name, op + " needs " + std::to_string(count) + " operands");
    };
    auto fused_tail = [&](Node& n, size_t first_extra) {
      // fused_ops: ["BiasAdd"] optionally followed by one activation.
      const auto ops = a.strs("fused_ops");
      for (size_t i = 0; i < ops.size(); ++i) {
        if (ops[i] == "BiasAdd" && i == 0) {
          want_operands(first_extra + 1);
          n.bias = constant(operands[first_extra]);
        } else if (i == ops.size() - 1 && (ops[i] == "Relu" || ops[i] == "Relu6" || ops[i] == "Sigmoid" || ops[i] == "Tanh")) {
          n.activation = parse_activation(ops[i], g, name);
        } else {
          g.fail(name, "unsupported fused operation '" + ops[i] + "'");
        }
      }
    };

    Node n;
    if (op == "Placeholder") {
      const auto& dims = a.attr.at("shape").at("shape").at("dim");
      if (dims.size() != 4) g.fail(name, "the input must be [batch, H, W, C]");
      auto dim = [&](int i) { return std::stoll(dims[i].value("size", std::string("-1"))); };
      if (dim(1) <= 0 || dim(1) != dim(2)) g.fail(name, "only square inputs of known size are supported");
      n.kind = OpKind::input;
      n.out_shape = {dim(3), dim(1), dim(2)};
      return n;
    }
    if (op == "Const") g.fail(name, "a constant cannot be a network value here");

    // Element-wise ops with one constant operand become scale/shift or bias nodes.
    if (op == "Mul" || op == "Sub" || op == "Add" || op == "AddV2" || op == "BiasAdd" || op == "RealDiv") {
      want_operands(2);
      const bool c0 = is_const(operands[0]), c1 = is_const(operands[1]);
      if (!c0 && !c1) {
        if (op != "Add" && op != "AddV2") g.fail(name, op + " of two non-constant tensors is not supported");
        n.kind = OpKind::add;
        n.inputs = {g.input(operands[0]), g.input(operands[1])};
        return n;
      }
      if (c0 && c1) g.fail(name, op + " of two constants should have been folded by the converter");
      const HostTensor& c = constant(c0 ? operands[0] : operands[1]);
      n.inputs = {g.input(c0 ? operands[1] : operands[0])};
      if (c.numel() == 1) {
        const float v = c.data[0];
        n.kind = OpKind::scale_shift;
        n.scale = {{1}, {1.f}};
        n.shift = {{1}, {0.f}};
        if (op == "Mul") {
          n.scale.data[0] = v;
        } else if (op == "RealDiv" && c1) {
          n.scale.data[0] = 1.f / v;
        } else if (op == "Sub" && c1) {
          n.shift.data[0] = -v;
        } else if (op == "Sub") {  // c - x
          n.scale.data[0] = -1.f;
          n.shift.data[0] = v;
        } else if (op != "RealDiv") {
          n.shift.data[0] = v;
        } else {
          g.fail(name, "constant / tensor is not supported");
        }
        return n;
      }
      if (c.shape.size() == 1 && (op == "Add" || op == "AddV2" || op == "BiasAdd" || op == "Mul")) {
        n.kind = OpKind::batch_norm;  // per-channel affine
        n.scale = {{c.numel()}, std::vector<float>(c.numel(), 1.f)};
        n.shift = {{c.numel()}, std::vector<float>(c.numel(), 0.f)};
        (op == "Mul" ? n.scale : n.shift).data = c.data;
        return n;
      }
      g.fail(name, op + " with a constant of shape " + c.shape_string() + " is not supported");
    }

    if (op == "_FusedConv2D" || op == "Conv2D" || op == "FusedDepthwiseConv2dNative" || op == "DepthwiseConv2dNative") {
      want_operands(2);
      a.require_nhwc();
      const bool depthwise = op.find("Depthwise") != std::string::npos;
      n.kind = depthwise ? OpKind::depthwise_conv2d : OpKind::conv2d;
      n.inputs = {g.input(operands[0])};
      n.weight = constant(operands[1]);
      if (n.weight.shape.size() != 4) g.fail(name, "filter shape " + n.weight.shape_string() + " is not 4-D");
      n.kernel = {static_cast<int>(n.weight.dim(0)), static_cast<int>(n.weight.dim(1))};
      n.strides = a.hw("strides", 1);
      n.dilation = a.hw("dilations", 1);
      n.padding = a.padding();
      if (op[0] == '_' || op.rfind("Fused", 0) == 0) fused_tail(n, 2);
      return n;
    }
    if (op == "_FusedMatMul" || op == "MatMul") {
      want_operands(2);
      if (a.boolean("transpose_a")) g.fail(name, "transpose_a is not supported");
      n.kind = OpKind::dense;
      n.inputs = {g.input(operands[0])};
      n.weight = constant(operands[1]);
      if (n.weight.shape.size() != 2) g.fail(name, "weight shape " + n.weight.shape_string() + " is not 2-D");
      if (a.boolean("transpose_b")) {  // stored [out, in] -> [in, out]
        HostTensor t{{n.weight.dim(1), n.weight.dim(0)}, std::vector<float>(n.weight.data.size())};
        for (std::int64_t i = 0; i < n.weight.dim(0); ++i)
          for (std::int64_t j = 0; j < n.weight.dim(1); ++j) t.data[j * n.weight.dim(0) + i] = n.weight.data[i * n.weight.dim(1) + j];
        n.weight = std::move(t);
      }
      if (op == "_FusedMatMul") fused_tail(n, 2);
      return n;
    }
    if (op == "Relu" || op == "Relu6" || op == "Sigmoid" || op == "Tanh") {
      want_operands(1);
      n.kind = OpKind::activation;
      n.activation = parse_activation(op, g, name);
      n.inputs = {g.input(operands[0])};
      return n;
    }
    if (op == "AvgPool" || op == "MaxPool") {
      want_operands(1);
      a.require_nhwc();
      n.kind = op == "AvgPool" ? OpKind::avg_pool : OpKind::max_pool;
      n.kernel = a.hw("ksize", 1);
      n.strides = a.hw("strides", 1);
      n.padding = a.padding();
      n.inputs = {g.input(operands[0])};
      return n;
    }
    if (op == "Mean") {
      want_operands(2);
      const HostTensor& axes = constant(operands[1]);
      const bool hw = axes.numel() == 2 && axes.data[0] == 1.f && axes.data[1] == 2.f;
      if (!hw || a.boolean("keep_dims")) g.fail(name, "only Mean over H and W without keep_dims is supported");
      n.kind = OpKind::global_avg_pool;
      n.inputs = {g.input(operands[0])};
      return n;
    }
    if (op == "Squeeze" || op == "Reshape" || op == "Flatten") {
      want_operands(1);
      if (op == "Squeeze") {
        const auto dims = a.ints("squeeze_dims");
        if (!(dims.size() == 2 && dims[0] == 1 && dims[1] == 2)) g.fail(name, "only Squeeze of axes 1 and 2 is supported");
      }
      n.kind = op == "Squeeze" ? OpKind::squeeze : OpKind::flatten;
      n.inputs = {g.input(operands[0])};
      return n;
    }
    if (op == "Softmax") {
      want_operands(1);
      n.kind = OpKind::softmax;
      n.inputs = {g.input(operands[0])};
      return n;
    }
    if (op == "ConcatV2") {
      want_operands(2);
      const HostTensor& axis = constant(operands.back());
      if (axis.numel() != 1 || (axis.data[0] != 3.f && axis.data[0] != -1.f)) g.fail(name, "only concatenation on channels is supported");
      n.kind = OpKind::concat;
      for (size_t i = 0; i + 1 < operands.size(); ++i) n.inputs.push_back(g.input(operands[i]));
      return n;
    }
    if (op == "Identity" || op == "StopGradient" || op == "NoOp") {
      want_operands(1);
      n.kind = OpKind::identity;
      n.inputs = {g.input(operands[0])};
      return n;
    }
    g.fail(name, "unsupported operation '" + op + "'");
  });

  // The output: the signature's, else the single node that nothing consumes.
  std::string output;
  const json sig = files.json.value("userDefinedMetadata", json::object()).value("signature", json::object());
  if (sig.contains("outputs") && sig["outputs"].size() == 1) output = operand_name(sig["outputs"].begin().key());
  if (output.empty() || !defs.count(output)) {
    std::map<std::string, bool> consumed;
    for (const auto& [n, d] : defs)
      for (const auto& in : d->value("input", json::array())) consumed[operand_name(in.get<std::string>())] = true;
    std::vector<std::string> sinks;
    for (const auto& [n, d] : defs)
      if (!consumed.count(n) && d->at("op") != "Const" && d->at("op") != "NoOp") sinks.push_back(n);
    if (sinks.size() != 1) g.fail("", "cannot tell the model output: " + std::to_string(sinks.size()) + " unconsumed nodes");
    output = sinks[0];
  }
  return g.finish("graph-model", output);
}

}  // namespace safescan::tfjs
