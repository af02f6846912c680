// End-to-end tests of the `safescan` command: they run the built executable (SAFESCAN_EXE)
// as a user would and check its standard output, standard error and exit status.
//
// Tests that read ../shared skip without it; tests that need the nsfwjs models fail with a
// hint when they are not installed (scripts/setup.sh installs them).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../core/image_writers.hpp"
#include "cli_json.hpp"
#include "cli/safescan_cli.hpp"
#include "safescan/image.hpp"
#include "safescan/models.hpp"
#include "golden.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::Bytes;
using testing::CommandOptions;
using testing::CommandResult;
using testing::TempDir;
using testing::run_safescan;
using testing::shared_image;

const std::vector<std::string> kModelNames = {"nsfw-mobilenet-v2", "nsfw-mobilenet-v2-mid", "nsfw-inception-v3"};
const std::vector<std::string> kClassNames = {"drawing", "hentai", "neutral", "porn", "sexy"};

// --- helpers ----------------------------------------------------------------------------

using safescan::testing::json_lines;
using safescan::testing::lines_of;

// Empty when the three nsfwjs models are installed, else what is missing and how to fix it.
std::string missing_models() {
  const auto installed = installed_models();
  std::string missing;
  for (const auto& name : kModelNames) {
    const bool found = std::any_of(installed.begin(), installed.end(), [&](const auto& m) { return m.name == name; });
    if (!found) missing += (missing.empty() ? "" : ", ") + name;
  }
  if (missing.empty()) return {};
  return "nsfwjs models not installed in " + models_dir().string() + ": " + missing +
         ". Run `SAFESCAN_SKIP_BUILD=1 scripts/setup.sh` to install them (or set SAFESCAN_HOME).";
}

// Tests that run a model fail, not skip, without the models: setup.sh installs them.
#define SAFESCAN_REQUIRE_MODELS()                                \
  do {                                                           \
    if (const std::string why = missing_models(); !why.empty()) \
      GTEST_FAIL() << why;                                       \
  } while (0)

// Checks a successful result row (docs/results.md): the documented keys and the invariants
// between them, for one nsfwjs detector under the built-in policy (or --threshold).
void expect_scores(const json& j, float threshold = 0.5f, const std::string& detector = "nsfw-mobilenet-v2") {
  SCOPED_TRACE(j.dump());
  ASSERT_TRUE(j.contains("scores")) << "no scores";
  EXPECT_FALSE(j.contains("error"));
  EXPECT_EQ(j["status"], "ok");
  ASSERT_TRUE(j["key"].is_string());
  ASSERT_TRUE(j["path"].is_string());
  EXPECT_TRUE(fs::path(j["path"].get<std::string>()).is_absolute());
  EXPECT_TRUE(j["member"].is_string());
  ASSERT_TRUE(j["scores"].contains(detector)) << "no scores of " << detector;
  const json& s = j["scores"][detector];
  ASSERT_TRUE(s.is_object());
  std::vector<std::string> keys;
  for (const auto& [k, v] : s.items()) keys.push_back(k);
  ASSERT_EQ(keys, kClassNames);  // in sorted order
  double sum = 0;
  for (const auto& name : kClassNames) {
    ASSERT_TRUE(s[name].is_number()) << name;
    const double p = s[name].get<double>();
    EXPECT_GE(p, 0.0) << name;
    EXPECT_LE(p, 1.0) << name;
    sum += p;
  }
  EXPECT_NEAR(sum, 1.0, 1e-4);
  ASSERT_TRUE(j["categories"].is_object());
  const double sexual = j["categories"]["Sexual"].get<double>();
  const double suggestive = j["categories"]["Suggestive"].get<double>();
  EXPECT_NEAR(sexual, s["porn"].get<double>() + s["hentai"].get<double>(), 1e-6);
  EXPECT_NEAR(suggestive, s["sexy"].get<double>(), 1e-7);
  for (const char* c : {"Sexual", "Suggestive"}) EXPECT_TRUE(j["likelihood"][c].is_string()) << c;
  const bool blocked = sexual >= threshold || suggestive >= threshold;
  EXPECT_EQ(j["decision"], blocked ? "block" : "allow");
  ASSERT_TRUE(j["flagged"].is_boolean());
  EXPECT_EQ(j["flagged"].get<bool>(), blocked);
  ASSERT_TRUE(j["width"].is_number_integer());
  ASSERT_TRUE(j["height"].is_number_integer());
  EXPECT_GT(j["width"].get<int>(), 0);
  EXPECT_GT(j["height"].get<int>(), 0);
  EXPECT_TRUE(j["format"].is_string());
  EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
  EXPECT_GT(j["bytes"].get<int>(), 0);
}

