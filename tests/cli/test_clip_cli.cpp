// End-to-end tests of the CLIP commands: `safescan tokenize`, `safescan embed`,
// `safescan classify --clip-model X --detectors zeroshot|q16|...` on images and on
// precomputed embeddings (.npy), and `safescan models import` of the CLIP detector files.
// They run the built executable (safescan::testing::run_safescan); those that use the model
// store set SAFESCAN_HOME to a fresh temporary folder (with_home) and install what they need
// there with `safescan models import`, so they never touch (or depend on) the user's store.
//
// No pretrained CLIP exists here: the models are the randomly initialised CLIP of
// ../shared/fixtures/clip-tiny (64-wide embeddings; reference.json holds the reference
// implementation's tokens and embeddings) and, for the detectors, the real Q16 / LAION files
// in ../shared/models with LAION's rating embeddings (real ViT-B/32 and ViT-L/14 image
// embeddings of benign content). Every test that reads ../shared skips without it.
//
// classify and embed print the result row of docs/results.md (one per input, in input
// order): key, source, path, member, status, bytes, sha256, width, height, format, scores
// {detector: {output: score}}, categories {category: max score}, likelihood, decision,
// flagged, [error]; embed adds "embedding".
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_json.hpp"
#include "safescan_cli.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
// Ordered: a row's fields and categories keep the order the command wrote them in.
using json = nlohmann::ordered_json;
using testing::CommandResult;
using testing::lines_of;
using testing::read_all;
using testing::run_safescan;
using testing::shared_image;
using testing::shared_path;
using testing::TempDir;
using testing::with_home;
using testing::write_all;

// --- paths in ../shared ------------------------------------------------------------------

fs::path tiny_file(const std::string& name) { return shared_path("fixtures/clip-tiny/" + name); }
std::string vocab() { return shared_path("models/clip/bpe_simple_vocab_16e6.txt.gz").string(); }
fs::path q16_file(const std::string& variant) { return shared_path("models/q16/" + variant + ".prompts.p"); }
fs::path laion_file(const std::string& name) { return shared_path("models/laion/" + name); }

const std::vector<std::string> kCheckpoints = {"clip.jit.pt", "clip.state_dict.pt", "clip.safetensors"};

// Every non-empty line of `out` as a JSON object (in field order); a line that does not
// parse is a test failure.
std::vector<json> rows_of(const std::string& out) {
  std::vector<json> rows;
  for (const auto& line : lines_of(out)) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
    rows.push_back(std::move(j));
  }
  return rows;
}

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

// The reference images (files in ../shared/images) with their reference embeddings.
std::vector<std::pair<std::string, std::vector<float>>> reference_images() {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& im : reference()["images"])
    out.emplace_back(shared_image(im["file"].get<std::string>()).string(), floats_of(im["embedding"]));
  return out;
}

// Installs shared model files into the model store at `home` with `safescan models import`.
void import_models(const fs::path& home, const std::vector<fs::path>& files) {
  for (const auto& f : files) {
    const auto r = run_safescan({"models", "import", f.string()}, with_home(home));
    ASSERT_EQ(r.exit_code, 0) << "import " << f << ": " << r.describe();
  }
}

// What rows give as "path": absolute and lexically normal ("/a/b/../c" is "/a/c").
std::string normal_path(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }

std::string command_line(const std::vector<std::string>& args) {
  std::string cmd = "safescan";
  for (const auto& a : args) cmd += " " + a;
  return cmd;
}

// --- the result row ----------------------------------------------------------------------

// UnsafeBench's 11 categories, in the order rows list them.
const std::vector<std::string> kUnsafeBench = {"Hate",      "Harassment", "Violence",         "Self-harm",
                                               "Sexual",    "Shocking",   "Illegal activity", "Deception",
                                               "Political", "Public and personal health",     "Spam"};

// Every field a row may have (docs/results.md; "embedding" is embed's). The old "model",
// "top" and "flags" fields are gone.
const std::set<std::string> kRowFields = {
    "key", "source", "path", "member", "status", "bytes", "sha256", "width", "height", "format", "meta",
    "scores", "categories", "likelihood", "decision", "flagged", "faces", "face_count", "face_detector",
    "error", "review", "embedding"};
// The fields every row has, ok or not.
const std::vector<std::string> kAlwaysFields = {"key",   "source", "path",   "member", "status", "bytes",
                                                "sha256", "width", "height", "format", "flagged"};

void expect_row_fields(const json& j) {
  for (const auto& [field, _] : j.items()) EXPECT_TRUE(kRowFields.count(field)) << "unexpected field \"" << field << "\"";
  for (const auto& field : kAlwaysFields) EXPECT_TRUE(j.contains(field)) << "no field \"" << field << "\"";
  ASSERT_TRUE(j.value("path", json()).is_string());
  const fs::path path = j["path"].get<std::string>();
  EXPECT_TRUE(path.is_absolute() && path == path.lexically_normal()) << "path should be absolute and lexically normal";
  EXPECT_TRUE(j["flagged"].is_boolean());
}

// The zero-shot detector's prompt-file categories (data/zeroshot_prompts.json, in order,
// never "safe", the benign reference class): its output names and the category each counts
// towards.
struct ZeroShotCategory {
  std::string name;   // the output: "hate", "self-harm", "health" ...
  std::string label;  // the category: "Hate", "Self-harm", "Public and personal health" ...
};
const std::vector<ZeroShotCategory>& zeroshot_categories() {
  static const std::vector<ZeroShotCategory> names = [] {
    std::ifstream in(fs::path(SAFESCAN_SOURCE_DIR) / "data" / "zeroshot_prompts.json");
    const json j = json::parse(in, nullptr, false);
    std::vector<ZeroShotCategory> out;
    if (j.is_object() && j.contains("categories"))
      for (const auto& c : j["categories"]) out.push_back({c.value("name", ""), c.value("label", c.value("name", ""))});
    return out;
  }();
  return names;
}

