// Bad CLIP checkpoints: a missing or mis-shaped key is an error that names it.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/tensor_file.hpp"
#include "safescan/clip.hpp"
#include "safescan/error.hpp"
#include "testing.hpp"

namespace {

using safescan::testing::shared_dir;
using safescan::testing::TempDir;

const char* st_dtype(safescan::io::DType d) {
  switch (d) {
    case safescan::io::DType::f32: return "F32";
    case safescan::io::DType::f16: return "F16";
    default: return "F32";
  }
}

void write_safetensors(const std::filesystem::path& file, const safescan::io::TensorMap& tensors) {
  nlohmann::ordered_json header;
  std::string data;
  for (const auto& [name, t] : tensors) {
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
    header[name] = {{"dtype", st_dtype(t.dtype)}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  const std::string h = header.dump();
  const std::uint64_t n = h.size();
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << h << data;
}

std::string load_error(const std::filesystem::path& file) {
  try {
    safescan::ClipModel::load(file);
  } catch (const safescan::Error& e) {
    EXPECT_EQ(e.code(), safescan::ErrorCode::model_invalid) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "loading " << file << " did not fail";
  return {};
}

class ClipCheckpointErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
    tensors = safescan::io::read_checkpoint(shared_dir() / "fixtures/clip-tiny/clip.safetensors");
  }
  safescan::io::TensorMap tensors;
  TempDir tmp;
};

TEST_F(ClipCheckpointErrors, RewrittenCheckpointStillLoads) {
  write_safetensors(tmp / "ok.safetensors", tensors);
  EXPECT_NO_THROW(safescan::ClipModel::load(tmp / "ok.safetensors"));
}

TEST_F(ClipCheckpointErrors, MissingKeyIsNamed) {
  tensors.erase("visual.proj");
  write_safetensors(tmp / "m.safetensors", tensors);
  const auto what = load_error(tmp / "m.safetensors");
  EXPECT_NE(what.find("'visual.proj'"), std::string::npos) << what;
  EXPECT_NE(what.find("m.safetensors"), std::string::npos) << what;
}

TEST_F(ClipCheckpointErrors, MisShapedKeyIsNamedWithBothShapes) {
  auto& t = tensors.at("transformer.resblocks.1.mlp.c_fc.bias");
  t.shape = {128};
  t.data.resize(t.data.size() / 2);
  write_safetensors(tmp / "s.safetensors", tensors);
  const auto what = load_error(tmp / "s.safetensors");
  EXPECT_NE(what.find("'transformer.resblocks.1.mlp.c_fc.bias'"), std::string::npos) << what;
  EXPECT_NE(what.find("[128]"), std::string::npos) << what;
  EXPECT_NE(what.find("[256]"), std::string::npos) << what;
}

TEST_F(ClipCheckpointErrors, GapInBlockNumbering) {
  for (auto it = tensors.begin(); it != tensors.end();) {
    it = it->first.rfind("visual.transformer.resblocks.0.", 0) == 0 ? tensors.erase(it) : std::next(it);
  }
  write_safetensors(tmp / "g.safetensors", tensors);
  const auto what = load_error(tmp / "g.safetensors");
  EXPECT_NE(what.find("resblocks"), std::string::npos) << what;
}

TEST_F(ClipCheckpointErrors, ResNetClipIsRefusedClearly) {
  tensors["visual.layer1.0.conv1.weight"] = tensors.at("ln_final.weight");
  write_safetensors(tmp / "r.safetensors", tensors);
  const auto what = load_error(tmp / "r.safetensors");
  EXPECT_NE(what.find("ResNet"), std::string::npos) << what;
}

TEST_F(ClipCheckpointErrors, MissingFileIsModelMissing) {
  try {
    safescan::ClipModel::load(tmp / "nope.pt");
    FAIL();
  } catch (const safescan::Error& e) {
    EXPECT_EQ(e.code(), safescan::ErrorCode::model_missing) << e.what();
  }
}

TEST_F(ClipCheckpointErrors, ReducedPrecisionsStayCloseToFloat32) {
  const auto pre = safescan::io::read_npy(shared_dir() / "fixtures/clip-tiny/pre_astronaut.npy").to_float();
  const auto f32 = safescan::ClipModel::load(shared_dir() / "fixtures/clip-tiny/clip.safetensors");
  const auto ref = f32.encode_images(pre.data(), 1);
  for (auto p : {safescan::ClipPrecision::bf16, safescan::ClipPrecision::int8}) {
    const auto m = safescan::ClipModel::load(shared_dir() / "fixtures/clip-tiny/clip.safetensors", p);
    const auto e = m.encode_images(pre.data(), 1);
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < e.size(); ++i) ab += e[i] * ref[i], aa += e[i] * e[i], bb += ref[i] * ref[i];
    const double cos = ab / std::sqrt(aa * bb);
    std::cout << "[ precision ] " << (p == safescan::ClipPrecision::bf16 ? "bf16" : "int8") << " cosine to fp32: " << cos << "\n";
    EXPECT_GE(cos, 0.999) << "the issue allows a reduced precision only within cosine 0.999 of fp32";
  }
}

}  // namespace
