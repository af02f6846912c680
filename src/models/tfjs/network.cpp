// Graph -> libtorch execution. NCHW tensors in channels-last memory (what oneDNN's CPU
// convolutions prefer); weights converted once at load time.
#include "models/tfjs/network.hpp"

#include <torch/torch.h>

#include "models/tfjs/weights.hpp"
#include "safescan/error.hpp"

namespace safescan::tfjs {

namespace {

at::Tensor to_torch(const HostTensor& t) {
  if (t.data.empty()) return {};
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

struct Step {
  OpKind kind;
  Activation activation;
  std::vector<int> inputs;
  at::Tensor weight, bias, scale, shift;  // torch layouts
  std::vector<int64_t> stride, dilation, kernel;
  std::array<int, 4> pads{};  // top, bottom, left, right
  bool symmetric = true;
  int64_t groups = 1;
  at::Tensor avg_count;  // avg_pool with asymmetric 'same' padding: number of real pixels per window
};

at::Tensor activate(at::Tensor x, Activation a) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::relu: return x.relu_();
    case Activation::relu6: return x.clamp_(0.0, 6.0);
    case Activation::sigmoid: return x.sigmoid_();
    case Activation::tanh: return x.tanh_();
    case Activation::softmax: return at::softmax(x, 1);
  }
  return x;
}

}  // namespace

struct Network::Impl {
  Graph graph;
  std::vector<Step> steps;      // one per graph node (unreferenced ones are skipped)
  std::vector<int> live;        // indices of the nodes actually computed, in order
  std::vector<int> last_use;    // for each node, the step after which its value can be freed
};

Network::Network(Graph graph) : impl_(std::make_unique<Impl>()) {
  torch::NoGradGuard no_grad;
  optimize(graph);
  Impl& m = *impl_;
  const auto count = graph.nodes.size();
  // Which nodes are needed for the output.
  std::vector<bool> needed(count, false);
  needed[graph.output] = true;
  for (int i = static_cast<int>(count) - 1; i >= 0; --i) {
    if (!needed[i]) continue;
    for (int in : graph.nodes[i].inputs) needed[in] = true;
  }
  m.steps.resize(count);
  m.last_use.assign(count, -1);
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph.nodes[i];
    if (!needed[i]) continue;
    m.live.push_back(static_cast<int>(i));
    for (int in : n.inputs) m.last_use[in] = static_cast<int>(i);
    Step& s = m.steps[i];
    s.kind = n.kind;
    s.activation = n.activation;
    s.inputs = n.inputs;
    s.stride = {n.strides[0], n.strides[1]};
    s.dilation = {n.dilation[0], n.dilation[1]};
    s.kernel = {n.kernel[0], n.kernel[1]};
    s.pads = n.pads;
    s.symmetric = n.pads[0] == n.pads[1] && n.pads[2] == n.pads[3];
    switch (n.kind) {
      case OpKind::conv2d:  // HWIO -> OIHW
        s.weight = to_torch(n.weight).permute({3, 2, 0, 1}).contiguous(at::MemoryFormat::ChannelsLast);
        break;
      case OpKind::depthwise_conv2d: {  // H W C M -> (C*M) 1 H W
        const auto c = n.weight.dim(2), mult = n.weight.dim(3);
        s.weight = to_torch(n.weight).permute({2, 3, 0, 1}).reshape({c * mult, 1, n.weight.dim(0), n.weight.dim(1)})
                       .contiguous(at::MemoryFormat::ChannelsLast);
        s.groups = c;
        break;
      }
      case OpKind::dense:  // [in, out] -> [out, in]
        s.weight = to_torch(n.weight).t().contiguous();
        break;
      case OpKind::batch_norm:
        s.scale = to_torch(n.scale).reshape({1, -1, 1, 1});
        s.shift = to_torch(n.shift).reshape({1, -1, 1, 1});
        if (n.out_shape.size() == 1) {
          s.scale = s.scale.reshape({1, -1});
          s.shift = s.shift.reshape({1, -1});
        }
        break;
      case OpKind::scale_shift:
        s.scale = to_torch(n.scale);
        s.shift = to_torch(n.shift);
        break;
      case OpKind::avg_pool:
        if (!s.symmetric) {
          const auto& x = graph.nodes[n.inputs[0]].out_shape;
          auto ones = torch::ones({1, 1, x[1], x[2]});
          ones = at::constant_pad_nd(ones, {n.pads[2], n.pads[3], n.pads[0], n.pads[1]}, 0.0);
          s.avg_count = at::avg_pool2d(ones, s.kernel, s.stride, {0, 0}, false, true);
        }
        break;
      default:
        break;
    }
    if (n.bias.numel() > 0) s.bias = to_torch(n.bias);
  }
  m.graph = std::move(graph);
}

Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&&) noexcept = default;

