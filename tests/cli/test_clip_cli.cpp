// End-to-end tests of the CLIP commands: `safescan tokenize`, `safescan embed`,
// `safescan classify --model clip:...` / `--embeddings`, and `safescan models import` of the
// CLIP detector files. They run the built executable (SAFESCAN_EXE); those that use the model
// store set SAFESCAN_HOME to a fresh temporary folder and install what they need there with
// `safescan models import`, so they never touch (or depend on) the user's model store.
//
// No pretrained CLIP exists here: the models are the randomly initialised CLIP of
// ../shared/fixtures/clip-tiny (64-wide embeddings; reference.json holds the reference
// implementation's tokens and embeddings) and, for the detectors, the real Q16 / LAION files
// in ../shared/models with LAION's rating embeddings (real ViT-B/32 and ViT-L/14 image
// embeddings of benign content). Every test that reads ../shared skips without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_json.hpp"
#include "run_command.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::CommandOptions;
using testing::CommandResult;
using testing::TempDir;

// --- helpers ----------------------------------------------------------------------------

// Runs the built `safescan` with one inference thread (see test_classify_cli.cpp) and, when
// `home` is given, SAFESCAN_HOME=home. OMP_WAIT_POLICY=PASSIVE is what safescan would set
// and re-execute itself with (ensure_openmp_wait_policy): setting it here skips that second
// start (about 0.4 s of loading libtorch per run, and these tests run safescan ~60 times).
CommandResult safescan(std::vector<std::string> args, const fs::path& home = {}, CommandOptions options = {}) {
  args.insert(args.begin(), SAFESCAN_EXE);
  if (!options.env.count("SAFESCAN_THREADS")) options.env["SAFESCAN_THREADS"] = "1";
  if (!options.env.count("OMP_WAIT_POLICY")) options.env["OMP_WAIT_POLICY"] = "PASSIVE";
  if (!home.empty()) options.env["SAFESCAN_HOME"] = home.string();
  return testing::run_command(args, options);
}

fs::path tiny_dir() { return testing::shared_dir() / "fixtures" / "clip-tiny"; }
fs::path tiny_file(const std::string& name) { return tiny_dir() / name; }
std::string vocab() { return (testing::shared_dir() / "models" / "clip" / "bpe_simple_vocab_16e6.txt.gz").string(); }
fs::path shared_image(const std::string& name) { return testing::shared_dir() / "images" / name; }
fs::path rating_npy(const std::string& variant_dir, int rating) {
  return testing::shared_dir() / "models" / "laion" / "rating_embeddings" / variant_dir /
         ("rating" + std::to_string(rating) + ".npy");
}

const std::vector<std::string> kCheckpoints = {"clip.jit.pt", "clip.state_dict.pt", "clip.safetensors"};

using safescan::testing::json_lines;
using safescan::testing::lines_of;

// ../shared/fixtures/clip-tiny/reference.json, read once.
const json& reference() {
  static const json ref = [] {
    std::ifstream in(tiny_file("reference.json"));
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return ref;
}

std::vector<float> floats_of(const json& array) {
  std::vector<float> v;
  for (const auto& x : array) v.push_back(x.get<float>());
  return v;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return -2;
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << file;
}

// --- .npy (float32, C order) read and write, without the project's io library ---------

struct Npy {
  std::string descr;
  bool fortran_order = true;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// Parses a version 1, 2 or 3 .npy of float32 ('<f4'); fails the test (and returns what it
// has) on anything else.
Npy read_npy(const fs::path& file) {
  Npy npy;
  const std::string bytes = read_text(file);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    ADD_FAILURE() << file << " is not a .npy file";
    return npy;
  }
  const unsigned major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    start = 10;
  } else if (bytes.size() >= 12) {
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    start = 12;
  }
  if (start == 0 || start + header_len > bytes.size()) {
    ADD_FAILURE() << file << ": bad .npy header length";
    return npy;
  }
  EXPECT_EQ((start + header_len) % 16, 0u) << file << ": the data should start 16-byte aligned";
  const std::string header = bytes.substr(start, header_len);
  EXPECT_EQ(header.back(), '\n') << header;
  auto value_after = [&](const std::string& key) -> std::string {
    const auto at = header.find("'" + key + "'");
    if (at == std::string::npos) return {};
    auto v = header.find(':', at);
    if (v == std::string::npos) return {};
    ++v;
    while (v < header.size() && header[v] == ' ') ++v;
    return header.substr(v);
  };
  const std::string descr = value_after("descr");
  if (descr.size() > 2 && (descr[0] == '\'' || descr[0] == '"')) npy.descr = descr.substr(1, descr.find(descr[0], 1) - 1);
  npy.fortran_order = value_after("fortran_order").rfind("True", 0) == 0;
  const std::string shape = value_after("shape");
  if (shape.empty() || shape[0] != '(') {
    ADD_FAILURE() << file << ": no shape in " << header;
    return npy;
  }
  std::istringstream dims(shape.substr(1, shape.find(')') - 1));
  for (std::string d; std::getline(dims, d, ',');) {
    d.erase(std::remove(d.begin(), d.end(), ' '), d.end());
    if (!d.empty()) npy.shape.push_back(std::stoll(d));
  }
  std::int64_t count = 1;
  for (auto d : npy.shape) count *= d;
  EXPECT_EQ(npy.descr, "<f4") << file;
  EXPECT_FALSE(npy.fortran_order) << file;
  const std::size_t data = start + header_len;
  EXPECT_EQ(bytes.size() - data, static_cast<std::size_t>(count) * 4) << file << ": data size does not match the shape";
  npy.values.resize(std::min<std::size_t>(count, (bytes.size() - data) / 4));
  if (!npy.values.empty()) std::memcpy(npy.values.data(), bytes.data() + data, npy.values.size() * 4);  // little-endian host
  return npy;
}

