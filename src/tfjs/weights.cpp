// model.json + weight shards -> named float32 host tensors.
#include "tfjs/weights.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "io/tensor_file.hpp"
#include "safescan/error.hpp"

namespace safescan::tfjs {

namespace fs = std::filesystem;
using nlohmann::json;

std::int64_t HostTensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string HostTensor::shape_string() const {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

namespace {

[[noreturn]] void invalid(const fs::path& file, const std::string& message) {
  throw Error(ErrorCode::model_invalid, message, file.string());
}

std::string read_whole(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw Error(ErrorCode::model_missing, "model file not found", file.string());
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::model_missing, "cannot open model file", file.string());
  std::ostringstream buf;
  buf << in.rdbuf();
  return std::move(buf).str();
}

template <typename T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86-64 and every tfjs producer are little-endian
  return v;
}

// Decodes one weight entry of the manifest from `bytes`; returns the number of bytes used.
size_t decode_weight(const json& spec, const unsigned char* bytes, size_t available,
                     const fs::path& shard_file, HostTensor& out) {
  const std::string name = spec.value("name", "");
  const std::string dtype = spec.value("dtype", "float32");
  out.shape.clear();
  for (const auto& d : spec.at("shape")) {
    const auto v = d.get<std::int64_t>();
    if (v < 0) invalid(shard_file, "weight '" + name + "' has a negative dimension");
    out.shape.push_back(v);
  }
  const std::int64_t n = out.numel();
  if (n > (1ll << 31)) invalid(shard_file, "weight '" + name + "' is implausibly large");
  out.data.resize(static_cast<size_t>(n));

  std::string qtype;
  double qscale = 1.0, qmin = 0.0;
  if (spec.contains("quantization")) {
    const auto& q = spec.at("quantization");
    qtype = q.value("dtype", "");
    if (qtype == "uint8" || qtype == "uint16") {
      if (!q.contains("scale") || !q.contains("min")) {
        invalid(shard_file, "weight '" + name + "' is quantised without scale and min");
      }
      qscale = q.at("scale").get<double>();
      qmin = q.at("min").get<double>();
    } else if (qtype != "float16") {
      invalid(shard_file, "weight '" + name + "' has unsupported quantisation dtype '" + qtype + "'");
    }
  }
  const size_t elem = qtype == "uint8"                       ? 1
                      : (qtype == "uint16" || qtype == "float16") ? 2
                      : (dtype == "bool")                     ? 1
                                                              : 4;
  if (qtype.empty() && dtype != "float32" && dtype != "int32" && dtype != "bool") {
    invalid(shard_file, "weight '" + name + "' has unsupported dtype '" + dtype + "'");
  }
  const size_t need = static_cast<size_t>(n) * elem;
  if (need > available) {
    invalid(shard_file, "weight data ends early: '" + name + "' needs " + std::to_string(need) +
                            " bytes but only " + std::to_string(available) + " remain (truncated shard?)");
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const unsigned char* p = bytes + static_cast<size_t>(i) * elem;
    float v;
    if (qtype == "uint8") {
      v = static_cast<float>(p[0] * qscale + qmin);  // as tfjs: computed in double, stored as float32
    } else if (qtype == "uint16") {
      v = static_cast<float>(load_le<std::uint16_t>(p) * qscale + qmin);
    } else if (qtype == "float16") {
      v = io::half_to_float(load_le<std::uint16_t>(p));
    } else if (dtype == "int32") {
      v = static_cast<float>(load_le<std::int32_t>(p));
    } else if (dtype == "bool") {
      v = p[0] ? 1.f : 0.f;
    } else {
      v = load_le<float>(p);
    }
    out.data[static_cast<size_t>(i)] = v;
  }
  return need;
}

}  // namespace

ModelFiles read_model_files(const fs::path& model_dir_or_json) {
  ModelFiles files;
  std::error_code ec;
  files.model_json = fs::is_directory(model_dir_or_json, ec) ? model_dir_or_json / "model.json" : model_dir_or_json;
  const std::string text = read_whole(files.model_json);
  try {
    files.json = json::parse(text);
  } catch (const json::exception& e) {
    invalid(files.model_json, std::string("not valid JSON: ") + e.what());
  }
  if (!files.json.is_object() || !files.json.contains("modelTopology")) {
    invalid(files.model_json, "not a TensorFlow.js model (no modelTopology)");
  }
  if (!files.json.contains("weightsManifest") || !files.json["weightsManifest"].is_array()) {
    invalid(files.model_json, "no weightsManifest");
  }
  const fs::path dir = files.model_json.parent_path();
  try {
    for (const auto& group : files.json["weightsManifest"]) {
      // A group's shards are one byte stream split into files.
      std::string blob;
      fs::path last_shard = files.model_json;
      for (const auto& p : group.at("paths")) {
        const auto rel = p.get<std::string>();
        if (rel.find("..") != std::string::npos || (!rel.empty() && rel[0] == '/')) {
          invalid(files.model_json, "weight path '" + rel + "' leaves the model directory");
        }
        last_shard = dir / rel;
        blob += read_whole(last_shard);
      }
      size_t offset = 0;
      for (const auto& spec : group.at("weights")) {
        HostTensor t;
        offset += decode_weight(spec, reinterpret_cast<const unsigned char*>(blob.data()) + offset,
                                blob.size() - offset, last_shard, t);
        const auto name = spec.at("name").get<std::string>();
        if (!files.weights.emplace(name, std::move(t)).second) {
          invalid(files.model_json, "weight '" + name + "' is listed twice");
        }
      }
      if (offset != blob.size()) {
        invalid(last_shard, "weight shards hold " + std::to_string(blob.size()) + " bytes but the manifest describes " +
                                std::to_string(offset));
      }
    }
  } catch (const json::exception& e) {
    invalid(files.model_json, std::string("malformed weightsManifest: ") + e.what());
  }
  return files;
}

Graph load_graph(const fs::path& model_dir_or_json) {
  ModelFiles files = read_model_files(model_dir_or_json);
  const std::string format = files.json.value("format", "");
  Graph g;
  if (format == "graph-model") {
    g = build_graph_model(files);
  } else if (format.empty() || format == "layers-model") {
    g = build_layers_model(files);
  } else {
    invalid(files.model_json, "unknown TensorFlow.js model format '" + format + "'");
  }
  infer_shapes(g, files.model_json.string());
  return g;
}

}  // namespace safescan::tfjs
