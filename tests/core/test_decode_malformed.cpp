// The malformed corpus: every bad input gives the right ErrorCode, never a crash, a
// hang or a line on stderr.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include <zlib.h>

#include "image_compare.hpp"
#include "image_writers.hpp"
#include "safescan/image.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

using testing::Bytes;
using testing::Raster;
using testing::gradient;

// Decodes `bytes` expecting failure with `code`; returns the error message.
std::string expect_error(const Bytes& bytes, ErrorCode code, const std::string& label, const DecodeOptions& options = {}) {
  ::testing::internal::CaptureStderr();
  std::string message;
  try {
    decode_image(bytes, options, label);
    ADD_FAILURE() << label << ": decoded, expected " << to_string(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << label << ": " << e.what();
    EXPECT_EQ(e.where(), label);
    EXPECT_FALSE(e.message().empty());
    message = e.message();
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "") << label << " printed to stderr";
  return message;
}

Bytes cut(const Bytes& bytes, std::size_t n) { return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)); }

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Recomputes the CRC of the PNG chunk whose length field is at `at`.
void fix_png_crc(Bytes& png, std::size_t at) {
  const std::uint32_t length = (std::uint32_t{png[at]} << 24) | (std::uint32_t{png[at + 1]} << 16) |
                               (std::uint32_t{png[at + 2]} << 8) | png[at + 3];
  const std::uint32_t crc = static_cast<std::uint32_t>(::crc32(0, png.data() + at + 4, length + 4));
  for (int i = 0; i < 4; ++i) png[at + 8 + length + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
}

// A PNG whose IHDR says width x height, followed by `real`'s other chunks.
Bytes png_with_ihdr_size(const Bytes& real, std::uint32_t width, std::uint32_t height) {
  Bytes png = real;
  const std::size_t ihdr = testing::find_png_chunk(png, "IHDR");
  for (int i = 0; i < 4; ++i) {
    png[ihdr + 8 + i] = static_cast<std::uint8_t>(width >> (24 - 8 * i));
    png[ihdr + 12 + i] = static_cast<std::uint8_t>(height >> (24 - 8 * i));
  }
  fix_png_crc(png, ihdr);
  return png;
}

const std::vector<GifColorType> kPalette = {{0, 0, 0}, {255, 255, 255}};

testing::GifFrame small_frame(int w, int h) {
  testing::GifFrame f;
  f.width = w;
  f.height = h;
  for (int i = 0; i < w * h; ++i) f.indices.push_back(static_cast<std::uint8_t>(i % 3 == 0));
  return f;
}

// --- not images ------------------------------------------------------------------------

TEST(DecodeMalformed, EmptyInput) { expect_error({}, ErrorCode::empty, "empty"); }

TEST(DecodeMalformed, RandomBytesTextAndHtmlAreNotImages) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 20; ++i) {
    Bytes random(static_cast<std::size_t>(1 + i * 97));
    for (auto& b : random) b = static_cast<std::uint8_t>(rng());
    if (sniff_format(random) != ImageFormat::unknown) continue;  // (astronomically unlikely)
    expect_error(random, ErrorCode::not_an_image, "random-" + std::to_string(i));
  }
  EXPECT_NE(expect_error(text("Hello, this is a plain text file.\n"), ErrorCode::not_an_image, "text").find("text"),
            std::string::npos);
  EXPECT_NE(expect_error(text("  <!DOCTYPE html><html><body>404</body></html>"), ErrorCode::not_an_image, "html")
                .find("HTML"),
            std::string::npos);
  expect_error(text("BMW 3 series owner's manual, page 1 of 300"), ErrorCode::not_an_image, "bm-text");
}

