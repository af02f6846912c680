// End-to-end tests of `safescan scan`, `export` and `merge`: a real dataset folder with
// malformed files, WebDataset shards made with GNU tar, SIGKILL at random moments followed
// by a resume, SIGINT, precomputed embeddings, and mpirun with two ranks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "cli/cli_json.hpp"
#include "cli/safescan_cli.hpp"
#include "safescan/store.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::CommandOptions;
using testing::CommandResult;
using testing::json_lines;
using testing::lines_of;
using testing::TempDir;
using testing::run_safescan;


fs::path shared_images() { return testing::shared_path("images"); }

std::vector<fs::path> shared_image_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(shared_images())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The malformed inputs a dataset meets: zero bytes, text with an image name, a truncated
// JPEG, a PNG whose header is garbage. Returns their names.
std::vector<std::string> write_malformed(const fs::path& dir) {
  fs::create_directories(dir);
  testing::write_all(dir / "empty.jpg", "");
  testing::write_all(dir / "notes.png", "this is not an image\n");
  const std::string jpeg = testing::read_all(shared_images() / "messi5.jpg");
  testing::write_all(dir / "truncated.jpg", jpeg.substr(0, jpeg.size() / 3));
  std::string png = testing::read_all(shared_images() / "coffee.png");
  for (std::size_t i = 16; i < 200 && i < png.size(); ++i) png[i] = static_cast<char>(0xA5 ^ i);
  testing::write_all(dir / "garbled.png", png);
  return {"empty.jpg", "notes.png", "truncated.jpg", "garbled.png"};
}

// `copies` copies of every shared image in sub-folders, plus the malformed files.
std::size_t make_dataset(const fs::path& root, int copies) {
  std::size_t n = 0;
  for (int c = 0; c < copies; ++c) {
    const fs::path dir = root / ("part" + std::to_string(c));
    fs::create_directories(dir);
    for (const auto& f : shared_image_files()) {
      fs::copy_file(f, dir / f.filename());
      ++n;
    }
  }
  return n + write_malformed(root / "bad").size();
}

// A string field, or "" when absent or null.
std::string str(const json& j, const char* field) {
  return j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : std::string();
}

std::map<std::string, json> export_by_key(const fs::path& db) {
  const auto r = run_safescan({"export", db.string(), "--format", "jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  std::map<std::string, json> rows;
  for (auto& j : json_lines(r.out)) {
    const std::string key = str(j, "key");
    EXPECT_EQ(rows.count(key), 0u) << "item exported twice: " << key;
    rows[key] = std::move(j);
  }
  return rows;
}

// Same items, same statuses and error codes, scores within `tol`.
void expect_same_results(const std::map<std::string, json>& a, const std::map<std::string, json>& b, double tol = 1e-5) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, ja] : a) {
    auto it = b.find(key);
    ASSERT_NE(it, b.end()) << key;
    const json& jb = it->second;
    EXPECT_EQ(ja["status"], jb["status"]) << key;
    EXPECT_EQ(ja.value("error", json::object()).value("code", ""), jb.value("error", json::object()).value("code", "")) << key;
    EXPECT_EQ(ja.value("decision", ""), jb.value("decision", "")) << key;
    EXPECT_EQ(str(ja, "sha256"), str(jb, "sha256")) << key;
    if (!ja.contains("scores")) continue;
    for (const auto& [det, cats] : ja["scores"].items())
      for (const auto& [cat, score] : cats.items())
        EXPECT_NEAR(score.get<double>(), jb["scores"][det][cat].get<double>(), tol) << key << " " << det << "/" << cat;
  }
}

std::int64_t count_rows(const fs::path& db) { return ResultStore::open(db, OpenMode::read_only).count_items(); }

// --- a folder with malformed files --------------------------------------------------------

