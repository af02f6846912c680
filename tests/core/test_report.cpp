// The audit card (report.hpp, src/report): the streaming tallies, classes by folder and by
// metadata field, the bounded top items, escaping, thumbnails, and write_report end to end.
// The page itself is tested in a browser by tests/web/report.test.mjs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>

#include "report/report_stats.hpp"
#include "report/report_text.hpp"
#include "safescan/item_bytes.hpp"
#include "safescan/report.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using report::ReportStats;
using testing::expect_error;
using testing::read_all;
using testing::shared_dir;
using testing::TempDir;

ItemResult image_item(std::int64_t id, const std::string& path, float sexual, int faces = -1) {
  ItemResult it;
  it.id = id;
  it.key = it.path = path;
  it.source = "/data";
  it.bytes = 5000;
  it.width = 640, it.height = 480;
  it.format = "jpeg";
  it.scores = {{"nsfw-mobilenet-v2", "porn", sexual, false},
               {"nsfw-mobilenet-v2", "sexual", sexual, sexual >= 0.5f},
               {"q16", "inappropriate", 1.0f - sexual, 1.0f - sexual >= 0.9f}};
  if (faces >= 0) {
    it.faces.emplace(static_cast<std::size_t>(faces), FaceRecord{1, 2, 3, 4, 0.9f});
    it.face_detector = "yunet";
  }
  return it;
}

ItemResult error_item(std::int64_t id, const std::string& path, const std::string& code) {
  ItemResult it;
  it.id = id;
  it.key = it.path = path;
  it.source = "/data";
  it.ok = false;
  it.bytes = 10;
  it.error_code = code;
  it.error_message = path + ": broken";
  return it;
}

TEST(ReportStats, CountsStatusFormatsErrorsSizesAndFaces) {
  ReportStats s("", 5, 100);
  s.add(image_item(1, "/data/a/1.jpg", 0.9f, 0));
  s.add(image_item(2, "/data/a/2.jpg", 0.1f, 2));
  s.add(image_item(3, "/data/b/3.jpg", 0.6f, 14));
  s.add(error_item(4, "/data/b/4.jpg", "corrupt"));
  s.add(error_item(5, "/data/b/5.jpg", "corrupt"));
  s.add(error_item(6, "/data/b/6.jpg", "not_an_image"));
  s.finish();
  EXPECT_EQ(s.items, 6);
  EXPECT_EQ(s.ok, 3);
  EXPECT_EQ(s.failed, 3);
  EXPECT_EQ(s.flagged, 3);  // 1 and 3 by nsfw, 2 by q16 (0.9)
  ASSERT_EQ(s.errors().size(), 2u);
  EXPECT_EQ(s.errors()[0].code, "corrupt");
  EXPECT_EQ(s.errors()[0].count, 2);
  ASSERT_EQ(s.formats().size(), 1u);
  EXPECT_EQ(s.formats()[0].items, 3);
  EXPECT_EQ(s.sizes().bytes_known, 6);
  EXPECT_EQ(s.sizes().bytes_min, 10);
  EXPECT_EQ(s.sizes().decoded, 3);
  const auto& px = s.sizes().pixel_hist;
  EXPECT_EQ(std::accumulate(px.begin(), px.end(), std::int64_t{0}), 3);
  EXPECT_EQ(px[3], 3);  // 0.307 MP: the 0.25-0.5 MP bucket
  ASSERT_EQ(s.faces().size(), 1u);
  const auto& f = s.faces()[0];
  EXPECT_EQ(f.scanned, 3);
  EXPECT_EQ(f.with_faces, 2);
  EXPECT_EQ(f.faces, 16);
  EXPECT_EQ(f.max_faces, 14);
  EXPECT_EQ(f.per_image[0], 1);
  EXPECT_EQ(f.per_image[2], 1);
  EXPECT_EQ(f.per_image[report::kFaceBins - 1], 1);  // 10+
}

TEST(ReportStats, CategoriesHistogramsAndDecisions) {
  ReportStats s("", 5, 100);
  const float scores[] = {0.0f, 0.049f, 0.05f, 0.5f, 0.999f, 1.0f};
  for (int i = 0; i < 6; ++i) s.add(image_item(i + 1, "/d/" + std::to_string(i) + ".jpg", scores[i]));
  s.finish();
  ASSERT_EQ(s.categories().size(), 3u);  // sorted: nsfw porn, nsfw sexual, q16 inappropriate
  const auto& porn = s.categories()[0];
  const auto& sexual = s.categories()[1];
  const auto& q16 = s.categories()[2];
  EXPECT_EQ(porn.category, "porn");
  EXPECT_FALSE(porn.decision);  // a raw nsfwjs class
  EXPECT_TRUE(sexual.decision);
  EXPECT_TRUE(q16.decision);  // every category of other detectors decides, flagged or not
  EXPECT_EQ(sexual.scored, 6);
  EXPECT_EQ(sexual.flagged, 3);  // 0.5, 0.999, 1.0
  EXPECT_EQ(sexual.hist[0], 2);
  EXPECT_EQ(sexual.hist[1], 1);
  EXPECT_EQ(sexual.hist[10], 1);
  EXPECT_EQ(sexual.hist[report::kScoreBins - 1], 2);  // 0.999 and 1.0 in the last bin
  ASSERT_EQ(s.detectors().size(), 2u);
  EXPECT_EQ(s.detectors()[0].name, "nsfw-mobilenet-v2");
  EXPECT_EQ(s.detectors()[0].scored, 6);
  EXPECT_EQ(s.detectors()[0].flagged, 3);
}