TEST(DecodeMalformed, KnownButUnsupportedFormats) {
  using namespace std::string_view_literals;
  const auto bytes = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  EXPECT_NE(expect_error(bytes("\0\0\0\x1C" "ftypavif\0\0\0\0"sv), ErrorCode::unsupported, "avif").find("AVIF"),
            std::string::npos);
  expect_error(bytes("\0\0\0\x18" "ftypheic\0\0\0\0"sv), ErrorCode::unsupported, "heic");
  expect_error(bytes("\xFF\x0A\xFA\x7F"sv), ErrorCode::unsupported, "jxl");
  expect_error(bytes("8BPS\0\x01"sv), ErrorCode::unsupported, "psd");
}

// --- truncated -------------------------------------------------------------------------

void expect_truncations_corrupt(const Bytes& full, const std::vector<std::size_t>& cuts, const std::string& label) {
  for (const std::size_t n : cuts) {
    ASSERT_LT(n, full.size());
    expect_error(cut(full, n), ErrorCode::corrupt, label + " cut at " + std::to_string(n) + "/" + std::to_string(full.size()));
  }
}

TEST(DecodeMalformed, TruncatedJpeg) {
  for (const bool progressive : {false, true}) {
    testing::JpegSpec spec;
    spec.progressive = progressive;
    const Bytes jpeg = testing::encode_jpeg(gradient(64, 48, 3), spec);
    const std::size_t scan = testing::jpeg_scan_start(jpeg);
    expect_truncations_corrupt(jpeg, {3, 20, 100, scan - 1, scan + 10, jpeg.size() / 2, jpeg.size() - 10, jpeg.size() - 2},
                               progressive ? "progressive jpeg" : "jpeg");
  }
}

TEST(DecodeMalformed, TruncatedPng) {
  const Bytes png = testing::encode_png(gradient(64, 48, 3));
  const std::size_t idat = testing::find_png_chunk(png, "IDAT");
  expect_truncations_corrupt(png, {8, 20, 33, idat + 8, idat + 30, png.size() / 2, png.size() - 13, png.size() - 1}, "png");
}

TEST(DecodeMalformed, TruncatedGif) {
  const Bytes gif = testing::encode_gif(40, 30, kPalette, {small_frame(40, 30)});
  // The first frame ends with a 0 block and the trailer (2 bytes); cutting those leaves
  // a complete first frame, which decodes (the rest of the file is never read).
  expect_truncations_corrupt(gif, {6, 10, 13, 19, 25, 30, gif.size() / 2, gif.size() - 5}, "gif");
}

TEST(DecodeMalformed, GifCutInsideItsSecondFrameStillGivesTheFirst) {
  const Bytes one = testing::encode_gif(40, 30, kPalette, {small_frame(40, 30)});
  const Bytes two = testing::encode_gif(40, 30, kPalette, {small_frame(40, 30), small_frame(40, 30)});
  ASSERT_GT(two.size(), one.size() + 20);
  const Bytes cut_in_second = cut(two, one.size() + 10);  // the first frame, then part of the second
  EXPECT_EQ(decode_image(cut_in_second).pixels, decode_image(one).pixels);
}

TEST(DecodeMalformed, TruncatedWebp) {
  for (const bool lossless : {true, false}) {
    const Bytes webp = testing::encode_webp(gradient(64, 48, 3), lossless);
    expect_truncations_corrupt(webp, {12, 16, 25, 40, webp.size() / 2, webp.size() - 1}, lossless ? "webp lossless" : "webp lossy");
  }
}

TEST(DecodeMalformed, TruncatedTiff) {
  const testing::TempDir dir;
  testing::TiffSpec spec;
  spec.compression = COMPRESSION_NONE;
  const Raster src = gradient(32, 32, 3);
  const Bytes tiff = testing::encode_tiff(dir / "t.tif", 32, 32, spec, src.data);
  expect_truncations_corrupt(tiff, {4, 8, 50, tiff.size() / 2, tiff.size() - 20, tiff.size() - 1}, "tiff");
}

