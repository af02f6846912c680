// Keras layers-model (model.json "modelTopology.model_config") -> Graph.
#include <cmath>
#include <map>

#include "tfjs/builder.hpp"

namespace safescan::tfjs {

using nlohmann::json;

namespace {

std::array<int, 2> pair_of(const json& v, const GraphBuilder& b, const std::string& layer, const char* what) {
  if (v.is_number_integer()) return {v.get<int>(), v.get<int>()};
  if (v.is_array() && v.size() == 2) return {v[0].get<int>(), v[1].get<int>()};
  b.fail(layer, std::string("bad ") + what);
}

Padding padding_of(const json& cfg, const GraphBuilder& b, const std::string& layer) {
  const auto p = cfg.value("padding", std::string("valid"));
  if (p == "valid") return Padding::valid;
  if (p == "same") return Padding::same;
  b.fail(layer, "unsupported padding '" + p + "'");
}

void require_channels_last(const json& cfg, const GraphBuilder& b, const std::string& layer) {
  const auto fmt = cfg.value("data_format", std::string("channels_last"));
  if (fmt != "channels_last") b.fail(layer, "only data_format channels_last is supported, not " + fmt);
}

int channel_axis_ok(const json& cfg, const char* key, const GraphBuilder& b, const std::string& layer) {
  const int axis = cfg.value(key, -1);
  if (axis != -1 && axis != 3) b.fail(layer, std::string(key) + " must be the channel axis (-1 or 3)");
  return axis;
}

Activation keras_activation(const json& cfg, const GraphBuilder& b, const std::string& layer) {
  return parse_activation(cfg.value("activation", std::string("linear")), b, layer);
}

struct LayerDef {
  std::string class_name;
  json config;
  std::vector<std::string> inbound;  // names of the input layers (first call)
};

std::map<std::string, LayerDef> collect_layers(const json& model_config, const GraphBuilder& b,
                                               std::string& output_name) {
  std::map<std::string, LayerDef> layers;
  const std::string cls = model_config.value("class_name", "");
  const json& config = model_config.at("config");
  const json& list = config.is_array() ? config : config.at("layers");
  std::string previous;
  for (const auto& l : list) {
    LayerDef def;
    def.class_name = l.at("class_name").get<std::string>();
    def.config = l.at("config");
    const std::string name = l.contains("name") ? l["name"].get<std::string>() : def.config.at("name").get<std::string>();
    if (cls == "Sequential") {
      // A Sequential model chains its layers; the first may carry batch_input_shape.
      if (previous.empty() && def.class_name != "InputLayer") {
        LayerDef input{"InputLayer", def.config, {}};
        layers["__input__"] = input;
        previous = "__input__";
      }
      if (!previous.empty()) def.inbound = {previous};
      previous = name;
    } else {
      const auto& nodes = l.value("inbound_nodes", json::array());
      if (nodes.size() > 1) b.fail(name, "layers called more than once (shared layers) are not supported");
      if (!nodes.empty()) {
        for (const auto& in : nodes[0]) {
          const int node_index = in.at(1).get<int>(), tensor_index = in.at(2).get<int>();
          if (node_index != 0 || tensor_index != 0) b.fail(name, "multi-output or shared layer inputs are not supported");
          def.inbound.push_back(in.at(0).get<std::string>());
        }
      }
    }
    if (!layers.emplace(name, std::move(def)).second) b.fail(name, "layer name used twice");
  }
  if (cls == "Sequential") {
    output_name = previous;
  } else {
    const auto& outs = config.at("output_layers");
    if (outs.size() != 1) b.fail("", "the model must have exactly one output");
    output_name = outs[0].at(0).get<std::string>();
  }
  return layers;
}

}  // namespace

Graph build_layers_model(const ModelFiles& files) {
  const json* topology = &files.json.at("modelTopology");
  if (topology->contains("model_config")) topology = &topology->at("model_config");
  std::map<std::string, LayerDef> layers;
  std::string output_name;

  auto weight = [&](const std::string& layer, const char* param) -> const HostTensor& {
    return require_weight(files, layer + "/" + param, layer);
  };

  // Converts one layer; operands are converted first through g.input().
  GraphBuilder g(files.model_json.string(), [&](const std::string& name) -> Node {
    auto it = layers.find(name);
    if (it == layers.end()) g.fail(name, "is referenced but not defined");
    const LayerDef& def = it->second;
    const json& cfg = def.config;
    const std::string& cls = def.class_name;
    Node n;
    for (const auto& in : def.inbound) n.inputs.push_back(g.input(in));
    auto single_input = [&] {
      if (n.inputs.size() != 1) g.fail(name, cls + " takes one input, got " + std::to_string(n.inputs.size()));
    };
    if (cls == "InputLayer") {
      const json& shape = cfg.contains("batch_input_shape") ? cfg.at("batch_input_shape") : cfg.at("batchInputShape");
      if (shape.size() != 4 || shape[1].is_null() || shape[2].is_null()) g.fail(name, "the input must be [batch, H, W, C]");
      const auto h = shape[1].get<std::int64_t>(), w = shape[2].get<std::int64_t>(), c = shape[3].get<std::int64_t>();
      if (h != w) g.fail(name, "only square inputs are supported");
      n.kind = OpKind::input;
      n.out_shape = {c, h, w};
    } else if (cls == "Conv2D" || cls == "DepthwiseConv2D") {
      single_input();
      require_channels_last(cfg, g, name);
      const bool depthwise = cls == "DepthwiseConv2D";
      n.kind = depthwise ? OpKind::depthwise_conv2d : OpKind::conv2d;
      n.kernel = pair_of(cfg.at("kernel_size"), g, name, "kernel_size");
      n.strides = pair_of(cfg.value("strides", json(1)), g, name, "strides");
      n.dilation = pair_of(cfg.value("dilation_rate", json(1)), g, name, "dilation_rate");
      n.padding = padding_of(cfg, g, name);
      n.activation = keras_activation(cfg, g, name);
      n.weight = weight(name, depthwise ? "depthwise_kernel" : "kernel");
      if (cfg.value("use_bias", true)) n.bias = weight(name, "bias");
      if (n.weight.shape.size() != 4 || n.weight.dim(0) != n.kernel[0] || n.weight.dim(1) != n.kernel[1]) {
        g.fail(name, "kernel shape " + n.weight.shape_string() + " does not match kernel_size");
      }
      if (!depthwise && n.weight.dim(3) != cfg.value("filters", n.weight.dim(3))) {
        g.fail(name, "kernel shape " + n.weight.shape_string() + " does not match filters");
      }
      if (depthwise && n.weight.dim(3) != cfg.value("depth_multiplier", 1)) {
        g.fail(name, "kernel shape " + n.weight.shape_string() + " does not match depth_multiplier");
      }
    } else if (cls == "BatchNormalization") {
      single_input();
      channel_axis_ok(cfg, "axis", g, name);
      const double eps = cfg.value("epsilon", 1e-3);
      const HostTensor& mean = weight(name, "moving_mean");
      const HostTensor& var = weight(name, "moving_variance");
      const auto c = mean.numel();
      const HostTensor* gamma = cfg.value("scale", true) ? &weight(name, "gamma") : nullptr;
      const HostTensor* beta = cfg.value("center", true) ? &weight(name, "beta") : nullptr;
      if (var.numel() != c || (gamma && gamma->numel() != c) || (beta && beta->numel() != c)) {
        g.fail(name, "batch-norm parameters have different lengths");
      }
      n.kind = OpKind::batch_norm;
      n.scale.shape = n.shift.shape = {c};
      n.scale.data.resize(c);
      n.shift.data.resize(c);
      for (std::int64_t i = 0; i < c; ++i) {
        const double s = (gamma ? gamma->data[i] : 1.0) / std::sqrt(static_cast<double>(var.data[i]) + eps);
        n.scale.data[i] = static_cast<float>(s);
        n.shift.data[i] = static_cast<float>((beta ? beta->data[i] : 0.0) - mean.data[i] * s);
      }
    } else if (cls == "ReLU") {
      single_input();
      const bool plain = cfg.value("negative_slope", 0.0) == 0.0 && cfg.value("threshold", 0.0) == 0.0;
      const json max = cfg.value("max_value", json());
      n.kind = OpKind::activation;
      if (plain && max.is_null()) {
        n.activation = Activation::relu;
      } else if (plain && max.is_number() && max.get<double>() == 6.0) {
        n.activation = Activation::relu6;
      } else {
        g.fail(name, "ReLU with negative_slope, threshold or max_value other than 6 is not supported");
      }
    } else if (cls == "Activation") {
      single_input();
      n.kind = OpKind::activation;
      n.activation = keras_activation(cfg, g, name);
    } else if (cls == "Softmax") {
      single_input();
      channel_axis_ok(cfg, "axis", g, name);
      n.kind = OpKind::softmax;
    } else if (cls == "Add") {
      if (n.inputs.size() < 2) g.fail(name, "Add needs at least two inputs");
      n.kind = OpKind::add;
    } else if (cls == "Concatenate") {
      if (n.inputs.empty()) g.fail(name, "Concatenate needs inputs");
      channel_axis_ok(cfg, "axis", g, name);
      n.kind = OpKind::concat;
    } else if (cls == "ZeroPadding2D") {
      single_input();
      require_channels_last(cfg, g, name);
      const json& p = cfg.at("padding");
      n.kind = OpKind::pad;
      if (p.is_number_integer()) {
        const int v = p.get<int>();
        n.pads = {v, v, v, v};
      } else if (p.size() == 2 && p[0].is_array()) {
        n.pads = {p[0][0].get<int>(), p[0][1].get<int>(), p[1][0].get<int>(), p[1][1].get<int>()};
      } else if (p.size() == 2) {
        n.pads = {p[0].get<int>(), p[0].get<int>(), p[1].get<int>(), p[1].get<int>()};
      } else {
        g.fail(name, "bad padding");
      }
    } else if (cls == "AveragePooling2D" || cls == "MaxPooling2D") {
      single_input();
      require_channels_last(cfg, g, name);
      n.kind = cls == "AveragePooling2D" ? OpKind::avg_pool : OpKind::max_pool;
      n.kernel = pair_of(cfg.value("pool_size", json(2)), g, name, "pool_size");
      const json strides = cfg.value("strides", json());
      n.strides = strides.is_null() ? n.kernel : pair_of(strides, g, name, "strides");
      n.padding = padding_of(cfg, g, name);
    } else if (cls == "GlobalAveragePooling2D") {
      single_input();
      require_channels_last(cfg, g, name);
      if (cfg.value("keepdims", false)) g.fail(name, "keepdims=true is not supported");
      n.kind = OpKind::global_avg_pool;
    } else if (cls == "Flatten") {
      single_input();
      require_channels_last(cfg, g, name);
      n.kind = OpKind::flatten;
    } else if (cls == "Dense") {
      single_input();
      n.kind = OpKind::dense;
      n.activation = keras_activation(cfg, g, name);
      n.weight = weight(name, "kernel");
      if (cfg.value("use_bias", true)) n.bias = weight(name, "bias");
      if (n.weight.shape.size() != 2 || n.weight.dim(1) != cfg.value("units", n.weight.dim(1))) {
        g.fail(name, "kernel shape " + n.weight.shape_string() + " does not match units");
      }
    } else if (cls == "Dropout" || cls == "SpatialDropout2D" || cls == "GaussianNoise" || cls == "GaussianDropout" ||
               cls == "AlphaDropout") {
      single_input();  // inactive at inference
      n.kind = OpKind::identity;
    } else {
      g.fail(name, "unsupported layer type '" + cls + "'");
    }
    return n;
  });
  layers = collect_layers(*topology, g, output_name);
  return g.finish("layers-model", output_name);
}

}  // namespace safescan::tfjs
