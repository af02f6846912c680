// The TensorFlow.js readers and executor on small models with known weights, and the errors
// for missing, truncated and inconsistent model files.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "tfjs/network.hpp"
#include "tfjs/weights.hpp"
#include "safescan/error.hpp"
#include "testing.hpp"
#include "tiny_models.hpp"

namespace {

using safescan::Error;
using safescan::ErrorCode;
using safescan::testing::TempDir;
using safescan::tfjs::Network;
using nlohmann::json;

// Naive reference of the tiny layers model, straight from TensorFlow's definitions.
std::vector<float> reference_tiny_layers(const json& model, const std::filesystem::path& dir, const std::vector<float>& nhwc) {
  const auto files = safescan::tfjs::read_model_files(dir);
  const auto& k = files.weights.at("conv/kernel").data;  // [3][3][3][4]
  const auto& cb = files.weights.at("conv/bias").data;
  const auto& dk = files.weights.at("dense/kernel").data;  // [4][5]
  const auto& db = files.weights.at("dense/bias").data;
  std::vector<double> pooled(4, 0.0);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x)
      for (int o = 0; o < 4; ++o) {
        double acc = cb[o];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = y + ky - 1, ix = x + kx - 1;
            if (iy < 0 || iy >= 8 || ix < 0 || ix >= 8) continue;
            for (int c = 0; c < 3; ++c) acc += nhwc[(iy * 8 + ix) * 3 + c] * k[((ky * 3 + kx) * 3 + c) * 4 + o];
          }
        pooled[o] += std::max(acc, 0.0) / 64.0;
      }
  std::vector<double> logits(5);
  double sum = 0;
  for (int j = 0; j < 5; ++j) {
    logits[j] = db[j];
    for (int i = 0; i < 4; ++i) logits[j] += pooled[i] * dk[i * 5 + j];
  }
  const double mx = *std::max_element(logits.begin(), logits.end());
  for (auto& l : logits) sum += (l = std::exp(l - mx));
  std::vector<float> out;
  for (auto l : logits) out.push_back(static_cast<float>(l / sum));
  return out;
}

TEST(TfjsNetwork, TinyLayersModelMatchesNaiveReference) {
  TempDir tmp;
  const auto model = safescan::testing::write_tiny_layers_model(tmp.path());
  const Network net = Network::load(tmp.path());
  EXPECT_EQ(net.input_size(), 8);
  EXPECT_EQ(net.output_size(), 5);
  EXPECT_EQ(net.format(), "layers-model");
  std::vector<float> nhwc(8 * 8 * 3), nchw(3 * 64);
  for (int i = 0; i < 64; ++i)
    for (int c = 0; c < 3; ++c) {
      const float v = std::sin(0.3f * i + c) * 0.5f + 0.5f;
      nhwc[i * 3 + c] = v;
      nchw[c * 64 + i] = v;
    }
  const auto want = reference_tiny_layers(model, tmp.path(), nhwc);
  const auto got = net.run(nchw.data(), 1);
  ASSERT_EQ(got.size(), 5u);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(got[j], want[j], 1e-5) << "output " << j;
}