// A version 1.0 float32 C-order .npy of `rows` x `cols`.
void write_npy(const fs::path& file, std::int64_t rows, std::int64_t cols, const std::vector<float>& values) {
  ASSERT_EQ(values.size(), static_cast<std::size_t>(rows * cols));
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  write_text(file, bytes);
}

// The ten LAION rating embeddings of one CLIP variant stacked into `file` (10 x D) with
// `file`.keys.txt naming them rating0..rating9. Returns D (0 on failure).
int write_rating_embeddings(const std::string& variant_dir, const fs::path& file) {
  std::vector<float> all;
  std::int64_t dim = 0;
  std::string keys;
  for (int r = 0; r < 10; ++r) {
    const Npy one = read_npy(rating_npy(variant_dir, r));
    std::int64_t count = 1;
    for (auto d : one.shape) count *= d;
    EXPECT_TRUE(one.shape.size() == 1 || (one.shape.size() == 2 && one.shape[0] == 1)) << "rating" << r;
    if (dim == 0) dim = count;
    EXPECT_EQ(count, dim) << "rating" << r;
    if (count != dim || one.values.size() != static_cast<std::size_t>(dim)) return 0;
    all.insert(all.end(), one.values.begin(), one.values.end());
    keys += "rating" + std::to_string(r) + "\n";
  }
  write_npy(file, 10, dim, all);
  write_text(fs::path(file.string() + ".keys.txt"), keys);
  return static_cast<int>(dim);
}

// Installs shared model files into the model store at `home` with `safescan models import`.
void import_models(const fs::path& home, const std::vector<fs::path>& files) {
  for (const auto& f : files) {
    const auto r = safescan({"models", "import", f.string()}, home);
    ASSERT_EQ(r.exit_code, 0) << "import " << f << ": " << r.describe();
  }
}

fs::path q16_file(const std::string& variant) { return testing::shared_dir() / "models" / "q16" / (variant + ".prompts.p"); }
fs::path laion_file(const std::string& name) { return testing::shared_dir() / "models" / "laion" / name; }

// The categories the zero-shot detector reports: data/zeroshot_prompts.json's, in order
// (never "safe", which is the benign reference class).
std::vector<std::string> zeroshot_categories() {
  std::ifstream in(fs::path(SAFESCAN_SOURCE_DIR) / "data" / "zeroshot_prompts.json");
  const json j = json::parse(in, nullptr, false);
  std::vector<std::string> names;
  if (j.is_object() && j.contains("categories"))
    for (const auto& c : j["categories"]) names.push_back(c.value("name", ""));
  return names;
}

