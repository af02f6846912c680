// export_results on a small store: JSON lines, CSV (RFC 4180 quoting), Q16's
// inappropriate_images.csv, the removal list; the detector / category / min_score filters
// and review decisions.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset/sqlite.hpp"
#include "safescan/policy.hpp"
#include "safescan/store.hpp"
#include "testing.hpp"

namespace {

namespace fs = std::filesystem;
using safescan::ErrorCode;
using safescan::ExportFormat;
using safescan::ExportOptions;
using safescan::ItemResult;
using safescan::OpenMode;
using safescan::ResultStore;
using safescan::testing::expect_error;
using safescan::testing::TempDir;

const std::string kWeird = "/d/we,ird \"name\"\nx.jpg";

using safescan::Decision;
using safescan::Likelihood;

ItemResult ok_item(const std::string& path, std::vector<safescan::ScoreRecord> scores,
                   std::vector<safescan::CategoryRecord> categories = {}) {
  ItemResult it;
  it.key = it.path = path;
  it.source = "/d";
  it.bytes = 2048;
  it.width = 64;
  it.height = 48;
  it.format = "jpeg";
  it.sha256 = std::string(64, 'f');
  it.scores = std::move(scores);
  it.categories = std::move(categories);
  for (const auto& c : it.categories) it.decision = std::max(it.decision, c.decision);
  return it;
}

// a: the policy blocked nsfw's Sexual; b: q16's Hate; c: unreadable; weird: nothing; e: high-ish
// scores the policy allowed (as a stricter policy would).
void write_fixture(const fs::path& file) {
  auto a = ok_item("/d/a.jpg", {{"nsfw", "porn", 0.95f, true}, {"nsfw", "neutral", 0.05f, false},
                                {"q16", "inappropriate", 0.30f, false}},
                   {{"nsfw", "Sexual", 0.95f, Likelihood::very_likely, Decision::block},
                    {"q16", "Hate", 0.30f, Likelihood::possible, Decision::allow}});
  a.faces = std::vector<safescan::FaceRecord>{{1, 2, 30, 40, 0.875f}};
  a.face_detector = "yunet";
  a.meta_json = R"({"caption":"hi","id":7})";
  auto b = ok_item("/d/b.jpg", {{"nsfw", "porn", 0.40f, false}, {"q16", "inappropriate", 0.97f, true}},
                   {{"nsfw", "Sexual", 0.40f, Likelihood::possible, Decision::allow},
                    {"q16", "Hate", 0.97f, Likelihood::very_likely, Decision::block}});
  ItemResult c;
  c.key = c.path = "/d/c.jpg";
  c.source = "/d";
  c.ok = false;
  c.error_code = "corrupt";
  c.error_message = "/d/c.jpg: truncated JPEG data";
  auto weird = ok_item(kWeird, {{"nsfw", "porn", 0.2f, false}, {"q16", "inappropriate", 0.1f, false}},
                       {{"nsfw", "Sexual", 0.2f, Likelihood::unlikely, Decision::allow},
                        {"q16", "Hate", 0.1f, Likelihood::unlikely, Decision::allow}});
  auto e = ok_item("/d/e.jpg", {{"nsfw", "porn", 0.6f, false}, {"q16", "inappropriate", 0.55f, false}},
                   {{"nsfw", "Sexual", 0.6f, Likelihood::likely, Decision::allow},
                    {"q16", "Hate", 0.55f, Likelihood::likely, Decision::allow}});
  e.faces.emplace();  // a face detector ran and found none
  e.face_detector = "hog";
  auto db = ResultStore::open(file);
  db.write_batch(db.begin_run({}), {a, b, c, weird, e});
}

std::string run_export(const fs::path& file, ExportFormat format, ExportOptions options = {}) {
  auto db = ResultStore::open(file, OpenMode::read_only);
  std::ostringstream out;
  safescan::export_results(db, format, options, out);
  return out.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A minimal RFC 4180 reader for checking the CSV output.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') rows.back().back() += text[++i];
      else if (c == '"') quoted = false;
      else rows.back().back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

void add_decision(const fs::path& file, const std::string& path, const std::string& decision, const std::string& at) {
  auto raw = safescan::sqlite::Database::open(file, SQLITE_OPEN_READWRITE);
  raw.exec("PRAGMA busy_timeout = 5000");
  auto st = raw.prepare(
      "INSERT INTO decisions (item_id, decision, reviewer, decided_at) "
      "VALUES ((SELECT id FROM items WHERE path = ?1), ?2, 'tester', ?3)");
  st.bind(1, path).bind(2, decision).bind(3, at).run();
}

TEST(Export, JsonLines) {
  TempDir dir;
  write_fixture(dir / "s.db");
  const auto out = lines(run_export(dir / "s.db", ExportFormat::jsonl));
  ASSERT_EQ(out.size(), 5u);
  std::vector<nlohmann::ordered_json> j;
  for (const auto& line : out) j.push_back(nlohmann::ordered_json::parse(line));

  const auto& a = j[0];
  EXPECT_EQ(a.begin().key(), "key");
  EXPECT_EQ(a["key"], "/d/a.jpg");
  EXPECT_EQ(a["source"], "/d");
  EXPECT_EQ(a["member"], "");
  EXPECT_EQ(a["status"], "ok");
  EXPECT_FALSE(a.contains("error"));
  EXPECT_FALSE(a.contains("error_code"));
  EXPECT_EQ(a["width"], 64);
  EXPECT_EQ(a["height"], 48);
  EXPECT_EQ(a["format"], "jpeg");
  EXPECT_EQ(a["bytes"], 2048);
  EXPECT_EQ(a["sha256"], std::string(64, 'f'));
  EXPECT_EQ(a["flagged"], true);
  EXPECT_EQ(a["decision"], "block");
  EXPECT_EQ(a["categories"]["Sexual"].get<double>(), 0.95);
  EXPECT_EQ(a["categories"]["Hate"].get<double>(), 0.3);
  EXPECT_EQ(a["likelihood"]["Sexual"], "VERY_LIKELY");
  EXPECT_EQ(a["likelihood"]["Hate"], "POSSIBLE");
  EXPECT_EQ(a["categories"].begin().key(), "Hate");  // UnsafeBench's order: Hate before Sexual
  EXPECT_EQ(a["scores"]["nsfw"]["porn"].get<double>(), 0.95);  // the float's shortest text
  EXPECT_EQ(a["scores"]["q16"]["inappropriate"].get<double>(), 0.3);
  ASSERT_EQ(a["faces"].size(), 1u);
  EXPECT_EQ(a["faces"][0]["w"], 30.0);
  EXPECT_EQ(a["faces"][0]["confidence"], 0.875);
  EXPECT_EQ(a["face_count"], 1);
  EXPECT_EQ(a["meta"]["caption"], "hi");
  EXPECT_EQ(a["meta"]["id"], 7);
  EXPECT_NE(out[0].find(R"("scores":{"nsfw":{"neutral":0.05,"porn":0.95},"q16":{"inappropriate":0.3}})"),
            std::string::npos) << out[0];

  EXPECT_EQ(j[1]["flagged"], true);
  EXPECT_FALSE(j[1].contains("faces"));
  EXPECT_FALSE(j[1].contains("face_count"));  // no face detector ran
  EXPECT_FALSE(j[1].contains("meta"));

  const auto& c = j[2];
  EXPECT_EQ(c["status"], "error");
  EXPECT_EQ(c["error"]["code"], "corrupt");
  EXPECT_EQ(c["error"]["message"], "/d/c.jpg: truncated JPEG data");
  EXPECT_EQ(c["flagged"], false);
  EXPECT_TRUE(c["width"].is_null());
  EXPECT_TRUE(c["bytes"].is_null());
  EXPECT_FALSE(c.contains("scores"));
  EXPECT_FALSE(c.contains("decision"));

  EXPECT_EQ(j[3]["key"], kWeird);
  EXPECT_EQ(j[4]["faces"], nlohmann::ordered_json::array());
  EXPECT_EQ(j[4]["face_count"], 0);
  EXPECT_EQ(j[4]["flagged"], false);
  EXPECT_EQ(j[4]["decision"], "allow");
}

TEST(Export, CsvWithQuoting) {
  TempDir dir;
  write_fixture(dir / "s.db");
  const auto text = run_export(dir / "s.db", ExportFormat::csv);
  EXPECT_NE(text.find("\"/d/we,ird \"\"name\"\"\nx.jpg\""), std::string::npos) << text;
  const auto rows = parse_csv(text);
  ASSERT_EQ(rows.size(), 6u) << text;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"key", "source", "path", "member", "status", "error", "width", "height",
                                               "faces", "flagged", "nsfw/neutral", "nsfw/porn", "q16/inappropriate"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"/d/a.jpg", "/d", "/d/a.jpg", "", "ok", "", "64", "48", "1", "1", "0.05",
                                               "0.95", "0.3"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"/d/b.jpg", "/d", "/d/b.jpg", "", "ok", "", "64", "48", "", "1", "",
                                               "0.4", "0.97"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"/d/c.jpg", "/d", "/d/c.jpg", "", "error",
                                               "/d/c.jpg: truncated JPEG data", "", "", "", "0", "", "", ""}));
  EXPECT_EQ(rows[4][0], kWeird);
  EXPECT_EQ(rows[4][2], kWeird);
  EXPECT_EQ(rows[4].size(), 13u);
  EXPECT_EQ(rows[5][8], "0");  // a face detector ran, no face

  TempDir empty;
  { ResultStore::open(empty / "e.db"); }
  EXPECT_EQ(run_export(empty / "e.db", ExportFormat::csv), "key,source,path,member,status,error,width,height,faces,flagged\n");
}

