// Reading tensors from model files (src/models/io): the clip-tiny checkpoint in its three
// formats, the NumPy files of ../shared/models, archives built here to exercise views,
// storage types and module trees, and a corpus of broken files that must each give a
// safescan::Error naming the file and the problem, never a crash; then random mutations
// of each format.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "io/pickle.hpp"
#include "io/tensor_file.hpp"
#include "io/zip_reader.hpp"
#include "safescan/error.hpp"
#include "tensor_file_writers.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using io::DType;
using io::RawTensor;
using io::TensorMap;
using testing::TempDir;
using namespace testing::model_files;
using namespace std::string_view_literals;

const fs::path kClipTiny = "fixtures/clip-tiny";

// Runs `read`, expecting Error(code) about `file` whose message contains `needle`.
template <typename Read>
std::string expect_error(Read&& read, const fs::path& file, ErrorCode code, std::string_view needle) {
  try {
    read();
    ADD_FAILURE() << file << ": read without error, expected " << to_string(code) << " (" << needle << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(e.where(), file.string());
    EXPECT_NE(e.message().find(needle), std::string::npos) << "message: " << e.message() << "\nexpected to contain: " << needle;
    return e.message();
  }
  return {};
}

std::string expect_invalid_archive(const Bytes& bytes, std::string_view needle, const TempDir& dir) {
  const fs::path file = dir / "bad.pt";
  write_file(file, bytes);
  return expect_error([&] { io::read_torch_archive(file); }, file, ErrorCode::model_invalid, needle);
}

// Reading must either succeed or throw safescan::Error(model_invalid): any other exception
// escapes and fails the test; a crash fails the run (and ASan reports it).
template <typename Read>
void expect_no_crash(Read&& read) {
  try {
    read();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_invalid) << e.what();
  }
}

std::vector<float> floats(const RawTensor& t) { return t.to_float(); }

// ---------------------------------------------------------------------------------------
// clip-tiny: one checkpoint, three formats

const TensorMap& clip_tiny(const std::string& name) {
  static std::map<std::string, TensorMap> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, io::read_checkpoint(testing::shared_dir() / kClipTiny / name)).first;
  return it->second;
}

TEST(ClipTinyCheckpoint, ThreeFormatsHoldTheSameTensorsWithIdenticalValues) {
  SAFESCAN_REQUIRE_SHARED(kClipTiny / "clip.jit.pt");
  const TensorMap& jit = clip_tiny("clip.jit.pt");
  const TensorMap& state_dict = clip_tiny("clip.state_dict.pt");
  const TensorMap& safetensors = clip_tiny("clip.safetensors");

  std::set<std::string> keys;
  for (const auto& [name, t] : state_dict) keys.insert(name);
  EXPECT_EQ(keys.size(), 62u);
  for (const char* key : {"visual.conv1.weight", "visual.transformer.resblocks.0.attn.in_proj_weight", "token_embedding.weight",
                          "text_projection", "logit_scale", "positional_embedding", "visual.proj", "ln_final.bias",
                          "transformer.resblocks.1.mlp.c_proj.weight", "visual.class_embedding"})
    EXPECT_TRUE(keys.contains(key)) << key;
  for (const TensorMap* other : {&jit, &safetensors}) {
    std::set<std::string> other_keys;
    for (const auto& [name, t] : *other) other_keys.insert(name);
    EXPECT_EQ(other_keys, keys);
  }

  for (const auto& [name, reference] : state_dict) {
    const std::vector<float> expected = floats(reference);
    for (const TensorMap* other : {&jit, &safetensors}) {
      const auto it = other->find(name);
      if (it == other->end()) continue;  // reported above
      EXPECT_EQ(it->second.shape, reference.shape) << name;
      const std::vector<float> actual = floats(it->second);
      ASSERT_EQ(actual.size(), expected.size()) << name;
      EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0) << name << " values differ";
    }
  }
}

TEST(ClipTinyCheckpoint, ShapesAndKnownValues) {
  SAFESCAN_REQUIRE_SHARED(kClipTiny / "clip.state_dict.pt");
  const std::map<std::string, std::vector<std::int64_t>> shapes{
      {"visual.conv1.weight", {128, 3, 32, 32}},
      {"visual.transformer.resblocks.0.attn.in_proj_weight", {384, 128}},
      {"visual.positional_embedding", {50, 128}},
      {"visual.class_embedding", {128}},
      {"visual.proj", {128, 64}},
      {"token_embedding.weight", {49408, 64}},
      {"positional_embedding", {77, 64}},
      {"text_projection", {64, 64}},
      {"logit_scale", {}},
  };
  for (const char* file : {"clip.jit.pt", "clip.state_dict.pt", "clip.safetensors"}) {
    const TensorMap& m = clip_tiny(file);
    for (const auto& [key, shape] : shapes) EXPECT_EQ(m.at(key).shape, shape) << file << " " << key;
    EXPECT_EQ(m.at("logit_scale").shape_string(), "[]");
    EXPECT_EQ(m.at("visual.conv1.weight").shape_string(), "[128, 3, 32, 32]");
    // Values printed by PyTorch for the same checkpoint.
    const auto conv = floats(m.at("visual.conv1.weight"));
    EXPECT_EQ(conv[0], -0.00635528564453125f) << file;
    EXPECT_EQ(conv[1], 0.01198577880859375f) << file;
    EXPECT_EQ(floats(m.at("logit_scale"))[0], 2.6592600345611572f) << file;
    EXPECT_EQ(floats(m.at("token_embedding.weight"))[0], -0.0053137121722102165f) << file;
  }
}