// What each CLIP detector outputs, and which categories an output counts towards: Q16's
// "inappropriate" every UnsafeBench category but Sexual and Spam (UnsafeBench's alignment),
// LAION's "nsfw" Sexual and "violence" Violence, zero-shot one each.
std::set<std::string> outputs_of(const std::string& detector) {
  if (detector == "q16") return {"inappropriate"};
  if (detector == "laion-nsfw") return {"nsfw"};
  if (detector == "laion-violence") return {"violence"};
  if (detector == "zeroshot") {
    std::set<std::string> out;
    for (const auto& c : zeroshot_categories()) out.insert(c.name);
    return out;
  }
  ADD_FAILURE() << "no expectations for detector " << detector;
  return {};
}
std::vector<std::string> categories_of(const std::string& detector, const std::string& output) {
  if (detector == "q16") {
    std::vector<std::string> nine;
    for (const auto& c : kUnsafeBench)
      if (c != "Sexual" && c != "Spam") nine.push_back(c);
    return nine;
  }
  if (detector == "laion-nsfw") return {"Sexual"};
  if (detector == "laion-violence") return {"Violence"};
  for (const auto& c : zeroshot_categories())
    if (detector == "zeroshot" && c.name == output) return {c.label};
  ADD_FAILURE() << "no category for " << detector << "/" << output;
  return {};
}

// A policy as the test expects it to decide one detector's score in one category.
enum Verdict { kAllow = 0, kReview = 1, kBlock = 2 };
const char* const kVerdicts[] = {"allow", "review", "block"};
using PolicyFn = std::function<Verdict(const std::string& detector, const std::string& category, float score)>;

// The built-in policy: every category blocks at 0.5, Q16's at 0.9; nothing is for review.
Verdict builtin_policy(const std::string& detector, const std::string&, float score) {
  return score >= (detector == "q16" ? 0.9f : 0.5f) ? kBlock : kAllow;
}
// --threshold T: every category blocks at T.
PolicyFn block_at(float threshold) {
  return [threshold](const std::string&, const std::string&, float score) { return score >= threshold ? kBlock : kAllow; };
}

// The built-in likelihood levels (data/policy.toml): at 0.1 UNLIKELY, 0.3 POSSIBLE, 0.5
// LIKELY, 0.8 VERY_LIKELY.
std::string level_of(float score) {
  if (score >= 0.8f) return "VERY_LIKELY";
  if (score >= 0.5f) return "LIKELY";
  if (score >= 0.3f) return "POSSIBLE";
  if (score >= 0.1f) return "UNLIKELY";
  return "VERY_UNLIKELY";
}

// Checks a scored row: exactly `detectors` in "scores" with their outputs, each in [0, 1];
// "categories" the highest score of the detectors covering each, in UnsafeBench's order;
// "likelihood" their levels; "decision" the worst verdict of `policy` over every detector's
// categories, and "flagged" whether that is not "allow".
void expect_scored_row(const json& j, const std::vector<std::string>& detectors, const PolicyFn& policy = builtin_policy) {
  SCOPED_TRACE(j.dump());
  expect_row_fields(j);
  EXPECT_EQ(j.value("status", ""), "ok");
  EXPECT_FALSE(j.contains("error"));
  EXPECT_FALSE(j.contains("embedding"));
  ASSERT_TRUE(j.contains("scores") && j["scores"].is_object());
  ASSERT_TRUE(j.contains("categories") && j["categories"].is_object());
  ASSERT_TRUE(j.contains("likelihood") && j["likelihood"].is_object());
  ASSERT_TRUE(j.contains("decision") && j["decision"].is_string());
  std::set<std::string> got, want(detectors.begin(), detectors.end());
  for (const auto& [det, _] : j["scores"].items()) got.insert(det);
  ASSERT_EQ(got, want);

  std::map<std::string, float> categories;
  Verdict decision = kAllow;
  for (const auto& [det, outputs] : j["scores"].items()) {
    ASSERT_TRUE(outputs.is_object()) << det;
    std::set<std::string> names;
    for (const auto& [output, value] : outputs.items()) {
      names.insert(output);
      ASSERT_TRUE(value.is_number()) << det << "/" << output;
      const float score = value.get<float>();
      EXPECT_GE(score, 0.0f) << det << "/" << output;
      EXPECT_LE(score, 1.0f) << det << "/" << output;
      for (const auto& category : categories_of(det, output)) {
        auto [it, fresh] = categories.emplace(category, score);
        if (!fresh) it->second = std::max(it->second, score);
        decision = std::max(decision, policy(det, category, score));
      }
    }
    EXPECT_EQ(names, outputs_of(det)) << det;
  }

  std::vector<std::string> order;
  for (const auto& [category, value] : j["categories"].items()) {
    order.push_back(category);
    SCOPED_TRACE(category);
    ASSERT_TRUE(categories.count(category)) << "no detector covers it";
    ASSERT_TRUE(value.is_number());
    EXPECT_FLOAT_EQ(value.get<float>(), categories[category]) << "the highest score over detectors";
    EXPECT_EQ(j["likelihood"].value(category, ""), level_of(value.get<float>()));
  }
  std::vector<std::string> want_order;
  for (const auto& c : kUnsafeBench)
    if (categories.count(c)) want_order.push_back(c);
  EXPECT_EQ(order, want_order) << "every covered category, in UnsafeBench's order";
  EXPECT_EQ(j["likelihood"].size(), want_order.size());
  EXPECT_EQ(j["decision"].get<std::string>(), kVerdicts[decision]);
  EXPECT_EQ(j["flagged"].get<bool>(), decision != kAllow);
}