TEST(Export, Q16Layout) {
  TempDir dir;
  write_fixture(dir / "s.db");
  // No header; label, class index, score with two decimals, file; flagged items only.
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::q16), "inappropriate,1,0.95,/d/a.jpg\ninappropriate,1,0.97,/d/b.jpg\n");
  ExportOptions q16;
  q16.detector = "q16";
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::q16, q16), "inappropriate,1,0.97,/d/b.jpg\n");
  q16.min_score = 0.5f;
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::q16, q16), "inappropriate,1,0.97,/d/b.jpg\ninappropriate,1,0.55,/d/e.jpg\n");
  ExportOptions all;
  all.min_score = 0.05f;
  const auto text = run_export(dir / "s.db", ExportFormat::q16, all);
  EXPECT_NE(text.find("inappropriate,1,0.20,\"/d/we,ird \"\"name\"\"\nx.jpg\"\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("c.jpg"), std::string::npos);  // error items are never flagged
}

TEST(Export, FiltersDecideFlagged) {
  TempDir dir;
  write_fixture(dir / "s.db");
  auto removal = [&](ExportOptions o) { return run_export(dir / "s.db", ExportFormat::removal_list, o); };
  EXPECT_EQ(removal({}), "/d/a.jpg\n/d/b.jpg\n");
  ExportOptions o;
  o.detector = "nsfw";
  EXPECT_EQ(removal(o), "/d/a.jpg\n");
  o.detector = "q16";
  EXPECT_EQ(removal(o), "/d/b.jpg\n");
  o.detector = "nope";
  EXPECT_EQ(removal(o), "");
  o = {};
  o.category = "porn";
  EXPECT_EQ(removal(o), "/d/a.jpg\n");
  o.min_score = 0.5f;
  EXPECT_EQ(removal(o), "/d/a.jpg\n/d/e.jpg\n");
  o = {};
  o.min_score = 0.5f;
  EXPECT_EQ(removal(o), "/d/a.jpg\n/d/b.jpg\n/d/e.jpg\n");
  o.min_score = 0.96f;
  EXPECT_EQ(removal(o), "/d/b.jpg\n");
  o.detector = "nsfw";
  o.category = "porn";
  o.min_score = 0.0f;
  EXPECT_EQ(removal(o), "/d/a.jpg\n/d/b.jpg\n" + kWeird + "\n/d/e.jpg\n");

  // Categories select too, in any spelling.
  o = {};
  o.category = "sexual";
  EXPECT_EQ(removal(o), "/d/a.jpg\n");
  o.category = "HATE";
  EXPECT_EQ(removal(o), "/d/b.jpg\n");

  // The same rule drives "flagged" in the CSV; JSON Lines rows stay the results as scored.
  ExportOptions q;
  q.detector = "q16";
  const auto rows = parse_csv(run_export(dir / "s.db", ExportFormat::csv, q));
  EXPECT_EQ(rows[1][9], "0");
  EXPECT_EQ(rows[2][9], "1");
  const auto jl = lines(run_export(dir / "s.db", ExportFormat::jsonl, q));
  EXPECT_EQ(nlohmann::json::parse(jl[0])["flagged"], true);
  EXPECT_EQ(jl, lines(run_export(dir / "s.db", ExportFormat::jsonl)));
}

TEST(Export, AnotherPolicyDecidesAgainFromTheStoredCategories) {
  TempDir dir;
  write_fixture(dir / "s.db");
  const auto strict = safescan::Policy::parse("version = 1\n[categories.default]\nblock = 0.5\nreview = 0.25\n", "toml", "strict");
  ExportOptions o;
  o.policy = &strict;
  // e's 0.6 / 0.55 now block; weird's 0.2 stays allowed; a's Hate 0.3 is now a review.
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::removal_list, o), "/d/a.jpg\n/d/b.jpg\n/d/e.jpg\n");
  const auto jl = lines(run_export(dir / "s.db", ExportFormat::jsonl, o));
  const auto a = nlohmann::json::parse(jl[0]), e = nlohmann::json::parse(jl[4]);
  EXPECT_EQ(a["decision"], "block");
  EXPECT_EQ(e["decision"], "block");
  EXPECT_EQ(e["likelihood"]["Sexual"], "LIKELY");  // the policy's boundaries: 0.6 >= 0.5
  auto lenient = safescan::Policy::builtin();
  lenient.set_block_threshold(0.99f);
  o.policy = &lenient;
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::removal_list, o), "");
}