TEST(ClipTinyCheckpoint, DTypesAsSaved) {
  SAFESCAN_REQUIRE_SHARED(kClipTiny / "clip.safetensors");
  for (const char* file : {"clip.state_dict.pt", "clip.safetensors"}) {
    const TensorMap& m = clip_tiny(file);
    for (const char* key : {"visual.conv1.weight", "visual.transformer.resblocks.0.attn.in_proj_weight",
                            "visual.transformer.resblocks.0.attn.out_proj.weight", "visual.transformer.resblocks.1.mlp.c_fc.weight",
                            "transformer.resblocks.0.mlp.c_proj.bias", "text_projection", "visual.proj"})
      EXPECT_EQ(m.at(key).dtype, DType::f16) << file << " " << key;
    for (const char* key : {"token_embedding.weight", "positional_embedding", "visual.positional_embedding", "visual.class_embedding",
                            "visual.ln_pre.weight", "transformer.resblocks.0.ln_1.bias", "ln_final.weight", "logit_scale"})
      EXPECT_EQ(m.at(key).dtype, DType::f32) << file << " " << key;
  }
  for (const auto& [name, t] : clip_tiny("clip.jit.pt")) EXPECT_EQ(t.dtype, DType::f32) << "clip.jit.pt " << name;
  for (const auto& [name, t] : clip_tiny("clip.state_dict.pt"))
    EXPECT_EQ(t.data.size(), static_cast<std::size_t>(t.numel()) * io::element_size(t.dtype)) << name;
}

TEST(ClipTinyCheckpoint, PreprocessedImagesAreFloat32Nchw) {
  SAFESCAN_REQUIRE_SHARED(kClipTiny / "pre_camera.npy");
  int count = 0;
  for (const auto& entry : fs::directory_iterator(testing::shared_dir() / kClipTiny)) {
    const std::string stem = entry.path().filename().string();
    if (!stem.starts_with("pre_") || entry.path().extension() != ".npy") continue;
    const RawTensor t = io::read_npy(entry.path());
    EXPECT_EQ(t.dtype, DType::f32) << stem;
    EXPECT_EQ(t.shape, (std::vector<std::int64_t>{1, 3, 224, 224})) << stem;
    for (float v : floats(t)) ASSERT_TRUE(std::isfinite(v) && std::fabs(v) < 3.0f) << stem << ": " << v;
    ++count;
  }
  EXPECT_EQ(count, 7);
  const auto camera = floats(io::read_npy(testing::shared_dir() / kClipTiny / "pre_camera.npy"));
  EXPECT_EQ(camera[0], 1.1128243207931519f);
  EXPECT_EQ(camera[1], 1.12742280960083f);
}

// ---------------------------------------------------------------------------------------
// ../shared/models: Q16 prompts (pickled float16), LAION embeddings (.npy)

TEST(SharedModelFiles, Q16PromptsArePickledFloat16Arrays) {
  SAFESCAN_REQUIRE_SHARED("models/q16/ViT-B-32.prompts.p");
  struct Case {
    const char* file;
    std::int64_t dim;
    float first, second, last;  // [0,0], [0,1], [1,D-1] as NumPy prints them
  };
  for (const Case& c : {Case{"ViT-B-16.prompts.p", 512, 0.1624755859375f, -0.73095703125f, 0.1544189453125f},
                        Case{"ViT-B-32.prompts.p", 512, 0.0906982421875f, 0.2392578125f, 0.3896484375f},
                        Case{"ViT-L-14.prompts.p", 768, 0.462890625f, 0.26513671875f, 0.1849365234375f}}) {
    const RawTensor t = io::read_pickled_ndarray(testing::shared_dir() / "models/q16" / c.file);
    EXPECT_EQ(t.dtype, DType::f16) << c.file;
    EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, c.dim})) << c.file;
    const auto v = floats(t);
    for (float x : v) ASSERT_TRUE(std::isfinite(x)) << c.file;
    EXPECT_EQ(v[0], c.first) << c.file;
    EXPECT_EQ(v[1], c.second) << c.file;
    EXPECT_EQ(v.back(), c.last) << c.file;
  }
}

TEST(SharedModelFiles, LaionViolenceAndRatingEmbeddings) {
  SAFESCAN_REQUIRE_SHARED("models/laion/violence_detection_vit_b_32.npy");
  const fs::path laion = testing::shared_dir() / "models/laion";
  const RawTensor b32 = io::read_npy(laion / "violence_detection_vit_b_32.npy");
  const RawTensor l14 = io::read_npy(laion / "violence_detection_vit_l_14.npy");
  EXPECT_EQ(b32.shape, (std::vector<std::int64_t>{2, 512}));
  EXPECT_EQ(l14.shape, (std::vector<std::int64_t>{2, 768}));
  EXPECT_EQ(b32.dtype, DType::f32);
  EXPECT_EQ(floats(b32)[0], 0.00684356689453125f);
  EXPECT_EQ(floats(l14)[1], 0.01195526123046875f);

  for (const auto& [folder, dim] : {std::pair{"vit_b_32_embeddings", 512}, std::pair{"vit_l_14_embeddings", 768}}) {
    for (int rating = 0; rating <= 9; ++rating) {
      const fs::path file = laion / "rating_embeddings" / folder / ("rating" + std::to_string(rating) + ".npy");
      const RawTensor t = io::read_npy(file);
      EXPECT_EQ(t.dtype, DType::f32) << file;
      EXPECT_EQ(t.shape, (std::vector<std::int64_t>{1, dim})) << file;
      double norm = 0;
      for (float v : floats(t)) norm += double{v} * v;
      EXPECT_GT(norm, 0.0) << file;
      EXPECT_TRUE(std::isfinite(norm)) << file;
    }
  }
  EXPECT_EQ(floats(io::read_npy(laion / "rating_embeddings/vit_b_32_embeddings/rating0.npy"))[1], 0.026998359709978104f);
}