// Checks an error row: status "error", "error": {"code", "message"}, no scores, not flagged.
void expect_error_line(const json& j, const std::string& code) {
  SCOPED_TRACE(j.dump());
  EXPECT_FALSE(j.contains("scores"));
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["flagged"], false);
  ASSERT_TRUE(j.contains("error")) << "expected error " << code;
  ASSERT_TRUE(j["error"].is_object());
  EXPECT_EQ(j["error"].value("code", ""), code);
  EXPECT_FALSE(j["error"].value("message", "").empty());
}

// The nsfwjs class with the highest probability in a row's scores.
std::string top_class(const json& scores) {
  std::string best;
  double p = -1;
  for (const auto& [k, v] : scores.items())
    if (v.get<double>() > p) p = v.get<double>(), best = k;
  return best;
}

// The 40000 x 40000 single-colour PNG of a decompression bomb: 1-bit palette rows of zeros,
// so it is cheap to write (200 MB through zlib) and small on disk (~200 KB), but 1.6 Gpx.
Bytes huge_single_colour_png() {
  testing::PngSpec spec;
  spec.width = 40000;
  spec.height = 40000;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.bit_depth = 1;
  spec.palette = {png_color{200, 30, 30}};
  spec.compression_level = 1;
  return testing::encode_png(spec, [](int, std::uint8_t* row) { std::memset(row, 0, 40000 / 8); });
}

Bytes text_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// --- classify: one image ----------------------------------------------------------------

TEST(ClassifyCli, OneImageAsJsonLines) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_MODELS();
  const std::string image = shared_image("kodim01.png").string();
  const auto r = run_safescan({"classify", "--format", "jsonl", image});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out;
  const json& j = rows[0];
  expect_scores(j);
  EXPECT_EQ(j["key"], image);
  EXPECT_EQ(j["path"], fs::absolute(image).lexically_normal().string());
  EXPECT_EQ(j["source"], image);  // named on the command line
  EXPECT_EQ(j["width"], 768);
  EXPECT_EQ(j["height"], 512);
  EXPECT_EQ(j["format"], "png");
  EXPECT_EQ(top_class(j["scores"]["nsfw-mobilenet-v2"]), "neutral");
  EXPECT_EQ(j["decision"], "allow");
  EXPECT_EQ(j["likelihood"]["Sexual"], "VERY_UNLIKELY");
  EXPECT_EQ(r.out.rfind("{\"key\":", 0), 0u) << "the row starts with its key: " << r.out;
  // Results go to stdout, logs to stderr: the summary line is not mixed into the JSON.
  EXPECT_NE(r.err.find("classified 1 of 1"), std::string::npos) << r.err;
}

TEST(ClassifyCli, OutputIsJsonLinesWhenNotATerminal) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_MODELS();
  const auto r = run_safescan({"-q", "classify", shared_image("kodim01.png").string()});  // --format auto
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out;
  expect_scores(rows[0]);
  EXPECT_EQ(r.err.find("info:"), std::string::npos) << "--quiet still logged: " << r.err;
}

// --- classify: a folder of good and bad files ("done when") ---------------------------

