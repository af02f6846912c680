// The TensorFlow readers behind the LAION NSFW heads: crc32c, protobuf wire format, the
// LevelDB table and tensor bundle of a SavedModel's variables, keras_metadata.pb, and the
// AutoKeras MLP rebuilt from them (checked against a forward pass computed here, in double,
// from hard-coded keys, and against values NumPy computed from an independent parser).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "heads/crc32c.hpp"
#include "heads/keras_metadata.hpp"
#include "heads/keras_mlp.hpp"
#include "heads/protobuf_wire.hpp"
#include "heads/sstable.hpp"
#include "heads/tensor_bundle.hpp"
#include "io/tensor_file.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/error.hpp"
#include "testing.hpp"

namespace {

using namespace safescan;
using namespace safescan::detect;
using safescan::testing::shared_dir;

const char* const kB32Zip = "models/laion/clip_autokeras_nsfw_b32.zip";
const char* const kL14Zip = "models/laion/clip_autokeras_binary_nsfw.zip";

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

using safescan::testing::expect_error;

TEST(Crc32c, KnownValuesAndMasking) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xe3069283u);  // the standard CRC-32C check value
  EXPECT_EQ(crc32c(bytes_of("")), 0u);
  EXPECT_EQ(crc32c_extend(crc32c(bytes_of("1234")), bytes_of("56789")), 0xe3069283u);
  EXPECT_EQ(crc32c_mask(0), 0xa282ead8u);  // the crc TensorFlow stores for an empty tensor
  for (const std::uint32_t v : {0u, 1u, 0xe3069283u, 0xffffffffu}) EXPECT_EQ(crc32c_unmask(crc32c_mask(v)), v);
}

TEST(ProtobufWire, ReadsFieldsAndRefusesTruncation) {
  // field 1 varint 300, field 2 bytes "hi", field 6 fixed32 0x01020304, field 4 fixed64 7
  const std::vector<std::uint8_t> msg{0x08, 0xac, 0x02, 0x12, 0x02, 'h', 'i', 0x35, 0x04, 0x03, 0x02, 0x01,
                                      0x21, 7, 0, 0, 0, 0, 0, 0, 0};
  pb::Reader r(msg, "file", "test message");
  pb::Field f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.number, 1u);
  EXPECT_EQ(f.value, 300u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, pb::WireType::bytes);
  EXPECT_EQ(std::string(f.bytes.begin(), f.bytes.end()), "hi");
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, pb::WireType::fixed32);
  EXPECT_EQ(f.value, 0x01020304u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, pb::WireType::fixed64);
  EXPECT_EQ(f.value, 7u);
  EXPECT_FALSE(r.next(f));

  const std::vector<std::uint8_t> cut{0x12, 0x05, 'h', 'i'};  // claims 5 bytes, has 2
  pb::Reader bad(cut, "file", "test message");
  expect_error([&] { bad.next(f); }, ErrorCode::model_invalid, "claims 5 bytes");
  const std::vector<std::uint8_t> varint{0x08, 0x80, 0x80};  // unterminated varint
  pb::Reader bad2(varint, "file", "test message");
  expect_error([&] { bad2.next(f); }, ErrorCode::model_invalid, "truncated or overlong varint");
}

// A SavedModel's files, read once per zip.
const SavedModelFiles& files(const char* rel) {
  static std::map<std::string, SavedModelFiles> cache;
  auto it = cache.find(rel);
  if (it == cache.end()) it = cache.emplace(rel, read_saved_model_files(shared_dir() / rel)).first;
  return it->second;
}

TensorBundle bundle_of(const SavedModelFiles& f) {
  return TensorBundle(f.index, {std::span<const std::uint8_t>(f.shards.at(0))}, f.name + "variables/");
}