Network Network::load(const std::filesystem::path& model_dir_or_json) { return Network(load_graph(model_dir_or_json)); }

int Network::input_size() const { return impl_->graph.input_size; }
int Network::input_channels() const { return impl_->graph.input_channels; }
int Network::output_size() const { return static_cast<int>(impl_->graph.nodes[impl_->graph.output].out_shape.at(0)); }
const std::string& Network::format() const { return impl_->graph.format; }

std::vector<float> Network::run(const float* input, int batch) const {
  torch::InferenceMode guard;
  const Impl& m = *impl_;
  const int s = input_size(), c = input_channels();
  std::vector<at::Tensor> values(m.steps.size());
  for (int idx : m.live) {
    const Step& st = m.steps[idx];
    auto in = [&](size_t k) -> const at::Tensor& { return values[st.inputs.at(k)]; };
    at::Tensor y;
    switch (st.kind) {
      case OpKind::input:
        y = torch::from_blob(const_cast<float*>(input), {batch, c, s, s}, torch::kFloat32)
                .contiguous(at::MemoryFormat::ChannelsLast);
        break;
      case OpKind::conv2d:
      case OpKind::depthwise_conv2d: {
        at::Tensor x = in(0);
        std::vector<int64_t> padding{st.pads[0], st.pads[2]};
        if (!st.symmetric) {
          x = at::constant_pad_nd(x, {st.pads[2], st.pads[3], st.pads[0], st.pads[1]}, 0.0);
          padding = {0, 0};
        }
        y = at::conv2d(x, st.weight, st.bias, st.stride, padding, st.dilation, st.groups);
        break;
      }
      case OpKind::batch_norm:
        y = in(0) * st.scale + st.shift;
        break;
      case OpKind::scale_shift:
        y = in(0) * st.scale + st.shift;
        break;
      case OpKind::activation:
        y = in(0).clone(at::MemoryFormat::Preserve);
        break;
      case OpKind::add:
        y = in(0) + in(1);
        for (size_t k = 2; k < st.inputs.size(); ++k) y.add_(in(k));
        break;
      case OpKind::concat: {
        std::vector<at::Tensor> parts;
        for (size_t k = 0; k < st.inputs.size(); ++k) parts.push_back(in(k));
        y = at::cat(parts, 1);
        break;
      }
      case OpKind::pad:
        y = at::constant_pad_nd(in(0), {st.pads[2], st.pads[3], st.pads[0], st.pads[1]}, 0.0);
        break;
      case OpKind::avg_pool:
        if (st.symmetric) {
          y = at::avg_pool2d(in(0), st.kernel, st.stride, {st.pads[0], st.pads[2]}, false, /*count_include_pad=*/false);
        } else {
          auto x = at::constant_pad_nd(in(0), {st.pads[2], st.pads[3], st.pads[0], st.pads[1]}, 0.0);
          y = at::avg_pool2d(x, st.kernel, st.stride, {0, 0}, false, true) / st.avg_count;
        }
        break;
      case OpKind::max_pool: {
        at::Tensor x = in(0);
        std::vector<int64_t> padding{st.pads[0], st.pads[2]};
        if (!st.symmetric) {
          x = at::constant_pad_nd(x, {st.pads[2], st.pads[3], st.pads[0], st.pads[1]}, -INFINITY);
          padding = {0, 0};
        }
        y = at::max_pool2d(x, st.kernel, st.stride, padding);
        break;
      }
      case OpKind::global_avg_pool:
        y = in(0).mean({2, 3});
        break;
      case OpKind::flatten:
        y = in(0).dim() == 4 ? in(0).permute({0, 2, 3, 1}).reshape({batch, -1}) : in(0);
        break;
      case OpKind::squeeze:
        y = in(0).reshape({batch, -1});
        break;
      case OpKind::dense:
        y = at::linear(in(0), st.weight, st.bias);
        break;
      case OpKind::softmax:
        y = at::softmax(in(0), 1);
        break;
      case OpKind::identity:
        y = in(0);
        break;
    }
    values[idx] = activate(std::move(y), st.activation);
    for (int k : st.inputs)
      if (m.last_use[k] == idx) values[k] = at::Tensor();
  }
  at::Tensor out = values[m.graph.output].contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

}  // namespace safescan::tfjs