// Two runs over the same inputs give the same rows. Scores are compared within 1e-5: the runs
// compared here may batch differently (--batch, or a .npy against images), and a batch of one
// is not computed bit-identically to a batch of two.
void expect_same_rows(const std::string& got_out, const std::string& want_out) {
  const auto got = rows_of(got_out), want = rows_of(want_out);
  ASSERT_EQ(got.size(), want.size()) << got_out << "\nvs\n" << want_out;
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(want[i].dump());
    json a = got[i], b = want[i];
    for (const char* numeric : {"scores", "categories"}) {
      ASSERT_EQ(a.contains(numeric), b.contains(numeric)) << numeric;
      if (!a.contains(numeric)) continue;
      const auto fa = a[numeric].flatten(), fb = b[numeric].flatten();
      ASSERT_EQ(fa.size(), fb.size()) << numeric;
      for (const auto& [key, value] : fb.items()) {
        ASSERT_TRUE(fa.contains(key)) << numeric << key;
        EXPECT_NEAR(fa[key].get<double>(), value.get<double>(), 1e-5) << numeric << key;
      }
      a.erase(numeric);
      b.erase(numeric);
    }
    EXPECT_EQ(a, b);
  }
}

// An input that failed: the row says why and has nothing scored or embedded.
void expect_error_row(const json& j, const std::string& key, const std::string& code) {
  SCOPED_TRACE(j.dump());
  expect_row_fields(j);
  EXPECT_EQ(j.value("key", ""), key);
  EXPECT_EQ(j.value("status", ""), "error");
  ASSERT_TRUE(j.contains("error") && j["error"].is_object());
  EXPECT_EQ(j["error"].value("code", ""), code);
  const std::string message = j["error"].value("message", "");
  EXPECT_NE(message.find(j.value("path", "?")), std::string::npos) << "the message names the file";
  for (const char* field : {"embedding", "scores", "categories", "likelihood", "decision"})
    EXPECT_FALSE(j.contains(field)) << field;
  EXPECT_FALSE(j.value("flagged", true));
  EXPECT_TRUE(j["width"].is_null());
}

// An image embedded by `safescan embed`: the row of an ok input plus "embedding", which is
// returned.
std::vector<float> embedding_row(const json& j, const std::string& key) {
  SCOPED_TRACE(j.dump());
  expect_row_fields(j);
  EXPECT_EQ(j.value("key", ""), key);
  EXPECT_EQ(j.value("status", ""), "ok");
  EXPECT_FALSE(j.contains("error"));
  EXPECT_FALSE(j.contains("scores")) << "embed runs no detector";
  EXPECT_FALSE(j.contains("input")) << "the old field";
  EXPECT_GT(j.value("width", 0), 0);
  EXPECT_GT(j.value("height", 0), 0);
  EXPECT_TRUE(j.value("embedding", json()).is_array());
  return j.contains("embedding") ? floats_of(j["embedding"]) : std::vector<float>();
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
  const std::string bytes = read_all(file);
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
  write_all(file, bytes);
}

// The ten LAION rating embeddings of one CLIP variant stacked into `file` (10 x D) with
// `file`.keys.txt naming them rating0..rating9. Returns D (0 on failure).
int write_rating_embeddings(const std::string& variant_dir, const fs::path& file) {
  std::vector<float> all;
  std::int64_t dim = 0;
  std::string keys;
  for (int r = 0; r < 10; ++r) {
    const Npy one = read_npy(shared_path("models/laion/rating_embeddings/" + variant_dir + "/rating" + std::to_string(r) + ".npy"));
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
  write_all(fs::path(file.string() + ".keys.txt"), keys);
  return static_cast<int>(dim);
}

// --- tokenize ---------------------------------------------------------------------------

void expect_reference_tokens(const CommandResult& r) {
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = rows_of(r.out);
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
    expect_reference_tokens(run_safescan(args));
  }
  {
    SCOPED_TRACE("--texts");  // texts.txt holds the same texts, one per line
    expect_reference_tokens(run_safescan({"tokenize", "--vocab", vocab(), "--texts", tiny_file("texts.txt").string()}));
  }
}

