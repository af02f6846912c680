#include "heads/keras_mlp.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "safescan/error.hpp"

namespace safescan::detect {

namespace {

using nlohmann::json;

class Builder {
 public:
  Builder(const std::vector<KerasNode>& nodes, const TensorBundle& bundle, const std::string& name)
      : nodes_(nodes), bundle_(bundle), name_(name) {}

  KerasMlp build();

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorCode::model_invalid, "Keras model: " + message, name_);
  }
  const KerasNode* node(const std::string& path) const {
    for (const KerasNode& n : nodes_)
      if (n.path == path) return &n;
    return nullptr;
  }
  const json& member(const json& object, const char* key, const std::string& what) const {
    if (!object.is_object() || !object.contains(key)) fail(what + " has no \"" + key + "\"");
    return object.at(key);
  }
  // The bundle key prefix ("layer_with_weights-3") of the layer called `layer_name`.
  std::string weights_key(const std::string& layer_name) const;
  std::vector<float> tensor(const std::string& key, const std::vector<std::int64_t>& shape) const;
  Activation activation(const std::string& name, const std::string& layer) const {
    if (name == "linear") return Activation::linear;
    if (name == "relu") return Activation::relu;
    if (name == "sigmoid") return Activation::sigmoid;
    fail("layer '" + layer + "' uses activation '" + name + "' (supported: linear, relu, sigmoid)");
  }
  void encoding(const json& config, const std::string& layer, KerasMlp& mlp) const;

  const std::vector<KerasNode>& nodes_;
  const TensorBundle& bundle_;
  const std::string& name_;
};

std::string Builder::weights_key(const std::string& layer_name) const {
  static const std::string prefix = "root.layer_with_weights-";
  for (const KerasNode& n : nodes_) {
    if (n.path.rfind(prefix, 0) != 0 || n.path.find('.', prefix.size()) != std::string::npos) continue;
    const auto it = n.metadata.find("name");
    if (it != n.metadata.end() && it->is_string() && it->get<std::string>() == layer_name) return n.path.substr(5);
  }
  fail("no saved object 'root.layer_with_weights-N' is the layer '" + layer_name + "'");
}

std::vector<float> Builder::tensor(const std::string& key, const std::vector<std::int64_t>& shape) const {
  const BundleEntry* e = bundle_.find(key);
  if (!e) fail("variable '" + key + "' is missing");
  if (e->shape != shape) {
    BundleEntry want;
    want.shape = shape;
    fail("variable '" + key + "' has shape " + e->shape_string() + ", expected " + want.shape_string());
  }
  return bundle_.read_float32(*e);
}