TEST(ScanCli, ScoresEveryImageAndRecordsEveryFailure) {
  SAFESCAN_REQUIRE_SHARED("images");
  TempDir tmp;
  const fs::path data = tmp / "data";
  const std::size_t expected = make_dataset(data, 1);
  const fs::path db = tmp / "scan.db";
  const fs::path yunet = testing::shared_dir() / "models" / "faces" / "face_detection_yunet.onnx";
  CommandOptions slow;  // the sanitizer build runs several times slower
  slow.timeout = std::chrono::minutes(5);
  const auto r = run_safescan({"scan", data.string(), (tmp / "missing.jpg").string(), "--db", db.string(), "--detectors",
                           fs::exists(yunet) ? "nsfw,faces-yunet" : "nsfw,faces-hog", "--face-model", yunet.string(),
                           "--batch", "8", "--no-progress"},
                          slow);
  EXPECT_EQ(r.exit_code, 3) << r.describe();  // some items failed
  EXPECT_NE(r.err.find("items failed"), std::string::npos) << r.err;

  const auto rows = export_by_key(db);
  EXPECT_EQ(rows.size(), expected + 1);
  std::size_t errors = 0;
  for (const auto& [key, j] : rows) {
    if (j["status"] == "error") {
      ++errors;
      EXPECT_FALSE(j["error"]["message"].get<std::string>().empty()) << key;
      EXPECT_FALSE(j["error"]["code"].get<std::string>().empty()) << key;
      EXPECT_FALSE(j.contains("scores") && !j["scores"].empty()) << key;
      continue;
    }
    EXPECT_EQ(j["status"], "ok") << key;
    ASSERT_TRUE(j["scores"].contains("nsfw-mobilenet-v2")) << key;
    EXPECT_EQ(j["scores"]["nsfw-mobilenet-v2"].size(), 5u) << key;  // the five classes
    EXPECT_EQ(j["categories"].size(), 2u) << key;                  // Sexual, Suggestive
    EXPECT_TRUE(j["decision"].is_string()) << key;
    EXPECT_GT(j["width"].get<int>(), 0) << key;
    EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u) << key;
    EXPECT_TRUE(j.contains("face_count")) << key;
  }
  EXPECT_EQ(errors, 5u);  // four malformed files and the missing path
  const json& empty = rows.at((data / "bad" / "empty.jpg").string());
  EXPECT_EQ(empty["error"]["code"], "empty");
  EXPECT_EQ(rows.at((data / "bad" / "notes.png").string())["error"]["code"], "not_an_image");
  EXPECT_EQ(rows.at((data / "bad" / "truncated.jpg").string())["error"]["code"], "corrupt");
  EXPECT_EQ(rows.at((tmp / "missing.jpg").string())["error"]["code"], "unreadable");
  EXPECT_GE(rows.at((data / "part0" / "astronaut.png").string())["face_count"].get<int>(), 1);
  EXPECT_EQ(rows.at((data / "part0" / "coffee.png").string())["face_count"].get<int>(), 0);
}