// Checks a CLIP classify result line: scores, flags and flagged consistent, with exactly
// `detectors` present.
void expect_clip_scores(const json& j, const std::vector<std::string>& detectors) {
  SCOPED_TRACE(j.dump());
  EXPECT_FALSE(j.contains("error"));
  ASSERT_TRUE(j.contains("scores") && j["scores"].is_object());
  ASSERT_TRUE(j.contains("flags") && j["flags"].is_object());
  ASSERT_TRUE(j.contains("flagged") && j["flagged"].is_boolean());
  EXPECT_TRUE(j["path"].is_string());
  EXPECT_TRUE(j["model"].is_string());
  std::set<std::string> got, want(detectors.begin(), detectors.end());
  for (const auto& [k, v] : j["scores"].items()) got.insert(k);
  EXPECT_EQ(got, want);
  bool any = false;
  for (const auto& [det, flag] : j["flags"].items()) {
    EXPECT_TRUE(want.count(det)) << det;
    ASSERT_TRUE(flag.is_boolean()) << det;
    any = any || flag.get<bool>();
  }
  EXPECT_EQ(j["flags"].size(), want.size());
  EXPECT_EQ(j["flagged"].get<bool>(), any);
  for (const auto& [det, cats] : j["scores"].items()) {
    ASSERT_TRUE(cats.is_object() && !cats.empty()) << det;
    for (const auto& [cat, score] : cats.items()) {
      ASSERT_TRUE(score.is_number()) << det << "/" << cat;
      EXPECT_GE(score.get<double>(), 0.0) << det << "/" << cat;
      EXPECT_LE(score.get<double>(), 1.0) << det << "/" << cat;
    }
  }
}

void expect_error_line(const json& j, const std::string& key_field, const std::string& key, const std::string& code) {
  SCOPED_TRACE(j.dump());
  EXPECT_EQ(j.value(key_field, ""), key);
  ASSERT_TRUE(j.contains("error") && j["error"].is_object());
  EXPECT_EQ(j["error"].value("code", ""), code);
  EXPECT_FALSE(j["error"].value("message", "").empty());
  EXPECT_FALSE(j.contains("embedding"));
  EXPECT_FALSE(j.contains("scores"));
}

// The reference images (files in ../shared/images) with their reference embeddings.
std::vector<std::pair<std::string, std::vector<float>>> reference_images() {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& im : reference()["images"]) out.emplace_back(shared_image(im["file"]).string(), floats_of(im["embedding"]));
  return out;
}

// --- tokenize ---------------------------------------------------------------------------

void expect_reference_tokens(const CommandResult& r) {
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  const json& texts = reference()["texts"];
  ASSERT_EQ(rows.size(), texts.size()) << r.out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(texts[i]["text"].get<std::string>());
    EXPECT_EQ(rows[i]["text"], texts[i]["text"]);
    EXPECT_EQ(rows[i]["tokens"], texts[i]["tokens"]);
  }
}

TEST(TokenizeCli, ReferenceTokensForEveryText) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/reference.json");
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  ASSERT_TRUE(reference().is_object());
  std::vector<std::string> args = {"tokenize", "--vocab", vocab()};
  for (const auto& t : reference()["texts"]) {
    args.push_back("--text");
    args.push_back(t["text"].get<std::string>());
  }
  {
    SCOPED_TRACE("--text");
    expect_reference_tokens(safescan(args));
  }
  {
    SCOPED_TRACE("--texts");  // texts.txt holds the same texts, one per line
    expect_reference_tokens(safescan({"tokenize", "--vocab", vocab(), "--texts", tiny_file("texts.txt").string()}));
  }
}

