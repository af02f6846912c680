// End-to-end tests of `safescan blur`: a folder (astronaut.png with a face, coffee.png without)
// and a WebDataset shard made with GNU tar (messi5.jpg with a face, baboon.jpg without, JSON
// and text metadata) scanned with YuNet; then blurred copies: only the pixels of the grown
// face boxes change, the shard keeps its members, order and metadata bytes, the originals stay.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli_json.hpp"
#include "cli/safescan_cli.hpp"
#include "safescan/image.hpp"
#include "safescan/item_bytes.hpp"
#include "safescan/store.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::CommandOptions;
using testing::CommandResult;
using testing::TempDir;

const char* const kYunet = "models/faces/face_detection_yunet.onnx";

// The shared runner, from a working directory (the blur tests use relative paths).
CommandResult safescan(std::vector<std::string> args, const fs::path& cwd = {}) {
  return testing::run_safescan(std::move(args), testing::in_dir(cwd));
}

json summary_of(const CommandResult& r) {
  const auto rows = testing::json_lines(r.out);
  return rows.empty() ? json::object() : rows.back();
}

struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool contains(int x, int y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};

// The grown box as docs/blur.md defines it (expand 0.2 by default).
Rect grown(const FaceRecord& f, int w, int h, float expand = 0.2f) {
  const double ex = static_cast<double>(expand) * f.width, ey = static_cast<double>(expand) * f.height;
  auto clamp = [](double v, int hi) { return static_cast<int>(std::clamp(v, 0.0, static_cast<double>(hi))); };
  return {clamp(std::floor(f.x - ex + 1e-3), w), clamp(std::floor(f.y - ey + 1e-3), h),
          clamp(std::ceil(f.x + f.width + ex - 1e-3), w), clamp(std::ceil(f.y + f.height + ey - 1e-3), h)};
}

Image decode_bytes(const std::vector<std::uint8_t>& bytes) { return decode_image(bytes); }
Image decode_file(const fs::path& p) { return load_image(p); }

// Mean |a - b| per channel over the pixels inside (or outside) `r`.
double mean_diff(const Image& a, const Image& b, const Rect& r, bool inside) {
  double d = 0, n = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      if (r.contains(x, y) == inside)
        for (int c = 0; c < 3; ++c, ++n) d += std::abs(a.pixel(x, y)[c] - b.pixel(x, y)[c]);
  return n ? d / n : 0;
}

std::size_t changed_outside(const Image& a, const Image& b, const Rect& r) {
  std::size_t n = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      if (!r.contains(x, y) && !std::equal(a.pixel(x, y), a.pixel(x, y) + 3, b.pixel(x, y))) ++n;
  return n;
}

std::vector<std::string> tar_list(const fs::path& tar) {
  const auto r = testing::run_command({"/usr/bin/tar", "-tf", tar.string()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return testing::lines_of(r.out);
}

std::vector<std::uint8_t> member(const fs::path& tar, const std::string& name) {
  return read_item_bytes(tar.string(), name);
}

// The scanned dataset, made once for the suite.
struct Dataset {
  TempDir tmp;
  std::map<std::string, std::string> originals;          // relative path -> bytes
  std::map<std::string, std::vector<FaceRecord>> faces;  // key -> boxes
  const std::vector<std::string> members = {"000001.jpg", "000001.json", "000002.json", "000002.jpg", "000002.txt"};
  std::string error;

  Dataset() {
    const fs::path images = testing::shared_dir() / "images";
    fs::create_directories(tmp / "data");
    fs::create_directories(tmp / "src");
    fs::create_directories(tmp / "shards");
    fs::copy_file(images / "astronaut.png", tmp / "data/astronaut.png");
    fs::copy_file(images / "coffee.png", tmp / "data/coffee.png");
    fs::copy_file(images / "messi5.jpg", tmp / "src/000001.jpg");
    fs::copy_file(images / "baboon.jpg", tmp / "src/000002.jpg");
    testing::write_all(tmp / "src/000001.json", "{\"caption\": \"a footballer\", \"url\": \"http://x/1\"}\n");
    testing::write_all(tmp / "src/000002.json", "{\"caption\": \"a baboon\"}");
    testing::write_all(tmp / "src/000002.txt", "a baboon\n");
    std::vector<std::string> args = {"/usr/bin/tar", "--format=ustar",
                                     "-cf",          (tmp / "shards/shard-00000.tar").string(),
                                     "-C",           (tmp / "src").string()};
    args.insert(args.end(), members.begin(), members.end());
    if (testing::run_command(args).exit_code != 0) error = "tar failed";
    for (const char* f : {"data/astronaut.png", "data/coffee.png", "shards/shard-00000.tar"})
      originals[f] = testing::read_all(tmp / f);
    const auto r =
        safescan({"scan", "data", "shards/shard-00000.tar", "--db", "scan.db", "--detectors", "nsfw,faces-yunet",
                  "--face-model", (testing::shared_dir() / kYunet).string(), "--no-progress"},
                 tmp.path());
    if (r.exit_code != 0) error = "scan failed: " + r.describe();
    ResultStore::open(tmp / "scan.db", OpenMode::read_only).for_each_item([&](const ItemResult& it) {
      faces[it.key] = it.faces.value_or(std::vector<FaceRecord>{});
    });
  }

  void expect_originals_unchanged() const {
    for (const auto& [rel, bytes] : originals) EXPECT_TRUE(testing::read_all(tmp / rel) == bytes) << rel << " changed";
  }
};

class BlurCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::have_shared("images") && testing::have_shared(kYunet)) data_ = new Dataset;
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  void SetUp() override {
    SAFESCAN_REQUIRE_SHARED("images");
    SAFESCAN_REQUIRE_SHARED(kYunet);
    ASSERT_TRUE(data_ && data_->error.empty()) << (data_ ? data_->error : "no dataset");
  }
  static fs::path root() { return data_->tmp.path(); }
  static Dataset* data_;
};
Dataset* BlurCli::data_ = nullptr;