TEST(ClassifyCli, MixedDirectoryGivesOneLinePerCandidateInSortedOrder) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  fs::create_directory(dir / "sub");

  // Good: three shared images (one with a space in its name, one in a subfolder), a PNG
  // named .jpg, and a JPEG without an extension (kept for its magic bytes).
  std::map<fs::path, std::string> good;  // path -> format
  fs::copy_file(shared_image("baboon.jpg"), dir / "my baboon.jpg");
  good[dir / "my baboon.jpg"] = "jpeg";
  fs::copy_file(shared_image("astronaut.png"), dir / "astronaut.png");
  good[dir / "astronaut.png"] = "png";
  fs::copy_file(shared_image("kodim01.png"), dir / "sub" / "kodim01.png");
  good[dir / "sub" / "kodim01.png"] = "png";
  fs::copy_file(shared_image("kodim02.png"), dir / "really_a_png.jpg");
  good[dir / "really_a_png.jpg"] = "png";
  const Bytes small_jpeg = testing::encode_jpeg(testing::gradient(64, 48, 3));
  testing::write_file(dir / "scan0001", small_jpeg);
  good[dir / "scan0001"] = "jpeg";

  // Bad: the malformed corpus, each with the error code it must give.
  std::map<fs::path, std::string> bad;  // path -> error code
  testing::write_file(dir / "empty.jpg", {});
  bad[dir / "empty.jpg"] = "empty";
  {
    std::mt19937 rng(20240601);
    Bytes random(4096);
    do {
      for (auto& b : random) b = static_cast<std::uint8_t>(rng());
    } while (sniff_format(random) != ImageFormat::unknown);
    testing::write_file(dir / "random.png", random);
    bad[dir / "random.png"] = "not_an_image";
  }
  testing::write_file(dir / "truncated.jpg", Bytes(small_jpeg.begin(), small_jpeg.begin() + small_jpeg.size() / 2));
  bad[dir / "truncated.jpg"] = "corrupt";
  {
    Bytes png = testing::encode_png(testing::gradient(32, 32, 3));
    const std::size_t at = testing::find_png_chunk(png, "IDAT");
    ASSERT_NE(at, std::string::npos);
    const std::uint32_t length = (std::uint32_t{png[at]} << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
    png[at + 8 + length] ^= 0x5A;  // the IDAT CRC
    testing::write_file(dir / "bad_crc.png", png);
    bad[dir / "bad_crc.png"] = "corrupt";
  }
  testing::write_file(dir / "letter.jpg", text_bytes("Dear reviewer,\nthis is a text file named .jpg.\n"));
  bad[dir / "letter.jpg"] = "not_an_image";
  testing::write_file(dir / "index.png", text_bytes("<!DOCTYPE html>\n<html><body>Not found</body></html>\n"));
  bad[dir / "index.png"] = "not_an_image";
  fs::create_symlink(dir / "does-not-exist.png", dir / "x.png");
  bad[dir / "x.png"] = "unreadable";
  testing::write_file(dir / "huge.png", huge_single_colour_png());
  bad[dir / "huge.png"] = "too_large";

  // A walked entry that cannot be looked at is an error row with its reason, never dropped.
  fs::create_symlink("loop", dir / "loop");
  bad[dir / "loop"] = "unreadable";

  // Skipped silently: not an image by name or content, hidden, a symlinked folder.
  testing::write_file(dir / "notes.txt", text_bytes("shot list: astronaut, baboon, kodim01\n"));
  testing::write_file(dir / ".hidden.png", testing::encode_png(testing::gradient(8, 8, 3)));
  fs::create_directory_symlink(dir / "sub", dir / "link-to-sub");

  std::vector<fs::path> expected;
  for (const auto& [p, _] : good) expected.push_back(p);
  for (const auto& [p, _] : bad) expected.push_back(p);
  std::sort(expected.begin(), expected.end());

  const auto r = run_safescan({"classify", "--format", "jsonl", "--batch", "4", dir.path().string()});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), expected.size()) << r.describe();
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& j = rows[i];
    ASSERT_EQ(j.value("path", ""), expected[i].string()) << "line " << i;
    EXPECT_EQ(j.value("key", ""), expected[i].string()) << "line " << i;
    EXPECT_EQ(j.value("source", ""), dir.path().string());
    if (good.count(expected[i])) {
      expect_scores(j);
      EXPECT_EQ(j.value("format", ""), good[expected[i]]) << expected[i];
    } else {
      expect_error_line(j, bad[expected[i]]);
    }
  }
  EXPECT_NE(r.err.find("classified 5 of 14 inputs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("9 failed"), std::string::npos) << r.err;
  const auto loop = std::find_if(rows.begin(), rows.end(), [&](const json& j) { return j["key"] == (dir / "loop").string(); });
  ASSERT_NE(loop, rows.end());
  EXPECT_NE((*loop)["error"]["message"].get<std::string>().find("symlink loop"), std::string::npos) << loop->dump();
  const auto dangling = std::find_if(rows.begin(), rows.end(), [&](const json& j) { return j["key"] == (dir / "x.png").string(); });
  ASSERT_NE(dangling, rows.end());
  EXPECT_NE((*dangling)["error"]["message"].get<std::string>().find("dangling symlink"), std::string::npos) << dangling->dump();
  EXPECT_EQ(r.out.find("notes.txt"), std::string::npos);
  EXPECT_EQ(r.out.find("hidden"), std::string::npos);
  EXPECT_EQ(r.out.find("link-to-sub"), std::string::npos);
}

// A FIFO in a walked folder must not hang the walk (sniffing it would wait for a writer):
// without an image extension it is skipped, with one it is an "unreadable" result.
TEST(ClassifyCli, FifosInAFolderDoNotHang) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  fs::copy_file(shared_image("kodim01.png"), dir / "a.png");
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((dir / "stream.png").c_str(), 0600), 0);
  CommandOptions options;
  options.timeout = std::chrono::seconds(20);
  const auto r = run_safescan({"classify", "--format", "jsonl", dir.path().string()}, options);
  ASSERT_FALSE(r.timed_out) << "safescan hung on a FIFO\n" << r.describe();
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.describe();
  EXPECT_EQ(rows[0]["path"], (dir / "a.png").string());
  expect_scores(rows[0]);
  EXPECT_EQ(rows[1]["path"], (dir / "stream.png").string());
  expect_error_line(rows[1], "unreadable");
}