TEST(ScanCli, SecondRunResumesAndExportsWork) {
  SAFESCAN_REQUIRE_SHARED("images");
  TempDir tmp;
  const fs::path data = tmp / "data";
  const std::size_t expected = make_dataset(data, 1);
  const fs::path db = tmp / "scan.db";
  const std::vector<std::string> args = {"scan", data.string(), "--db", db.string(), "--detectors", "nsfw", "--no-progress"};
  ASSERT_EQ(run_safescan(args).exit_code, 3);
  const auto again = run_safescan(args);
  EXPECT_EQ(again.exit_code, 3) << again.describe();  // the failed items are still failed
  EXPECT_NE(again.err.find("0 items scored"), std::string::npos) << again.err;
  EXPECT_EQ(count_rows(db), static_cast<std::int64_t>(expected));

  // csv: a header plus one row per item.
  const auto csv = run_safescan({"export", db.string(), "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.describe();
  const auto csv_lines = lines_of(csv.out);
  ASSERT_EQ(csv_lines.size(), expected + 1);
  EXPECT_TRUE(csv_lines[0].starts_with("key,")) << csv_lines[0];
  EXPECT_NE(csv_lines[0].find("nsfw-mobilenet-v2/porn"), std::string::npos) << csv_lines[0];

  // removal-list with a threshold of 0 lists every scored item; q16 has four columns.
  const auto all = run_safescan({"export", db.string(), "--format", "removal-list", "--detector", "nsfw-mobilenet-v2",
                             "--category", "neutral", "--min-score", "0"});
  ASSERT_EQ(all.exit_code, 0) << all.describe();
  EXPECT_EQ(lines_of(all.out).size(), expected - 4);
  const auto q16 = run_safescan({"export", db.string(), "--format", "q16", "--min-score", "0"});
  ASSERT_EQ(q16.exit_code, 0) << q16.describe();
  for (const auto& line : lines_of(q16.out)) EXPECT_EQ(std::count(line.begin(), line.end(), ','), 3) << line;

  // Bad requests are usage errors (more in tests/cli/contract.jsonl).
  const auto not_db = run_safescan({"export", (data / "part0" / "baboon.jpg").string(), "--format", "jsonl"});
  EXPECT_NE(not_db.exit_code, 0);
  EXPECT_NE(not_db.err.find("baboon.jpg"), std::string::npos) << not_db.err;
}

// Usage errors: tests/cli/contract.jsonl.

// --- SIGKILL at random moments, then resume ---------------------------------------------

TEST(ScanCli, KilledAtRandomMomentsAndResumedHoldsEveryItemExactlyOnce) {
  SAFESCAN_REQUIRE_SHARED("images");
  TempDir tmp;
  const fs::path data = tmp / "data";
  const std::size_t expected = make_dataset(data, 6);
  const fs::path reference = tmp / "reference.db", db = tmp / "killed.db";
  const std::vector<std::string> common = {"--detectors", "nsfw", "--batch", "4", "--files-per-unit", "16", "--no-progress"};
  auto scan_args = [&](const fs::path& out) {
    std::vector<std::string> a = {"scan", data.string(), "--db", out.string()};
    a.insert(a.end(), common.begin(), common.end());
    return a;
  };
  const auto ref = run_safescan(scan_args(reference));
  ASSERT_EQ(ref.exit_code, 3) << ref.describe();

  // Kill points spread over the first 60% of an uninterrupted run (start-up included), so
  // most rounds die mid-scan: while loading, between batches or inside a transaction.
  const int full_ms = static_cast<int>(ref.seconds * 1000);
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(100, std::max(200, full_ms * 6 / 10));
  int killed = 0;
  for (int round = 0; round < 6; ++round) {
    CommandOptions o;
    o.timeout = std::chrono::milliseconds(delay_ms(rng));
    const auto r = run_safescan(scan_args(db), o);
    if (r.timed_out) ++killed;
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    // Whatever was committed is whole: every stored item that is ok has all its scores.
    if (fs::exists(db)) {
      const auto rows = export_by_key(db);
      for (const auto& [key, j] : rows) {
        if (j["status"] != "ok") continue;
        EXPECT_EQ(j["scores"]["nsfw-mobilenet-v2"].size(), 5u) << key;  // the five classes
    EXPECT_EQ(j["categories"].size(), 2u) << key;                  // Sexual, Suggestive
    EXPECT_TRUE(j["decision"].is_string()) << key;
      }
    }
  }
  const auto last = run_safescan(scan_args(db));
  EXPECT_EQ(last.exit_code, 3) << last.describe();
  EXPECT_EQ(count_rows(db), static_cast<std::int64_t>(expected)) << "seed " << seed;
  expect_same_results(export_by_key(reference), export_by_key(db));
  std::cout << "[ killed " << killed << " of 6 runs (seed " << seed << ") ]\n";
  EXPECT_GE(killed, 1) << "no run was killed mid-way: the scan is faster than the delays";
}

TEST(ScanCli, SigintFinishesTheBatchAndSaysHowToResume) {
  SAFESCAN_REQUIRE_SHARED("images");
  TempDir tmp;
  const fs::path data = tmp / "data";
  const std::size_t expected = make_dataset(data, 4);
  const fs::path db = tmp / "scan.db";
  // SIGINT once the database exists (the handlers are installed before it is opened) and a
  // moment has passed, whatever the machine's load.
  const std::string script =
      "\"$0\" scan \"$1\" --db \"$2\" --detectors nsfw --batch 4 & pid=$!; "
      "i=0; while [ ! -e \"$2\" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
      "sleep 0.4; kill -INT $pid; wait $pid";
  CommandOptions o;
  o.env = {{"OMP_WAIT_POLICY", "PASSIVE"}, {"SAFESCAN_THREADS", "1"}};
  const auto r = testing::run_command({"/bin/sh", "-c", script, SAFESCAN_EXE, data.string(), db.string()}, o);
  if (r.exit_code == 3) GTEST_SKIP() << "the scan finished before the signal";
  EXPECT_EQ(r.exit_code, 130) << r.describe();
  EXPECT_NE(r.err.find("run the same command again to resume"), std::string::npos) << r.err;
  const auto runs = ResultStore::open(db, OpenMode::read_only).runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "interrupted");
  EXPECT_LT(count_rows(db), static_cast<std::int64_t>(expected));
  const auto resumed = run_safescan({"scan", data.string(), "--db", db.string(), "--detectors", "nsfw", "--no-progress"});
  EXPECT_EQ(resumed.exit_code, 3) << resumed.describe();
  EXPECT_EQ(count_rows(db), static_cast<std::int64_t>(expected));
}

// --- WebDataset shards ----------------------------------------------------------------------

TEST(ScanCli, WebDatasetShardsKeepKeysAndMetadataAndReportDamage) {
  SAFESCAN_REQUIRE_SHARED("images");
  TempDir tmp;
  const fs::path src = tmp / "src";
  fs::create_directories(src);
  const auto files = shared_image_files();
  std::vector<std::string> members;
  for (int i = 0; i < 6; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "%06d", i);
    const fs::path f = files[static_cast<std::size_t>(i)];
    const std::string name = key + f.extension().string();
    fs::copy_file(f, src / name);
    testing::write_all(src / (std::string(key) + ".json"), "{\"caption\": \"image " + std::to_string(i) + "\", \"class\": " +
                                                               std::to_string(i % 2) + "}");
    testing::write_all(src / (std::string(key) + ".txt"), "caption " + std::to_string(i));
    members.insert(members.end(), {name, std::string(key) + ".json", std::string(key) + ".txt"});
  }
  auto make_tar = [&](const fs::path& out, std::vector<std::string> names) {
    std::vector<std::string> args = {"/usr/bin/tar", "--format=ustar", "-cf", out.string(), "-C", src.string()};
    args.insert(args.end(), names.begin(), names.end());
    const auto r = testing::run_command(args);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  };
  make_tar(tmp / "shard-00000.tar", {members.begin(), members.begin() + 9});
  make_tar(tmp / "shard-00001.tar", {members.begin() + 9, members.end()});
  // shard 2: shard 1 cut in the middle of its second image.
  const std::string whole = testing::read_all(tmp / "shard-00001.tar");
  testing::write_all(tmp / "shard-00002.tar", whole.substr(0, whole.size() / 2));

  const fs::path db = tmp / "wds.db";
  const auto r = run_safescan({"scan", (tmp / "shard-{00000..00002}.tar").string(), "--db", db.string(), "--detectors", "nsfw",
                           "--no-progress"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto rows = json_lines(run_safescan({"export", db.string(), "--format", "jsonl"}).out);
  std::map<std::string, int> per_key;
  int errors = 0;
  for (const auto& j : rows) {
    if (j["status"] == "error") {
      ++errors;
      EXPECT_NE(j["error"]["message"].get<std::string>().find("shard-00002.tar"), std::string::npos) << j.dump();
      continue;
    }
    ++per_key[j["key"].get<std::string>()];
    ASSERT_TRUE(j.contains("meta")) << j.dump();
    EXPECT_TRUE(j["meta"]["json"].contains("caption")) << j.dump();
    EXPECT_EQ(j["meta"]["txt"].get<std::string>().rfind("caption ", 0), 0u) << j.dump();
    EXPECT_FALSE(j["member"].get<std::string>().empty());
  }
  EXPECT_EQ(errors, 1);
  // Keys 0-5 from the good shards, plus what shard 2 held before the damage.
  for (int i = 0; i < 6; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "%06d", i);
    EXPECT_GE(per_key[key], 1) << key;
  }
  EXPECT_GE(rows.size(), 7u);
  // Resume: the shards read to their end (the damaged one too: its error is recorded) are
  // skipped without reading.
  const auto again = run_safescan({"scan", (tmp / "shard-{00000..00002}.tar").string(), "--db", db.string(), "--detectors",
                               "nsfw", "--no-progress"});
  EXPECT_NE(again.err.find("3 complete units skipped"), std::string::npos) << again.err;
  EXPECT_EQ(count_rows(db), static_cast<std::int64_t>(rows.size()));
}

// --- many processes -------------------------------------------------------------------------

TEST(ScanCli, MpiRunWithTwoRanksEqualsSingleProcessRun) {
  SAFESCAN_REQUIRE_SHARED("images");
  if (!fs::exists("/usr/bin/mpirun")) GTEST_SKIP() << "mpirun not installed (scripts/setup.sh installs openmpi-bin)";
  TempDir tmp;
  const fs::path data = tmp / "data";
  const std::size_t expected = make_dataset(data, 2);
  const fs::path single = tmp / "single.db", merged = tmp / "mpi.db";
  const std::vector<std::string> common = {"--detectors", "nsfw", "--batch", "8", "--files-per-unit", "8", "--no-progress"};
  std::vector<std::string> a = {"scan", data.string(), "--db", single.string()};
  a.insert(a.end(), common.begin(), common.end());
  ASSERT_EQ(run_safescan(a).exit_code, 3);

  std::vector<std::string> m = {"/usr/bin/mpirun", "-n", "2", "--oversubscribe", "--bind-to", "none", SAFESCAN_EXE, "scan",
                                data.string(), "--db", merged.string()};
  m.insert(m.end(), common.begin(), common.end());
  CommandOptions o;
  o.env = {{"OMP_WAIT_POLICY", "PASSIVE"}, {"SAFESCAN_THREADS", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT", "1"},
           {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}, {"OMPI_MCA_btl", "self,vader"}};
  // Under the sanitizer build: OpenMPI's own allocations are still live at exit by design.
  if (const char* asan = std::getenv("ASAN_OPTIONS")) o.env["ASAN_OPTIONS"] = std::string(asan) + ":detect_leaks=0";
  o.timeout = std::chrono::minutes(5);
  const auto r = testing::run_command(m, o);
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_NE(r.err.find("on 2 ranks"), std::string::npos) << r.err;
  EXPECT_EQ(count_rows(merged), static_cast<std::int64_t>(expected));
  expect_same_results(export_by_key(single), export_by_key(merged));
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".part"), std::string::npos) << "left behind: " << e.path();
  const auto runs = ResultStore::open(merged, OpenMode::read_only).runs();
  ASSERT_EQ(runs.size(), 2u);
  std::set<int> ranks;
  for (const auto& run : runs) {
    EXPECT_EQ(run.info.ranks, 2);
    ranks.insert(run.info.rank);
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
}

// `safescan merge` of two scans of disjoint halves equals one scan of the whole.
TEST(ScanCli, MergeOfTwoHalvesEqualsOneScan) {
  SAFESCAN_REQUIRE_SHARED("images");
  TempDir tmp;
  const fs::path data = tmp / "data";
  make_dataset(data, 2);
  auto scan = [&](const std::string& source, const fs::path& db) {
    const auto r = run_safescan({"scan", source, "--db", db.string(), "--detectors", "nsfw", "--no-progress"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.describe();
  };
  scan(data.string(), tmp / "whole.db");
  scan((data / "part0").string(), tmp / "a.db");
  scan((data / "part1").string(), tmp / "b.db");
  scan((data / "bad").string(), tmp / "c.db");
  const auto r = run_safescan({"merge", (tmp / "merged.db").string(), (tmp / "a.db").string(), (tmp / "b.db").string(),
                           (tmp / "c.db").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  expect_same_results(export_by_key(tmp / "whole.db"), export_by_key(tmp / "merged.db"));
  EXPECT_EQ(run_safescan({"merge", (tmp / "merged.db").string(), (tmp / "missing.db").string()}).exit_code, 2);
}

// --- precomputed embeddings -----------------------------------------------------------------

TEST(ScanCli, EmbeddingsAreScoredByTheClipHeads) {
  const fs::path npy = testing::shared_dir() / "models" / "laion" / "rating_embeddings" / "vit_l_14_embeddings" / "rating0.npy";
  const fs::path head = testing::shared_dir() / "models" / "laion" / "clip_autokeras_binary_nsfw.zip";
  if (!fs::exists(npy) || !fs::exists(head)) GTEST_SKIP() << "LAION files not found under " << testing::shared_dir();
  TempDir tmp;
  const fs::path home = tmp / "home";
  CommandOptions o;
  o.env["SAFESCAN_HOME"] = home.string();
  ASSERT_EQ(run_safescan({"models", "import", head.string()}, o).exit_code, 0);
  const fs::path db = tmp / "emb.db";
  const auto r = run_safescan({"scan", npy.string(), "--db", db.string(), "--detectors", "laion-nsfw", "--no-progress"}, o);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = json_lines(run_safescan({"export", db.string(), "--format", "jsonl"}).out);
  ASSERT_FALSE(rows.empty());
  for (const auto& j : rows) {
    EXPECT_EQ(j["status"], "ok");
    ASSERT_TRUE(j["scores"].contains("laion-nsfw")) << j.dump();
  }
}

}  // namespace
}  // namespace safescan