TEST_F(BlurCli, FacesChangeOnlyInsideTheGrownBoxes) {
  ASSERT_EQ(data_->faces["data/astronaut.png"].size(), 1u);
  ASSERT_EQ(data_->faces["000001"].size(), 1u);
  ASSERT_TRUE(data_->faces["data/coffee.png"].empty());
  ASSERT_TRUE(data_->faces["000002"].empty());
  TempDir out;
  const auto r = safescan({"blur", "scan.db", "--out", out.path().string()}, root());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json s = summary_of(r);
  EXPECT_EQ(s["blurred"], 2) << s.dump();
  EXPECT_EQ(s["copied"], 2);
  EXPECT_EQ(s["boxes"], 2);
  EXPECT_EQ(s["shards"], 1);
  EXPECT_EQ(s["failed"], 0);

  // PNG: lossless, so exactly the grown box differs.
  const Image a0 = decode_file(root() / "data/astronaut.png"), a1 = decode_file(out / "data/astronaut.png");
  ASSERT_EQ(a1.width, a0.width);
  ASSERT_EQ(a1.format, ImageFormat::png);
  const Rect box = grown(data_->faces["data/astronaut.png"][0], a0.width, a0.height);
  EXPECT_EQ(changed_outside(a0, a1, box), 0u);
  EXPECT_GT(mean_diff(a0, a1, box, true), 8.0);
  // No face: the very same bytes.
  EXPECT_TRUE(testing::read_all(out / "data/coffee.png") == data_->originals["data/coffee.png"]);

  // The shard: same members in the same order, metadata and the faceless image byte for byte.
  const fs::path shard = out / "shards/shard-00000.tar", original = root() / "shards/shard-00000.tar";
  EXPECT_EQ(tar_list(shard), data_->members);
  for (const char* m : {"000001.json", "000002.json", "000002.txt", "000002.jpg"})
    EXPECT_EQ(member(shard, m), member(original, m)) << m;
  const Image m0 = decode_bytes(member(original, "000001.jpg")), m1 = decode_bytes(member(shard, "000001.jpg"));
  ASSERT_EQ(m1.format, ImageFormat::jpeg);
  const Rect face = grown(data_->faces["000001"][0], m0.width, m0.height);
  EXPECT_GT(mean_diff(m0, m1, face, true), 8.0);
  EXPECT_LT(mean_diff(m0, m1, face, false), 1.5);  // JPEG re-encoding at quality 95 only
  data_->expect_originals_unchanged();

  // The new shard is a dataset safescan reads: same keys and metadata.
  const auto again =
      safescan({"scan", shard.string(), "--db", (out / "check.db").string(), "--detectors", "faces-yunet",
                "--face-model", (testing::shared_dir() / kYunet).string(), "--no-progress"});
  EXPECT_EQ(again.exit_code, 0) << again.describe();
  std::map<std::string, std::string> meta_before, meta_after;
  ResultStore::open(root() / "scan.db", OpenMode::read_only).for_each_item([&](const ItemResult& it) {
    if (!it.member.empty()) meta_before[it.key] = it.meta_json;
  });
  ResultStore::open(out / "check.db", OpenMode::read_only).for_each_item([&](const ItemResult& it) {
    meta_after[it.key] = it.meta_json;
  });
  EXPECT_EQ(meta_after, meta_before);
}