TEST(DecodeMalformed, TiffStripPastTheEnd) {
  // libtiff writes the directory after the strips; point the last strip's offset near
  // the end of the file so that its data is short.
  const testing::TempDir dir;
  testing::TiffSpec spec;
  spec.compression = COMPRESSION_NONE;
  Bytes tiff = testing::encode_tiff(dir / "t.tif", 32, 32, spec, gradient(32, 32, 3).data);
  const auto u16 = [&](std::size_t at) { return static_cast<unsigned>(tiff[at] | (tiff[at + 1] << 8)); };
  const auto u32 = [&](std::size_t at) { return static_cast<std::size_t>(u16(at) | (u16(at + 2) << 16)); };
  ASSERT_EQ(tiff[0], 'I');
  const std::size_t ifd = u32(4);
  bool patched = false;
  for (unsigned i = 0; i < u16(ifd); ++i) {
    const std::size_t entry = ifd + 2 + i * 12;
    if (u16(entry) != TIFFTAG_STRIPOFFSETS) continue;
    const std::size_t size = u16(entry + 2) == 3 ? 2 : 4;  // SHORT or LONG values
    const std::size_t count = u32(entry + 4);
    const std::size_t last = (count * size <= 4 ? entry + 8 : u32(entry + 8)) + (count - 1) * size;
    const auto offset = static_cast<std::uint32_t>(tiff.size() - 10);
    for (std::size_t b = 0; b < size; ++b) tiff[last + b] = static_cast<std::uint8_t>(offset >> (8 * b));
    patched = true;
  }
  ASSERT_TRUE(patched);
  expect_error(tiff, ErrorCode::corrupt, "tiff strip past the end");
}

TEST(DecodeMalformed, TruncatedBmp) {
  const Bytes bmp = testing::encode_bmp(gradient(20, 10, 3), {});
  expect_truncations_corrupt(bmp, {2, 10, 14, 20, 40, 54, 60, bmp.size() / 2, bmp.size() - 1}, "bmp");
}

// --- damaged ---------------------------------------------------------------------------

TEST(DecodeMalformed, CorruptedJpegScanData) {
  const Bytes jpeg = testing::encode_jpeg(gradient(64, 64, 3));
  const std::size_t scan = testing::jpeg_scan_start(jpeg);
  ASSERT_NE(scan, std::string::npos);
  // A marker in the middle of the entropy-coded data: the scan ends early.
  Bytes early_marker = jpeg;
  early_marker[scan + 40] = 0xFF;
  early_marker[scan + 41] = 0xD9;
  expect_error(early_marker, ErrorCode::corrupt, "jpeg with EOI inside the scan");
  // Most other damage to entropy-coded data cannot be detected: libjpeg decodes it to
  // wrong pixels, at most warning about "extraneous bytes" left before the next marker,
  // which real files from some cameras also trigger; such files are accepted.
  Bytes garbage = jpeg;
  for (std::size_t i = scan; i < scan + 64; ++i) garbage[i] = 0xFE;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(decode_image(garbage).width, 64);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  // Restart markers where none are expected.
  Bytes stray_rst = jpeg;
  stray_rst[scan + 30] = 0xFF;
  stray_rst[scan + 31] = 0xD3;
  expect_error(stray_rst, ErrorCode::corrupt, "jpeg with a stray RST marker");
}

// A small progressive JPEG whose first scan (with its Huffman tables) is repeated 600
// times: every scan is a pass over the whole image, so thousands of them are a cheap
// denial of service. libjpeg only warns about the odd progression; we stop at 500 scans.
TEST(DecodeMalformed, JpegWithTooManyScans) {
  testing::JpegSpec spec;
  spec.progressive = true;
  const Bytes jpeg = testing::encode_jpeg(gradient(32, 32, 3), spec);
  const auto find_marker = [&](std::uint8_t marker, std::size_t from) {
    for (std::size_t i = from; i + 1 < jpeg.size(); ++i) {
      if (jpeg[i] == 0xFF && jpeg[i + 1] == marker) return i;
    }
    return jpeg.size();
  };
  const std::size_t first_dht = find_marker(0xC4, 2);
  const std::size_t first_sos = find_marker(0xDA, first_dht);
  const std::size_t second_dht = find_marker(0xC4, first_sos);
  ASSERT_LT(second_dht, jpeg.size());
  const std::size_t eoi = jpeg.size() - 2;
  Bytes many(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(eoi));
  for (int i = 0; i < 600; ++i) {
    many.insert(many.end(), jpeg.begin() + static_cast<std::ptrdiff_t>(first_dht),
                jpeg.begin() + static_cast<std::ptrdiff_t>(second_dht));
  }
  many.insert(many.end(), {0xFF, 0xD9});
  const std::string message = expect_error(many, ErrorCode::corrupt, "jpeg with 600+ scans");
  EXPECT_NE(message.find("scans"), std::string::npos) << message;
}