TEST(SharedModelFiles, DeflatedZipEntriesAreInflatedAndCrcChecked) {
  SAFESCAN_REQUIRE_SHARED("models/laion/clip_autokeras_nsfw_b32.zip");
  const Bytes bytes = read_file(testing::shared_dir() / "models/laion/clip_autokeras_nsfw_b32.zip");
  const io::ZipArchive zip(bytes, "clip_autokeras_nsfw_b32.zip");
  int deflated = 0;
  for (const io::ZipEntry& e : zip.entries()) {
    const auto data = zip.read(e);  // throws on a CRC mismatch
    EXPECT_EQ(data.bytes().size(), e.size) << e.name;
    deflated += e.method == 8;
  }
  EXPECT_GT(deflated, 0);
}

// ---------------------------------------------------------------------------------------
// Archives built here: views, storage types, module trees

std::vector<float> iota_floats(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  return v;
}

// A state dict exercising strides, offsets, shared storages and every storage kind.
Bytes views_pickle() {
  PickleWriter p;
  p.op('}').mark();
  p.string("w").tensor_v2("FloatStorage", "0", 12, 0, {3, 4}, {4, 1});
  p.string("wt").tensor_v2("FloatStorage", "0", 12, 0, {4, 3}, {1, 4});
  p.string("row").tensor_v2("FloatStorage", "0", 12, 4, {4}, {1});
  p.string("col").tensor_v2("FloatStorage", "0", 12, 1, {3}, {4});
  p.string("bcast").tensor_v2("FloatStorage", "0", 12, 2, {2, 3}, {0, 1});
  p.string("scalar").tensor_v2("FloatStorage", "0", 12, 11, {}, {});
  p.string("empty").tensor_v2("FloatStorage", "0", 12, 0, {0, 4}, {4, 1});
  p.string("h").tensor_v2("HalfStorage", "1", 2, 0, {2}, {1});
  p.string("ids").tensor_v2("LongStorage", "3", 2, 0, {2}, {1});
  p.string("mask").tensor_v2("BoolStorage", "4", 3, 0, {3}, {1});
  // A parameter wrapping a tensor.
  p.string("p").global("torch._utils", "_rebuild_parameter").mark();
  p.tensor_v2("FloatStorage", "0", 12, 0, {2}, {1}).boolean(true).global("collections", "OrderedDict").op(')').op('R');
  p.tuple().op('R');
  // _rebuild_tensor_v3 over an UntypedStorage of 4 bytes: two bfloat16.
  p.string("b").global("torch._utils", "_rebuild_tensor_v3").mark();
  p.storage("UntypedStorage", "2", 4).integer(0).ints({2}).ints({1}).boolean(false);
  p.global("collections", "OrderedDict").op(')').op('R').global("torch", "bfloat16").tuple().op('R');
  // Nested dicts become dotted names; other values are ignored.
  p.string("sub").op('}').mark().string("x").tensor_v2("FloatStorage", "0", 12, 3, {1}, {1}).op('u');
  p.string("epoch").integer(3).string("note").string("hello").string("nothing").none();
  p.op('u').stop();
  return p.data();
}

std::vector<std::pair<std::string, Bytes>> views_storages() {
  return {{"0", raw_bytes(iota_floats(12))},
          {"1", raw_bytes(std::vector<std::uint16_t>{0x3c00, 0xc000})},             // 1, -2 (float16)
          {"2", raw_bytes(std::vector<std::uint16_t>{0x3fc0, 0xbf00})},             // 1.5, -0.5 (bfloat16)
          {"3", raw_bytes(std::vector<std::int64_t>{-1, std::int64_t{1} << 40})},
          {"4", Bytes{1, 0, 1}}};
}

