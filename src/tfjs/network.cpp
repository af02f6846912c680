// Graph -> libtorch. The graph is written out as a TorchScript function over the model's
// weights, then frozen and optimised for inference (torch::jit::optimize_for_inference:
// convolutions, their activations and residual adds run inside oneDNN in its blocked
// layout). Large batches run as micro-batches, which keeps activations in cache.
#include "tfjs/network.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdlib>
#include <mutex>
#include <sstream>

#include "tfjs/weights.hpp"
#include "safescan/error.hpp"

namespace safescan::tfjs {

namespace {

at::Tensor to_torch(const HostTensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

// Torch layouts of the kernels: conv HWIO -> OIHW; depthwise H W C M -> (C*M) 1 H W; dense [in, out] -> [out, in].
at::Tensor torch_weight(const Node& n) {
  at::Tensor w = to_torch(n.weight);
  switch (n.kind) {
    case OpKind::conv2d: return w.permute({3, 2, 0, 1}).contiguous();
    case OpKind::depthwise_conv2d:
      return w.permute({2, 3, 0, 1}).reshape({n.weight.dim(2) * n.weight.dim(3), 1, n.weight.dim(0), n.weight.dim(1)}).contiguous();
    case OpKind::dense: return w.t().contiguous();
    default: return w;
  }
}

std::string list2(std::int64_t a, std::int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

std::string pad_list(const std::array<int, 4>& p) {  // constant_pad_nd order: left, right, top, bottom
  return "[" + std::to_string(p[2]) + ", " + std::to_string(p[3]) + ", " + std::to_string(p[0]) + ", " + std::to_string(p[1]) + "]";
}

std::string float_literal(float v) {
  std::ostringstream s;
  s.precision(9);
  s << std::showpoint << v;
  return s.str();
}

std::string activate(const std::string& expr, Activation a) {
  switch (a) {
    case Activation::linear: return expr;
    case Activation::relu: return "torch.relu(" + expr + ")";
    case Activation::relu6: return "torch.hardtanh(" + expr + ", 0.0, 6.0)";
    case Activation::sigmoid: return "torch.sigmoid(" + expr + ")";
    case Activation::tanh: return "torch.tanh(" + expr + ")";
    case Activation::softmax: return "torch.softmax(" + expr + ", 1)";
  }
  return expr;
}

bool symmetric(const std::array<int, 4>& p) { return p[0] == p[1] && p[2] == p[3]; }

// Writes the TorchScript source of `forward` and registers the weights it uses on `module`.
std::string emit_forward(const Graph& g, torch::jit::Module& module) {
  std::vector<bool> needed(g.nodes.size(), false);
  needed[g.output] = true;
  for (int i = static_cast<int>(g.nodes.size()) - 1; i >= 0; --i)
    if (needed[i])
      for (int in : g.nodes[i].inputs) needed[in] = true;

  std::ostringstream src;
  src << "def forward(self, x: Tensor) -> Tensor:\n";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!needed[i]) continue;
    const Node& n = g.nodes[i];
    const std::string id = std::to_string(i);
    auto v = [&](size_t k) { return "v" + std::to_string(n.inputs.at(k)); };
    auto buffer = [&](const std::string& name, const at::Tensor& t) {
      module.register_buffer(name + id, t);
      return "self." + name + id;
    };
    std::string expr;
    switch (n.kind) {
      case OpKind::input:
        expr = "x";
        break;
      case OpKind::conv2d:
      case OpKind::depthwise_conv2d: {
        const std::string w = buffer("w", torch_weight(n));
        const std::string b = n.bias.data.empty() ? "None" : buffer("b", to_torch(n.bias));
        std::string x = v(0);
        std::array<int, 4> pads = n.pads;
        if (!symmetric(pads)) {  // only with dilation > 1; optimize() makes the others symmetric
          x = "torch.constant_pad_nd(" + x + ", " + pad_list(pads) + ", 0.0)";
          pads = {0, 0, 0, 0};
        }
        const auto groups = n.kind == OpKind::depthwise_conv2d ? n.weight.dim(2) : 1;
        expr = "torch.conv2d(" + x + ", " + w + ", " + b + ", " + list2(n.strides[0], n.strides[1]) + ", " +
               list2(pads[0], pads[2]) + ", " + list2(n.dilation[0], n.dilation[1]) + ", " + std::to_string(groups) + ")";
        break;
      }
      case OpKind::batch_norm: {
        const bool map = n.out_shape.size() == 3;
        const auto shape = map ? std::vector<std::int64_t>{1, n.scale.numel(), 1, 1} : std::vector<std::int64_t>{1, n.scale.numel()};
        expr = v(0) + " * " + buffer("s", to_torch(n.scale).reshape(shape)) + " + " + buffer("t", to_torch(n.shift).reshape(shape));
        break;
      }
      case OpKind::scale_shift:
        expr = v(0) + " * " + float_literal(n.scale.data[0]) + " + " + float_literal(n.shift.data[0]);
        break;
      case OpKind::activation:
      case OpKind::identity:
        expr = v(0);
        break;
      case OpKind::add:
        expr = v(0);
        for (size_t k = 1; k < n.inputs.size(); ++k) expr += " + " + v(k);
        break;
      case OpKind::concat:
        expr = "torch.cat([";
        for (size_t k = 0; k < n.inputs.size(); ++k) expr += (k ? ", " : "") + v(k);
        expr += "], 1)";
        break;
      case OpKind::pad:
        expr = "torch.constant_pad_nd(" + v(0) + ", " + pad_list(n.pads) + ", 0.0)";
        break;
      case OpKind::avg_pool: {
        const std::string k = list2(n.kernel[0], n.kernel[1]), s = list2(n.strides[0], n.strides[1]);
        if (symmetric(n.pads)) {  // TensorFlow never counts padding in the average
          expr = "torch.avg_pool2d(" + v(0) + ", " + k + ", " + s + ", " + list2(n.pads[0], n.pads[2]) + ", False, False)";
        } else {
          const auto& in = g.nodes[n.inputs[0]].out_shape;
          auto ones = at::constant_pad_nd(torch::ones({1, 1, in[1], in[2]}), {n.pads[2], n.pads[3], n.pads[0], n.pads[1]}, 0.0);
          const std::string count = buffer("c", at::avg_pool2d(ones, {n.kernel[0], n.kernel[1]}, {n.strides[0], n.strides[1]}));
          expr = "torch.avg_pool2d(torch.constant_pad_nd(" + v(0) + ", " + pad_list(n.pads) + ", 0.0), " + k + ", " + s +
                 ", [0, 0], False, True) / " + count;
        }
        break;
      }
      case OpKind::max_pool: {
        const std::string k = list2(n.kernel[0], n.kernel[1]), s = list2(n.strides[0], n.strides[1]);
        if (symmetric(n.pads)) {
          expr = "torch.max_pool2d(" + v(0) + ", " + k + ", " + s + ", " + list2(n.pads[0], n.pads[2]) + ", [1, 1], False)";
        } else {
          expr = "torch.max_pool2d(torch.constant_pad_nd(" + v(0) + ", " + pad_list(n.pads) + ", float(\"-inf\")), " + k +
                 ", " + s + ", [0, 0], [1, 1], False)";
        }
        break;
      }
      case OpKind::global_avg_pool:
        expr = "torch.mean(" + v(0) + ", [2, 3])";
        break;
      case OpKind::flatten:  // TensorFlow flattens H, W, C (channels last)
        expr = g.nodes[n.inputs[0]].out_shape.size() == 3 ? "torch.flatten(" + v(0) + ".permute([0, 2, 3, 1]), 1)" : v(0);
        break;
      case OpKind::squeeze:
        expr = "torch.flatten(" + v(0) + ", 1)";
        break;
      case OpKind::dense: {
        const std::string w = buffer("w", torch_weight(n));
        expr = n.bias.data.empty() ? "torch.matmul(" + v(0) + ", " + w + ".t())"
                                   : "torch.addmm(" + buffer("b", to_torch(n.bias)) + ", " + v(0) + ", " + w + ".t())";
        break;
      }
      case OpKind::softmax:
        expr = "torch.softmax(" + v(0) + ", 1)";
        break;
    }
    src << "    v" << id << " = " << activate(expr, n.activation) << "\n";
  }
  src << "    return v" << g.output << "\n";
  return src.str();
}

int default_micro_batch() {
  if (const char* env = std::getenv("SAFESCAN_MICRO_BATCH"); env && std::atoi(env) > 0) return std::atoi(env);
  return 4;  // measured: see docs/PERFORMANCE.md
}

}  // namespace

struct Network::Impl {
  Graph graph;
  torch::jit::Module module{"safescan_tfjs_network"};
  int micro_batch = default_micro_batch();
  // For gradients: the same source, not frozen (freezing and optimize_for_inference make
  // an inference-only module). Built on first use.
  std::once_flag grad_once;
  std::unique_ptr<torch::jit::Module> grad_module;
  std::mutex grad_mu;  // one backward at a time through the shared module
};

Network::Network(Graph graph) : impl_(std::make_unique<Impl>()) {
  torch::NoGradGuard no_grad;
  optimize(graph);
  Impl& m = *impl_;
  const std::string source = emit_forward(graph, m.module);
  try {
    m.module.define(source);
    m.module.eval();
    torch::jit::Module frozen = torch::jit::freeze(m.module);
    m.module = torch::jit::optimize_for_inference(frozen);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::internal, std::string("could not compile the network for libtorch: ") + e.what_without_backtrace());
  }
  m.graph = std::move(graph);
}