TEST(TokenizeCli, UsageErrorsAndMissingVocabulary) {
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  const auto no_text = safescan({"tokenize", "--vocab", vocab()});
  EXPECT_EQ(no_text.exit_code, 2) << no_text.describe();
  EXPECT_NE(no_text.err.find("--text"), std::string::npos) << no_text.err;
  EXPECT_EQ(no_text.out, "");

  // --text takes one value (repeat it for more): a second word is not silently a text.
  const auto two = safescan({"tokenize", "--vocab", vocab(), "--text", "a cat", "a dog"});
  EXPECT_EQ(two.exit_code, 2) << two.describe();
  EXPECT_EQ(two.out, "");

  const TempDir dir;
  const std::string missing = (dir / "no-such-vocab.txt.gz").string();
  const auto r = safescan({"tokenize", "--vocab", missing, "--text", "a photo of a cat"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(TokenizeCli, InstalledVocabularyIsTheDefault) {
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/reference.json");
  const TempDir home;
  const auto before = safescan({"tokenize", "--text", "a photo of a cat"}, home.path());
  EXPECT_EQ(before.exit_code, 1) << before.describe();
  EXPECT_NE(before.err.find("safescan models pull clip-vocab"), std::string::npos) << before.err;
  EXPECT_EQ(before.out, "");

  import_models(home.path(), {vocab()});
  const auto after = safescan({"tokenize", "--text", "a photo of a cat"}, home.path());
  ASSERT_EQ(after.exit_code, 0) << after.describe();
  const auto rows = json_lines(after.out);
  ASSERT_EQ(rows.size(), 1u) << after.out;
  EXPECT_EQ(rows[0]["text"], "a photo of a cat");
  EXPECT_EQ(rows[0]["tokens"], reference()["texts"][0]["tokens"]);
}

// --- embed ------------------------------------------------------------------------------

class EmbedEachCheckpoint : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbedEachCheckpoint, ImagesMatchTheReference) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/" + GetParam());
  SAFESCAN_REQUIRE_SHARED("images");
  const auto images = reference_images();
  ASSERT_FALSE(images.empty());
  std::vector<std::string> args = {"embed", "--model", tiny_file(GetParam()).string()};
  for (const auto& [path, _] : images) args.push_back(path);
  const auto r = safescan(args);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), images.size()) << r.describe();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(images[i].first);
    ASSERT_EQ(rows[i].size(), 2u) << rows[i].dump();  // {"input", "embedding"}
    EXPECT_EQ(rows[i].value("input", ""), images[i].first);
    ASSERT_TRUE(rows[i]["embedding"].is_array());
    const auto e = floats_of(rows[i]["embedding"]);
    ASSERT_EQ(e.size(), 64u);
    // Our preprocessing (decode + resize) is not PIL's, so not bit-exact: 0.999.
    EXPECT_GE(cosine(e, images[i].second), 0.999);
  }
}

TEST_P(EmbedEachCheckpoint, TextsMatchTheReference) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/" + GetParam());
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  const auto r = safescan({"embed", "--model", tiny_file(GetParam()).string(), "--vocab", vocab(), "--texts",
                           tiny_file("texts.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  const json& texts = reference()["texts"];
  ASSERT_EQ(rows.size(), texts.size()) << r.describe();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(texts[i]["text"].get<std::string>());
    EXPECT_EQ(rows[i]["input"], texts[i]["text"]);
    const auto e = floats_of(rows[i]["embedding"]);
    ASSERT_EQ(e.size(), 64u);
    EXPECT_GE(cosine(e, floats_of(texts[i]["embedding"])), 0.99999);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, EmbedEachCheckpoint, ::testing::ValuesIn(kCheckpoints), [](const auto& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
});

TEST(EmbedCli, MissingImageGivesAnErrorLineAndExit3) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto images = reference_images();
  ASSERT_GE(images.size(), 2u);
  const TempDir dir;
  const std::string missing = (dir / "missing.png").string();
  const auto r = safescan(
      {"embed", "--model", tiny_file("clip.safetensors").string(), images[0].first, missing, images[1].first});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.describe();
  EXPECT_EQ(rows[0]["input"], images[0].first);
  EXPECT_GE(cosine(floats_of(rows[0]["embedding"]), images[0].second), 0.999);
  expect_error_line(rows[1], "input", missing, "unreadable");
  EXPECT_EQ(rows[2]["input"], images[1].first);
  EXPECT_GE(cosine(floats_of(rows[2]["embedding"]), images[1].second), 0.999);
}

TEST(EmbedCli, OutWritesAnNpyAndKeysInInputOrder) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto images = reference_images();
  ASSERT_GE(images.size(), 3u);
  const TempDir dir;
  const std::string missing = (dir / "missing.png").string();
  const fs::path out = dir / "emb.npy";
  // Reversed order, with a missing file in the middle: the rows follow the inputs.
  const std::vector<std::size_t> order = {2, 0, 1};
  std::vector<std::string> args = {"embed", "--model", tiny_file("clip.safetensors").string(), "--out", out.string(),
                                   images[order[0]].first, missing};
  args.push_back(images[order[1]].first);
  args.push_back(images[order[2]].first);
  const auto r = safescan(args);
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_EQ(r.out, "") << "with --out nothing goes to stdout";
  // The error line goes to stderr, still as JSON.
  bool error_line = false;
  for (const auto& line : lines_of(r.err)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("error")) {
      expect_error_line(j, "input", missing, "unreadable");
      error_line = true;
    }
  }
  EXPECT_TRUE(error_line) << r.err;

  ASSERT_TRUE(fs::exists(out)) << r.describe();
  const Npy npy = read_npy(out);
  ASSERT_EQ(npy.shape, (std::vector<std::int64_t>{3, 64}));
  const auto keys = lines_of(read_text(out.string() + ".keys.txt"));
  ASSERT_EQ(keys.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(images[order[i]].first);
    EXPECT_EQ(keys[i], images[order[i]].first);
    const std::vector<float> row(npy.values.begin() + i * 64, npy.values.begin() + (i + 1) * 64);
    EXPECT_GE(cosine(row, images[order[i]].second), 0.999);
  }
}

