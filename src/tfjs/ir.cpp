#include "tfjs/ir.hpp"

#include <algorithm>
#include <cstdlib>

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

// Widens a kernel so that asymmetric padding (TensorFlow's SAME with an even input, or a
// ZeroPadding2D before a VALID convolution) becomes symmetric: with pads (before, after),
// after > before, a conv with kernel K equals a conv with kernel K + (after - before) whose
// first rows are zero, padded by `after` on both sides (and the mirror case). Symmetric
// padding keeps the whole network inside oneDNN, where an explicit pad op would force two
// layout conversions.
void make_padding_symmetric(Node& conv) {
  const int dh = conv.pads[1] - conv.pads[0], dw = conv.pads[3] - conv.pads[2];
  if (dh == 0 && dw == 0) return;
  const auto kh = conv.weight.dim(0), kw = conv.weight.dim(1), ci = conv.weight.dim(2), co = conv.weight.dim(3);
  const auto nkh = kh + std::abs(dh), nkw = kw + std::abs(dw);
  const auto off_h = dh > 0 ? dh : 0, off_w = dw > 0 ? dw : 0;  // zero rows go first when `after` is larger
  HostTensor w{{nkh, nkw, ci, co}, std::vector<float>(static_cast<size_t>(nkh * nkw * ci * co), 0.f)};
  const auto inner = ci * co;
  for (std::int64_t y = 0; y < kh; ++y)
    for (std::int64_t x = 0; x < kw; ++x)
      std::copy_n(conv.weight.data.begin() + (y * kw + x) * inner, inner, w.data.begin() + ((y + off_h) * nkw + x + off_w) * inner);
  conv.weight = std::move(w);
  conv.kernel = {static_cast<int>(nkh), static_cast<int>(nkw)};
  const int ph = std::max(conv.pads[0], conv.pads[1]), pw = std::max(conv.pads[2], conv.pads[3]);
  conv.pads = {ph, ph, pw, pw};
}

// Moves an explicit zero-padding node into the convolution it feeds, then makes every
// convolution's padding symmetric.
void fold_padding_into_convs(Graph& graph) {
  std::vector<int> uses(graph.nodes.size(), 0);
  for (const Node& n : graph.nodes)
    for (int i : n.inputs) ++uses[i];
  for (Node& n : graph.nodes) {
    if (!is_conv(n) || n.dilation != std::array<int, 2>{1, 1}) continue;
    Node& src = graph.nodes[n.inputs[0]];
    if (src.kind == OpKind::pad && uses[n.inputs[0]] == 1 && n.inputs[0] != graph.output) {
      for (int k = 0; k < 4; ++k) n.pads[k] += src.pads[k];
      n.inputs[0] = src.inputs[0];
    }
    make_padding_symmetric(n);
  }
}

}  // namespace

void optimize(Graph& graph) {
  // target[i]: the node whose value node i has (itself, or what an identity passes through).
  std::vector<int> target(graph.nodes.size());
  auto uses = consumer_counts(graph);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& n = graph.nodes[i];
    for (int& in : n.inputs) in = target[in];
    target[i] = static_cast<int>(i);
    if (n.kind == OpKind::identity && n.inputs.size() == 1) {
      target[i] = n.inputs[0];
      uses[n.inputs[0]] += uses[i] - 1;  // its consumers now read the input directly
      continue;
    }
    if (n.inputs.size() != 1) continue;
    const int p = n.inputs[0];
    Node& prev = graph.nodes[p];
    // prev's value may only be rewritten when n is its sole consumer and it is not the output.
    if (uses[p] != 1 || p == graph.output) continue;
    if (n.kind == OpKind::batch_norm && is_conv(prev) && prev.activation == Activation::linear) {
      fold_affine_into_conv(prev, n.scale, n.shift);
    } else if (n.kind == OpKind::activation && (is_conv(prev) || prev.kind == OpKind::dense || prev.kind == OpKind::add) &&
               prev.activation == Activation::linear) {
      prev.activation = n.activation;
    } else {
      continue;
    }
    // n now passes prev's value through.
    Node pass_through;
    pass_through.name = n.name;
    pass_through.kind = OpKind::identity;
    pass_through.inputs = {p};
    pass_through.out_shape = prev.out_shape;
    n = std::move(pass_through);
    target[i] = p;
    uses[p] = uses[i];  // prev's value now reaches n's consumers
  }
  graph.output = target[graph.output];
  fold_padding_into_convs(graph);
}

}  // namespace safescan::tfjs