TEST(TokenizeCli, UsageErrorsAndMissingVocabulary) {
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  const auto no_text = run_safescan({"tokenize", "--vocab", vocab()});
  EXPECT_EQ(no_text.exit_code, 2) << no_text.describe();
  EXPECT_NE(no_text.err.find("--text"), std::string::npos) << no_text.err;
  EXPECT_EQ(no_text.out, "");

  // --text takes one value (repeat it for more): a second word is not silently a text.
  const auto two = run_safescan({"tokenize", "--vocab", vocab(), "--text", "a cat", "a dog"});
  EXPECT_EQ(two.exit_code, 2) << two.describe();
  EXPECT_EQ(two.out, "");

  const TempDir dir;
  const std::string missing = (dir / "no-such-vocab.txt.gz").string();
  const auto r = run_safescan({"tokenize", "--vocab", missing, "--text", "a photo of a cat"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(TokenizeCli, InstalledVocabularyIsTheDefault) {
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/reference.json");
  const TempDir home;
  const auto before = run_safescan({"tokenize", "--text", "a photo of a cat"}, with_home(home.path()));
  EXPECT_EQ(before.exit_code, 1) << before.describe();
  EXPECT_NE(before.err.find("safescan models pull clip-vocab"), std::string::npos) << before.err;
  EXPECT_EQ(before.out, "");

  import_models(home.path(), {vocab()});
  const auto after = run_safescan({"tokenize", "--text", "a photo of a cat"}, with_home(home.path()));
  ASSERT_EQ(after.exit_code, 0) << after.describe();
  const auto rows = rows_of(after.out);
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
  const auto r = run_safescan(args);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = rows_of(r.out);
  ASSERT_EQ(rows.size(), images.size()) << r.describe();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(images[i].first);
    const auto e = embedding_row(rows[i], images[i].first);
    EXPECT_EQ(rows[i].value("source", ""), images[i].first);
    EXPECT_EQ(rows[i].value("path", ""), normal_path(images[i].first));
    EXPECT_EQ(rows[i].value("member", "?"), "");
    EXPECT_EQ(rows[i].value("bytes", std::int64_t{-1}), static_cast<std::int64_t>(fs::file_size(images[i].first)));
    ASSERT_EQ(e.size(), 64u);
    // Our preprocessing (decode + resize) is not PIL's, so not bit-exact: 0.999.
    EXPECT_GE(cosine(e, images[i].second), 0.999);
  }
}

TEST_P(EmbedEachCheckpoint, TextsMatchTheReference) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/" + GetParam());
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  // --clip-model is the same option as --model.
  const auto r = run_safescan({"embed", "--clip-model", tiny_file(GetParam()).string(), "--vocab", vocab(), "--texts",
                               tiny_file("texts.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = rows_of(r.out);
  const json& texts = reference()["texts"];
  ASSERT_EQ(rows.size(), texts.size()) << r.describe();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(texts[i]["text"].get<std::string>());
    std::vector<std::string> fields;
    for (const auto& [field, _] : rows[i].items()) fields.push_back(field);
    EXPECT_EQ(fields, (std::vector<std::string>{"key", "text", "embedding"})) << rows[i].dump();
    EXPECT_EQ(rows[i]["key"], texts[i]["text"]);
    EXPECT_EQ(rows[i]["text"], texts[i]["text"]);
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
  const auto r = run_safescan(
      {"embed", "--model", tiny_file("clip.safetensors").string(), images[0].first, missing, images[1].first});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = rows_of(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.describe();
  EXPECT_GE(cosine(embedding_row(rows[0], images[0].first), images[0].second), 0.999);
  expect_error_row(rows[1], missing, "unreadable");
  EXPECT_GE(cosine(embedding_row(rows[2], images[1].first), images[1].second), 0.999);
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
  const auto r = run_safescan(args);
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_EQ(r.out, "") << "with --out nothing goes to stdout";
  // The error row goes to stderr, still as JSON.
  bool error_row = false;
  for (const auto& line : lines_of(r.err)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("error")) {
      expect_error_row(j, missing, "unreadable");
      error_row = true;
    }
  }
  EXPECT_TRUE(error_row) << r.err;

  ASSERT_TRUE(fs::exists(out)) << r.describe();
  const Npy npy = read_npy(out);
  ASSERT_EQ(npy.shape, (std::vector<std::int64_t>{3, 64}));
  const auto keys = lines_of(read_all(out.string() + ".keys.txt"));
  ASSERT_EQ(keys.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(images[order[i]].first);
    EXPECT_EQ(keys[i], images[order[i]].first) << "the row keys";
    const std::vector<float> row(npy.values.begin() + i * 64, npy.values.begin() + (i + 1) * 64);
    EXPECT_GE(cosine(row, images[order[i]].second), 0.999);
  }
}

// embed takes what classify takes: folders (walked), list files and "-" (paths on stdin).
TEST(EmbedCli, FoldersListFilesAndStdin) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto images = reference_images();
  ASSERT_GE(images.size(), 3u);
  const TempDir dir;
  const fs::path photos = dir / "photos";
  fs::create_directories(photos / "sub");
  // name in the folder -> reference embedding
  std::map<std::string, std::vector<float>> want;
  for (std::size_t i = 0; i < 3; ++i) {
    const fs::path copy = (i == 0 ? photos / "sub" : photos) / fs::path(images[i].first).filename();
    fs::copy_file(images[i].first, copy);
    want[copy.string()] = images[i].second;
  }
  write_all(photos / "notes.txt", "not an image\n");
  std::string list;
  for (const auto& [path, _] : want) list += path + "\n";
  write_all(dir / "list.txt", list);

  const std::string model = tiny_file("clip.safetensors").string();
  const std::vector<std::pair<std::string, CommandResult>> runs = {
      {photos.string(), run_safescan({"embed", "--model", model, photos.string()})},
      {(dir / "list.txt").string(), run_safescan({"embed", "--model", model, (dir / "list.txt").string()})},
      {"-", run_safescan({"embed", "--model", model, "-"}, [&] {
         testing::CommandOptions o;
         o.stdin_data = list;
         return o;
       }())},
  };
  for (const auto& [source, r] : runs) {
    SCOPED_TRACE("source " + source);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const auto rows = rows_of(r.out);
    ASSERT_EQ(rows.size(), want.size()) << r.describe();
    std::set<std::string> seen;
    for (const auto& j : rows) {
      const std::string key = j.value("key", "");
      ASSERT_TRUE(want.count(key)) << j.dump();
      seen.insert(key);
      EXPECT_EQ(j.value("source", ""), source);
      EXPECT_GE(cosine(embedding_row(j, key), want[key]), 0.999) << key;
    }
    EXPECT_EQ(seen.size(), want.size());
  }
}

// Every input failing still writes a well-formed 0 x 64 .npy (not 0 x 0) and an empty
// keys file; a folder without images is a usage error, as for classify, found before the
// model is loaded.
TEST(EmbedCli, NoGoodInputs) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  const TempDir dir;
  const std::string missing = (dir / "missing.png").string();
  const fs::path out = dir / "emb.npy";
  const auto r = run_safescan({"embed", "--model", tiny_file("clip.safetensors").string(), "--out", out.string(), missing});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("\"unreadable\""), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(out)) << r.describe();
  EXPECT_EQ(read_npy(out).shape, (std::vector<std::int64_t>{0, 64}));
  EXPECT_EQ(read_all(out.string() + ".keys.txt"), "");

  fs::create_directory(dir / "empty");
  write_all(dir / "empty" / "notes.txt", "no images here\n");
  const std::string no_model = (dir / "no-such-model.safetensors").string();
  for (const std::string& model : {tiny_file("clip.safetensors").string(), no_model}) {
    SCOPED_TRACE(model);
    const auto empty = run_safescan({"embed", "--model", model, (dir / "empty").string()});
    EXPECT_EQ(empty.exit_code, 2) << empty.describe();
    EXPECT_NE(empty.err.find("no images found"), std::string::npos) << empty.err;
    EXPECT_EQ(empty.err.find(no_model), std::string::npos) << "the inputs are listed before the model loads: " << empty.err;
    EXPECT_EQ(empty.out, "");
  }
}

TEST(EmbedCli, Bf16AndInt8StayCloseToFp32) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto images = reference_images();
  auto embed = [&](const std::string& precision) {
    std::vector<std::string> args = {"embed", "--model", tiny_file("clip.safetensors").string(), "--precision", precision};
    for (const auto& [path, _] : images) args.push_back(path);
    const auto r = run_safescan(args);
    EXPECT_EQ(r.exit_code, 0) << precision << ": " << r.describe();
    std::vector<std::vector<float>> rows;
    for (const auto& j : rows_of(r.out)) rows.push_back(floats_of(j["embedding"]));
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
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  SAFESCAN_REQUIRE_SHARED("images/kodim04.png");
  const TempDir dir;
  const std::string full = read_all(tiny_file("clip.safetensors"));
  ASSERT_GT(full.size(), 100000u);
  const fs::path truncated = dir / "truncated.safetensors";
  write_all(truncated, full.substr(0, full.size() / 2));
  const fs::path text_pt = dir / "notes.pt";
  write_all(text_pt, "these are my notes, not a CLIP checkpoint\n");
  const fs::path text_st = dir / "notes.safetensors";
  write_all(text_st, "these are my notes, not a CLIP checkpoint\n");
  const std::string jit = read_all(tiny_file("clip.jit.pt"));
  const fs::path truncated_pt = dir / "truncated.pt";
  write_all(truncated_pt, jit.substr(0, jit.size() / 2));
  const fs::path missing = dir / "no-such-model.safetensors";
  const std::string image = shared_image("kodim04.png").string();
  for (const fs::path& bad : {truncated, text_pt, text_st, truncated_pt, missing}) {
    // The same for embed and for classify's --clip-model.
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"embed", "--model", bad.string(), image},
             {"classify", "--clip-model", bad.string(), "--detectors", "zeroshot", "--vocab", vocab(), image}}) {
      SCOPED_TRACE(command_line(args));
      const auto r = run_safescan(args);
      EXPECT_EQ(r.exit_code, 1) << r.describe();
      EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
      EXPECT_EQ(r.out, "");
    }
  }

  // A catalogue name that is not installed, or no model at all: the hint says how to install one.
  const TempDir home;
  for (const auto& args : std::vector<std::vector<std::string>>{{"embed", "--model", "clip-vit-b-32", image}, {"embed", image}}) {
    SCOPED_TRACE(command_line(args));
    const auto r = run_safescan(args, with_home(home.path()));
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("safescan models pull clip-vit-b-32"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(EmbedCli, UsageErrorsExit2) {
  const std::string image = shared_image("kodim04.png").string();  // never read
  const std::string model = tiny_file("clip.safetensors").string();
  const std::vector<std::vector<std::string>> cases = {
      {"embed", "--model", model},                                   // nothing to embed
      {"embed", "--model", model, "--text", "a cat", image},         // both (--text takes one value)
      {"embed", "--model", model, "--precision", "fp8", image},      // unknown precision
      {"embed", "--model", model, "--clip-model", model, image},     // one option, given twice
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(command_line(args));
    const auto r = run_safescan(args);
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_FALSE(r.err.empty());
    EXPECT_EQ(r.out, "");
  }
}

// --- classify --clip-model X --detectors zeroshot|q16 -----------------------------------

// The checks of an image row beyond its scores: where it came from and what was read.
void expect_image_row(const json& j, const std::string& path, const std::string& format) {
  SCOPED_TRACE(j.dump());
  EXPECT_EQ(j.value("key", ""), path);
  EXPECT_EQ(j.value("source", ""), path);
  EXPECT_EQ(j.value("path", ""), normal_path(path));
  EXPECT_EQ(j.value("member", "?"), "");
  EXPECT_EQ(j.value("format", ""), format);
  EXPECT_GT(j.value("width", 0), 0);
  EXPECT_GT(j.value("height", 0), 0);
  EXPECT_EQ(j.value("bytes", std::int64_t{-1}), static_cast<std::int64_t>(fs::file_size(path)));
  EXPECT_EQ(j.value("sha256", "").size(), 64u);
}

TEST(ClassifyClipCli, ZeroShotWithTheTinyClip) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  SAFESCAN_REQUIRE_SHARED("images");
  const auto& categories = zeroshot_categories();
  ASSERT_EQ(categories.size(), 11u) << "data/zeroshot_prompts.json";
  // The prompt file names UnsafeBench's categories in UnsafeBench's order, so the row's
  // categories are the file's, in file order.
  std::vector<std::string> labels;
  for (const auto& c : categories) labels.push_back(c.label);
  EXPECT_EQ(labels, kUnsafeBench);
  const TempDir dir, home;
  const std::string model = tiny_file("clip.safetensors").string();
  const std::string a = shared_image("kodim04.png").string(), b = shared_image("messi5.jpg").string();
  const std::string missing = (dir / "missing.jpg").string();
  const std::vector<std::string> args = {"classify", "--clip-model", model, "--detectors", "zeroshot",
                                         "--vocab",  vocab(),      "--format", "jsonl"};
  auto with_inputs = [&](std::vector<std::string> more) {
    std::vector<std::string> all = args;
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };
  const auto r = run_safescan(with_inputs({a, missing, b}), with_home(home.path()));
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = rows_of(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.describe();
  expect_error_row(rows[1], missing, "unreadable");
  EXPECT_EQ(rows[1].value("path", ""), normal_path(missing));
  for (const std::size_t i : {0u, 2u}) {
    const json& j = rows[i];
    SCOPED_TRACE(j.dump());
    // The decision is the built-in policy's: a category blocks at 0.5.
    expect_scored_row(j, {"zeroshot"});
    expect_image_row(j, i == 0 ? a : b, i == 0 ? "png" : "jpeg");
    double sum = 0;
    for (const auto& [name, score] : j["scores"]["zeroshot"].items()) sum += score.get<double>();
    EXPECT_LE(sum, 1.0 + 1e-5) << "softmax over the categories and safe";
  }

  // The same, without a missing file, exits 0; --threshold 0 blocks every image.
  const auto all = run_safescan(with_inputs({"--threshold", "0", a, b}), with_home(home.path()));
  EXPECT_EQ(all.exit_code, 0) << all.describe();
  const auto blocked = rows_of(all.out);
  ASSERT_EQ(blocked.size(), 2u) << all.describe();
  for (const auto& j : blocked) {
    expect_scored_row(j, {"zeroshot"}, block_at(0));
    EXPECT_EQ(j.value("decision", ""), "block") << j.dump();
    EXPECT_TRUE(j.value("flagged", false)) << j.dump();
  }

  // -m/--model is --detectors under another name: the same rows.
  std::vector<std::string> alias = with_inputs({a, b});
  std::replace(alias.begin(), alias.end(), std::string("--detectors"), std::string("--model"));
  const auto via_model = run_safescan(alias, with_home(home.path()));
  EXPECT_EQ(via_model.exit_code, 0) << via_model.describe();
  const auto plain = run_safescan(with_inputs({a, b}), with_home(home.path()));
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  expect_same_rows(via_model.out, plain.out);

  // The old way of naming the CLIP model, --model clip:FILE, is refused, pointing at --clip-model.
  const auto old = run_safescan({"classify", "--model", "clip:" + model, "--vocab", vocab(), "--format", "jsonl", a},
                                with_home(home.path()));
  EXPECT_EQ(old.exit_code, 2) << old.describe();
  EXPECT_NE(old.err.find("--clip-model"), std::string::npos) << old.err;
  EXPECT_EQ(old.out, "");
}

TEST(ClassifyClipCli, ZeroShotWithoutAVocabularyNamesTheFix) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("images/kodim04.png");
  const TempDir home;
  const auto r = run_safescan({"classify", "--clip-model", tiny_file("clip.safetensors").string(), "--detectors",
                               "zeroshot", shared_image("kodim04.png").string()},
                              with_home(home.path()));
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
  const auto r = run_safescan({"classify", "--clip-model", tiny_file("clip.safetensors").string(), "--detectors", "q16",
                               shared_image("kodim04.png").string()},
                              with_home(home.path()));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("q16"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("64"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// Embeddings written by `embed --out` and classified as a .npy score as the images do (the
// zero-shot prompts still need the CLIP text encoder, so --clip-model is required).
TEST(ClassifyClipCli, EmbeddingsFromEmbedScoreAsTheImages) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("models/clip/bpe_simple_vocab_16e6.txt.gz");
  SAFESCAN_REQUIRE_SHARED("images");
  const TempDir dir, home;
  const std::string model = tiny_file("clip.safetensors").string();
  const std::string a = shared_image("kodim04.png").string(), b = shared_image("messi5.jpg").string();
  const fs::path npy = dir / "emb.npy";
  const auto embedded = run_safescan({"embed", "--model", model, "--out", npy.string(), a, b});
  ASSERT_EQ(embedded.exit_code, 0) << embedded.describe();

  const auto images = run_safescan(
      {"classify", "--clip-model", model, "--detectors", "zeroshot", "--vocab", vocab(), "--format", "jsonl", a, b},
      with_home(home.path()));
  ASSERT_EQ(images.exit_code, 0) << images.describe();
  const auto from_npy = run_safescan(
      {"classify", "--clip-model", model, "--detectors", "zeroshot", "--vocab", vocab(), "--format", "jsonl", npy.string()},
      with_home(home.path()));
  ASSERT_EQ(from_npy.exit_code, 0) << from_npy.describe();
  const auto want = rows_of(images.out), got = rows_of(from_npy.out);
  ASSERT_EQ(want.size(), 2u) << images.describe();
  ASSERT_EQ(got.size(), 2u) << from_npy.describe();
  for (std::size_t i = 0; i < 2; ++i) {
    const json& j = got[i];
    SCOPED_TRACE(j.dump());
    expect_scored_row(j, {"zeroshot"});
    EXPECT_EQ(j.value("key", ""), i == 0 ? a : b) << "the keys-file line";
    EXPECT_EQ(j.value("member", ""), std::to_string(i)) << "the row number";
    EXPECT_EQ(j.value("source", ""), npy.string());
    EXPECT_EQ(j.value("path", ""), normal_path(npy));
    for (const char* field : {"width", "height", "format"}) EXPECT_TRUE(j[field].is_null()) << field;
    for (const auto& [name, score] : want[i]["scores"]["zeroshot"].items())
      EXPECT_NEAR(j["scores"]["zeroshot"].value(name, -1.0), score.get<double>(), 1e-5) << name;
    EXPECT_EQ(j["decision"], want[i]["decision"]);
  }

  // Without --clip-model (and none installed), zero-shot cannot embed its prompts.
  const auto no_clip = run_safescan({"classify", "--detectors", "zeroshot", "--vocab", vocab(), npy.string()},
                                    with_home(home.path()));
  EXPECT_EQ(no_clip.exit_code, 2) << no_clip.describe();
  EXPECT_NE(no_clip.err.find("--clip-model"), std::string::npos) << no_clip.err;
  EXPECT_EQ(no_clip.out, "");
}

// --- classify on precomputed embeddings (.npy) -----------------------------------------------

const std::vector<std::string> kHeads = {"q16", "laion-nsfw", "laion-violence"};

// Ten rows ratingN, one per row of `npy` (given on the command line as `source`), benign.
void expect_benign_ratings(const CommandResult& r, const fs::path& npy, const std::string& source,
                           const std::vector<std::string>& detectors) {
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = rows_of(r.out);
  ASSERT_EQ(rows.size(), 10u) << r.describe();
  for (int i = 0; i < 10; ++i) {
    const json& j = rows[i];
    SCOPED_TRACE(j.dump());
    expect_scored_row(j, detectors);
    EXPECT_EQ(j.value("key", ""), "rating" + std::to_string(i));
    EXPECT_EQ(j.value("member", ""), std::to_string(i));
    EXPECT_EQ(j.value("source", ""), source);
    EXPECT_EQ(j.value("path", ""), normal_path(npy));
    for (const char* field : {"width", "height", "format", "bytes", "sha256"}) EXPECT_TRUE(j[field].is_null()) << field;
    EXPECT_EQ(j.value("decision", ""), "allow") << "LAION rating embeddings are benign content";
    EXPECT_FALSE(j.value("flagged", true)) << "LAION rating embeddings are benign content";
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
  auto classify = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "classify");
    return run_safescan(args, with_home(home.path()));
  };
  const auto r = classify({"--embeddings", npy.string(), "--clip-variant", "ViT-B-32", "--detectors",
                           "q16,laion-nsfw,laion-violence", "--format", "jsonl"});
  expect_benign_ratings(r, npy, npy.string(), kHeads);
  // Naming the .npy is the same as --embeddings.
  const auto named = classify({npy.string(), "--clip-variant", "ViT-B-32", "--detectors", "q16,laion-nsfw,laion-violence",
                               "--format", "jsonl"});
  EXPECT_EQ(named.exit_code, 0) << named.describe();
  expect_same_rows(named.out, r.out);

  // Without --clip-variant a 512-wide embedding could be ViT-B-32 or ViT-B-16: Q16 (which
  // has prompts for both) must be told which.
  const auto ambiguous = classify({npy.string(), "--detectors", "q16", "--format", "jsonl"});
  EXPECT_EQ(ambiguous.exit_code, 2) << "a 512-wide Q16 score needs --clip-variant, not a guess: " << ambiguous.describe();
  EXPECT_NE(ambiguous.err.find("--clip-variant"), std::string::npos) << ambiguous.err;
  EXPECT_EQ(ambiguous.out, "");

  // The default detector list for embeddings: zero-shot needs a CLIP text encoder, so
  // without --clip-model it is skipped with a warning and the others still score.
  const auto defaults = classify({npy.string(), "--clip-variant", "ViT-B-32", "--format", "jsonl"});
  expect_benign_ratings(defaults, npy, npy.string(), kHeads);
  EXPECT_NE(defaults.err.find("warning: detector zeroshot skipped"), std::string::npos) << defaults.err;
  EXPECT_NE(defaults.err.find("--clip-model"), std::string::npos) << "should say what zero-shot needs: " << defaults.err;

  // --threshold 0: every category blocks at 0, so every row is blocked ...
  const auto zero = classify({npy.string(), "--clip-variant", "ViT-B-32", "--detectors", "q16,laion-nsfw,laion-violence",
                              "--threshold", "0", "--format", "jsonl"});
  ASSERT_EQ(zero.exit_code, 0) << zero.describe();
  const auto blocked = rows_of(zero.out);
  ASSERT_EQ(blocked.size(), 10u) << zero.describe();
  for (const auto& j : blocked) {
    SCOPED_TRACE(j.dump());
    expect_scored_row(j, kHeads, block_at(0));
    EXPECT_EQ(j.value("decision", ""), "block");
    EXPECT_TRUE(j.value("flagged", false));
  }
  // ... by each LAION head on its own, in its own category.
  for (const auto& [head, category] : std::vector<std::pair<std::string, std::string>>{{"laion-nsfw", "Sexual"},
                                                                                     {"laion-violence", "Violence"}}) {
    SCOPED_TRACE(head);
    const auto one = classify({npy.string(), "--clip-variant", "ViT-B-32", "--detectors", head, "--threshold", "0",
                               "--format", "jsonl"});
    ASSERT_EQ(one.exit_code, 0) << one.describe();
    const auto rows = rows_of(one.out);
    ASSERT_EQ(rows.size(), 10u) << one.describe();
    for (const auto& j : rows) {
      SCOPED_TRACE(j.dump());
      expect_scored_row(j, {head}, block_at(0));
      EXPECT_EQ(j["categories"].size(), 1u);
      EXPECT_TRUE(j["categories"].contains(category));
      EXPECT_EQ(j.value("decision", ""), "block");
    }
  }

  // A policy file: a review band for every category and a lower block threshold for Violence.
  write_all(dir / "policy.json",
            R"({"version": 1, "categories": {"default": {"review": 0.01, "block": 0.5}, "Violence": {"block": 0.05}}})");
  const auto policed = classify({npy.string(), "--clip-variant", "ViT-B-32", "--detectors", "laion-nsfw,laion-violence",
                                 "--policy", (dir / "policy.json").string(), "--format", "jsonl"});
  ASSERT_EQ(policed.exit_code, 0) << policed.describe();
  const auto decided = rows_of(policed.out);
  ASSERT_EQ(decided.size(), 10u) << policed.describe();
  const PolicyFn policy = [](const std::string&, const std::string& category, float score) {
    if (score >= (category == "Violence" ? 0.05f : 0.5f)) return kBlock;
    return score >= 0.01f ? kReview : kAllow;
  };
  std::set<std::string> decisions;
  for (const auto& j : decided) {
    expect_scored_row(j, {"laion-nsfw", "laion-violence"}, policy);
    decisions.insert(j.value("decision", ""));
  }
  // The ratings' violence scores fall on both sides of both thresholds.
  EXPECT_EQ(decisions, (std::set<std::string>{"allow", "review", "block"})) << policed.out;
}

TEST(ClassifyEmbeddingsCli, VitL14RatingsWithEveryHead) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings/vit_l_14_embeddings");
  SAFESCAN_REQUIRE_SHARED("models/q16");
  const TempDir home, dir;
  import_models(home.path(), {q16_file("ViT-L-14"), laion_file("clip_autokeras_binary_nsfw.zip"),
                              laion_file("violence_detection_vit_l_14.npy")});
  const fs::path npy = dir / "ratings.npy";
  ASSERT_EQ(write_rating_embeddings("vit_l_14_embeddings", npy), 768);
  expect_benign_ratings(run_safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-L-14",
                                      "--detectors", "laion-nsfw", "--format", "jsonl"},
                                     with_home(home.path())),
                        npy, npy.string(), {"laion-nsfw"});
  // 768 wide is only ViT-L-14: no --clip-variant needed. The .npy named relative to the
  // working directory: "source" as given, "path" absolute.
  expect_benign_ratings(run_safescan({"classify", "ratings.npy", "--detectors", "q16,laion-nsfw,laion-violence",
                                      "--format", "jsonl"},
                                     testing::in_dir(dir.path(), with_home(home.path()))),
                        npy, "ratings.npy", kHeads);
}

