#include "models/tfjs/ir.hpp"

#include "safescan/error.hpp"

namespace safescan::tfjs {

WindowGeometry window_geometry(std::int64_t in, int kernel, int stride, int dilation, Padding padding) {
  WindowGeometry g;
  const std::int64_t effective = static_cast<std::int64_t>(kernel - 1) * dilation + 1;
  if (padding == Padding::valid) {
    g.out = in >= effective ? (in - effective) / stride + 1 : 0;
    return g;
  }
  g.out = (in + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>((g.out - 1) * stride + effective - in, 0);
  g.pad_before = static_cast<int>(total / 2);
  g.pad_after = static_cast<int>(total - total / 2);
  return g;
}

const char* to_string(OpKind kind) {
  switch (kind) {
    case OpKind::input: return "input";
    case OpKind::conv2d: return "conv2d";
    case OpKind::depthwise_conv2d: return "depthwise_conv2d";
    case OpKind::batch_norm: return "batch_norm";
    case OpKind::activation: return "activation";
    case OpKind::add: return "add";
    case OpKind::scale_shift: return "scale_shift";
    case OpKind::concat: return "concat";
    case OpKind::pad: return "pad";
    case OpKind::avg_pool: return "avg_pool";
    case OpKind::max_pool: return "max_pool";
    case OpKind::global_avg_pool: return "global_avg_pool";
    case OpKind::flatten: return "flatten";
    case OpKind::squeeze: return "squeeze";
    case OpKind::dense: return "dense";
    case OpKind::softmax: return "softmax";
    case OpKind::identity: return "identity";
  }
  return "?";
}

namespace {

std::string shape_str(const std::vector<std::int64_t>& s) { return HostTensor{s, {}}.shape_string(); }

}  // namespace

void infer_shapes(Graph& graph, const std::string& model_file) {
  for (Node& n : graph.nodes) {
    auto fail = [&](const std::string& msg) {
      throw Error(ErrorCode::model_invalid, std::string("node '") + n.name + "' (" + to_string(n.kind) + "): " + msg, model_file);
    };
    std::vector<const std::vector<std::int64_t>*> in;
    for (int i : n.inputs) in.push_back(&graph.nodes.at(i).out_shape);
    auto map_input = [&]() -> const std::vector<std::int64_t>& {
      if (in.size() != 1) fail("expects one input");
      if (in[0]->size() != 3) fail("expects a feature map [C, H, W], got " + shape_str(*in[0]));
      return *in[0];
    };
    auto window = [&](const std::vector<std::int64_t>& x, std::int64_t channels) {
      const auto h = window_geometry(x[1], n.kernel[0], n.strides[0], n.dilation[0], n.padding);
      const auto w = window_geometry(x[2], n.kernel[1], n.strides[1], n.dilation[1], n.padding);
      if (h.out <= 0 || w.out <= 0) fail("window " + std::to_string(n.kernel[0]) + "x" + std::to_string(n.kernel[1]) + " does not fit input " + shape_str(x));
      n.pads = {h.pad_before, h.pad_after, w.pad_before, w.pad_after};
      n.out_shape = {channels, h.out, w.out};
    };
    auto check_bias = [&](std::int64_t channels) {
      if (!n.bias.data.empty() && n.bias.numel() != channels) {
        fail("bias has " + std::to_string(n.bias.numel()) + " values for " + std::to_string(channels) + " channels");
      }
    };
    if (n.strides[0] <= 0 || n.strides[1] <= 0 || n.dilation[0] <= 0 || n.dilation[1] <= 0 || n.kernel[0] <= 0 || n.kernel[1] <= 0) {
      fail("kernel, strides and dilation must be positive");
    }
    switch (n.kind) {
      case OpKind::input:
        if (n.out_shape.size() != 3 || n.out_shape[0] <= 0 || n.out_shape[1] <= 0) fail("bad input shape");
        break;
      case OpKind::conv2d: {
        const auto& x = map_input();
        if (n.weight.dim(2) != x[0]) {
          fail("kernel " + n.weight.shape_string() + " expects " + std::to_string(n.weight.dim(2)) + " input channels but the input has " + std::to_string(x[0]));
        }
        window(x, n.weight.dim(3));
        check_bias(n.weight.dim(3));
        break;
      }
      case OpKind::depthwise_conv2d: {
        const auto& x = map_input();
        if (n.weight.dim(2) != x[0]) {
          fail("depthwise kernel " + n.weight.shape_string() + " expects " + std::to_string(n.weight.dim(2)) + " channels but the input has " + std::to_string(x[0]));
        }
        window(x, n.weight.dim(2) * n.weight.dim(3));
        check_bias(n.weight.dim(2) * n.weight.dim(3));
        break;
      }
      case OpKind::batch_norm: {
        if (in.size() != 1) fail("expects one input");
        const auto c = in[0]->at(0);
        if (n.scale.numel() != c || n.shift.numel() != c) fail("has " + std::to_string(n.scale.numel()) + " channels, input has " + std::to_string(c));
        n.out_shape = *in[0];
        break;
      }
      case OpKind::activation:
      case OpKind::scale_shift:
      case OpKind::identity:
      case OpKind::softmax:
        if (in.size() != 1) fail("expects one input");
        n.out_shape = *in[0];
        break;
      case OpKind::add:
        for (auto* s : in) {
          if (*s != *in[0]) fail("adds tensors of different shapes " + shape_str(*in[0]) + " and " + shape_str(*s));
        }
        n.out_shape = *in[0];
        break;
      case OpKind::concat: {
        std::int64_t c = 0;
        for (auto* s : in) {
          if (s->size() != 3 || (*s)[1] != (*in[0])[1] || (*s)[2] != (*in[0])[2]) fail("concatenates maps of different sizes");
          c += (*s)[0];
        }
        n.out_shape = {c, (*in[0])[1], (*in[0])[2]};
        break;
      }
      case OpKind::pad: {
        const auto& x = map_input();
        for (int p : n.pads) {
          if (p < 0) fail("negative padding");
        }
        n.out_shape = {x[0], x[1] + n.pads[0] + n.pads[1], x[2] + n.pads[2] + n.pads[3]};
        break;
      }
      case OpKind::avg_pool:
      case OpKind::max_pool: {
        const auto& x = map_input();
        window(x, x[0]);
        break;
      }
      case OpKind::global_avg_pool:
        n.out_shape = {map_input()[0]};
        break;
      case OpKind::flatten: {
        if (in.size() != 1) fail("expects one input");
        std::int64_t total = 1;
        for (auto d : *in[0]) total *= d;
        n.out_shape = {total};
        break;
      }
      case OpKind::squeeze: {
        const auto& x = map_input();
        if (x[1] != 1 || x[2] != 1) fail("squeezes a map of size " + shape_str(x) + " (H and W must be 1)");
        n.out_shape = {x[0]};
        break;
      }
      case OpKind::dense: {
        if (in.size() != 1 || in[0]->size() != 1) fail("expects a vector input (add a Flatten)");
        if (n.weight.dim(0) != (*in[0])[0]) {
          fail("kernel " + n.weight.shape_string() + " expects " + std::to_string(n.weight.dim(0)) + " inputs but gets " + std::to_string((*in[0])[0]));
        }
        n.out_shape = {n.weight.dim(1)};
        check_bias(n.weight.dim(1));
        break;
      }
    }
    if (n.activation == Activation::softmax && n.out_shape.size() != 1) fail("softmax is only supported on vectors");
  }
  if (graph.output < 0 || graph.nodes.at(graph.output).out_shape.size() != 1) {
    throw Error(ErrorCode::model_invalid, "the model output must be a vector of class scores", model_file);
  }
}

}  // namespace safescan::tfjs

namespace safescan::tfjs {

namespace {

std::vector<int> consumer_counts(const Graph& graph) {
  std::vector<int> uses(graph.nodes.size(), 0);
  for (const Node& n : graph.nodes)
    for (int i : n.inputs) ++uses[i];
  ++uses[graph.output];
  return uses;
}

bool is_conv(const Node& n) { return n.kind == OpKind::conv2d || n.kind == OpKind::depthwise_conv2d; }

// Multiplies output channel o of a conv kernel by scale[o] and sets bias = bias * scale + shift.
void fold_affine_into_conv(Node& conv, const HostTensor& scale, const HostTensor& shift) {
  const auto channels = scale.numel();
  const auto& w = conv.weight;
  // HWIO: output channel = last index. HWCM (depthwise): output channel = c * M + m, also
  // the fastest-varying pair of the last two dims, so both layouts index channels by i % channels.
  for (std::int64_t i = 0; i < w.numel(); ++i) conv.weight.data[i] *= scale.data[i % channels];
  HostTensor bias{{channels}, std::vector<float>(channels, 0.f)};
  for (std::int64_t o = 0; o < channels; ++o) {
    const float b = conv.bias.data.empty() ? 0.f : conv.bias.data[o];
    bias.data[o] = b * scale.data[o] + shift.data[o];
  }
  conv.bias = std::move(bias);
}

}  // namespace

void optimize(Graph& graph) {
  auto uses = consumer_counts(graph);
  for (Node& n : graph.nodes) {
    if (n.inputs.size() != 1) continue;
    Node& prev = graph.nodes[n.inputs[0]];
    const bool sole_consumer = uses[n.inputs[0]] == 1 && n.inputs[0] != graph.output;
    if (!sole_consumer) continue;
    if (n.kind == OpKind::batch_norm && is_conv(prev) && prev.activation == Activation::linear) {
      fold_affine_into_conv(prev, n.scale, n.shift);
      n.kind = OpKind::identity;
      n.scale = n.shift = {};
    } else if (n.kind == OpKind::activation && (is_conv(prev) || prev.kind == OpKind::dense || prev.kind == OpKind::add) &&
               prev.activation == Activation::linear) {
      prev.activation = n.activation;
      n.kind = OpKind::identity;
    }
  }
  // Bypass identities: every reference to an identity node points at its input instead.
  std::vector<int> target(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    target[i] = (n.kind == OpKind::identity && n.inputs.size() == 1) ? target[n.inputs[0]] : static_cast<int>(i);
  }
  for (Node& n : graph.nodes)
    for (int& i : n.inputs) i = target[i];
  graph.output = target[graph.output];
}

}  // namespace safescan::tfjs
