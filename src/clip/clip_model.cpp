// CLIP's ViT image encoder and text encoder in libtorch, as openai/CLIP's model.py computes
// them: pre-LayerNorm residual attention blocks, QuickGELU MLPs, class token, causal text
// mask, end-token pooling, projections. LayerNorm always runs in float32 (as the reference's
// LayerNorm subclass does); matrix products run in the chosen precision.
#include <torch/torch.h>

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "clip/clip_weights.hpp"
#include "io/tensor_file.hpp"
#include "safescan/clip.hpp"
#include "safescan/error.hpp"
#include "safescan/resize.hpp"

namespace safescan {

namespace {

at::Tensor to_torch(const io::RawTensor& t) {
  const auto values = t.to_float();
  return torch::from_blob(const_cast<float*>(values.data()), t.shape, torch::kFloat32).clone();
}

// A linear layer in the chosen precision. y = x W^T + b.
//  - fp32 / bf16: at::linear on weights stored in that type (bf16 uses oneDNN's AVX-512 BF16
//    kernels where the CPU has them).
//  - int8: dynamic quantisation as torch.ao.quantization.quantize_dynamic does it: weights
//    quantised once to int8 (per output channel, symmetric), activations quantised per call,
//    run by the oneDNN quantized engine (Debian's libtorch has no FBGEMM).
struct Linear {
  at::Tensor weight, bias;  // fp32 or bf16
  c10::IValue packed;       // int8: the engine's prepacked weight
  bool int8 = false;

  at::Tensor operator()(const at::Tensor& x) const {
    if (int8) {
      static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
      const auto shape = x.sizes().vec();
      torch::jit::Stack stack{x.to(torch::kFloat32).reshape({-1, shape.back()}).contiguous(), packed, false};
      op.callBoxed(&stack);
      auto out_shape = shape;
      at::Tensor y = stack.at(0).toTensor();
      out_shape.back() = y.size(-1);
      return y.view(out_shape);
    }
    return at::linear(x.to(weight.scalar_type()), weight, bias);
  }
};

void use_onednn_quantized_engine() {
  static std::once_flag once;
  std::call_once(once, [] {
    const auto& engines = at::globalContext().supportedQEngines();
    if (std::find(engines.begin(), engines.end(), at::QEngine::ONEDNN) == engines.end()) {
      throw Error(ErrorCode::invalid_argument, "--precision int8 needs libtorch's oneDNN quantized engine, which this build lacks");
    }
    at::globalContext().setQEngine(at::QEngine::ONEDNN);
  });
}

Linear make_linear(const at::Tensor& w, const at::Tensor& b, ClipPrecision p) {
  Linear l;
  if (p == ClipPrecision::int8) {
    use_onednn_quantized_engine();
    const at::Tensor scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12).to(torch::kDouble);
    const at::Tensor zero_points = torch::zeros({w.size(0)}, torch::kLong);
    const at::Tensor qw = at::quantize_per_channel(w.contiguous(), scales, zero_points, 0, torch::kQInt8);
    static const auto prepack = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
    torch::jit::Stack stack{qw, b.defined() ? c10::IValue(b.contiguous()) : c10::IValue()};
    prepack.callBoxed(&stack);
    l.packed = stack.at(0);
    l.int8 = true;
    return l;
  }
  const auto dtype = p == ClipPrecision::bf16 ? torch::kBFloat16 : torch::kFloat32;
  l.weight = w.to(dtype).contiguous();
  if (b.defined()) l.bias = b.to(dtype);
  return l;
}

struct LayerNorm {
  at::Tensor weight, bias;
  at::Tensor operator()(const at::Tensor& x) const {
    return at::layer_norm(x.to(torch::kFloat32), {weight.size(0)}, weight, bias, 1e-5);
  }
};

struct Block {
  LayerNorm ln_1, ln_2;
  Linear in_proj, out_proj, c_fc, c_proj;
};

struct Transformer {
  std::vector<Block> blocks;
  int heads = 1;

  at::Tensor operator()(at::Tensor x, const at::Tensor& mask) const {
    // x: [batch, length, width], float32 residual stream.
    const auto b = x.size(0), len = x.size(1), width = x.size(2), head_dim = width / heads;
    const double scaling = 1.0 / std::sqrt(static_cast<double>(head_dim));
    for (const Block& blk : blocks) {
      at::Tensor h = blk.ln_1(x);
      at::Tensor qkv = blk.in_proj(h).view({b, len, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});  // 3 x [b, h, len, d]
      at::Tensor q = qkv[0] * scaling, k = qkv[1], v = qkv[2];
      at::Tensor attn = at::matmul(q, k.transpose(-2, -1));
      if (mask.defined()) attn = attn + mask.to(attn.scalar_type());
      attn = at::softmax(attn.to(torch::kFloat32), -1).to(v.scalar_type());
      at::Tensor o = at::matmul(attn, v).permute({0, 2, 1, 3}).reshape({b, len, width});
      x = x + blk.out_proj(o).to(torch::kFloat32);
      h = blk.c_fc(blk.ln_2(x));
      h = h * at::sigmoid(1.702 * h);  // QuickGELU
      x = x + blk.c_proj(h).to(torch::kFloat32);
    }
    return x;
  }
};

}  // namespace