// Embeddings must be as wide as the CLIP model given with them.
TEST(ClassifyEmbeddingsCli, WidthMustMatchTheClipModel) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings/vit_b_32_embeddings");
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
  SAFESCAN_REQUIRE_SHARED("models/laion/violence_detection_vit_b_32.npy");
  const TempDir home, dir;
  import_models(home.path(), {laion_file("violence_detection_vit_b_32.npy")});
  const fs::path npy = dir / "ratings.npy";
  ASSERT_EQ(write_rating_embeddings("vit_b_32_embeddings", npy), 512);
  const auto r = run_safescan({"classify", "--clip-model", tiny_file("clip.safetensors").string(), "--detectors",
                               "laion-violence", npy.string()},
                              with_home(home.path()));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("512"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("64"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ClassifyEmbeddingsCli, MissingDetectorFilesNameThePull) {
  SAFESCAN_REQUIRE_SHARED("models/laion/rating_embeddings/vit_b_32_embeddings");
  const TempDir home, dir;
  const fs::path npy = dir / "ratings.npy";
  ASSERT_EQ(write_rating_embeddings("vit_b_32_embeddings", npy), 512);
  const auto r = run_safescan({"classify", "--embeddings", npy.string(), "--clip-variant", "ViT-B-32", "--detectors",
                               "laion-nsfw", "--format", "jsonl"},
                              with_home(home.path()));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("safescan models pull laion-nsfw-vit-b-32"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  // The default list with nothing installed: each detector skipped with a warning, then a
  // failure saying what to install.
  const auto none = run_safescan({"classify", npy.string(), "--clip-variant", "ViT-B-32"}, with_home(home.path()));
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
    const auto r = run_safescan({"models", "import", file.string()}, with_home(home.path()));
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.rfind("installed " + name + " ", 0), 0u) << "recognised by its sha256: " << r.out;
  }

  const auto verify = run_safescan({"models", "verify"}, with_home(home.path()));
  EXPECT_EQ(verify.exit_code, 0) << verify.describe();
  const auto lines = lines_of(verify.out);
  EXPECT_EQ(lines.size(), files.size()) << verify.out;
  for (const auto& [name, _] : files) {
    const bool ok = std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind(name + " ", 0) == 0 && l.find(" ok") != std::string::npos;
    });
    EXPECT_TRUE(ok) << name << " not verified ok:\n" << verify.out;
  }

  const auto list = run_safescan({"models", "list", "--format", "jsonl"}, with_home(home.path()));
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  std::map<std::string, json> by_name;
  for (auto& j : rows_of(list.out)) by_name[j.value("name", "")] = j;
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
  const auto tok = run_safescan({"tokenize", "--text", "a diagram"}, with_home(home.path()));
  EXPECT_EQ(tok.exit_code, 0) << tok.describe();
}

}  // namespace
}  // namespace safescan
