#include "clip/clip_weights.hpp"

#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "safescan/error.hpp"

namespace safescan::clip {

namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_str(const Shape& s) {
  io::RawTensor t;
  t.shape = s;
  return t.shape_string();
}

int count_blocks(const io::TensorMap& tensors, const std::string& prefix) {
  std::set<int> blocks;
  const std::regex re("^" + prefix + R"(resblocks\.(\d+)\.)");
  for (const auto& [name, t] : tensors) {
    std::smatch m;
    if (std::regex_search(name, m, re)) blocks.insert(std::stoi(m[1]));
  }
  if (blocks.empty()) return 0;
  if (*blocks.rbegin() + 1 != static_cast<int>(blocks.size())) return -1;  // a gap in the numbering
  return static_cast<int>(blocks.size());
}

const io::RawTensor& need(const io::TensorMap& tensors, const std::string& key, const std::filesystem::path& file) {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw Error(ErrorCode::model_invalid, "missing tensor '" + key + "'", file.string());
  return it->second;
}

void add_block_shapes(std::map<std::string, Shape>& out, const std::string& prefix, int layers, std::int64_t w) {
  for (int i = 0; i < layers; ++i) {
    const std::string b = prefix + "resblocks." + std::to_string(i) + ".";
    out[b + "attn.in_proj_weight"] = {3 * w, w};
    out[b + "attn.in_proj_bias"] = {3 * w};
    out[b + "attn.out_proj.weight"] = {w, w};
    out[b + "attn.out_proj.bias"] = {w};
    out[b + "ln_1.weight"] = out[b + "ln_1.bias"] = {w};
    out[b + "mlp.c_fc.weight"] = {4 * w, w};
    out[b + "mlp.c_fc.bias"] = {4 * w};
    out[b + "mlp.c_proj.weight"] = {w, 4 * w};
    out[b + "mlp.c_proj.bias"] = {w};
    out[b + "ln_2.weight"] = out[b + "ln_2.bias"] = {w};
  }
}

std::map<std::string, Shape> expected_shapes(const ClipConfig& c) {
  std::map<std::string, Shape> s;
  const std::int64_t vw = c.vision_width, tw = c.text_width, grid = c.image_resolution / c.vision_patch_size;
  s["visual.conv1.weight"] = {vw, 3, c.vision_patch_size, c.vision_patch_size};
  s["visual.class_embedding"] = {vw};
  s["visual.positional_embedding"] = {grid * grid + 1, vw};
  s["visual.ln_pre.weight"] = s["visual.ln_pre.bias"] = {vw};
  add_block_shapes(s, "visual.transformer.", c.vision_layers, vw);
  s["visual.ln_post.weight"] = s["visual.ln_post.bias"] = {vw};
  s["visual.proj"] = {vw, c.embed_dim};
  s["token_embedding.weight"] = {c.vocab_size, tw};
  s["positional_embedding"] = {c.context_length, tw};
  add_block_shapes(s, "transformer.", c.text_layers, tw);
  s["ln_final.weight"] = s["ln_final.bias"] = {tw};
  s["text_projection"] = {tw, c.embed_dim};
  s["logit_scale"] = {};
  return s;
}

}  // namespace

ClipConfig infer_config(const io::TensorMap& tensors, const std::filesystem::path& file) {
  if (tensors.count("visual.layer1.0.conv1.weight") || tensors.count("visual.attnpool.positional_embedding")) {
    throw Error(ErrorCode::model_invalid, "ResNet CLIP models (RN50, RN101, ...) are not supported; use a ViT model", file.string());
  }
  auto dim = [&](const std::string& key, size_t rank, size_t i) {
    const auto& t = need(tensors, key, file);
    if (t.shape.size() != rank) {
      throw Error(ErrorCode::model_invalid, "tensor '" + key + "' has shape " + t.shape_string() + ", expected rank " + std::to_string(rank),
                  file.string());
    }
    return static_cast<int>(t.shape[i]);
  };
  ClipConfig c;
  c.vision_width = dim("visual.conv1.weight", 4, 0);
  c.vision_patch_size = dim("visual.conv1.weight", 4, 3);
  const int positions = dim("visual.positional_embedding", 2, 0);
  const int grid = static_cast<int>(std::lround(std::sqrt(positions - 1.0)));
  if (grid * grid + 1 != positions) {
    throw Error(ErrorCode::model_invalid, "visual.positional_embedding has " + std::to_string(positions) + " rows, not a square grid + 1",
                file.string());
  }
  c.image_resolution = grid * c.vision_patch_size;
  c.vision_layers = count_blocks(tensors, R"(visual\.transformer\.)");
  if (c.vision_layers <= 0) {
    throw Error(ErrorCode::model_invalid, "visual.transformer.resblocks.N: blocks are missing or not numbered 0..N-1", file.string());
  }
  c.embed_dim = dim("text_projection", 2, 1);
  c.context_length = dim("positional_embedding", 2, 0);
  c.vocab_size = dim("token_embedding.weight", 2, 0);
  c.text_width = dim("ln_final.weight", 1, 0);
  c.text_layers = count_blocks(tensors, R"(transformer\.)");
  if (c.text_layers <= 0) {
    throw Error(ErrorCode::model_invalid, "transformer.resblocks.N: blocks are missing or not numbered 0..N-1", file.string());
  }
  if (c.vision_width % 64 || c.text_width % 64) {
    throw Error(ErrorCode::model_invalid, "transformer widths must be multiples of 64 (heads = width / 64), got " +
                                              std::to_string(c.vision_width) + " and " + std::to_string(c.text_width),
                file.string());
  }
  c.vision_heads = c.vision_width / 64;
  c.text_heads = c.text_width / 64;
  for (const auto& [key, shape] : expected_shapes(c)) {
    const auto& t = need(tensors, key, file);
    if (t.shape != shape && !(shape.empty() && t.numel() == 1)) {
      throw Error(ErrorCode::model_invalid, "tensor '" + key + "' has shape " + t.shape_string() + ", expected " + shape_str(shape),
                  file.string());
    }
  }
  return c;
}

std::vector<std::int64_t> expected_shape(const ClipConfig& config, const std::string& key) {
  const auto shapes = expected_shapes(config);
  auto it = shapes.find(key);
  if (it == shapes.end()) throw Error(ErrorCode::invalid_argument, "not a CLIP tensor: " + key);
  return it->second;
}

std::vector<std::string> expected_keys(const ClipConfig& config) {
  std::vector<std::string> keys;
  for (const auto& [k, s] : expected_shapes(config)) keys.push_back(k);
  return keys;
}

}  // namespace safescan::clip