std::vector<float> Network::run_with_gradient(const float* input, int batch, const Gradient& gradient, float* input_grad) const {
  Impl& m = *impl_;
  std::call_once(m.grad_once, [&] {
    auto module = std::make_unique<torch::jit::Module>("safescan_tfjs_network_grad");
    torch::NoGradGuard no_grad;
    module->define(emit_forward(m.graph, *module));
    module->eval();
    m.grad_module = std::move(module);
  });
  std::lock_guard lock(m.grad_mu);
  torch::AutoGradMode enable(true);
  const int s = input_size(), c = input_channels(), k = output_size();
  at::Tensor x = torch::from_blob(const_cast<float*>(input), {batch, c, s, s}, torch::kFloat32).clone().requires_grad_(true);
  at::Tensor y = m.grad_module->forward({x}).toTensor();
  const at::Tensor yc = y.detach().to(torch::kFloat32).contiguous();
  std::vector<float> out(yc.data_ptr<float>(), yc.data_ptr<float>() + yc.numel());
  std::vector<float> w(out.size(), 0.0f);
  gradient(out.data(), w.data());
  (y * torch::from_blob(w.data(), {batch, k}, torch::kFloat32)).sum().backward();
  const at::Tensor g = x.grad().contiguous();
  std::copy_n(g.data_ptr<float>(), g.numel(), input_grad);
  return out;
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
  const int s = input_size(), c = input_channels(), k = output_size();
  const std::int64_t per = static_cast<std::int64_t>(c) * s * s;
  std::vector<float> out(static_cast<size_t>(batch) * k);
  for (int start = 0; start < batch; start += impl_->micro_batch) {
    const int n = std::min(impl_->micro_batch, batch - start);
    at::Tensor x = torch::from_blob(const_cast<float*>(input) + start * per, {n, c, s, s}, torch::kFloat32);
    at::Tensor y = impl_->module.forward({x}).toTensor().contiguous();
    if (y.numel() != static_cast<std::int64_t>(n) * k) {
      throw Error(ErrorCode::internal, "network produced " + std::to_string(y.numel()) + " values for " + std::to_string(n) + " images");
    }
    std::copy_n(y.data_ptr<float>(), y.numel(), out.begin() + static_cast<std::ptrdiff_t>(start) * k);
  }
  return out;
}

}  // namespace safescan::tfjs