// MultiCategoryEncoding: "none" columns pass through, "int" columns go through the
// StringLookup saved at root.<layer>.encoding_layers.<column>.
void Builder::encoding(const json& config, const std::string& layer, KerasMlp& mlp) const {
  const json& enc = member(config, "encoding", "layer '" + layer + "'");
  if (!enc.is_array() || static_cast<int>(enc.size()) != mlp.input_dim)
    fail("layer '" + layer + "' encodes " + std::to_string(enc.is_array() ? enc.size() : 0) + " columns, the input has " +
         std::to_string(mlp.input_dim));
  const std::string key = weights_key(layer);
  for (int col = 0; col < mlp.input_dim; ++col) {
    const std::string kind = enc[col].is_string() ? enc[col].get<std::string>() : "?";
    if (kind == "none") continue;
    if (kind != "int") fail("layer '" + layer + "' column " + std::to_string(col) + " uses encoding '" + kind + "'");
    const std::string path = "root." + key + ".encoding_layers." + std::to_string(col);
    const KerasNode* lookup = node(path);
    if (!lookup) fail("categorical column " + std::to_string(col) + " has no saved lookup layer '" + path + "'");
    const std::string what = "lookup layer '" + path + "'";
    const json& lc = member(lookup->metadata, "config", what);
    if (member(lookup->metadata, "class_name", what) != "StringLookup")
      fail(what + " is a " + lookup->metadata["class_name"].dump() + ", expected StringLookup");
    const json& oov = member(lc, "num_oov_indices", what);
    const json& mask = member(lc, "mask_token", what);
    if (lc.value("invert", false)) fail(what + " is inverted");
    if (lc.value("output_mode", std::string("int")) != "int") fail(what + " does not output indices");
    if (!oov.is_number_integer() || oov.get<int>() != 1)
      fail(what + " has num_oov_indices " + oov.dump() + " (only 1 is supported: every value maps to one OOV index)");
    if (!lc.value("vocabulary", json()).is_null()) fail(what + " has a vocabulary in its config; not supported");
    // The adapt state must be empty too: no vocabulary is restored from the variables.
    const BundleEntry* counts = bundle_.find(key + "/encoding_layers/" + std::to_string(col) +
                                             "/token_counts/.ATTRIBUTES/table-keys");
    if (counts && counts->numel() != 0)
      fail("categorical column " + std::to_string(col) + " has " + std::to_string(counts->numel()) +
           " saved token counts; lookups with a vocabulary are not supported");
    // Keras IndexLookup: with one OOV index, every out-of-vocabulary value maps to
    // _oov_start_index() = 1 when a mask token takes index 0 (output_mode "int"), else 0.
    const int oov_index = mask.is_null() ? 0 : 1;
    mlp.categorical_columns.push_back(col);
    mlp.categorical_values.push_back(static_cast<float>(oov_index));
  }
  // Every saved lookup must belong to a categorical column.
  const std::string lookups = "root." + key + ".encoding_layers.";
  for (const KerasNode& n : nodes_)
    if (n.path.rfind(lookups, 0) == 0) {
      const std::string col = n.path.substr(lookups.size());
      if (std::find(mlp.categorical_columns.begin(), mlp.categorical_columns.end(), std::atoi(col.c_str())) ==
          mlp.categorical_columns.end())
        fail("lookup layer '" + n.path + "' belongs to a column the encoding calls numeric");
    }
}