void expect_views(const TensorMap& m) {
  using V = std::vector<float>;
  EXPECT_EQ(floats(m.at("w")), iota_floats(12));
  EXPECT_EQ(floats(m.at("wt")), (V{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(m.at("wt").shape, (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(floats(m.at("row")), (V{4, 5, 6, 7}));
  EXPECT_EQ(floats(m.at("col")), (V{1, 5, 9}));
  EXPECT_EQ(floats(m.at("bcast")), (V{2, 3, 4, 2, 3, 4}));
  EXPECT_EQ(floats(m.at("scalar")), (V{11}));
  EXPECT_EQ(m.at("empty").numel(), 0);
  EXPECT_TRUE(m.at("empty").data.empty());
  EXPECT_EQ(m.at("h").dtype, DType::f16);
  EXPECT_EQ(floats(m.at("h")), (V{1, -2}));
  EXPECT_EQ(m.at("ids").dtype, DType::i64);
  EXPECT_EQ(floats(m.at("ids")), (V{-1, 1099511627776.0f}));
  EXPECT_EQ(m.at("mask").dtype, DType::boolean);
  EXPECT_EQ(floats(m.at("mask")), (V{1, 0, 1}));
  EXPECT_EQ(floats(m.at("p")), (V{0, 1}));
  EXPECT_EQ(m.at("b").dtype, DType::bf16);
  EXPECT_EQ(floats(m.at("b")), (V{1.5f, -0.5f}));
  EXPECT_EQ(floats(m.at("sub.x")), (V{3}));
  EXPECT_EQ(m.size(), 13u) << "non-tensor values must be ignored";
}

TEST(TorchArchive, ViewsAreMaterialisedRowMajor) {
  TempDir dir;
  const fs::path file = dir / "views.pt";
  write_file(file, make_torch_archive(views_pickle(), views_storages()));
  expect_views(io::read_torch_archive(file));
  expect_views(io::read_checkpoint(file));
}

TEST(TorchArchive, DeflatedAndZip64ArchivesReadTheSame) {
  TempDir dir;
  const fs::path deflated = dir / "deflated.pt";
  write_file(deflated, make_torch_archive(views_pickle(), views_storages(), "model", /*deflate=*/true));
  expect_views(io::read_torch_archive(deflated));

  std::vector<ZipItem> items{{"archive/data.pkl", views_pickle()}};
  for (auto& [key, bytes] : views_storages()) items.push_back({"archive/data/" + key, bytes, key == "0"});
  const fs::path zip64 = dir / "zip64.pt";
  write_file(zip64, make_zip(items, /*zip64=*/true));
  expect_views(io::read_torch_archive(zip64));
}

TEST(TorchArchive, TorchScriptModulesFlattenToStateDictNames) {
  // __torch__.M(training=False, weight=<t>, child=__torch__.C(bias=<t>, n=5, hooks=None)).
  PickleWriter p;
  p.global("__torch__.model", "M").op(')').op(0x81).op('}').mark();
  p.string("training").boolean(false);
  p.string("weight").tensor_v2("FloatStorage", "0", 12, 0, {2, 2}, {2, 1});
  p.string("child").global("__torch__.model.___torch_mangle_3", "C").op(')').op(0x81).op('}').mark();
  p.string("bias").tensor_v2("FloatStorage", "0", 12, 8, {2}, {1});
  p.string("n").integer(5).string("_is_full_backward_hook").none();
  p.op('u').op('b');
  p.op('u').op('b').stop();
  TempDir dir;
  const fs::path file = dir / "jit.pt";
  write_file(file, make_torch_archive(p.data(), {{"0", raw_bytes(iota_floats(12))}}, "jit"));
  const TensorMap m = io::read_torch_archive(file);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(floats(m.at("weight")), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(floats(m.at("child.bias")), (std::vector<float>{8, 9}));
}

TEST(TorchArchive, PickledNnModulesUseParametersBuffersAndSubmodules) {
  // torch.save(model): Net with _parameters {weight}, _buffers {running}, _modules {fc: Linear, skip: None}.
  PickleWriter p;
  p.global("mymodel", "Net").op(')').op(0x81).op('}').mark();
  p.string("training").boolean(true);
  p.string("_parameters").global("collections", "OrderedDict").op(')').op('R').mark();
  p.string("weight").tensor_v2("FloatStorage", "0", 12, 0, {3}, {1}).op('u');
  p.string("_buffers").global("collections", "OrderedDict").op(')').op('R').mark();
  p.string("running").tensor_v2("FloatStorage", "0", 12, 3, {3}, {1}).op('u');
  p.string("_modules").global("collections", "OrderedDict").op(')').op('R').mark();
  p.string("fc").global("torch.nn.modules.linear", "Linear").op(')').op(0x81).op('}').mark();
  p.string("_parameters").op('}').mark().string("bias").tensor_v2("FloatStorage", "0", 12, 6, {2}, {1}).op('u');
  p.string("_buffers").op('}').string("_modules").op('}').op('u').op('b');
  p.string("skip").none().op('u');
  p.op('u').op('b').stop();
  TempDir dir;
  const fs::path file = dir / "module.pt";
  write_file(file, make_torch_archive(p.data(), {{"0", raw_bytes(iota_floats(12))}}));
  const TensorMap m = io::read_torch_archive(file);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(floats(m.at("weight")), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(floats(m.at("running")), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(floats(m.at("fc.bias")), (std::vector<float>{6, 7}));
}

// ---------------------------------------------------------------------------------------
// The pickle machine on its own

TEST(PickleMachine, ProtocolFourOpcodes) {
  // PROTO 4, FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE, LONG1 (negative), BINFLOAT,
  // SHORT_BINBYTES, BINUNICODE8, EMPTY_LIST + APPENDS, TUPLE1-3, LONG_BINPUT / LONG_BINGET.
  Bytes b{0x80, 4, 0x95};
  put_le(b, 0, 8);
  b.push_back('(');
  for (std::string_view s : {"numpy", "dtype"}) {
    b.push_back(0x8c);
    b.push_back(static_cast<std::uint8_t>(s.size()));
    put_text(b, s);
  }
  b.insert(b.end(), {0x93, 0x94});                     // STACK_GLOBAL, MEMOIZE (key 0)
  b.insert(b.end(), {0x8a, 2, 0x00, 0x80});            // LONG1 -32768
  b.push_back('G');                                    // BINFLOAT 1.5 (big-endian)
  b.insert(b.end(), {0x3f, 0xf8, 0, 0, 0, 0, 0, 0});
  b.insert(b.end(), {'C', 2, 0xab, 0xcd});             // SHORT_BINBYTES
  b.push_back(0x8d);                                   // BINUNICODE8
  put_le(b, 2, 8);
  put_text(b, "hi");
  b.insert(b.end(), {']', '(', 'N', 0x88, 'e'});      // [None, True]
  b.insert(b.end(), {'K', 7, 0x85});                   // (7,)
  b.insert(b.end(), {'r', 0x10, 0, 0, 0});             // LONG_BINPUT 16
  b.insert(b.end(), {'j', 0x10, 0, 0, 0, 0x86});       // ((7,), (7,))
  b.insert(b.end(), {'h', 0, 'K', 1, 'K', 2, 0x87});   // (numpy.dtype, 1, 2)
  b.insert(b.end(), {'t', '.'});
  const auto pickled = io::pickle::Pickle::parse(b, "test", "inline");
  const auto& root = pickled.root();
  ASSERT_TRUE(root.is(io::pickle::Kind::tuple));
  ASSERT_EQ(root.items.size(), 8u);
  EXPECT_TRUE(root.items[0]->is_global("numpy.dtype"));
  EXPECT_EQ(root.items[1]->integer, -32768);
  EXPECT_EQ(root.items[2]->floating, 1.5);
  EXPECT_EQ(root.items[3]->text, "\xab\xcd");
  EXPECT_EQ(root.items[4]->text, "hi");
  EXPECT_EQ(root.items[5]->items.size(), 2u);
  EXPECT_EQ(root.items[6]->items[0], root.items[6]->items[1]) << "LONG_BINGET returns the memoised value";
  EXPECT_EQ(root.items[7]->items[0], root.items[0]) << "BINGET 0 after MEMOIZE";
}

// ---------------------------------------------------------------------------------------
// NumPy: .npy variants and pickled arrays

TEST(Npy, VersionsDTypesAndFortranOrder) {
  TempDir dir;
  const fs::path file = dir / "a.npy";
  // Fortran order: the file holds columns; the reader returns rows.
  write_file(file, make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", raw_bytes(std::vector<float>{0, 3, 1, 4, 2, 5})));
  RawTensor t = io::read_npy(file);
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(floats(t), (std::vector<float>{0, 1, 2, 3, 4, 5}));

  for (int major : {2, 3}) {
    write_file(file, make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", raw_bytes(std::vector<std::int64_t>{-5, 0, 7}), major));
    t = io::read_npy(file);
    EXPECT_EQ(t.dtype, DType::i64);
    EXPECT_EQ(floats(t), (std::vector<float>{-5, 0, 7})) << "version " << major;
  }
  write_file(file, make_npy("{\"descr\": \"|b1\", \"fortran_order\": False, \"shape\": (2L, 1L)}", Bytes{1, 0}));
  t = io::read_npy(file);
  EXPECT_EQ(t.dtype, DType::boolean);
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 1}));
  // float16 with a subnormal, infinity and NaN: widened exactly.
  write_file(file, make_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }",
                            raw_bytes(std::vector<std::uint16_t>{0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00})));
  const auto v = floats(io::read_npy(file));
  EXPECT_EQ(v[0], std::ldexp(1.0f, -24));
  EXPECT_EQ(v[1], std::ldexp(1023.0f, -24));
  EXPECT_EQ(v[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[3], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[4]));
  write_file(file, make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", Bytes{200}));
  t = io::read_npy(file);
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(floats(t), (std::vector<float>{200}));
}

TEST(Npy, WriteFloat32RoundTrip) {
  TempDir dir;
  for (const std::vector<std::int64_t>& shape : std::vector<std::vector<std::int64_t>>{{2, 3, 4}, {7}, {}, {0, 5}}) {
    const fs::path file = dir / "out.npy";
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> values(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i)) * 1e3f;
    io::write_npy_f32(file, shape, values.data());
    const Bytes bytes = read_file(file);
    const std::size_t header = bytes[8] | (std::size_t{bytes[9]} << 8);
    EXPECT_EQ((10 + header) % 64, 0u) << "data is 64-byte aligned";
    const RawTensor t = io::read_npy(file);
    EXPECT_EQ(t.dtype, DType::f32);
    EXPECT_EQ(t.shape, shape);
    EXPECT_EQ(floats(t), values);
  }
  expect_error([&] { io::write_npy_f32(dir / "no/such/dir/x.npy", {1}, nullptr); }, dir / "no/such/dir/x.npy",
               ErrorCode::invalid_argument, "cannot create");
}

// numpy.core.multiarray._reconstruct + __setstate__, as pickle.dump(array) writes it.
Bytes pickled_array(std::string_view type, std::string_view order, const std::vector<std::int64_t>& shape, bool fortran,
                    const Bytes& data) {
  PickleWriter p(3);
  p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray").ints({0}).op('C').op(1).op('b');
  p.op(0x87).op('R').mark().integer(1).ints(shape);
  p.global("numpy", "dtype").string(type).boolean(false).boolean(true).op(0x87).op('R');
  p.mark().integer(3).string(order).none().none().none().integer(-1).integer(-1).integer(0).tuple().op('b');
  p.boolean(fortran).bytes(data).tuple().op('b').stop();
  return p.data();
}

TEST(PickledNdarray, ReconstructFortranAndFrombuffer) {
  TempDir dir;
  const fs::path file = dir / "a.p";
  write_file(file, pickled_array("f4", "<", {2, 3}, true, raw_bytes(std::vector<float>{0, 3, 1, 4, 2, 5})));
  RawTensor t = io::read_pickled_ndarray(file);
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(floats(t), (std::vector<float>{0, 1, 2, 3, 4, 5}));

  // Protocol 5: numpy.core.numeric._frombuffer(bytearray, dtype, shape, 'C').
  PickleWriter p(5);
  p.global("numpy.core.numeric", "_frombuffer").mark();
  p.bytearray(raw_bytes(std::vector<std::uint16_t>{0x3c00, 0x4000}));  // 1, 2 (float16)
  p.global("numpy", "dtype").string("f2").boolean(false).boolean(true).op(0x87).op('R');
  p.mark().integer(3).string("<").none().none().none().integer(-1).integer(-1).integer(0).tuple().op('b');
  p.ints({2}).string("C").tuple().op('R').stop();
  write_file(file, p.data());
  t = io::read_pickled_ndarray(file);
  EXPECT_EQ(t.dtype, DType::f16);
  EXPECT_EQ(floats(t), (std::vector<float>{1, 2}));
}

// ---------------------------------------------------------------------------------------
// safetensors built here

TEST(Safetensors, DTypesAndMetadata) {
  TempDir dir;
  const fs::path file = dir / "a.safetensors";
  Bytes data = raw_bytes(std::vector<float>{1.5f, -2});
  for (std::uint16_t bf : {0x3f80, 0xc040}) put_le(data, bf, 2);  // 1, -3 (bfloat16)
  put_le(data, static_cast<std::uint64_t>(-9), 8);
  data.push_back(1);
  write_file(file, make_safetensors(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]},)"
                                    R"("c":{"dtype":"I64","shape":[],"data_offsets":[12,20]},)"
                                    R"("d":{"dtype":"BOOL","shape":[1],"data_offsets":[20,21]},)"
                                    R"("e":{"dtype":"F16","shape":[0],"data_offsets":[21,21]}})",
                                    data));
  const TensorMap m = io::read_safetensors(file);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(floats(m.at("a")), (std::vector<float>{1.5f, -2}));
  EXPECT_EQ(m.at("b").dtype, DType::bf16);
  EXPECT_EQ(floats(m.at("b")), (std::vector<float>{1, -3}));
  EXPECT_EQ(floats(m.at("c")), (std::vector<float>{-9}));
  EXPECT_EQ(floats(m.at("d")), (std::vector<float>{1}));
  EXPECT_EQ(m.at("e").numel(), 0);
  EXPECT_EQ(io::read_checkpoint(file).size(), 5u);
}

// ---------------------------------------------------------------------------------------
// Broken files: each a safescan::Error naming the file and saying what is wrong

TEST(BadModelFiles, MissingEmptyAndDirectories) {
  TempDir dir;
  const fs::path missing = dir / "missing.pt", empty = dir / "empty.bin";
  write_file(empty, {});
  const std::vector<std::function<void(const fs::path&)>> readers{
      [](const fs::path& f) { io::read_torch_archive(f); }, [](const fs::path& f) { io::read_safetensors(f); },
      [](const fs::path& f) { io::read_checkpoint(f); },    [](const fs::path& f) { io::read_npy(f); },
      [](const fs::path& f) { io::read_pickled_ndarray(f); }};
  for (const auto& read : readers) {
    expect_error([&] { read(missing); }, missing, ErrorCode::model_missing, "no such file");
    expect_error([&] { read(empty); }, empty, ErrorCode::model_invalid, "empty");
    expect_error([&] { read(dir.path()); }, dir.path(), ErrorCode::model_missing, "directory");
  }
}

TEST(BadModelFiles, TruncatedZipArchives) {
  TempDir dir;
  const Bytes good = make_torch_archive(views_pickle(), views_storages());
  for (std::size_t cut : {std::size_t{1}, std::size_t{4}, std::size_t{21}, std::size_t{30}, good.size() / 3, good.size() / 2,
                          good.size() - 100, good.size() - 23, good.size() - 22, good.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_invalid_archive(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), "", dir);
  }
  expect_invalid_archive(Bytes(good.begin(), good.end() - 1), "end-of-central-directory", dir);
}

TEST(BadModelFiles, TruncatedRealCheckpoint) {
  SAFESCAN_REQUIRE_SHARED(kClipTiny / "clip.state_dict.pt");
  TempDir dir;
  const Bytes good = read_file(testing::shared_dir() / kClipTiny / "clip.state_dict.pt");
  for (std::size_t cut : {std::size_t{100}, std::size_t{7000}, good.size() / 2, good.size() - 1000, good.size() - 1})
    expect_invalid_archive(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), "", dir);
}

TEST(BadModelFiles, ZipStructureOutOfBounds) {
  TempDir dir;
  const Bytes good = make_torch_archive(views_pickle(), views_storages());
  const std::size_t directory = good[good.size() - 6] | (std::size_t{good[good.size() - 5]} << 8) |
                                (std::size_t{good[good.size() - 4]} << 16) | (std::size_t{good[good.size() - 3]} << 24);

  Bytes bad = good;
  set_le(bad, eocd_directory_offset_field(bad), 0x7fff0000, 4);
  expect_invalid_archive(bad, "central directory (offset 2147418112", dir);

  bad = good;
  set_le(bad, good.size() - 22 + 12, 0x7fff0000, 4);  // directory size
  expect_invalid_archive(bad, "lies outside the file", dir);

  bad = good;
  set_le(bad, directory + 42, 0x7fff0000, 4);  // first entry's local header offset
  expect_invalid_archive(bad, "local header offset 2147418112 is outside the file", dir);

  bad = good;
  set_le(bad, directory + 20, 0x7fff0000, 4);  // first entry's compressed size
  set_le(bad, directory + 24, 0x7fff0000, 4);
  expect_invalid_archive(bad, "run past the end of the file", dir);

  bad = good;
  set_le(bad, directory + 8, 1, 2);  // encrypted flag
  expect_invalid_archive(bad, "encrypted", dir);

  bad = good;
  set_le(bad, directory + 10, 12, 2);  // bzip2
  expect_invalid_archive(bad, "compression method 12", dir);

  bad = good;
  bad[70] ^= 0x55;  // a byte of data.pkl
  expect_invalid_archive(bad, "CRC-32 mismatch", dir);

  expect_invalid_archive(make_zip({{"a/data.pkl", views_pickle()}, {"a/data.pkl", views_pickle()}}), "appears twice", dir);
  expect_invalid_archive(make_zip({{"readme.txt", bytes_of("hello")}}), "not a PyTorch archive", dir);
  expect_invalid_archive(bytes_of("PK\x03\x04 but nothing else of a zip file"), "end-of-central-directory", dir);
}

TEST(BadModelFiles, TorchArchiveContents) {
  TempDir dir;
  const Bytes floats12 = raw_bytes(iota_floats(12));
  const auto one_tensor = [](std::string_view type, std::string_view key, std::int64_t numel, std::int64_t offset,
                             std::vector<std::int64_t> shape, std::vector<std::int64_t> strides) {
    PickleWriter p;
    p.op('}').mark().string("t").tensor_v2(type, key, numel, offset, shape, strides).op('u').stop();
    return p.data();
  };

  expect_invalid_archive(make_torch_archive(one_tensor("FloatStorage", "7", 12, 0, {3}, {1}), {{"0", floats12}}),
                         "tensor 't': its storage entry 'archive/data/7' is missing", dir);
  expect_invalid_archive(make_torch_archive(one_tensor("FloatStorage", "0", 12, 0, {4, 4}, {4, 1}), {{"0", floats12}}),
                         "reach element 15, but its storage holds 12 float32 elements", dir);
  expect_invalid_archive(make_torch_archive(one_tensor("FloatStorage", "0", 12, 10, {3}, {1}), {{"0", floats12}}),
                         "offset 10 reach element 12", dir);
  expect_invalid_archive(make_torch_archive(one_tensor("FloatStorage", "0", 12, 0, {3}, {1}), {{"0", Bytes(32)}}),
                         "holds 32 bytes, fewer than the 12 float32 elements it declares", dir);
  expect_invalid_archive(make_torch_archive(one_tensor("FloatStorage", "0", 12, 0, {3}, {-1}), {{"0", floats12}}),
                         "negative stride", dir);
  expect_invalid_archive(make_torch_archive(one_tensor("FloatStorage", "0", 1, 0, {std::int64_t{1} << 40}, {0}), {{"0", Bytes(4)}}),
                         "would take more than", dir);
  expect_invalid_archive(make_torch_archive(one_tensor("ComplexFloatStorage", "0", 1, 0, {1}, {1}), {{"0", Bytes(8)}}),
                         "storage type torch.ComplexFloatStorage is not supported", dir);

  PickleWriter quantized;
  quantized.op('}').mark().string("q").global("torch._utils", "_rebuild_qtensor").op(')').op('R').op('u').stop();
  expect_invalid_archive(make_torch_archive(quantized.data(), {}), "tensor 'q': stored with torch._utils._rebuild_qtensor", dir);

  // A TorchScript object whose attributes contain itself.
  PickleWriter cycle;
  cycle.global("__torch__", "M").op(')').op(0x81).put(0).op('}').mark().string("self").get(0).op('u').op('b').stop();
  expect_invalid_archive(make_torch_archive(cycle.data(), {}), "nested more than 64 levels", dir);

  Bytes bad_byte_order = make_zip({{"a/data.pkl", one_tensor("FloatStorage", "0", 12, 0, {3}, {1})},
                                   {"a/byteorder", bytes_of("big")}, {"a/data/0", floats12}});
  expect_invalid_archive(bad_byte_order, "only little-endian", dir);

  Bytes legacy{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
  expect_invalid_archive(legacy, "legacy (pre-1.6, non-zip) torch.save", dir);
}

TEST(BadModelFiles, BrokenPickles) {
  TempDir dir;
  const Bytes good = views_pickle();

  Bytes unknown{0x80, 0x02, '}', 0xff, '.'};
  const std::string message = expect_invalid_archive(make_torch_archive(unknown, {}), "unknown opcode 0xff", dir);
  EXPECT_NE(message.find("pickle 'archive/data.pkl' at byte 3"), std::string::npos) << message;

  expect_invalid_archive(make_torch_archive(Bytes(good.begin(), good.end() - 1), views_storages()), "without a STOP opcode", dir);
  expect_invalid_archive(make_torch_archive(Bytes(good.begin(), good.begin() + 40), views_storages()), "ends early", dir);
  expect_invalid_archive(make_torch_archive(Bytes{0x80, 0x02, 'h', 9, '.'}, {}), "memo key 9 was never stored", dir);
  expect_invalid_archive(make_torch_archive(Bytes{0x80, 0x02, 'a', '.'}, {}), "stack underflow", dir);
  expect_invalid_archive(make_torch_archive(Bytes{0x80, 0x02, 'N', 'K', 1, 'a', '.'}, {}), "not a list", dir);
  expect_invalid_archive(make_torch_archive(Bytes{0x80, 0x02, 'S', '\'', 'x', '\'', '\n', '.'}, {}),
                         "opcode 0x53 STRING (protocol 0 text string) is not supported", dir);
  expect_invalid_archive(make_torch_archive(Bytes{0x80, 9, '.'}, {}), "protocol 9", dir);

  // 100,000 nested lists: built, ignored (no tensors in lists) and freed without recursion.
  Bytes deep{0x80, 0x02};
  deep.insert(deep.end(), 100000, ']');
  deep.insert(deep.end(), 99999, 'a');
  deep.push_back('.');
  const fs::path file = dir / "deep.pt";
  write_file(file, make_torch_archive(deep, {}));
  EXPECT_TRUE(io::read_torch_archive(file).empty());
}

TEST(BadModelFiles, Safetensors) {
  TempDir dir;
  const fs::path file = dir / "bad.safetensors";
  const auto expect_bad = [&](const Bytes& bytes, std::string_view needle) {
    write_file(file, bytes);
    expect_error([&] { io::read_safetensors(file); }, file, ErrorCode::model_invalid, needle);
  };
  const Bytes data8(8);
  Bytes huge_header = make_safetensors("{}", data8);
  set_le(huge_header, 0, 1'000'000, 8);
  expect_bad(huge_header, "header length 1000000 is larger than the rest of the file");
  expect_bad(Bytes{1, 2, 3}, "too short");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data8), "reach past the 8 bytes of data");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data8), "end before they begin");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              data8),
             "overlap");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8),
             "hold 8 bytes, but shape [3] of F32 needs 12");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", data8), "dtype 'F8_E4M3' is not supported");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8), "not a non-negative integer");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[2]}})", data8), "data_offsets");
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", data8), "too large");
  const std::string deep(100000, '[');
  expect_bad(make_safetensors(R"({"a":{"dtype":"F32","shape":)" + deep + std::string(100000, ']') + R"(,"data_offsets":[0,8]}})", data8),
             "shape has an entry that is not a non-negative integer");
  expect_bad(make_safetensors(R"({"a":)", data8), "not valid JSON");
  expect_bad(make_safetensors("[1, 2]", data8), "not a JSON object");
}