// File names are bytes: one that is not UTF-8 must not abort the scan (JSON needs UTF-8,
// so the invalid byte is written as U+FFFD) and the other files are still classified.
TEST(ClassifyCli, NonUtf8FileNameDoesNotAbortTheScan) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  fs::copy_file(shared_image("kodim01.png"), dir / "caf\xE9.png");  // Latin-1 "café"
  fs::copy_file(shared_image("kodim02.png"), dir / "z.png");
  const auto r = run_safescan({"classify", "--format", "jsonl", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.describe();
  EXPECT_EQ(rows[0]["path"], (dir / "caf\xEF\xBF\xBD.png").string());
  expect_scores(rows[0]);
  EXPECT_EQ(rows[1]["path"], (dir / "z.png").string());
  expect_scores(rows[1]);
}

// --- classify: paths from standard input ------------------------------------------------

TEST(ClassifyCli, DashReadsPathsFromStdin) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  const std::string first = shared_image("kodim02.png").string();
  const std::string from_stdin = shared_image("kodim01.png").string();
  const std::string missing = (dir / "no such file.png").string();
  CommandOptions options;
  options.stdin_data = from_stdin + "\n\n" + missing + "\r\n";
  const auto r = run_safescan({"classify", "--format", "jsonl", first, "-"}, options);
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.describe();
  EXPECT_EQ(rows[0]["key"], first);
  expect_scores(rows[0]);
  EXPECT_EQ(rows[1]["key"], from_stdin);
  EXPECT_EQ(rows[1]["source"], "-");
  expect_scores(rows[1]);
  EXPECT_EQ(rows[1]["width"], 768);
  EXPECT_EQ(rows[2]["key"], missing);
  expect_error_line(rows[2], "unreadable");
}

TEST(ClassifyCli, OnlyAMissingPathOnStdin) {
  SAFESCAN_REQUIRE_MODELS();
  CommandOptions options;
  options.stdin_data = "/nonexistent/dir/photo.jpg\n";
  const auto r = run_safescan({"classify", "--format", "jsonl", "-"}, options);
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.describe();
  EXPECT_EQ(rows[0]["path"], "/nonexistent/dir/photo.jpg");
  expect_error_line(rows[0], "unreadable");
}

// --- usage errors and help --------------------------------------------------------------

// Usage errors and other argument mistakes: tests/cli/contract.jsonl (test_contract.cpp).

// The subcommand names listed under "Subcommands:" in CLI11's help text.
std::vector<std::string> subcommands_in_help(const std::string& help) {
  std::vector<std::string> names;
  const auto at = help.find("\nSubcommands:\n");
  if (at == std::string::npos) return names;
  std::istringstream in(help.substr(at + 14));
  for (std::string line; std::getline(in, line) && !line.empty();) {
    std::istringstream words(line);
    std::string name;
    if (words >> name) names.push_back(name);
  }
  return names;
}

// Every command and subcommand, found by walking the help texts (so a new subcommand is
// covered without editing this test), exits 0 on --help and shows an example.
TEST(HelpCli, EveryCommandHasHelpWithAnExample) {
  std::vector<std::vector<std::string>> todo = {{}}, seen;
  while (!todo.empty()) {
    std::vector<std::string> cmd = todo.back();
    todo.pop_back();
    seen.push_back(cmd);
    std::string shown = "safescan";
    for (const auto& c : cmd) shown += " " + c;
    SCOPED_TRACE(shown + " --help");
    std::vector<std::string> args = cmd;
    args.push_back("--help");
    const auto r = run_safescan(args);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("Example"), std::string::npos) << r.out;
    for (const auto& sub : subcommands_in_help(r.out)) {
      auto next = cmd;
      next.push_back(sub);
      todo.push_back(next);
    }
  }
  // These at least must exist.
  for (const std::vector<std::string>& must : std::vector<std::vector<std::string>>{
           {"classify"}, {"models"}, {"models", "list"}, {"models", "verify"}, {"version"}}) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), must), seen.end()) << must.back() << " not found in the help";
  }
  const auto classify = run_safescan({"classify", "--help"});
  for (const char* opt : {"--detectors", "--clip-model", "--policy", "--format", "--threshold", "--batch", "--max-pixels",
                          "ensemble(", "cascade(", "Exit status"}) {
    EXPECT_NE(classify.out.find(opt), std::string::npos) << opt;
  }
}