// Every input failing still writes a well-formed 0 x 64 .npy (not 0 x 0) and an empty
// keys file; a folder without images is a usage error, as for classify.
TEST(EmbedCli, NoGoodInputs) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  const TempDir dir;
  const std::string missing = (dir / "missing.png").string();
  const fs::path out = dir / "emb.npy";
  const auto r = safescan({"embed", "--model", tiny_file("clip.safetensors").string(), "--out", out.string(), missing});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("\"unreadable\""), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(out)) << r.describe();
  EXPECT_EQ(read_npy(out).shape, (std::vector<std::int64_t>{0, 64}));
  EXPECT_EQ(read_text(out.string() + ".keys.txt"), "");

  fs::create_directory(dir / "empty");
  write_text(dir / "empty" / "notes.txt", "no images here\n");
  const auto empty = safescan({"embed", "--model", tiny_file("clip.safetensors").string(), (dir / "empty").string()});
  EXPECT_EQ(empty.exit_code, 2) << empty.describe();
  EXPECT_NE(empty.err.find("no images found"), std::string::npos) << empty.err;
  EXPECT_EQ(empty.out, "");
}

TEST(EmbedCli, Bf16AndInt8StayCloseToFp32) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto images = reference_images();
  auto embed = [&](const std::string& precision) {
    std::vector<std::string> args = {"embed", "--model", tiny_file("clip.safetensors").string(), "--precision", precision};
    for (const auto& [path, _] : images) args.push_back(path);
    const auto r = safescan(args);
    EXPECT_EQ(r.exit_code, 0) << precision << ": " << r.describe();
    std::vector<std::vector<float>> rows;
    for (const auto& j : json_lines(r.out)) rows.push_back(floats_of(j["embedding"]));
    EXPECT_EQ(rows.size(), images.size()) << precision << ": " << r.describe();
    return rows;
  };
  const auto fp32 = embed("fp32");
  ASSERT_EQ(fp32.size(), images.size());
  for (const std::string precision : {"bf16", "int8"}) {
    SCOPED_TRACE(precision);
    const auto low = embed(precision);
    ASSERT_EQ(low.size(), fp32.size());
    for (std::size_t i = 0; i < low.size(); ++i) {
      ASSERT_EQ(low[i].size(), 64u) << images[i].first;
      EXPECT_GE(cosine(low[i], fp32[i]), 0.999) << images[i].first;
      EXPECT_NE(low[i], fp32[i]) << images[i].first << ": --precision " << precision << " changed nothing";
    }
  }
}

TEST(EmbedCli, BadCheckpointExits1NamingTheFile) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images/kodim04.png");
  const TempDir dir;
  const std::string full = read_text(tiny_file("clip.safetensors"));
  ASSERT_GT(full.size(), 100000u);
  const fs::path truncated = dir / "truncated.safetensors";
  write_text(truncated, full.substr(0, full.size() / 2));
  const fs::path text_pt = dir / "notes.pt";
  write_text(text_pt, "these are my notes, not a CLIP checkpoint\n");
  const fs::path text_st = dir / "notes.safetensors";
  write_text(text_st, "these are my notes, not a CLIP checkpoint\n");
  const std::string jit = read_text(tiny_file("clip.jit.pt"));
  const fs::path truncated_pt = dir / "truncated.pt";
  write_text(truncated_pt, jit.substr(0, jit.size() / 2));
  const fs::path missing = dir / "no-such-model.safetensors";
  for (const fs::path& bad : {truncated, text_pt, text_st, truncated_pt, missing}) {
    SCOPED_TRACE(bad.string());
    const auto r = safescan({"embed", "--model", bad.string(), shared_image("kodim04.png").string()});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }

  // A catalogue name that is not installed: the hint says how to install it.
  const TempDir home;
  const auto r = safescan({"embed", "--model", "clip-vit-b-32", shared_image("kodim04.png").string()}, home.path());
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("safescan models pull clip-vit-b-32"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(EmbedCli, UsageErrorsExit2) {
  const std::string image = shared_image("kodim04.png").string();  // never read
  const std::string model = tiny_file("clip.safetensors").string();
  const std::vector<std::vector<std::string>> cases = {
      {"embed", image},                                              // no --model
      {"embed", "--model", model},                                   // nothing to embed
      {"embed", "--model", model, "--text", "a cat", image},         // both (--text takes one value)
      {"embed", "--model", model, "--precision", "fp8", image},      // unknown precision
  };
  for (const auto& args : cases) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    SCOPED_TRACE("safescan" + cmd);
    const auto r = safescan(args);
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_FALSE(r.err.empty());
    EXPECT_EQ(r.out, "");
  }
}

