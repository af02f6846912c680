// load_image() and read_file_bytes(): file-system errors, names that lie about the
// format, and the real images in ../shared/images.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "image_compare.hpp"
#include "image_writers.hpp"
#include "safescan/image.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using testing::Bytes;

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// load_image(path) must fail with `code`; returns the error message.
std::string expect_load_error(const fs::path& path, ErrorCode code, const DecodeOptions& options = {}) {
  try {
    load_image(path, options);
    ADD_FAILURE() << path << ": loaded, expected " << to_string(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(e.where(), path.string());
    return e.message();
  }
  return {};
}

TEST(DecodeFiles, MissingFileIsUnreadable) {
  const testing::TempDir dir;
  EXPECT_NE(expect_load_error(dir / "missing.jpg", ErrorCode::unreadable).find("no such file"), std::string::npos);
}

TEST(DecodeFiles, DirectoryNamedLikeAnImageIsUnreadable) {
  const testing::TempDir dir;
  fs::create_directory(dir / "x.jpg");
  EXPECT_NE(expect_load_error(dir / "x.jpg", ErrorCode::unreadable).find("directory"), std::string::npos);
}

TEST(DecodeFiles, DanglingSymlinkIsUnreadable) {
  const testing::TempDir dir;
  fs::create_symlink(dir / "nowhere.png", dir / "y.png");
  EXPECT_NE(expect_load_error(dir / "y.png", ErrorCode::unreadable).find("dangling"), std::string::npos);
}

TEST(DecodeFiles, SymlinkToAnImageLoads) {
  const testing::TempDir dir;
  testing::write_file(dir / "real.png", testing::encode_png(testing::gradient(5, 4, 3)));
  fs::create_symlink(dir / "real.png", dir / "link.png");
  EXPECT_EQ(load_image(dir / "link.png").width, 5);
}

TEST(DecodeFiles, UnreadableWithoutPermission) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root, which can read files without read permission";
  }
  const testing::TempDir dir;
  testing::write_file(dir / "secret.png", testing::encode_png(testing::gradient(5, 4, 3)));
  fs::permissions(dir / "secret.png", fs::perms::none);
  EXPECT_NE(expect_load_error(dir / "secret.png", ErrorCode::unreadable).find("permission"), std::string::npos);
}

TEST(DecodeFiles, EmptyFile) {
  const testing::TempDir dir;
  testing::write_file(dir / "empty.jpg", {});
  expect_load_error(dir / "empty.jpg", ErrorCode::empty);
}

TEST(DecodeFiles, TextAndHtmlNamedJpgAreNotImages) {
  const testing::TempDir dir;
  testing::write_file(dir / "notes.jpg", text("shopping list:\n- milk\n- bread\n"));
  testing::write_file(dir / "page.jpg", text("<html><head><title>Not Found</title></head></html>\n"));
  expect_load_error(dir / "notes.jpg", ErrorCode::not_an_image);
  expect_load_error(dir / "page.jpg", ErrorCode::not_an_image);
}

TEST(DecodeFiles, PngNamedJpgDecodesAsPng) {
  const testing::TempDir dir;
  const testing::Raster src = testing::gradient(7, 3, 3);
  testing::write_file(dir / "photo.jpg", testing::encode_png(src));
  const Image image = load_image(dir / "photo.jpg");
  EXPECT_EQ(image.format, ImageFormat::png);
  EXPECT_EQ(testing::max_difference(image, src), 0);
}

TEST(DecodeFiles, ErrorsInsideTheFileNameThePath) {
  const testing::TempDir dir;
  Bytes png = testing::encode_png(testing::gradient(8, 8, 3));
  png.resize(png.size() / 2);
  testing::write_file(dir / "half.png", png);
  try {
    load_image(dir / "half.png");
    ADD_FAILURE() << "a truncated PNG loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt);
    EXPECT_EQ(e.where(), (dir / "half.png").string());
    EXPECT_EQ(std::string(e.what()).rfind((dir / "half.png").string() + ": ", 0), 0u) << e.what();
  }
}

TEST(DecodeFiles, FileByteLimit) {
  const testing::TempDir dir;
  const Bytes png = testing::encode_png(testing::gradient(8, 8, 3));
  testing::write_file(dir / "a.png", png);
  DecodeOptions options;
  options.max_file_bytes = png.size() - 1;
  EXPECT_NE(expect_load_error(dir / "a.png", ErrorCode::too_large, options).find("max_file_bytes"), std::string::npos);
  options.max_file_bytes = png.size();
  EXPECT_EQ(load_image(dir / "a.png", options).width, 8);
  EXPECT_EQ(read_file_bytes(dir / "a.png"), png);
  EXPECT_EQ(read_file_bytes(dir / "a.png", 0), png);  // 0 = no limit
}

TEST(DecodeFiles, FifoIsRefusedWithoutBlocking) {
  const testing::TempDir dir;
  const fs::path fifo = dir / "pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_load_error(fifo, ErrorCode::unreadable);
}

// --- the real images in ../shared/images ------------------------------------------------

TEST(DecodeSharedImages, EveryImageDecodesWithItsKnownSize) {
  SAFESCAN_REQUIRE_SHARED("images");
  const std::map<std::string, std::pair<int, int>> known = {
      {"kodim01.png", {768, 512}}, {"kodim04.png", {512, 768}}, {"astronaut.png", {512, 512}},
      {"camera.png", {512, 512}},  {"horse.png", {400, 328}},   {"page.png", {384, 191}},
      {"baboon.jpg", {512, 512}},  {"building.jpg", {868, 600}}, {"messi5.jpg", {548, 342}},
      {"rocket.jpg", {640, 427}},
  };
  int decoded = 0;
  std::size_t found_known = 0;
  for (const auto& entry : fs::directory_iterator(testing::shared_dir() / "images")) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const Image image = load_image(entry.path());
    ++decoded;
    EXPECT_GE(image.width, 16);
    EXPECT_GE(image.height, 16);
    EXPECT_LE(image.width, 8192);
    EXPECT_LE(image.height, 8192);
    EXPECT_EQ(image.pixels.size(), static_cast<std::size_t>(image.width) * image.height * 3);
    EXPECT_NE(image.format, ImageFormat::unknown);
    const ImageInfo info = probe_image(read_file_bytes(entry.path()));
    EXPECT_EQ(info.format, image.format);
    EXPECT_EQ(info.width, image.source_width);
    EXPECT_EQ(info.height, image.source_height);
    if (const auto it = known.find(name); it != known.end()) {
      ++found_known;
      EXPECT_EQ(image.width, it->second.first);
      EXPECT_EQ(image.height, it->second.second);
    }
  }
  EXPECT_GT(decoded, 0);
  EXPECT_EQ(found_known, known.size());
}

}  // namespace
}  // namespace safescan