// --- model errors -----------------------------------------------------------------------

TEST(ClassifyCli, MissingModelFolderExits1AndNamesIt) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  const TempDir dir;
  fs::create_directory(dir / "model");
  const auto r = run_safescan({"classify", "--detectors", "nsfw:" + (dir / "model").string(), shared_image("kodim01.png").string()});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find((dir / "model").string()), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ClassifyCli, KnownModelNotInstalledExits1WithAHint) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  const TempDir home;
  CommandOptions options;
  options.env["SAFESCAN_HOME"] = home.path().string();
  const auto r = run_safescan({"classify", shared_image("kodim01.png").string()}, options);
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("nsfw-mobilenet-v2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("setup.sh"), std::string::npos) << r.err;
}

// --- table output -----------------------------------------------------------------------

TEST(ClassifyCli, TableHasAHeaderAndOneRowPerInput) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_MODELS();
  const std::vector<std::string> inputs = {shared_image("kodim01.png").string(), shared_image("baboon.jpg").string(),
                                           "/nonexistent/missing.png"};
  std::vector<std::string> args = {"classify", "--format", "table"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const auto r = run_safescan(args);
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 1 + inputs.size()) << r.out;
  for (const char* column : {"key", "decision", "Sexual", "Suggestive"}) {
    EXPECT_NE(lines[0].find(column), std::string::npos) << column << " missing from the header: " << lines[0];
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(lines[1 + i].rfind(inputs[i], 0), 0u) << "row " << i << ": " << lines[1 + i];
  }
  EXPECT_NE(lines[1].find("allow"), std::string::npos) << lines[1];
  EXPECT_NE(lines[3].find("unreadable"), std::string::npos) << lines[3];
  EXPECT_EQ(r.out.find('{'), std::string::npos) << "JSON in table output";
}

// --- thresholds -------------------------------------------------------------------------

std::vector<json> classify_with_threshold(const std::string& threshold) {
  const auto r = run_safescan({"classify", "--format", "jsonl", "--threshold", threshold, shared_image("kodim01.png").string(),
                           shared_image("astronaut.png").string(), shared_image("baboon.jpg").string()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  auto rows = json_lines(r.out);
  EXPECT_EQ(rows.size(), 3u) << r.describe();
  return rows;
}

TEST(ClassifyCli, ThresholdZeroFlagsEveryImage) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_MODELS();
  for (const auto& j : classify_with_threshold("0")) {
    expect_scores(j, 0.0f);
    EXPECT_TRUE(j.value("flagged", false)) << j.dump();
  }
}

TEST(ClassifyCli, ThresholdOneFlagsNothingBelowCertainty) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_MODELS();
  for (const auto& j : classify_with_threshold("1")) {
    expect_scores(j, 1.0f);
    const bool certain = j["categories"]["Sexual"].get<double>() >= 1.0 || j["categories"]["Suggestive"].get<double>() >= 1.0;
    EXPECT_EQ(j.value("flagged", true), certain) << j.dump();
  }
}

// --- every model by name ----------------------------------------------------------------

class ClassifyEachModel : public ::testing::TestWithParam<std::string> {};