// --- classify --model clip:... ----------------------------------------------------------

TEST(ClassifyClipCli, ZeroShotWithTheTinyClip) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto categories = zeroshot_categories();
  ASSERT_EQ(categories.size(), 11u) << "data/zeroshot_prompts.json";
  const TempDir dir, home;
  const std::string model = "clip:" + tiny_file("clip.safetensors").string();
  const std::string a = shared_image("kodim04.png").string(), b = shared_image("messi5.jpg").string();
  const std::string missing = (dir / "missing.jpg").string();
  const auto r = safescan({"classify", "--model", model, "--detectors", "zeroshot", "--vocab", vocab(), "--format",
                           "jsonl", a, missing, b},
                          home.path());
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.describe();
  expect_error_line(rows[1], "path", missing, "unreadable");
  EXPECT_EQ(rows[1].value("model", ""), model);
  for (const std::size_t i : {0u, 2u}) {
    const json& j = rows[i];
    SCOPED_TRACE(j.dump());
    expect_clip_scores(j, {"zeroshot"});
    EXPECT_EQ(j.value("path", ""), i == 0 ? a : b);
    EXPECT_EQ(j.value("model", ""), model);
    EXPECT_EQ(j.value("format", ""), i == 0 ? "png" : "jpeg");
    EXPECT_GT(j.value("width", 0), 0);
    EXPECT_GT(j.value("height", 0), 0);
    // Parsed again keeping the key order (json sorts keys).
    const auto ordered = nlohmann::ordered_json::parse(lines_of(r.out)[i]);
    const auto& zs = ordered["scores"]["zeroshot"];
    std::vector<std::string> names;
    double sum = 0;
    bool any = false;
    for (const auto& [cat, score] : zs.items()) {
      names.push_back(cat);
      sum += score.get<double>();
      any = any || score.get<double>() >= 0.5;  // every default threshold is 0.5
    }
    EXPECT_EQ(names, categories) << "the categories in file order, without safe";
    EXPECT_LE(sum, 1.0 + 1e-5) << "softmax over the categories and safe";
    EXPECT_EQ(j["flags"]["zeroshot"].get<bool>(), any);
  }

  // The same, without a missing file, exits 0; --threshold 0 flags every image.
  const auto all = safescan({"classify", "--model", model, "--detectors", "zeroshot", "--vocab", vocab(), "--threshold",
                             "0", "--format", "jsonl", a, b},
                            home.path());
  EXPECT_EQ(all.exit_code, 0) << all.describe();
  const auto flagged = json_lines(all.out);
  ASSERT_EQ(flagged.size(), 2u) << all.describe();
  for (const auto& j : flagged) {
    expect_clip_scores(j, {"zeroshot"});
    EXPECT_TRUE(j.value("flagged", false)) << j.dump();
  }
}