TEST_F(BlurCli, PixelateEllipseKeepsTheBoxCorners) {
  TempDir out;
  const auto r = safescan({"blur", (root() / "scan.db").string(), "--out", out.path().string(), "--method", "pixelate",
                           "--ellipse", "--expand", "0.3"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const Image a0 = decode_file(root() / "data/astronaut.png"), a1 = decode_file(out / "data/astronaut.png");
  const Rect box = grown(data_->faces["data/astronaut.png"][0], a0.width, a0.height, 0.3f);
  EXPECT_EQ(changed_outside(a0, a1, box), 0u);
  EXPECT_GT(mean_diff(a0, a1, box, true), 5.0);
  for (auto [x, y] : {std::pair{box.x0, box.y0}, {box.x1 - 1, box.y0}, {box.x0, box.y1 - 1}, {box.x1 - 1, box.y1 - 1}})
    EXPECT_TRUE(std::equal(a0.pixel(x, y), a0.pixel(x, y) + 3, a1.pixel(x, y))) << x << "," << y;
}

TEST_F(BlurCli, FlaggedWithMinScoreZeroBlursWholeImages) {
  TempDir out;
  const auto r = safescan(
      {"blur", "scan.db", "--out", out.path().string(), "--what", "flagged", "--min-score", "0", "--format", "png"},
      root());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(summary_of(r)["blurred"], 4) << r.out;
  const Rect none{};
  for (const char* f : {"data/astronaut.png", "data/coffee.png"})
    EXPECT_GT(mean_diff(decode_file(root() / f), decode_file(out / f), none, false), 10.0) << f;
  const fs::path shard = out / "shards/shard-00000.tar", original = root() / "shards/shard-00000.tar";
  // --format png: image members become .png, with the same keys, in the same places.
  EXPECT_EQ(tar_list(shard),
            (std::vector<std::string>{"000001.png", "000001.json", "000002.json", "000002.png", "000002.txt"}));
  EXPECT_EQ(member(shard, "000001.json"), member(original, "000001.json"));
  EXPECT_EQ(member(shard, "000002.txt"), member(original, "000002.txt"));
  const Image b0 = decode_bytes(member(original, "000002.jpg")), b1 = decode_bytes(member(shard, "000002.png"));
  EXPECT_GT(mean_diff(b0, b1, none, false), 10.0);
  data_->expect_originals_unchanged();

  // Nothing flagged (a category no detector has): with --changed-only no file is written; the
  // shard still gets every member.
  TempDir out2;
  const auto r2 = safescan({"blur", "scan.db", "--out", out2.path().string(), "--what", "flagged", "--category",
                            "nothing", "--changed-only"},
                           root());
  ASSERT_EQ(r2.exit_code, 0) << r2.describe();
  EXPECT_FALSE(fs::exists(out2 / "data"));
  EXPECT_EQ(tar_list(out2 / "shards/shard-00000.tar"), data_->members);
}

TEST_F(BlurCli, RefusesToWriteIntoSourcesOrOverOriginals) {
  for (const char* dir : {"data", "data/sub", "shards", "."}) {
    const auto r = safescan({"blur", "scan.db", "--out", dir}, root());
    EXPECT_EQ(r.exit_code, 2) << dir << "\n" << r.describe();
    EXPECT_NE(r.err.find("choose a"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(root() / "data/sub"));
  EXPECT_FALSE(fs::exists(root() / "data/data"));
  EXPECT_FALSE(fs::exists(root() / "shards/shards"));
  data_->expect_originals_unchanged();
  // Without a database, the same: the folder of an input image.
  const auto direct = safescan({"blur", "--detect", "data/astronaut.png", "--out", "data"}, root());
  EXPECT_EQ(direct.exit_code, 2) << direct.describe();
  data_->expect_originals_unchanged();
}

TEST_F(BlurCli, DetectsFacesWithoutADatabase) {
  TempDir out;
  const auto r = safescan({"blur", "--detect", "--face-model", (testing::shared_dir() / kYunet).string(),
                           "data/astronaut.png", "shards/shard-00000.tar", "--out", out.path().string()},
                          root());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(summary_of(r)["blurred"], 2) << r.out;
  const Image a0 = decode_file(root() / "data/astronaut.png"), a1 = decode_file(out / "data/astronaut.png");
  const Rect box = grown(data_->faces["data/astronaut.png"][0], a0.width, a0.height, 0.3f);  // a little slack
  EXPECT_EQ(changed_outside(a0, a1, box), 0u);
  EXPECT_GT(mean_diff(a0, a1, box, true), 5.0);
  EXPECT_EQ(tar_list(out / "shards/shard-00000.tar"), data_->members);

  // A gzipped shard stays gzipped.
  TempDir gz;
  std::vector<std::string> args = {"/usr/bin/tar", "--format=ustar",         "-czf", (gz / "s.tar.gz").string(),
                                   "-C",           (root() / "src").string()};
  args.insert(args.end(), data_->members.begin(), data_->members.end());
  ASSERT_EQ(testing::run_command(args).exit_code, 0);
  const auto rz = safescan(
      {"blur", "--detect", "--face-model", (testing::shared_dir() / kYunet).string(), "s.tar.gz", "--out", "out"},
      gz.path());
  ASSERT_EQ(rz.exit_code, 0) << rz.describe();
  EXPECT_EQ(testing::read_all(gz / "out/s.tar.gz").substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(tar_list(gz / "out/s.tar.gz"), data_->members);

  const auto no_detect = safescan({"blur", "data/astronaut.png", "--out", out.path().string()}, root());
  EXPECT_EQ(no_detect.exit_code, 2) << no_detect.describe();
  EXPECT_NE(no_detect.err.find("--detect"), std::string::npos);
}

TEST_F(BlurCli, FailedItemsAreReportedAndSkipped) {
  TempDir tmp;
  fs::create_directories(tmp / "d");
  fs::copy_file(root() / "data/astronaut.png", tmp / "d/a.png");
  fs::copy_file(root() / "data/coffee.png", tmp / "d/c.png");
  const std::string jpeg = testing::read_all(testing::shared_dir() / "images/messi5.jpg");
  testing::write_all(tmp / "d/truncated.jpg", jpeg.substr(0, jpeg.size() / 3));
  const auto scan = safescan({"scan", "d", "--db", "s.db", "--detectors", "faces-yunet", "--face-model",
                              (testing::shared_dir() / kYunet).string(), "--no-progress"},
                             tmp.path());
  ASSERT_EQ(scan.exit_code, 3) << scan.describe();
  fs::copy_file(root() / "data/astronaut.png", tmp / "d/c.png", fs::copy_options::overwrite_existing);  // changed since
  const auto r = safescan({"blur", "s.db", "--out", "out"}, tmp.path());
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_EQ(summary_of(r)["failed"], 2) << r.out;
  EXPECT_EQ(summary_of(r)["blurred"], 1) << r.out;
  EXPECT_NE(r.err.find("truncated.jpg"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("changed since the scan"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(tmp / "out/d/a.png"));
  EXPECT_FALSE(fs::exists(tmp / "out/d/c.png"));
  EXPECT_FALSE(fs::exists(tmp / "out/d/truncated.jpg"));
}

TEST_F(BlurCli, UsageErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"blur", "scan.db", "--out", "x", "--min-score", "0.5"},              // flagged options with faces
      {"blur", "scan.db", "--out", "x", "--face-model", "m.onnx"},          // needs --detect
      {"blur", "scan.db", "--out", "x", "--what", "flagged", "--detect"},   // detect is for faces
      {"blur", "scan.db", "--out", "x", "--expand", "-1"},                  // out of range
      {"blur", "scan.db", "data/astronaut.png", "--detect", "--out", "x"},  // a database and images
      {"blur", "scan.db"},                                                  // no --out
      {"blur", "--detect", "--what", "flagged", "data", "--out", "x"},
  };
  for (const auto& args : bad) {
    const auto r = safescan(args, root());
    EXPECT_EQ(r.exit_code, 2) << args[args.size() - 1] << "\n" << r.describe();
  }
  EXPECT_FALSE(fs::exists(root() / "x"));
}

}  // namespace
}  // namespace safescan