KerasMlp Builder::build() {
  const KerasNode* root = node("root");
  if (!root) fail("keras_metadata.pb has no 'root' object");
  const json& model_config = member(root->metadata, "config", "the root model");
  const json& layers = member(model_config, "layers", "the root model's config");
  if (!layers.is_array() || layers.empty()) fail("the root model has no layers");

  KerasMlp mlp;
  bool normalized = false;
  std::string previous;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const json& layer = layers[i];
    const std::string cls = member(layer, "class_name", "layer #" + std::to_string(i)).get<std::string>();
    const json& config = member(layer, "config", "layer #" + std::to_string(i));
    const std::string lname = member(config, "name", "layer #" + std::to_string(i)).get<std::string>();
    const std::string what = "layer '" + lname + "' (" + cls + ")";
    // A plain chain: every layer takes the previous layer's only output.
    if (i == 0) {
      if (cls != "InputLayer") fail("the first layer is " + what + ", expected an InputLayer");
      const json& shape = member(member(config, "batch_input_shape", what), "items", what + " batch_input_shape");
      if (!shape.is_array() || shape.size() != 2 || !shape[1].is_number_integer() || shape[1].get<int>() <= 0)
        fail(what + " has input shape " + shape.dump() + ", expected [null, D]");
      mlp.input_dim = shape[1].get<int>();
      previous = lname;
      continue;
    }
    const json& inbound = member(layer, "inbound_nodes", what);
    if (!inbound.is_array() || inbound.size() != 1 || !inbound[0].is_array() || inbound[0].size() != 1 ||
        !inbound[0][0].is_array() || inbound[0][0].empty() || inbound[0][0][0] != previous)
      fail(what + " does not take the single output of '" + previous + "' (only sequential models are supported)");
    previous = lname;

    if (cls == "Custom>MultiCategoryEncoding") {
      if (normalized || !mlp.layers.empty()) fail(what + " comes after the normalisation or a dense layer");
      encoding(config, lname, mlp);
    } else if (cls == "Normalization") {
      if (normalized || !mlp.layers.empty()) fail("a second normalisation or one after a dense layer: " + what);
      const json& axis = config.value("axis", json());
      const bool last_axis = axis.is_object() ? axis.value("items", json()) == json::array({-1}) : axis == -1;
      if (!last_axis) fail(what + " normalises over axis " + axis.dump() + ", expected the last axis");
      const std::string key = weights_key(lname);
      const std::vector<std::int64_t> shape{mlp.input_dim};
      mlp.mean = tensor(key + "/mean/.ATTRIBUTES/VARIABLE_VALUE", shape);
      mlp.variance = tensor(key + "/variance/.ATTRIBUTES/VARIABLE_VALUE", shape);
      for (std::size_t c = 0; c < mlp.variance.size(); ++c)
        if (!(mlp.variance[c] >= 0) || !std::isfinite(mlp.mean[c]))
          fail("variable '" + key + "/variance' or '/mean' holds an invalid value at column " + std::to_string(c));
      normalized = true;
    } else if (cls == "Dense") {
      if (!normalized) fail(what + " comes before any normalisation");
      const int units = member(config, "units", what).get<int>();
      const int in = mlp.layers.empty() ? mlp.input_dim : mlp.layers.back().out;
      if (units <= 0) fail(what + " has " + std::to_string(units) + " units");
      if (!config.value("use_bias", true)) fail(what + " has no bias (not supported)");
      DenseLayer d;
      d.name = lname;
      d.key = weights_key(lname);
      d.in = in;
      d.out = units;
      d.kernel = tensor(d.key + "/kernel/.ATTRIBUTES/VARIABLE_VALUE", {in, units});
      d.bias = tensor(d.key + "/bias/.ATTRIBUTES/VARIABLE_VALUE", {units});
      d.activation = activation(config.value("activation", std::string("linear")), lname);
      mlp.layers.push_back(std::move(d));
    } else if (cls == "ReLU" || cls == "Activation") {
      if (mlp.layers.empty()) fail(what + " comes before any dense layer");
      Activation a = Activation::relu;
      if (cls == "ReLU") {
        if (!config.value("max_value", json()).is_null() || config.value("negative_slope", 0.0) != 0.0 ||
            config.value("threshold", 0.0) != 0.0)
          fail(what + " is not a plain ReLU (max_value, negative_slope or threshold set)");
      } else {
        a = activation(member(config, "activation", what).get<std::string>(), lname);
      }
      Activation& current = mlp.layers.back().activation;
      if (a == Activation::linear) continue;
      if (current != Activation::linear && current != a)
        fail(what + " follows layer '" + mlp.layers.back().name + "' that already applies an activation");
      current = a;
    } else if (cls == "Dropout") {
      continue;  // identity at inference
    } else {
      fail("unsupported layer class '" + cls + "' (" + lname + ")");
    }
  }
  const json& outputs = model_config.value("output_layers", json());
  if (!outputs.is_array() || outputs.size() != 1 || !outputs[0].is_array() || outputs[0].empty() ||
      outputs[0][0] != previous)
    fail("the model's output is not its last layer '" + previous + "'");
  if (!normalized) fail("the model has no Normalization layer");
  if (mlp.layers.empty()) fail("the model has no Dense layer");
  const DenseLayer& last = mlp.layers.back();
  if (last.out != 1 || last.activation != Activation::sigmoid)
    fail("the last layer '" + last.name + "' has " + std::to_string(last.out) +
         " unit(s) and is not followed by a sigmoid; expected a binary classifier with one sigmoid output");
  for (std::size_t i = 0; i + 1 < mlp.layers.size(); ++i)
    if (mlp.layers[i].activation == Activation::sigmoid)
      fail("hidden layer '" + mlp.layers[i].name + "' uses a sigmoid; expected relu or linear");
  // Every variable of the bundle that looks like a layer weight must have been used: a
  // leftover kernel means the structure was misread.
  std::set<std::string> used;
  for (const DenseLayer& d : mlp.layers) used.insert(d.key);
  for (const BundleEntry& e : bundle_.entries()) {
    const auto slash = e.key.find("/kernel/");
    if (slash != std::string::npos && e.key.rfind("layer_with_weights-", 0) == 0 && !used.count(e.key.substr(0, slash)))
      fail("variable '" + e.key + "' belongs to no layer of the model's chain");
  }
  return mlp;
}