TEST(ReportStats, TopItemsAreTheHighestScoresFirstAndBounded) {
  ReportStats s("", 3, 100);
  for (int i = 0; i < 50; ++i) s.add(image_item(i + 1, "/d/" + std::to_string(i) + ".jpg", 0.5f + (i % 10) * 0.05f));
  s.add(error_item(99, "/d/err.jpg", "corrupt"));
  s.finish();
  const auto& top = s.detectors()[0].top;
  ASSERT_EQ(top.size(), 3u);
  for (const auto& f : top) EXPECT_FLOAT_EQ(f.score, 0.95f);
  // Ties: the earliest items first.
  EXPECT_EQ(top[0].id, 10);
  EXPECT_EQ(top[1].id, 20);
  EXPECT_EQ(top[2].id, 30);
  EXPECT_EQ(top[0].category, "sexual");
  EXPECT_EQ(s.detectors()[0].flagged, 50);

  ReportStats none("", 0, 100);
  none.add(image_item(1, "/d/x.jpg", 0.9f));
  none.finish();
  EXPECT_TRUE(none.detectors()[0].top.empty());
}

TEST(ReportStats, ClassesFromFoldersShardsAndMetadata) {
  ItemResult file = image_item(1, "/data/train/n0144/img.jpg", 0.1f);
  EXPECT_EQ(report::item_class(file, "folder"), "n0144");
  ItemResult member = file;
  member.path = "/shards/00001.tar";
  member.member = "cats/000123.jpg";
  EXPECT_EQ(report::item_class(member, "folder"), "cats");
  member.member = "000123.jpg";
  EXPECT_EQ(report::item_class(member, "folder"), "00001");  // the shard's name
  member.meta_json = R"({"json": {"class": "tabby", "n": 7}, "cls": "281", "seg.json": {"label": "x"}})";
  EXPECT_EQ(report::item_class(member, "meta:json.class"), "tabby");
  EXPECT_EQ(report::item_class(member, "meta:json.n"), "7");
  EXPECT_EQ(report::item_class(member, "meta:cls"), "281");
  EXPECT_EQ(report::item_class(member, "meta:seg.json.label"), "x");  // field names with dots
  EXPECT_EQ(report::item_class(member, "meta:json.missing"), "");
  member.meta_json = "not json";
  EXPECT_EQ(report::item_class(member, "meta:cls"), "");
  expect_error([] { report::check_class_from("colour"); }, ErrorCode::invalid_argument, "--class-from");
  expect_error([] { report::check_class_from("meta:"); }, ErrorCode::invalid_argument, "--class-from");

  ReportStats s("folder", 5, 2);  // counts 2 classes exactly, pools the rest
  s.add(image_item(1, "/d/a/1.jpg", 0.9f));
  s.add(image_item(2, "/d/a/2.jpg", 0.1f));
  s.add(image_item(3, "/d/b/3.jpg", 0.1f));
  s.add(error_item(4, "/d/b/4.jpg", "corrupt"));
  s.add(image_item(5, "/d/c/5.jpg", 0.8f));
  s.add(image_item(6, "/d/e/6.jpg", 0.1f));
  s.finish();
  ASSERT_EQ(s.classes().size(), 2u);
  EXPECT_EQ(s.classes()[0].name, "a");  // by items, then name
  EXPECT_EQ(s.classes()[0].items, 2);
  EXPECT_EQ(s.classes()[0].flagged, 2);  // 1 by nsfw, 2 by q16
  EXPECT_EQ(s.classes()[0].flagged_by[0], 1);
  EXPECT_EQ(s.classes()[1].name, "b");
  EXPECT_EQ(s.classes()[1].errors, 1);
  EXPECT_EQ(s.pooled().items, 2);
  EXPECT_EQ(s.pooled().flagged, 2);
  EXPECT_EQ(s.detectors()[0].top[0].cls, "a");
}