struct ClipModel::Impl {
  ClipConfig config;
  ClipPrecision precision = ClipPrecision::fp32;
  float logit_scale = 1.f;
  // vision
  at::Tensor conv1, class_embedding, vision_positional;
  LayerNorm ln_pre, ln_post;
  Transformer visual;
  at::Tensor visual_proj;
  // text
  at::Tensor token_embedding, text_positional;
  Transformer text;
  LayerNorm ln_final;
  at::Tensor text_proj;

  // The image tower on normalised pixels [b, 3, r, r] -> embeddings [b, embed_dim].
  at::Tensor image_tower(at::Tensor x) const {
    const int batch = static_cast<int>(x.size(0));
    const int p = config.vision_patch_size, w = config.vision_width;
    x = at::conv2d(x, conv1, {}, {p, p});                    // [b, w, g, g]
    x = x.reshape({batch, w, -1}).permute({0, 2, 1});        // [b, g*g, w]
    x = at::cat({class_embedding.view({1, 1, w}).expand({batch, 1, w}), x}, 1) + vision_positional;
    x = ln_pre(x);
    x = visual(x, {});
    x = ln_post(x.select(1, 0));
    return at::matmul(x, visual_proj);
  }
};

ClipModel::ClipModel() = default;
ClipModel::ClipModel(ClipModel&&) noexcept = default;
ClipModel& ClipModel::operator=(ClipModel&&) noexcept = default;
ClipModel::~ClipModel() = default;

ClipModel ClipModel::load(const std::filesystem::path& checkpoint, ClipPrecision precision) {
  return from_tensors(io::read_checkpoint(checkpoint), checkpoint, precision);
}

ClipConfig ClipModel::openai_config(std::string_view name) {
  if (const ClipVariant* v = find_clip_variant(name)) return v->config;
  throw Error(ErrorCode::invalid_argument, "unknown CLIP variant '" + std::string(name) + "' (" + clip_variant_names() + ")");
}

ClipModel ClipModel::with_random_weights(const ClipConfig& config, ClipPrecision precision, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  io::TensorMap tensors;
  const auto keys = clip::expected_keys(config);
  for (const auto& key : keys) {
    const auto shape = clip::expected_shape(config, key);
    const bool is_norm_weight = key.find("ln_") != std::string::npos && key.ends_with(".weight");
    at::Tensor t = is_norm_weight ? torch::ones(shape) : key == "logit_scale" ? torch::full(shape, std::log(100.0f))
                                                                              : torch::randn(shape) * 0.02;
    io::RawTensor r;
    r.dtype = io::DType::f32;
    r.shape = shape;
    r.data.resize(static_cast<size_t>(t.numel()) * 4);
    std::memcpy(r.data.data(), t.contiguous().data_ptr<float>(), r.data.size());
    tensors.emplace(key, std::move(r));
  }
  return from_tensors(tensors, "random-" + std::to_string(config.vision_width) + "x" + std::to_string(config.vision_layers), precision);
}

ClipModel ClipModel::from_tensors(const io::TensorMap& tensors, const std::filesystem::path& checkpoint, ClipPrecision precision) {
  torch::NoGradGuard no_grad;
  ClipModel m;
  m.impl_ = std::make_unique<Impl>();
  Impl& d = *m.impl_;
  d.config = clip::infer_config(tensors, checkpoint);
  d.precision = precision;
  auto t = [&](const std::string& key) { return to_torch(tensors.at(key)); };
  auto load_transformer = [&](const std::string& prefix, int layers, int heads) {
    Transformer tr;
    tr.heads = heads;
    for (int i = 0; i < layers; ++i) {
      const std::string b = prefix + "resblocks." + std::to_string(i) + ".";
      Block blk;
      blk.ln_1 = {t(b + "ln_1.weight"), t(b + "ln_1.bias")};
      blk.ln_2 = {t(b + "ln_2.weight"), t(b + "ln_2.bias")};
      blk.in_proj = make_linear(t(b + "attn.in_proj_weight"), t(b + "attn.in_proj_bias"), precision);
      blk.out_proj = make_linear(t(b + "attn.out_proj.weight"), t(b + "attn.out_proj.bias"), precision);
      blk.c_fc = make_linear(t(b + "mlp.c_fc.weight"), t(b + "mlp.c_fc.bias"), precision);
      blk.c_proj = make_linear(t(b + "mlp.c_proj.weight"), t(b + "mlp.c_proj.bias"), precision);
      tr.blocks.push_back(std::move(blk));
    }
    return tr;
  };
  d.conv1 = t("visual.conv1.weight");
  d.class_embedding = t("visual.class_embedding");
  d.vision_positional = t("visual.positional_embedding");
  d.ln_pre = {t("visual.ln_pre.weight"), t("visual.ln_pre.bias")};
  d.ln_post = {t("visual.ln_post.weight"), t("visual.ln_post.bias")};
  d.visual = load_transformer("visual.transformer.", d.config.vision_layers, d.config.vision_heads);
  d.visual_proj = t("visual.proj");
  d.token_embedding = t("token_embedding.weight");
  d.text_positional = t("positional_embedding");
  d.text = load_transformer("transformer.", d.config.text_layers, d.config.text_heads);
  d.ln_final = {t("ln_final.weight"), t("ln_final.bias")};
  d.text_proj = t("text_projection");
  d.logit_scale = std::exp(tensors.at("logit_scale").to_float().at(0));
  return m;
}