TEST(ClassifyClipCli, ZeroShotWithoutAVocabularyNamesTheFix) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images/kodim04.png");
  const TempDir home;
  const auto r = safescan({"classify", "--model", "clip:" + tiny_file("clip.safetensors").string(), "--detectors",
                           "zeroshot", shared_image("kodim04.png").string()},
                          home.path());
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("clip-vocab"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// The tiny CLIP makes 64-wide embeddings: no Q16 prompts exist for that width. Even with the
// Q16 files installed the command must refuse clearly (naming q16 and the width) before
// reading any image.
TEST(ClassifyClipCli, Q16WithA64WideClipIsRefused) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  SAFESCAN_REQUIRE_SHARED("images/kodim04.png");
  const TempDir home;
  import_models(home.path(), {q16_file("ViT-B-32"), q16_file("ViT-B-16"), q16_file("ViT-L-14")});
  const auto r = safescan({"classify", "--model", "clip:" + tiny_file("clip.safetensors").string(), "--detectors", "q16",
                           shared_image("kodim04.png").string()},
                          home.path());
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("q16"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("64"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// --- classify --embeddings ----------------------------------------------------------------

const std::vector<std::string> kHeads = {"q16", "laion-nsfw", "laion-violence"};

void expect_benign_ratings(const CommandResult& r, const std::vector<std::string>& detectors) {
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 10u) << r.describe();
  for (int i = 0; i < 10; ++i) {
    const json& j = rows[i];
    SCOPED_TRACE(j.dump());
    EXPECT_EQ(j.value("path", ""), "rating" + std::to_string(i));
    EXPECT_EQ(j.value("model", ""), "embeddings");
    expect_clip_scores(j, detectors);
    EXPECT_FALSE(j.value("flagged", true)) << "LAION rating embeddings are benign content";
    EXPECT_FALSE(j.contains("width"));
  }
}

TEST(ClassifyEmbeddingsCli, VitB32RatingsWithEveryHead) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings/vit_b_32_embeddings");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  const TempDir home, dir;
  import_models(home.path(), {q16_file("ViT-B-32"), laion_file("clip_autokeras_nsfw_b32.zip"),
                              laion_file("violence_detection_vit_b_32.npy")});
  const fs::path npy = dir / "ratings.npy";
  ASSERT_EQ(write_rating_embeddings("vit_b_32_embeddings", npy), 512);
  const auto r = safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-B-32", "--detectors",
                           "q16,laion-nsfw,laion-violence", "--format", "jsonl"},
                          home.path());
  expect_benign_ratings(r, kHeads);
  const auto rows = json_lines(r.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(rows[0]["scores"]["q16"].contains("inappropriate")) << rows[0].dump();
  EXPECT_TRUE(rows[0]["scores"]["laion-nsfw"].contains("nsfw")) << rows[0].dump();
  EXPECT_TRUE(rows[0]["scores"]["laion-violence"].contains("violence")) << rows[0].dump();

  // Without --clip-variant a 512-wide embedding could be ViT-B-32 or ViT-B-16: Q16 (which
  // has prompts for both) must be told which.
  const auto ambiguous =
      safescan({"classify", "--embeddings", npy.string(), "--detectors", "q16", "--format", "jsonl"}, home.path());
  EXPECT_EQ(ambiguous.exit_code, 2) << ambiguous.describe();
  EXPECT_NE(ambiguous.err.find("--clip-variant"), std::string::npos) << ambiguous.err;
  EXPECT_EQ(ambiguous.out, "");

  // The default detector list: zero-shot needs a CLIP text encoder, so without --model
  // clip:... it is skipped with a warning and the others still score.
  const auto defaults =
      safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-B-32", "--format", "jsonl"}, home.path());
  expect_benign_ratings(defaults, kHeads);
  EXPECT_NE(defaults.err.find("warning: detector zeroshot skipped"), std::string::npos) << defaults.err;
  EXPECT_NE(defaults.err.find("--model clip:"), std::string::npos) << "should say what zero-shot needs: " << defaults.err;

  // --threshold 0: every row is flagged; the LAION heads (p > threshold) flag every row.
  const auto zero = safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-B-32", "--detectors",
                              "q16,laion-nsfw,laion-violence", "--threshold", "0", "--format", "jsonl"},
                             home.path());
  ASSERT_EQ(zero.exit_code, 0) << zero.describe();
  const auto flagged = json_lines(zero.out);
  ASSERT_EQ(flagged.size(), 10u) << zero.describe();
  for (const auto& j : flagged) {
    SCOPED_TRACE(j.dump());
    expect_clip_scores(j, kHeads);
    EXPECT_TRUE(j.value("flagged", false));
    EXPECT_TRUE(j["flags"].value("laion-nsfw", false));
    EXPECT_TRUE(j["flags"].value("laion-violence", false));
  }
}

TEST(ClassifyEmbeddingsCli, VitL14RatingsWithEveryHead) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings/vit_l_14_embeddings");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  const TempDir home, dir;
  import_models(home.path(), {q16_file("ViT-L-14"), laion_file("clip_autokeras_binary_nsfw.zip"),
                              laion_file("violence_detection_vit_l_14.npy")});
  const fs::path npy = dir / "ratings.npy";
  ASSERT_EQ(write_rating_embeddings("vit_l_14_embeddings", npy), 768);
  expect_benign_ratings(safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-L-14", "--detectors",
                                  "laion-nsfw", "--format", "jsonl"},
                                 home.path()),
                        {"laion-nsfw"});
  // 768 wide is only ViT-L-14: no --clip-variant needed.
  expect_benign_ratings(
      safescan({"classify", "--embeddings", npy.string(), "--detectors", "q16,laion-nsfw,laion-violence", "--format",
                "jsonl"},
               home.path()),
      kHeads);
}