TEST(ReportText, EscapesForHtmlMarkdownScriptsAndCsv) {
  using namespace report;
  EXPECT_EQ(html(R"x(<img src=x onerror="a()">&'b)x"), "&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;&#39;b");
  EXPECT_EQ(clean_utf8("ok\xff\xc3\xa9\x01"), "ok\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD");
  EXPECT_EQ(clean_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: invalid
  EXPECT_EQ(md("a|b_c\nd<e>"), "a\\|b\\_c d&lt;e&gt;");
  const std::string js = script_json(nlohmann::json{{"k", "</script><!--"}, {"bad", "\xff"}});
  EXPECT_EQ(js.find('<'), std::string::npos) << js;
  EXPECT_EQ(nlohmann::json::parse(js)["k"], "</script><!--");
  EXPECT_EQ(csv("plain"), "plain");
  EXPECT_EQ(csv("a,\"b\""), "\"a,\"\"b\"\"\"");
  EXPECT_EQ(thousands(1234567), "1,234,567");
  EXPECT_EQ(thousands(999), "999");
  EXPECT_EQ(percent(1, 3), "33.3 %");
  EXPECT_EQ(percent(0, 3), "0 %");
  EXPECT_EQ(percent(1, 0), "-");
}

TEST(Thumbnail, LongerSideIsTheRequestedSizeAndNeverEnlarged) {
  SAFESCAN_REQUIRE_SHARED("images/baboon.jpg");
  const auto bytes = read_item_bytes((shared_dir() / "images/baboon.jpg").string(), "");  // 512 x 512
  const Image thumb = decode_image(make_thumbnail_jpeg(bytes, 160));
  EXPECT_EQ(std::max(thumb.width, thumb.height), 160);
  const Image same = decode_image(make_thumbnail_jpeg(bytes, 4000));
  EXPECT_EQ(same.width, 512);
  const std::vector<std::uint8_t> text = {'h', 'i'};
  EXPECT_THROW(make_thumbnail_jpeg(text, 160), Error);
}

class WriteReport : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      find_chartjs(fs::path(SAFESCAN_SOURCE_DIR) / "web");
    } catch (const Error& e) {
      GTEST_SKIP() << e.what();
    }
    if (!testing::have_shared("images/messi5.jpg")) GTEST_SKIP() << "no shared images";
  }
};

TEST_F(WriteReport, WritesTheCardItsTwinAndTheClassTable) {
  TempDir dir;
  auto store = ResultStore::open(dir / "scan.db");
  RunInfo info;
  info.version = "t";
  info.command = "scan";
  info.config_json = R"({"detectors":["nsfw-mobilenet-v2"]})";
  info.models_json = R"([{"name":"yunet","path":"/m/y.onnx","sha256":"abc123"}])";
  const auto run = store.begin_run(info);
  std::vector<ItemResult> items = {image_item(0, (shared_dir() / "images/messi5.jpg").string(), 0.95f, 1),
                                   image_item(0, (dir / "gone/missing.jpg").string(), 0.9f),
                                   image_item(0, (dir / "x/ok.jpg").string(), 0.1f),
                                   error_item(0, (dir / "x/<b>bad.jpg").string(), "not_an_image")};
  store.write_batch(run, items);
  store.end_run(run, "complete");

  ReportOptions opt;
  opt.out_dir = dir / "card";
  opt.class_from = "folder";
  opt.web_dir = fs::path(SAFESCAN_SOURCE_DIR) / "web";
  const ReportSummary s = write_report(store, opt);
  EXPECT_EQ(s.items, 4);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.flagged, 3);  // two by nsfw, ok.jpg by q16 (0.9)
  EXPECT_EQ(s.classes, 3u);
  EXPECT_EQ(s.thumbnails, 1u);          // messi5
  EXPECT_EQ(s.thumbnail_failures, 2u);  // missing.jpg and ok.jpg do not exist: placeholders
  const std::string html = read_all(s.html);
  EXPECT_NE(html.find("Chart.js v4"), std::string::npos);
  EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;bad.jpg"), std::string::npos);
  EXPECT_EQ(html.find("<b>bad.jpg"), std::string::npos);
  EXPECT_NE(html.find("abc123"), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  const std::string md = read_all(s.markdown);
  EXPECT_NE(md.find("| Items in the database | 4 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Failed to read or decode | 1 |"), std::string::npos);
  EXPECT_EQ(read_all(s.classes_csv).substr(0, 35), "class,items,errors,flagged,flagged_");
  EXPECT_FALSE(fs::exists(dir / "card/report.html.tmp"));
}

TEST_F(WriteReport, RejectsBadOptionsAndMissingChartJs) {
  TempDir dir;
  auto store = ResultStore::open(dir / "scan.db");
  ReportOptions opt;
  opt.out_dir = dir / "card";
  opt.web_dir = fs::path(SAFESCAN_SOURCE_DIR) / "web";
  opt.class_from = "colour";
  expect_error([&] { write_report(store, opt); }, ErrorCode::invalid_argument, "--class-from");
  opt.class_from = "";
  opt.top = -1;
  expect_error([&] { write_report(store, opt); }, ErrorCode::invalid_argument, "--top");
  opt.top = 24;
  testing::write_all(dir / "file", "x");
  opt.out_dir = dir / "file" / "sub";
  expect_error([&] { write_report(store, opt); }, ErrorCode::unreadable, "output folder");
  opt.out_dir = dir / "card";
  opt.web_dir = dir.path();
  expect_error([&] { write_report(store, opt); }, ErrorCode::unreadable, "scripts/setup.sh");
  // An empty store still makes a card.
  opt.web_dir = fs::path(SAFESCAN_SOURCE_DIR) / "web";
  const ReportSummary s = write_report(store, opt);
  EXPECT_EQ(s.items, 0);
  EXPECT_TRUE(fs::exists(s.html));
}

}  // namespace
}  // namespace safescan