TEST(TensorBundle, ListsTheB32HeadsVariablesWithShapesAndChecksums) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  const SavedModelFiles& f = files(kB32Zip);
  ASSERT_EQ(f.shards.size(), 1u);
  const TensorBundle b = bundle_of(f);
  // The full listing: the object graph, 2 metrics, the 3 lookup tables' (empty) adapt state,
  // the Normalization's count/mean/variance and 3 Dense layers.
  EXPECT_EQ(b.entries().size(), 20u);
  const std::map<std::string, std::pair<TfDType, std::vector<std::int64_t>>> expected{
      {"layer_with_weights-1/mean/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {512}}},
      {"layer_with_weights-1/variance/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {512}}},
      {"layer_with_weights-1/count/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::int64, {}}},
      {"layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {512, 32}}},
      {"layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {32}}},
      {"layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {32, 32}}},
      {"layer_with_weights-3/bias/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {32}}},
      {"layer_with_weights-4/kernel/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {32, 1}}},
      {"layer_with_weights-4/bias/.ATTRIBUTES/VARIABLE_VALUE", {TfDType::float32, {1}}},
      {"layer_with_weights-0/encoding_layers/92/token_counts/.ATTRIBUTES/table-keys", {TfDType::string, {0}}},
      {"layer_with_weights-0/encoding_layers/92/token_counts/.ATTRIBUTES/table-values", {TfDType::int64, {0}}},
      {"_CHECKPOINTABLE_OBJECT_GRAPH", {TfDType::string, {}}},
  };
  for (const auto& [key, want] : expected) {
    const BundleEntry* e = b.find(key);
    ASSERT_NE(e, nullptr) << key;
    EXPECT_EQ(e->dtype, static_cast<int>(want.first)) << key;
    EXPECT_EQ(e->shape, want.second) << key;
  }
  // Every checksum holds: float tensors, empty tables and the string object graph.
  EXPECT_NO_THROW(b.verify_all());
  // A value seen with NumPy on the same bytes (mean[0] of the Normalization).
  EXPECT_FLOAT_EQ(b.read_float32(*b.find("layer_with_weights-1/mean/.ATTRIBUTES/VARIABLE_VALUE"))[0], -0.01110501f);
  // Keys sorted; an absent key is nullptr; a string tensor cannot be read as floats.
  EXPECT_EQ(b.find("layer_with_weights-9/kernel/.ATTRIBUTES/VARIABLE_VALUE"), nullptr);
  expect_error([&] { b.read_float32(*b.find("_CHECKPOINTABLE_OBJECT_GRAPH")); }, ErrorCode::model_invalid,
               "holds string, expected float32");
}

TEST(TensorBundle, ListsTheL14HeadsVariables) {
  SAFESCAN_REQUIRE_SHARED(kL14Zip);
  const TensorBundle b = bundle_of(files(kL14Zip));
  EXPECT_EQ(b.entries().size(), 26u);
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> dense{
      {"layer_with_weights-2", {768, 64}}, {"layer_with_weights-3", {64, 512}},
      {"layer_with_weights-4", {512, 256}}, {"layer_with_weights-5", {256, 1}}};
  for (const auto& [key, shape] : dense) {
    const BundleEntry* e = b.find(key + "/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    ASSERT_NE(e, nullptr) << key;
    EXPECT_EQ(e->shape, shape) << key;
  }
  for (const int col : {180, 316, 413, 440, 644})
    EXPECT_NE(b.find("layer_with_weights-0/encoding_layers/" + std::to_string(col) +
                     "/token_counts/.ATTRIBUTES/table-keys"),
              nullptr)
        << col;
  EXPECT_NO_THROW(b.verify_all());
}

TEST(TensorBundle, CorruptedDataIsACrcMismatchNamingTheKey) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  const SavedModelFiles& f = files(kB32Zip);
  const TensorBundle good = bundle_of(f);
  const BundleEntry* kernel = good.find("layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(kernel, nullptr);
  std::vector<std::uint8_t> data = f.shards[0];
  data[kernel->offset + 100] ^= 0x10;  // one flipped bit inside dense_1's kernel
  const TensorBundle bad(f.index, {std::span<const std::uint8_t>(data)}, "corrupt/variables/");
  expect_error([&] { bad.read_float32(*bad.find(kernel->key)); }, ErrorCode::model_invalid,
               "checksum mismatch for key 'layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE'");
  // Other tensors still read.
  EXPECT_NO_THROW(bad.read_float32(*bad.find("layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE")));

  // A data file cut short: the index points past its end.
  const std::vector<std::uint8_t> cut(f.shards[0].begin(), f.shards[0].begin() + 70000);
  const TensorBundle truncated(f.index, {std::span<const std::uint8_t>(cut)}, "cut/variables/");
  expect_error([&] { truncated.read_float32(*truncated.find("layer_with_weights-4/bias/.ATTRIBUTES/VARIABLE_VALUE")); },
               ErrorCode::model_invalid, "truncated data file");

  // End to end: the same damage in an unpacked SavedModel directory stops the head.
  safescan::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "variables");
  auto write = [](const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  write(dir.path() / "keras_metadata.pb", f.keras_metadata);
  write(dir.path() / "variables" / "variables.index", f.index);
  write(dir.path() / "variables" / "variables.data-00000-of-00001", data);
  expect_error([&] { load_laion_nsfw_head(dir.path()); }, ErrorCode::model_invalid,
               "checksum mismatch for key 'layer_with_weights-3/kernel");
  write(dir.path() / "variables" / "variables.data-00000-of-00001", f.shards[0]);
  const auto intact = load_laion_nsfw_head(dir.path());  // the intact directory loads
  EXPECT_EQ(intact->feature_dim(), 512);
  EXPECT_EQ(intact->name(), "laion-nsfw");
  ASSERT_EQ(intact->models().size(), 1u);
  EXPECT_EQ(intact->models()[0].path, dir.path().string());
  std::filesystem::remove(dir.path() / "variables" / "variables.data-00000-of-00001");
  expect_error([&] { load_laion_nsfw_head(dir.path()); }, ErrorCode::model_missing, "variables.data-00000-of-00001");
}

TEST(TensorBundle, TruncatedOrDamagedIndexIsRefused) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  const SavedModelFiles& f = files(kB32Zip);
  const std::vector<std::span<const std::uint8_t>> shards{f.shards[0]};
  const auto index = std::span<const std::uint8_t>(f.index);
  expect_error([&] { (void)TensorBundle(index.first(index.size() - 10), shards, "idx"); }, ErrorCode::model_invalid,
               "bad magic number in the footer");
  expect_error([&] { (void)TensorBundle(index.first(30), shards, "idx"); }, ErrorCode::model_invalid,
               "shorter than the 48-byte footer (truncated)");
  expect_error([&] { (void)TensorBundle(index.first(0), shards, "idx"); }, ErrorCode::model_invalid, "truncated");
  // A byte changed inside the data block: the block checksum catches it.
  std::vector<std::uint8_t> damaged = f.index;
  damaged[200] ^= 0x01;
  expect_error([&] { (void)TensorBundle(damaged, shards, "idx"); }, ErrorCode::model_invalid, "block checksum mismatch");
  // The index block's trailer says snappy: refused as such.
  std::vector<std::uint8_t> snappy = f.index;
  std::size_t pos = 0;
  std::uint64_t meta_off, meta_size, index_off, index_size;
  const auto footer = std::span<const std::uint8_t>(snappy).last(kSstFooterSize);
  ASSERT_TRUE(pb::read_varint(footer, pos, meta_off) && pb::read_varint(footer, pos, meta_size) &&
              pb::read_varint(footer, pos, index_off) && pb::read_varint(footer, pos, index_size));
  snappy[index_off + index_size] = 1;
  expect_error([&] { (void)TensorBundle(snappy, shards, "idx"); }, ErrorCode::model_invalid, "snappy-compressed");
  // The wrong number of shards.
  expect_error([&] { (void)TensorBundle(f.index, {}, "idx"); }, ErrorCode::model_invalid, "calls for 1 data shard(s), 0 given");
  // The shard names the header calls for.
  EXPECT_EQ(TensorBundle::shard_names(f.index, "idx"), std::vector<std::string>{"variables.data-00000-of-00001"});
}

TEST(TensorBundle, EveryByteFlipAndTruncationOfTheIndexIsAnErrorOrHarmless) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  const SavedModelFiles& f = files(kB32Zip);
  const std::vector<std::span<const std::uint8_t>> shards{f.shards[0]};
  std::size_t refused = 0;
  for (std::size_t i = 0; i < f.index.size(); ++i) {
    std::vector<std::uint8_t> bad = f.index;
    bad[i] ^= 0x5a;
    try {
      const TensorBundle b(bad, shards, "idx");
      b.verify_all();  // a surviving change (padding in the footer) must still read consistently
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::model_invalid) << "byte " << i << ": " << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, f.index.size() * 9 / 10);  // the block checksums catch nearly everything
  for (std::size_t n = 0; n < f.index.size(); n += 7)
    expect_error([&] { (void)TensorBundle(std::span<const std::uint8_t>(f.index).first(n), shards, "idx"); },
                 ErrorCode::model_invalid, "tensor-bundle index");
}

TEST(KerasMetadata, GivesTheLayerConfigsAndTheLookupSettings) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  const std::vector<KerasNode> nodes = read_keras_metadata(files(kB32Zip).keras_metadata, "meta");
  const KerasNode* lookup = nullptr;
  for (const KerasNode& n : nodes)
    if (n.path == "root.layer_with_weights-0.encoding_layers.92") lookup = &n;
  ASSERT_NE(lookup, nullptr);
  EXPECT_EQ(lookup->metadata["class_name"], "StringLookup");
  EXPECT_EQ(lookup->metadata["config"]["num_oov_indices"], 1);
  EXPECT_TRUE(lookup->metadata["config"]["mask_token"].is_null());
  EXPECT_TRUE(lookup->metadata["config"]["vocabulary"].is_null());
  EXPECT_EQ(nodes.front().path, "root");
}

// The reference forward pass, written independently of keras_mlp.cpp: keys and categorical
// columns hard-coded (from the variable listing and the shared README), double precision.
double reference_probability(const TensorBundle& b, std::vector<double> x, const std::vector<int>& categorical,
                             int dense_layers) {
  auto get = [&](const std::string& key) {
    const auto v = b.read_float32(*b.find(key + "/.ATTRIBUTES/VARIABLE_VALUE"));
    return std::vector<double>(v.begin(), v.end());
  };
  const auto mean = get("layer_with_weights-1/mean");
  const auto var = get("layer_with_weights-1/variance");
  for (const int c : categorical) x[c] = 0.0;  // the empty StringLookup's OOV index
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (x[i] - mean[i]) / std::max(std::sqrt(var[i]), 1e-7);
  for (int l = 0; l < dense_layers; ++l) {
    const std::string key = "layer_with_weights-" + std::to_string(2 + l);
    const auto kernel = get(key + "/kernel");
    auto y = get(key + "/bias");
    for (std::size_t i = 0; i < x.size(); ++i)
      for (std::size_t j = 0; j < y.size(); ++j) y[j] += x[i] * kernel[i * y.size() + j];
    if (l + 1 < dense_layers)
      for (double& v : y) v = std::max(v, 0.0);
    x = y;
  }
  return 1.0 / (1.0 + std::exp(-x.at(0)));
}

std::vector<float> rating_embedding(const std::string& variant, int rating) {
  const auto t = io::read_npy(shared_dir() / "models/laion/rating_embeddings" / (variant + "_embeddings") /
                              ("rating" + std::to_string(rating) + ".npy"));
  return t.to_float();
}

struct HeadCase {
  const char* zip;
  int dim;
  std::vector<int> categorical;
  int dense_layers;
  const char* variant;
  int rating;
  double numpy_p;  // NumPy, float64, on 5 x that rating embedding, weights from a separate Python parser
};

void check_head(const HeadCase& hc) {
  const SavedModelFiles& f = files(hc.zip);
  const TensorBundle b = bundle_of(f);
  const KerasMlp mlp = build_autokeras_mlp(read_keras_metadata(f.keras_metadata, "meta"), b, f.name);
  // The structure read from the metadata matches the README and the variables.
  EXPECT_EQ(mlp.input_dim, hc.dim);
  EXPECT_EQ(mlp.categorical_columns, hc.categorical);
  EXPECT_EQ(mlp.categorical_values, std::vector<float>(hc.categorical.size(), 0.0f));
  ASSERT_EQ(static_cast<int>(mlp.layers.size()), hc.dense_layers);
  for (int l = 0; l + 1 < hc.dense_layers; ++l) EXPECT_EQ(mlp.layers[l].activation, Activation::relu);
  EXPECT_EQ(mlp.layers.back().activation, Activation::sigmoid);
  EXPECT_EQ(mlp.layers.back().out, 1);

  // Not normalised on purpose (x5): lands near the decision boundary, where errors show.
  std::vector<float> x = rating_embedding(hc.variant, hc.rating);
  for (float& v : x) v *= 5;
  const double ref = reference_probability(b, std::vector<double>(x.begin(), x.end()), hc.categorical, hc.dense_layers);
  const float p = mlp.forward(x.data());
  EXPECT_NEAR(p, ref, 1e-5);
  EXPECT_NEAR(p, hc.numpy_p, 1e-5);
  EXPECT_NEAR(ref, hc.numpy_p, 2e-6);  // NumPy scaled in float64, this test in float32

  // A constructed input: x_i = sin(i), through the head (which L2-normalises first).
  std::vector<float> s(static_cast<std::size_t>(hc.dim));
  std::vector<double> sd(s.size());
  double norm = 0;
  for (int i = 0; i < hc.dim; ++i) norm += std::sin(i) * std::sin(i);
  for (int i = 0; i < hc.dim; ++i) {
    s[i] = static_cast<float>(std::sin(i));
    sd[i] = std::sin(i) / std::sqrt(norm);
  }
  const double sref = reference_probability(b, sd, hc.categorical, hc.dense_layers);
  const auto head = load_laion_nsfw_head(shared_dir() / hc.zip);
  EXPECT_EQ(head->name(), "laion-nsfw");
  EXPECT_EQ(head->backbone(), "clip");
  EXPECT_EQ(head->feature_dim(), hc.dim);
  // One output, "nsfw" (1 = NSFW), covering Sexual; what counts as NSFW is the policy's.
  ASSERT_EQ(head->outputs(), std::vector<std::string>{"nsfw"});
  ASSERT_EQ(head->categories().size(), 1u);
  EXPECT_EQ(head->categories()[0].category, "Sexual");
  EXPECT_EQ(head->categories()[0].outputs, std::vector<int>{0});
  ASSERT_EQ(head->models().size(), 1u);
  EXPECT_EQ(head->models()[0].path, (shared_dir() / hc.zip).string());
  EXPECT_EQ(head->models()[0].sha256.size(), 64u);
  float sp = -1;
  head->score(s.data(), &sp);
  EXPECT_NEAR(std::log(sp), std::log(sref), 1e-3);  // p is tiny here: compare logs
  // The unnormalised 5 x rating input through the head: normalised first, so it scores as
  // the MLP does on the L2-normalised embedding.
  std::vector<float> xn = x;
  double xnorm = 0;
  for (const float v : xn) xnorm += double(v) * v;
  for (float& v : xn) v = static_cast<float>(v / std::sqrt(xnorm));
  float hp = -1;
  head->score(x.data(), &hp);
  EXPECT_NEAR(hp, mlp.forward(xn.data()), 1e-5);
  EXPECT_NEAR(hp, reference_probability(b, std::vector<double>(xn.begin(), xn.end()), hc.categorical, hc.dense_layers), 1e-5);
}

TEST(AutoKerasMlp, B32HeadMatchesIndependentForwardPasses) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  // numpy_p: logit -0.5320982209938148 on 5 x rating7, computed once during development with
  // Debian's python3 + numpy from a separate Python parser of the same SavedModel (float64;
  // categorical columns set to 0 before the normalisation).
  check_head({kB32Zip, 512, {92, 133, 312}, 3, "vit_b_32", 7, 0.3700276443970022});
}

TEST(AutoKerasMlp, L14HeadMatchesIndependentForwardPasses) {
  SAFESCAN_REQUIRE_SHARED(kL14Zip);
  // numpy_p: logit -1.5344479351221874 on 5 x rating0 (the same one-off NumPy check).
  check_head({kL14Zip, 768, {180, 316, 413, 440, 644}, 4, "vit_l_14", 0, 0.17734383163155013});
}

TEST(AutoKerasMlp, StructureProblemsNameTheKey) {
  SAFESCAN_REQUIRE_SHARED(kB32Zip);
  const SavedModelFiles& f = files(kB32Zip);
  const TensorBundle b = bundle_of(f);
  std::vector<KerasNode> nodes = read_keras_metadata(f.keras_metadata, "meta");
  // A Dense layer whose units disagree with its kernel.
  auto wrong_units = nodes;
  for (auto& layer : wrong_units.front().metadata["config"]["layers"])
    if (layer["config"]["name"] == "dense_1") layer["config"]["units"] = 16;
  expect_error([&] { build_autokeras_mlp(wrong_units, b, "m"); }, ErrorCode::model_invalid,
               "variable 'layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE' has shape [32, 32], expected [32, 16]");
  // A lookup with two OOV buckets cannot be reproduced by a constant.
  auto two_oov = nodes;
  for (auto& n : two_oov)
    if (n.path == "root.layer_with_weights-0.encoding_layers.133") n.metadata["config"]["num_oov_indices"] = 2;
  expect_error([&] { build_autokeras_mlp(two_oov, b, "m"); }, ErrorCode::model_invalid,
               "lookup layer 'root.layer_with_weights-0.encoding_layers.133' has num_oov_indices 2");
  // A mask token moves the OOV index to 1.
  auto masked = nodes;
  for (auto& n : masked)
    if (n.path == "root.layer_with_weights-0.encoding_layers.92") n.metadata["config"]["mask_token"] = "";
  EXPECT_EQ(build_autokeras_mlp(masked, b, "m").categorical_values, (std::vector<float>{1.0f, 0.0f, 0.0f}));
  // An unknown layer class.
  auto unknown = nodes;
  unknown.front().metadata["config"]["layers"][4]["class_name"] = "LayerNormalization";
  expect_error([&] { build_autokeras_mlp(unknown, b, "m"); }, ErrorCode::model_invalid,
               "unsupported layer class 'LayerNormalization'");
}

}  // namespace