TEST(ClassifyEmbeddingsCli, MissingDetectorFilesNameThePull) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings/vit_b_32_embeddings");
  const TempDir home, dir;
  const fs::path npy = dir / "ratings.npy";
  ASSERT_EQ(write_rating_embeddings("vit_b_32_embeddings", npy), 512);
  const auto r = safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-B-32", "--detectors",
                           "laion-nsfw", "--format", "jsonl"},
                          home.path());
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("safescan models pull laion-nsfw-vit-b-32"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  // The default list with nothing installed: each detector skipped with a warning, then a
  // failure saying what to install.
  const auto none = safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-B-32"}, home.path());
  EXPECT_EQ(none.exit_code, 1) << none.describe();
  EXPECT_NE(none.err.find("no CLIP detector could be loaded"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("safescan models pull"), std::string::npos) << none.err;
  EXPECT_EQ(none.out, "");
}

// --- models import / verify / list of the CLIP detector files ----------------------------

TEST(ModelsClipCli, ImportEverySharedDetectorFile) {
  SAFESCAN_REQUIRE_SHARED("models/q16");
  SAFESCAN_REQUIRE_SHARED("models/laion");
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  const std::map<std::string, fs::path> files = {
      {"q16-vit-b-16", q16_file("ViT-B-16")},
      {"q16-vit-b-32", q16_file("ViT-B-32")},
      {"q16-vit-l-14", q16_file("ViT-L-14")},
      {"laion-nsfw-vit-b-32", laion_file("clip_autokeras_nsfw_b32.zip")},
      {"laion-nsfw-vit-l-14", laion_file("clip_autokeras_binary_nsfw.zip")},
      {"laion-violence-vit-b-32", laion_file("violence_detection_vit_b_32.npy")},
      {"laion-violence-vit-l-14", laion_file("violence_detection_vit_l_14.npy")},
      {"clip-vocab", vocab()},
  };
  const TempDir home;
  for (const auto& [name, file] : files) {
    SCOPED_TRACE(file.string());
    const auto r = safescan({"models", "import", file.string()}, home.path());
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.rfind("installed " + name + " ", 0), 0u) << "recognised by its sha256: " << r.out;
  }

  const auto verify = safescan({"models", "verify"}, home.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.describe();
  const auto lines = lines_of(verify.out);
  EXPECT_EQ(lines.size(), files.size()) << verify.out;
  for (const auto& [name, _] : files) {
    const bool ok = std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind(name + " ", 0) == 0 && l.find(" ok") != std::string::npos;
    });
    EXPECT_TRUE(ok) << name << " not verified ok:\n" << verify.out;
  }

  const auto list = safescan({"models", "list", "--format", "jsonl"}, home.path());
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  std::map<std::string, json> by_name;
  for (auto& j : json_lines(list.out)) by_name[j.value("name", "")] = j;
  for (const auto& [name, file] : files) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(by_name.count(name)) << list.out;
    const json& j = by_name[name];
    EXPECT_TRUE(j.value("installed", false)) << j.dump();
    EXPECT_TRUE(j.value("known", false)) << j.dump();
    EXPECT_EQ(fs::path(j.value("path", "")).parent_path().parent_path(), home.path()) << j.dump();
    EXPECT_GE(j.value("bytes", std::uint64_t{0}), fs::file_size(file)) << j.dump();  // plus the manifest
    ASSERT_EQ(j["files"].size(), 1u) << j.dump();
    EXPECT_EQ(j["files"][0].value("bytes", std::uint64_t{0}), fs::file_size(file)) << j.dump();
    EXPECT_TRUE(fs::is_regular_file(fs::path(j.value("path", "")) / j["files"][0].value("name", ""))) << j.dump();
  }
  for (const auto& [name, j] : by_name) {
    if (!files.count(name)) {
      EXPECT_FALSE(j.value("installed", true)) << j.dump();
    }
  }

  // The installed files are what the CLIP commands then find by themselves.
  const auto tok = safescan({"tokenize", "--text", "a diagram"}, home.path());
  EXPECT_EQ(tok.exit_code, 0) << tok.describe();
}

}  // namespace
}  // namespace safescan