TEST(Export, DecisionsOverrideTheRemovalList) {
  TempDir dir;
  write_fixture(dir / "s.db");
  add_decision(dir / "s.db", "/d/a.jpg", "keep", "2024-01-01T00:00:00.000Z");    // flagged, kept
  add_decision(dir / "s.db", "/d/c.jpg", "remove", "2024-01-01T00:00:00.000Z");  // an error item, removed
  add_decision(dir / "s.db", "/d/b.jpg", "keep", "2024-01-01T00:00:00.000Z");
  add_decision(dir / "s.db", "/d/b.jpg", "skip", "2024-02-01T00:00:00.000Z");  // latest: skip -> detectors decide
  add_decision(dir / "s.db", "/d/e.jpg", "remove", "2024-03-01T00:00:00.000Z");
  add_decision(dir / "s.db", "/d/e.jpg", "keep", "2024-01-01T00:00:00.000Z");  // inserted later, decided earlier
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::removal_list), "/d/b.jpg\n/d/c.jpg\n/d/e.jpg\n");
  // Reviews do not change the detectors' view in the other formats, but jsonl reports them.
  EXPECT_EQ(run_export(dir / "s.db", ExportFormat::q16), "inappropriate,1,0.95,/d/a.jpg\ninappropriate,1,0.97,/d/b.jpg\n");
  const auto jl = lines(run_export(dir / "s.db", ExportFormat::jsonl));
  EXPECT_EQ(nlohmann::json::parse(jl[0])["review"], "keep");
  EXPECT_EQ(nlohmann::json::parse(jl[0])["decision"], "block");  // the policy's, untouched
  EXPECT_EQ(nlohmann::json::parse(jl[1])["review"], "skip");
  EXPECT_EQ(nlohmann::json::parse(jl[4])["review"], "remove");
  EXPECT_FALSE(nlohmann::json::parse(jl[3]).contains("review"));
  // The CHECK constraint keeps decisions to keep / remove / skip.
  expect_error([&] { add_decision(dir / "s.db", "/d/a.jpg", "delete", "2024-01-01T00:00:00Z"); },
               ErrorCode::invalid_argument, "CHECK constraint failed");
}

TEST(Export, ParseFormatAndStreamErrors) {
  EXPECT_EQ(safescan::parse_export_format("csv"), ExportFormat::csv);
  EXPECT_EQ(safescan::parse_export_format("jsonl"), ExportFormat::jsonl);
  EXPECT_EQ(safescan::parse_export_format("q16"), ExportFormat::q16);
  EXPECT_EQ(safescan::parse_export_format("removal-list"), ExportFormat::removal_list);
  EXPECT_EQ(safescan::parse_export_format("removal_list"), ExportFormat::removal_list);
  expect_error([] { safescan::parse_export_format("xml"); }, ErrorCode::invalid_argument, "unknown export format \"xml\"");

  TempDir dir;
  write_fixture(dir / "s.db");
  auto db = ResultStore::open(dir / "s.db", OpenMode::read_only);
  std::ostringstream bad;
  bad.setstate(std::ios::badbit);
  expect_error([&] { safescan::export_results(db, ExportFormat::jsonl, {}, bad); }, ErrorCode::unreadable,
               "cannot write");
}

}  // namespace