TEST(BadModelFiles, NpyAndPickledArrays) {
  TempDir dir;
  const fs::path file = dir / "bad.npy";
  const auto expect_bad_npy = [&](const Bytes& bytes, std::string_view needle) {
    write_file(file, bytes);
    expect_error([&] { io::read_npy(file); }, file, ErrorCode::model_invalid, needle);
  };
  const Bytes f4x2 = raw_bytes(std::vector<float>{1, 2});
  expect_bad_npy(bytes_of("\x93NUMPZ\x01\x00\x10\x00{}"sv), "bad magic");
  expect_bad_npy(bytes_of("GIF89a"), "bad magic");
  expect_bad_npy(make_npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", f4x2), "dtype '<c8' is not supported");
  expect_bad_npy(make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f4x2), "big-endian");
  expect_bad_npy(make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", f4x2), "object array");
  expect_bad_npy(make_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", f4x2), "structured");
  expect_bad_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4x2), "npy data is truncated: 8 bytes, but shape (3,) of '<f4' needs 12");
  expect_bad_npy(make_npy("{'descr': '<f4', 'shape': (2,), }", f4x2), "lacks");
  expect_bad_npy(make_npy("{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }", f4x2), "expected True or False");
  expect_bad_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", f4x2), "too large");
  Bytes v4 = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4x2);
  v4[6] = 4;
  expect_bad_npy(v4, "version 4.0 is not supported");
  Bytes long_header = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4x2);
  set_le(long_header, 8, 0xfff0, 2);
  expect_bad_npy(long_header, "runs past the end of the file");

  const fs::path pickled = dir / "bad.p";
  const auto expect_bad_pickle = [&](const Bytes& bytes, std::string_view needle) {
    write_file(pickled, bytes);
    expect_error([&] { io::read_pickled_ndarray(pickled); }, pickled, ErrorCode::model_invalid, needle);
  };
  expect_bad_pickle(pickled_array("f4", "<", {3}, false, f4x2), "holds 8 bytes of data, which does not match");
  expect_bad_pickle(pickled_array("f4", ">", {2}, false, f4x2), "big-endian");
  expect_bad_pickle(Bytes{0x80, 0x02, '}', '.'}, "holds a dict, not a NumPy array");
  expect_bad_pickle(Bytes{0x80, 0x02, 0xfe}, "unknown opcode 0xfe");
  const Bytes good = pickled_array("f4", "<", {2}, false, f4x2);
  expect_bad_pickle(Bytes(good.begin(), good.end() - 12), "ends early");
}