// TensorFlow's SAME padding with stride 2 on an even size pads only after; pooling never
// counts the padded cells (average) and never picks them (max).
class TinyGraphPool : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyGraphPool, SamePaddingIsAsymmetricAndExcludesPadding) {
  TempDir tmp;
  safescan::testing::write_tiny_graph_model(tmp.path(), GetParam());
  const Network net = Network::load(tmp.path());
  EXPECT_EQ(net.format(), "graph-model");
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>((i * 7) % 16) / 16.0f;
  // Reference: windows start at 0 and 2, cover [start, start + 3) clipped to the 4x4 input.
  double mean = 0;
  for (int wy : {0, 2})
    for (int wx : {0, 2}) {
      double acc = GetParam() == "AvgPool" ? 0 : -1e9;
      int n = 0;
      for (int y = wy; y < std::min(wy + 3, 4); ++y)
        for (int xx = wx; xx < std::min(wx + 3, 4); ++xx) {
          const double v = 2.0 * x[y * 4 + xx] - 1.0;
          acc = GetParam() == "AvgPool" ? acc + v : std::max(acc, v);
          ++n;
        }
      mean += (GetParam() == "AvgPool" ? acc / n : acc) / 4.0;
    }
  const auto got = net.run(x.data(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NEAR(got[0], mean, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Pools, TinyGraphPool, ::testing::Values("AvgPool", "MaxPool"));

TEST(TfjsNetwork, BatchesAreIndependent) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  const Network net = Network::load(tmp.path());
  std::vector<float> a(3 * 64, 0.25f), b(3 * 64, 0.75f), ab(a);
  ab.insert(ab.end(), b.begin(), b.end());
  const auto ra = net.run(a.data(), 1), rb = net.run(b.data(), 1), rab = net.run(ab.data(), 2);
  for (int j = 0; j < 5; ++j) {
    EXPECT_NEAR(rab[j], ra[j], 1e-6);
    EXPECT_NEAR(rab[5 + j], rb[j], 1e-6);
  }
}

// --- Bad model files: a clear error naming the file and the layer ---------------------------

struct ErrorCase {
  ErrorCode code;
  std::string what;  // substring of the message
};

ErrorCase load_error(const std::filesystem::path& dir) {
  try {
    Network::load(dir);
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  ADD_FAILURE() << "loading " << dir << " did not fail";
  return {ErrorCode::internal, ""};
}

void edit_json(const std::filesystem::path& file, const std::function<void(json&)>& edit) {
  json j;
  std::ifstream(file) >> j;
  edit(j);
  std::ofstream(file) << j.dump();
}

TEST(TfjsModelErrors, MissingDirectoryOrModelJson) {
  TempDir tmp;
  const auto e = load_error(tmp / "nope");
  EXPECT_EQ(e.code, ErrorCode::model_missing);
  EXPECT_NE(e.what.find("nope"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, MissingShardNamesTheShard) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  std::filesystem::remove(tmp / "group1-shard2of2.bin");
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_missing);
  EXPECT_NE(e.what.find("group1-shard2of2.bin"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, TruncatedShardIsInvalidAndNamed) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  std::filesystem::resize_file(tmp / "group1-shard2of2.bin", 10);
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("group1-shard2of2.bin"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("truncated"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, ExtraBytesInShards) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  std::ofstream(tmp / "group1-shard2of2.bin", std::ios::app) << "junk";
  EXPECT_EQ(load_error(tmp.path()).code, ErrorCode::model_invalid);
}

TEST(TfjsModelErrors, NotJson) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  std::ofstream(tmp / "model.json") << "{\"modelTopology\": [1, 2,";
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("model.json"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, ShapeMismatchNamesTheLayer) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  // The dense kernel now claims 5 inputs (same byte count); the conv before it makes 4 channels.
  edit_json(tmp / "model.json", [](json& j) {
    for (auto& w : j["weightsManifest"][0]["weights"])
      if (w["name"] == "dense/kernel") w["shape"] = {5, 4};
    j["modelTopology"]["model_config"]["config"]["layers"][3]["config"]["units"] = 4;
  });
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("'dense'"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("expects 5 inputs but gets 4"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("model.json"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, KernelShapeDisagreesWithConfig) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  edit_json(tmp / "model.json", [](json& j) { j["modelTopology"]["model_config"]["config"]["layers"][1]["config"]["filters"] = 8; });
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("'conv'"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("filters"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, InputChannelsDisagree) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  edit_json(tmp / "model.json", [](json& j) {
    j["modelTopology"]["model_config"]["config"]["layers"][0]["config"]["batch_input_shape"] = {nullptr, 8, 8, 1};
  });
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("'conv'"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("input channels"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, UnknownLayerNamesTheLayer) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  edit_json(tmp / "model.json", [](json& j) { j["modelTopology"]["model_config"]["config"]["layers"][2]["class_name"] = "FancyPooling"; });
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("'gap'"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("FancyPooling"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, MissingWeightNamesIt) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  edit_json(tmp / "model.json", [](json& j) { j["weightsManifest"][0]["weights"][1]["name"] = "conv/bias_renamed"; });
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("conv/bias"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, UnknownGraphOpNamesTheNode) {
  TempDir tmp;
  safescan::testing::write_tiny_graph_model(tmp.path(), "FractionalAvgPool");
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("'pool'"), std::string::npos) << e.what;
  EXPECT_NE(e.what.find("FractionalAvgPool"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, UnknownQuantisation) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp.path());
  edit_json(tmp / "model.json", [](json& j) { j["weightsManifest"][0]["weights"][0]["quantization"]["dtype"] = "int4"; });
  const auto e = load_error(tmp.path());
  EXPECT_EQ(e.code, ErrorCode::model_invalid);
  EXPECT_NE(e.what.find("int4"), std::string::npos) << e.what;
}

TEST(TfjsModelErrors, WeightPathMayNotLeaveTheModelDirectory) {
  TempDir tmp;
  safescan::testing::write_tiny_layers_model(tmp / "m");
  edit_json(tmp / "m" / "model.json", [](json& j) { j["weightsManifest"][0]["paths"][0] = "../../etc/passwd"; });
  EXPECT_EQ(load_error(tmp / "m").code, ErrorCode::model_invalid);
}

}  // namespace