TEST_P(ClassifyEachModel, AgreesWithNsfwjsOnKodim01) {
  SAFESCAN_REQUIRE_SHARED("images/kodim01.png");
  SAFESCAN_REQUIRE_SHARED("golden/nsfwjs_public.jsonl");
  SAFESCAN_REQUIRE_MODELS();
  const std::string model = GetParam();
  const auto golden = testing::nsfwjs_probs(model, "kodim01");
  ASSERT_EQ(golden.size(), 5u) << "no golden entry for " << model << " / kodim01";
  const auto golden_top =
      std::max_element(golden.begin(), golden.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;

  const auto r = run_safescan({"classify", "--format", "jsonl", "--detectors", model, shared_image("kodim01.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out;
  expect_scores(rows[0], 0.5f, model);
  EXPECT_EQ(rows[0]["scores"].size(), 1u);
  EXPECT_EQ(top_class(rows[0]["scores"][model]), golden_top);
  // Loose: the parity tests (test_models) check the numbers tightly.
  for (const auto& [name, p] : golden) EXPECT_NEAR(rows[0]["scores"][model][name].get<double>(), p, 5e-3) << name;
}

INSTANTIATE_TEST_SUITE_P(AllModels, ClassifyEachModel, ::testing::ValuesIn(kModelNames),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// --- every source kind, and the same rows as scan + export --------------------------------

// A tar shard (WebDataset: key = member name without extension), a list file and a folder with a
// symlink loop: one row per entry, in input order, the loop an error row.
TEST(ClassifyCli, ShardListFileAndFolderGiveOneRowPerEntry) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  fs::create_directory(dir / "staging");
  fs::copy_file(shared_image("kodim03.png"), dir / "staging" / "0001.png");
  fs::copy_file(shared_image("messi5.jpg"), dir / "staging" / "0002.jpg");
  testing::write_all(dir / "staging" / "0002.json", R"({"caption":"football"})");
  const auto tar = testing::run_command({"/bin/tar", "-C", (dir / "staging").string(), "-cf", (dir / "shard.tar").string(),
                                         "0001.png", "0002.jpg", "0002.json"});
  ASSERT_EQ(tar.exit_code, 0) << tar.describe();
  testing::write_all(dir / "list.txt", "# two files and a missing one\n" + shared_image("kodim01.png").string() + "\n" +
                                           (dir / "gone.png").string() + "\n");
  fs::create_directory(dir / "folder");
  fs::copy_file(shared_image("kodim02.png"), dir / "folder" / "a.png");
  fs::create_symlink("loop", dir / "folder" / "loop");

  const auto r = run_safescan({"classify", "--format", "jsonl", (dir / "shard.tar").string(), (dir / "list.txt").string(),
                               (dir / "folder").string()});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 6u) << r.describe();
  EXPECT_EQ(rows[0]["key"], "0001");
  EXPECT_EQ(rows[0]["member"], "0001.png");
  EXPECT_EQ(rows[0]["path"], (dir / "shard.tar").string());
  expect_scores(rows[0]);
  EXPECT_EQ(rows[1]["key"], "0002");
  EXPECT_EQ(rows[1]["meta"]["json"]["caption"], "football");
  expect_scores(rows[1]);
  EXPECT_EQ(rows[2]["key"], shared_image("kodim01.png").string());
  expect_scores(rows[2]);
  EXPECT_EQ(rows[3]["key"], (dir / "gone.png").string());
  expect_error_line(rows[3], "unreadable");
  EXPECT_EQ(rows[4]["key"], (dir / "folder" / "a.png").string());
  expect_scores(rows[4]);
  EXPECT_EQ(rows[5]["key"], (dir / "folder" / "loop").string());
  expect_error_line(rows[5], "unreadable");
}

// `classify --format jsonl` and `scan` + `export --format jsonl` give the same rows, byte for byte.
TEST(ClassifyCli, SameRowsAsScanThenExport) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  fs::create_directory(dir / "d");
  for (const char* name : {"kodim01.png", "messi5.jpg", "astronaut.png", "baboon.jpg"})
    fs::copy_file(shared_image(name), dir / "d" / name);
  testing::write_all(dir / "d" / "broken.jpg", "not a jpeg");
  const std::string spec = "nsfw-mobilenet-v2,cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid),faces";
  const auto classify = run_safescan({"classify", "--format", "jsonl", "--detectors", spec, (dir / "d").string()});
  EXPECT_EQ(classify.exit_code, 3) << classify.describe();
  const auto scan = run_safescan({"scan", (dir / "d").string(), "--db", (dir / "s.db").string(), "--detectors", spec, "--no-progress"});
  EXPECT_EQ(scan.exit_code, 3) << scan.describe();
  const auto exported = run_safescan({"export", (dir / "s.db").string(), "--format", "jsonl"});
  ASSERT_EQ(exported.exit_code, 0) << exported.describe();
  EXPECT_EQ(lines_of(classify.out).size(), 5u);
  EXPECT_EQ(lines_of(classify.out), lines_of(exported.out));
  // A row of each kind, for the record.
  const auto rows = json_lines(classify.out);
  EXPECT_TRUE(rows[0].contains("faces")) << rows[0].dump();  // astronaut.png
  EXPECT_EQ(rows[2]["status"], "error");                     // broken.jpg
}

// A cascade (the second model only where the first's score reaches the bound) and an ensemble
// (the mean of the members' category scores), composed on the command line.
TEST(ClassifyCli, CascadeAndEnsembleFromTheCommandLine) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_MODELS();
  const std::string a = "nsfw-mobilenet-v2", b = "nsfw-mobilenet-v2-mid";
  const std::string cascade = "cascade(" + a + "," + b + ",0.5)", ensemble = "ensemble(" + a + "," + b + ")";
  const auto r = run_safescan({"classify", "--format", "jsonl", "--detectors",
                               a + "," + b + "," + cascade + ",both=" + ensemble, shared_image("kodim01.png").string(),
                               shared_image("messi5.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  auto category = [](const json& scores, const std::string& cat) {
    if (scores.contains("Sexual")) return scores[cat].get<double>();  // a composition reports categories
    return cat == "Sexual" ? scores["porn"].get<double>() + scores["hentai"].get<double>() : scores["sexy"].get<double>();
  };
  bool saw_second_stage = false, saw_first_stage = false;
  for (const auto& row : rows) {
    SCOPED_TRACE(row.dump());
    const json& s = row["scores"];
    ASSERT_TRUE(s.contains(cascade) && s.contains("both")) << "the detectors are named by their spec, or their label";
    const double first = std::max(category(s[a], "Sexual"), category(s[a], "Suggestive"));
    const json& expected = first >= 0.5 ? s[b] : s[a];
    (first >= 0.5 ? saw_second_stage : saw_first_stage) = true;
    for (const char* cat : {"Sexual", "Suggestive"}) {
      EXPECT_NEAR(category(s[cascade], cat), category(expected, cat), 1e-6) << cat;
      EXPECT_NEAR(category(s["both"], cat), (category(s[a], cat) + category(s[b], cat)) / 2, 1e-6) << cat;
      // The row's category score is the highest of the detectors'.
      const double top = std::max({category(s[a], cat), category(s[b], cat), category(s[cascade], cat), category(s["both"], cat)});
      EXPECT_NEAR(row["categories"][cat].get<double>(), top, 1e-6) << cat;
    }
  }
  EXPECT_TRUE(saw_first_stage);   // kodim01: MobileNetV2 is sure enough
  EXPECT_TRUE(saw_second_stage);  // messi5: MobileNetV2 calls it suggestive (0.89), the second model decides
}

// --- policies ---------------------------------------------------------------------------

TEST(ClassifyCli, APolicyFileDecides) {
  SAFESCAN_REQUIRE_SHARED("images/messi5.jpg");
  SAFESCAN_REQUIRE_MODELS();
  const TempDir dir;
  // Suggestive only for review; likelihood boundaries of its own.
  testing::write_all(dir / "p.toml", "version = 1\n[categories.default]\nblock = 0.5\n"
                                     "[categories.Suggestive]\nreview = 0.5\nblock = 1.0\n"
                                     "[categories.Suggestive.likelihood]\nUNLIKELY = 0.2\nPOSSIBLE = 0.4\nLIKELY = 0.9\nVERY_LIKELY = 0.95\n");
  const auto r = run_safescan({"classify", "--format", "jsonl", "--policy", (dir / "p.toml").string(),
                               shared_image("messi5.jpg").string(), shared_image("kodim01.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["decision"], "review") << rows[0].dump();  // Suggestive 0.89
  EXPECT_EQ(rows[0]["flagged"], true);
  EXPECT_EQ(rows[0]["likelihood"]["Suggestive"], "POSSIBLE");
  EXPECT_EQ(rows[1]["decision"], "allow");
  // The same as JSON, and --threshold over it.
  testing::write_all(dir / "p.json", R"({"version": 1, "categories": {"suggestive": {"review": 0.5}, "default": {"block": 0.99}}})");
  const auto j = run_safescan({"classify", "--policy", (dir / "p.json").string(), "--threshold", "0.8",
                               shared_image("messi5.jpg").string()});
  ASSERT_EQ(j.exit_code, 0) << j.describe();
  EXPECT_EQ(json_lines(j.out)[0]["decision"], "block");  // 0.89 >= --threshold 0.8
}

// --- models list / verify ---------------------------------------------------------------

// `models list` knows more models than the nsfwjs ones (CLIP, Q16, ...); these tests only
// look at the three that setup.sh installs.
std::map<std::string, json> models_by_name(const std::string& out) {
  std::map<std::string, json> by_name;
  for (auto& j : json_lines(out)) {
    const std::string name = j.value("name", "");
    EXPECT_FALSE(name.empty()) << j.dump();
    EXPECT_TRUE(by_name.emplace(name, std::move(j)).second) << "listed twice: " << name;
  }
  return by_name;
}

TEST(ModelsCli, ListShowsTheThreeNsfwModelsInstalled) {
  SAFESCAN_REQUIRE_MODELS();
  const auto r = run_safescan({"models", "list", "--format", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto models = models_by_name(r.out);
  for (const auto& name : kModelNames) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(models.count(name)) << r.out;
    const json& j = models.at(name);
    EXPECT_TRUE(j.value("installed", false)) << j.dump();
    EXPECT_TRUE(fs::is_directory(j.value("path", ""))) << j.dump();
    EXPECT_GT(j.value("bytes", 0), 1'000'000) << j.dump();
    EXPECT_EQ(j.value("kind", ""), "tfjs") << j.dump();
  }

  const auto table = run_safescan({"models", "list"});
  EXPECT_EQ(table.exit_code, 0) << table.describe();
  for (const auto& n : kModelNames) EXPECT_NE(table.out.find(n), std::string::npos) << n;
}

TEST(ModelsCli, ListWithoutModelsSaysNotInstalled) {
  const TempDir home;
  CommandOptions options;
  options.env["SAFESCAN_HOME"] = home.path().string();
  const auto r = run_safescan({"models", "list", "--format", "jsonl"}, options);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto models = models_by_name(r.out);
  for (const auto& name : kModelNames) EXPECT_TRUE(models.count(name)) << name << " not listed:\n" << r.out;
  for (const auto& [name, j] : models) EXPECT_FALSE(j.value("installed", true)) << j.dump();
}

TEST(ModelsCli, VerifyInstalledModels) {
  SAFESCAN_REQUIRE_MODELS();
  const auto r = run_safescan({"models", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  for (const auto& n : kModelNames) {
    const auto lines = lines_of(r.out);
    const bool ok = std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind(n + " ", 0) == 0 && l.find(" ok") != std::string::npos;
    });
    EXPECT_TRUE(ok) << n << " not verified ok:\n" << r.out;
  }
}

TEST(ModelsCli, VerifyNamesTheAlteredShard) {
  SAFESCAN_REQUIRE_MODELS();
  const TempDir home;
  fs::copy(models_dir(), home / "models", fs::copy_options::recursive);
  const fs::path shard = home / "models" / "nsfw-mobilenet-v2" / "group1-shard1of1.bin";
  ASSERT_TRUE(fs::exists(shard));
  fs::permissions(shard, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1000);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);  // one flipped bit in one weight
    f.seekp(1000);
    f.write(&c, 1);
    ASSERT_TRUE(f.good());
  }
  CommandOptions options;
  options.env["SAFESCAN_HOME"] = home.path().string();

  const auto all = run_safescan({"models", "verify"}, options);
  EXPECT_EQ(all.exit_code, 1) << all.describe();
  EXPECT_NE(all.out.find("group1-shard1of1.bin"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("nsfw-mobilenet-v2 "), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("FAILED"), std::string::npos) << all.out;

  const auto intact = run_safescan({"models", "verify", "nsfw-inception-v3"}, options);
  EXPECT_EQ(intact.exit_code, 0) << intact.describe();

  const auto unknown = run_safescan({"models", "verify", "nsfw-does-not-exist"}, options);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.describe();
  EXPECT_NE(unknown.out.find("not installed"), std::string::npos) << unknown.out;
}

// --- version ----------------------------------------------------------------------------

TEST(VersionCli, PrintsVersionThreadsAndBlas) {
  const auto r = run_safescan({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("safescan ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nthreads: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nBLAS: "), std::string::npos) << r.out;

  CommandOptions two_threads;
  two_threads.env["SAFESCAN_THREADS"] = "2";
  const auto two = run_safescan({"version"}, two_threads);
  EXPECT_NE(two.out.find("threads: 2\n"), std::string::npos) << two.out;
  const auto flag_wins = run_safescan({"--threads", "3", "version"}, two_threads);
  EXPECT_NE(flag_wins.out.find("threads: 3\n"), std::string::npos) << flag_wins.out;

  const auto flag = run_safescan({"--version"});
  EXPECT_EQ(flag.exit_code, 0) << flag.describe();
  EXPECT_NE(flag.out.find("safescan "), std::string::npos) << flag.out;
}

}  // namespace
}  // namespace safescan