// ---------------------------------------------------------------------------------------
// Mutated files: never a crash, never anything but safescan::Error

Bytes mutate(Bytes bytes, std::mt19937& rng, std::size_t from = 0) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits && bytes.size() > from; ++i) {
    const std::size_t at = from + rng() % (bytes.size() - from);
    switch (rng() % 3) {
      case 0: bytes[at] = static_cast<std::uint8_t>(rng()); break;
      case 1: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
      default: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
    }
  }
  return bytes;
}

TEST(MutatedModelFiles, NeverCrash) {
  TempDir dir;
  std::mt19937 rng(20240521);
  const fs::path file = dir / "fuzz";
  const Bytes pkl = views_pickle();
  const Bytes archive = make_torch_archive(pkl, views_storages());
  const Bytes safetensors = make_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}})",
                                             Bytes(12, 0x3c));
  const Bytes npy = make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Bytes(16, 1));
  const Bytes array = testing::have_shared("models/q16/ViT-B-32.prompts.p")
                          ? read_file(testing::shared_dir() / "models/q16/ViT-B-32.prompts.p")
                          : pickled_array("f2", "<", {2, 2}, false, Bytes(8, 0x3c));
  // SAFESCAN_MUTATIONS=100000 for a longer run (e.g. under ASan).
  const char* env = std::getenv("SAFESCAN_MUTATIONS");
  const int rounds = env && *env ? std::atoi(env) : 1000;
  for (int i = 0; i < rounds; ++i) {
    // The data pickle mutated inside a well-formed zip (so the CRC passes), then the zip itself.
    write_file(file, make_torch_archive(mutate(pkl, rng, 2), views_storages()));
    expect_no_crash([&] { io::read_torch_archive(file); });
    write_file(file, mutate(archive, rng));
    expect_no_crash([&] { io::read_checkpoint(file); });
    write_file(file, mutate(safetensors, rng));
    expect_no_crash([&] { io::read_safetensors(file); });
    write_file(file, mutate(npy, rng));
    expect_no_crash([&] { io::read_npy(file); });
    write_file(file, mutate(array, rng));
    expect_no_crash([&] { io::read_pickled_ndarray(file); });
  }
}

}  // namespace
}  // namespace safescan