float apply(Activation a, float v) {
  switch (a) {
    case Activation::relu: return v > 0 ? v : 0.0f;
    case Activation::sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case Activation::linear: break;
  }
  return v;
}

}  // namespace

KerasMlp build_autokeras_mlp(const std::vector<KerasNode>& nodes, const TensorBundle& bundle, const std::string& name) {
  return Builder(nodes, bundle, name).build();
}

namespace {

// Encoding + normalisation of one input row into `h`.
void normalise_input(const KerasMlp& m, const float* x, std::vector<float>& h) {
  h.resize(static_cast<std::size_t>(m.input_dim));
  for (int c = 0; c < m.input_dim; ++c) h[c] = std::isnan(x[c]) ? 0.0f : x[c];  // AutoKeras imputes NaN with 0
  for (std::size_t k = 0; k < m.categorical_columns.size(); ++k) h[m.categorical_columns[k]] = m.categorical_values[k];
  for (int c = 0; c < m.input_dim; ++c) h[c] = (h[c] - m.mean[c]) / std::max(std::sqrt(m.variance[c]), m.epsilon);
}

// y = activation(h . kernel + bias)
void dense(const DenseLayer& d, const std::vector<float>& h, std::vector<float>& y) {
  y.assign(d.bias.begin(), d.bias.end());
  for (int i = 0; i < d.in; ++i) {
    const float xi = h[i];
    if (xi == 0.0f) continue;  // after a ReLU, many inputs are 0
    const float* row = d.kernel.data() + static_cast<std::size_t>(i) * d.out;
    for (int j = 0; j < d.out; ++j) y[j] += xi * row[j];
  }
  for (float& v : y) v = apply(d.activation, v);
}

}  // namespace

std::vector<std::vector<float>> KerasMlp::trace(const float* x) const {
  std::vector<std::vector<float>> out(1);
  normalise_input(*this, x, out[0]);
  for (const DenseLayer& d : layers) {
    std::vector<float> y;
    dense(d, out.back(), y);
    out.push_back(std::move(y));
  }
  return out;
}

float KerasMlp::forward(const float* x) const {
  std::vector<float> a, b;
  normalise_input(*this, x, a);
  for (const DenseLayer& d : layers) {
    dense(d, a, b);
    a.swap(b);
  }
  return a.at(0);
}

std::vector<float> KerasMlp::backward(const float* x, float out_grad) const {
  const std::vector<std::vector<float>> t = trace(x);
  std::vector<float> g{out_grad};  // d/d(output of the last layer)
  for (std::size_t l = layers.size(); l-- > 0;) {
    const DenseLayer& d = layers[l];
    const std::vector<float>& y = t[l + 1];
    for (int j = 0; j < d.out; ++j) {
      switch (d.activation) {
        case Activation::relu: g[j] = y[j] > 0 ? g[j] : 0.0f; break;
        case Activation::sigmoid: g[j] *= y[j] * (1.0f - y[j]); break;
        case Activation::linear: break;
      }
    }
    std::vector<float> gin(static_cast<std::size_t>(d.in), 0.0f);
    for (int i = 0; i < d.in; ++i) {
      const float* row = d.kernel.data() + static_cast<std::size_t>(i) * d.out;
      float s = 0;
      for (int j = 0; j < d.out; ++j) s += row[j] * g[j];
      gin[i] = s;
    }
    g.swap(gin);
  }
  // Through the normalisation; imputed (NaN) and categorical columns are constants.
  for (int c = 0; c < input_dim; ++c) g[c] = std::isnan(x[c]) ? 0.0f : g[c] / std::max(std::sqrt(variance[c]), epsilon);
  for (const int c : categorical_columns) g[c] = 0.0f;
  return g;
}

}  // namespace safescan::detect