TEST(DecodeMalformed, CorruptedJpegHeader) {
  Bytes jpeg = testing::encode_jpeg(gradient(16, 16, 3));
  Bytes no_sof = jpeg;
  for (std::size_t i = 2; i + 1 < no_sof.size(); ++i) {
    if (no_sof[i] == 0xFF && no_sof[i + 1] == 0xC0) no_sof[i + 1] = 0xCF;  // SOF0 -> SOF15 (lossless arithmetic)
  }
  expect_error(no_sof, ErrorCode::unsupported, "jpeg with lossless SOF");
  Bytes bad_table = jpeg;
  bad_table[20] ^= 0x5A;
  bad_table[21] ^= 0xA5;
  ::testing::internal::CaptureStderr();
  try {
    decode_image(bad_table);  // may still decode: a quantisation value changed
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::corrupt || e.code() == ErrorCode::unsupported) << e.what();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(DecodeMalformed, PngWithBadCrc) {
  const Bytes png = testing::encode_png(gradient(16, 16, 3));
  for (const char* chunk : {"IHDR", "IDAT", "IEND"}) {
    Bytes bad = png;
    const std::size_t at = testing::find_png_chunk(bad, chunk);
    const std::uint32_t length = (std::uint32_t{bad[at]} << 24) | (bad[at + 1] << 16) | (bad[at + 2] << 8) | bad[at + 3];
    bad[at + 8 + length] ^= 0x01;  // first CRC byte
    expect_error(bad, ErrorCode::corrupt, std::string("png with a bad ") + chunk + " CRC");
  }
}

TEST(DecodeMalformed, PngWithDamagedDeflateData) {
  Bytes png = testing::encode_png(gradient(32, 32, 3));
  const std::size_t idat = testing::find_png_chunk(png, "IDAT");
  for (std::size_t i = idat + 8 + 2; i < idat + 8 + 40; ++i) png[i] = 0xFF;
  fix_png_crc(png, idat);
  expect_error(png, ErrorCode::corrupt, "png with damaged zlib data");
}

TEST(DecodeMalformed, ZeroSizes) {
  const Bytes png = testing::encode_png(gradient(4, 4, 3));
  expect_error(png_with_ihdr_size(png, 0, 4), ErrorCode::corrupt, "png 0x4");
  Bytes bmp = testing::encode_bmp(gradient(4, 4, 3), {});
  bmp[18] = bmp[19] = bmp[20] = bmp[21] = 0;  // width 0
  expect_error(bmp, ErrorCode::corrupt, "bmp width 0");
  expect_error(testing::encode_gif(0, 0, kPalette, {small_frame(0, 0)}), ErrorCode::corrupt, "gif 0x0");
}

// --- headers lying about the size ------------------------------------------------------

TEST(DecodeMalformed, PngHeaderClaimingHugeSize) {
  const Bytes png = png_with_ihdr_size(testing::encode_png(gradient(8, 8, 3)), 100000, 100000);
  const std::string message = expect_error(png, ErrorCode::too_large, "png 100000x100000");
  EXPECT_NE(message.find("100000x100000"), std::string::npos) << message;
  EXPECT_NE(message.find("100000000"), std::string::npos) << message;  // the limit
  // Without a limit the header is accepted, and the missing data is found.
  DecodeOptions unlimited;
  unlimited.max_pixels = 0;
  const Bytes wide = png_with_ihdr_size(testing::encode_png(gradient(8, 8, 3)), 100000, 3);
  expect_error(wide, ErrorCode::corrupt, "png 100000x3 with 8x8 data", unlimited);
}

TEST(DecodeMalformed, BmpHeaderClaimingHugeSize) {
  Bytes bmp = testing::encode_bmp(gradient(8, 8, 3), {});
  const std::uint32_t huge = 60000;
  for (int i = 0; i < 4; ++i) bmp[18 + i] = bmp[22 + i] = static_cast<std::uint8_t>(huge >> (8 * i));
  expect_error(bmp, ErrorCode::too_large, "bmp 60000x60000");
  DecodeOptions unlimited;
  unlimited.max_pixels = 0;
  expect_error(bmp, ErrorCode::corrupt, "bmp 60000x60000 unlimited", unlimited);  // the data is not there
  Bytes negative = testing::encode_bmp(gradient(8, 8, 3), {});
  negative[22] = negative[23] = negative[24] = 0, negative[25] = 0x80;  // height INT32_MIN
  expect_error(negative, ErrorCode::too_large, "bmp height -2^31");
}

TEST(DecodeMalformed, GifScreenClaimingHugeSize) {
  const Bytes gif = testing::encode_gif(65535, 65535, kPalette, {small_frame(2, 2)});
  const std::string message = expect_error(gif, ErrorCode::too_large, "gif 65535x65535");
  EXPECT_NE(message.find("65535x65535"), std::string::npos) << message;
  // A small screen with a frame descriptor claiming 20000x20000.
  Bytes huge_frame = testing::encode_gif(4, 4, kPalette, {small_frame(4, 4)});
  const std::size_t descriptor = 13 + ((huge_frame[10] & 0x80) ? 3u << ((huge_frame[10] & 7) + 1) : 0u);
  ASSERT_EQ(huge_frame[descriptor], ',');
  for (const std::size_t at : {descriptor + 5, descriptor + 7}) huge_frame[at] = 0x20, huge_frame[at + 1] = 0x4E;  // 20000
  expect_error(huge_frame, ErrorCode::too_large, "gif frame 20000x20000");
}

TEST(DecodeMalformed, BmpUnsupportedVariants) {
  Bytes rle = testing::encode_bmp(gradient(8, 8, 3), {});
  rle[30] = 1;  // BI_RLE8
  expect_error(rle, ErrorCode::unsupported, "bmp rle8");
  Bytes os2 = testing::encode_bmp(gradient(8, 8, 3), {});
  os2[14] = 64;  // OS/2 2.x header size
  expect_error(os2, ErrorCode::unsupported, "bmp os/2 v2");
}

// A 40000x40000 single-colour PNG (1.6 gigapixels, 4.8 GB as RGB) compresses to ~200 kB.
// It must be refused from its header, before any pixel memory is allocated.
TEST(DecodeMalformed, DecompressionBombPngIsRefusedFromTheHeader) {
  const testing::TempDir dir;
  testing::PngSpec spec;
  spec.width = spec.height = 40000;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.bit_depth = 1;
  spec.palette = {{200, 30, 30}, {0, 0, 0}};
  spec.compression_level = 1;
  const Bytes png = testing::encode_png(spec, [](int, std::uint8_t* row) { std::memset(row, 0, 5000); });
  testing::write_file(dir / "bomb.png", png);
  EXPECT_LT(png.size(), 8u << 20);

  const auto start = std::chrono::steady_clock::now();
  try {
    load_image(dir / "bomb.png");
    ADD_FAILURE() << "the bomb decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::too_large) << e.what();
    EXPECT_NE(e.message().find("40000x40000"), std::string::npos) << e.what();
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("40000x40000 PNG (%zu bytes) refused in %.2f ms\n", png.size(), ms);
}

}  // namespace
}  // namespace safescan