const ClipConfig& ClipModel::config() const { return impl_->config; }
ClipPrecision ClipModel::precision() const { return impl_->precision; }
float ClipModel::logit_scale() const { return impl_->logit_scale; }
std::size_t ClipModel::input_floats() const {
  return 3ull * impl_->config.image_resolution * impl_->config.image_resolution;
}

void ClipModel::preprocess(const Image& image, float* out) const {
  clip_preprocess(image, impl_->config.image_resolution, kClipMean, kClipStd, out);
}

std::vector<float> ClipModel::encode_images(const float* pixels, int batch) const {
  torch::InferenceMode guard;
  const Impl& d = *impl_;
  const int r = d.config.image_resolution;
  if (batch <= 0) return {};
  at::Tensor x = torch::from_blob(const_cast<float*>(pixels), {batch, 3, r, r}, torch::kFloat32);
  at::Tensor out = d.image_tower(x).contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::vector<float> ClipModel::encode_images_with_gradient(const float* pixels, int batch, const Gradient& gradient,
                                                          float* pixel_grad) const {
  const Impl& d = *impl_;
  if (d.precision == ClipPrecision::int8)
    throw Error(ErrorCode::invalid_argument, "gradients need --precision fp32 or bf16 (int8's quantised kernels have none)");
  const int r = d.config.image_resolution, e = d.config.embed_dim;
  if (batch <= 0) return {};
  torch::AutoGradMode enable(true);
  at::Tensor x = torch::from_blob(const_cast<float*>(pixels), {batch, 3, r, r}, torch::kFloat32).clone().requires_grad_(true);
  at::Tensor y = d.image_tower(x).to(torch::kFloat32);
  const at::Tensor yc = y.detach().contiguous();
  std::vector<float> out(yc.data_ptr<float>(), yc.data_ptr<float>() + yc.numel());
  std::vector<float> g(out.size(), 0.0f);
  gradient(out.data(), g.data());
  (y * torch::from_blob(g.data(), {batch, e}, torch::kFloat32)).sum().backward();
  const at::Tensor gx = x.grad().contiguous();
  std::copy_n(gx.data_ptr<float>(), gx.numel(), pixel_grad);
  return out;
}

std::vector<float> ClipModel::encode_texts(const std::vector<std::vector<int>>& tokens) const {
  torch::InferenceMode guard;
  const Impl& d = *impl_;
  if (tokens.empty()) return {};
  // Causal attention: positions after the longest sequence cannot change any output that is
  // read, so the batch is padded only to its longest sequence.
  size_t len = 1;
  for (const auto& t : tokens) {
    if (t.empty() || t.size() > static_cast<size_t>(d.config.context_length)) {
      throw Error(ErrorCode::invalid_argument, "token sequences must have 1 to " + std::to_string(d.config.context_length) + " tokens");
    }
    len = std::max(len, t.size());
  }
  const auto b = static_cast<std::int64_t>(tokens.size()), l = static_cast<std::int64_t>(len);
  at::Tensor ids = torch::zeros({b, l}, torch::kLong);
  auto acc = ids.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < b; ++i) {
    for (size_t j = 0; j < tokens[i].size(); ++j) {
      const int id = tokens[i][j];
      if (id < 0 || id >= d.config.vocab_size) throw Error(ErrorCode::invalid_argument, "token id " + std::to_string(id) + " is out of range");
      acc[i][j] = id;
    }
  }
  at::Tensor x = at::embedding(d.token_embedding, ids) + d.text_positional.slice(0, 0, l);
  at::Tensor mask = torch::full({l, l}, -INFINITY).triu(1);
  x = d.text(x, mask);
  x = d.ln_final(x);
  at::Tensor eot = ids.argmax(-1);  // the end token has the largest id, as the reference assumes
  x = x.index({torch::arange(b), eot});
  at::Tensor out = at::matmul(x, d.text_proj).contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

}  // namespace safescan
