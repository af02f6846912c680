// Round trips through every decoder: encode a known raster with the format's own library
// (or by hand for BMP), decode it with safescan, compare pixels.
#include <gtest/gtest.h>

#include <cstdio>

#include "image_compare.hpp"
#include "image_writers.hpp"
#include "safescan/image.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

using testing::Bytes;
using testing::Raster;
using testing::gradient;
using testing::max_difference;
using testing::to_rgb;

constexpr Rgb8 kBackground{10, 200, 30};

DecodeOptions with_background(Rgb8 bg) {
  DecodeOptions options;
  options.background = bg;
  return options;
}

// --- sniffing --------------------------------------------------------------------------

TEST(DecodeSniff, RecognisesMagicBytesOnly) {
  const auto sniff = [](std::string_view s) {
    return sniff_format(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  using namespace std::string_view_literals;
  EXPECT_EQ(sniff("\xFF\xD8\xFF\xE0"sv), ImageFormat::jpeg);
  EXPECT_EQ(sniff("\x89PNG\r\n\x1A\n"sv), ImageFormat::png);
  EXPECT_EQ(sniff("RIFF\0\0\0\0WEBPVP8 "sv), ImageFormat::webp);
  EXPECT_EQ(sniff("RIFF\0\0\0\0WAVEfmt "sv), ImageFormat::unknown);
  EXPECT_EQ(sniff("GIF87a"sv), ImageFormat::gif);
  EXPECT_EQ(sniff("GIF89a"sv), ImageFormat::gif);
  EXPECT_EQ(sniff("II*\0"sv), ImageFormat::tiff);
  EXPECT_EQ(sniff("MM\0*"sv), ImageFormat::tiff);
  EXPECT_EQ(sniff("BM\0\0\0\0\0\0\0\0\0\0\0\0\x28\0\0\0"sv), ImageFormat::bmp);
  EXPECT_EQ(sniff("BMW drivers are a text file, not a bitmap"sv), ImageFormat::unknown);
  EXPECT_EQ(sniff("\xFF\xD8"sv), ImageFormat::unknown);
  EXPECT_EQ(sniff(""sv), ImageFormat::unknown);
  EXPECT_EQ(sniff("<!doctype html>"sv), ImageFormat::unknown);
}

TEST(DecodeSniff, FormatNames) {
  EXPECT_EQ(to_string(ImageFormat::jpeg), "jpeg");
  EXPECT_EQ(to_string(ImageFormat::png), "png");
  EXPECT_EQ(to_string(ImageFormat::webp), "webp");
  EXPECT_EQ(to_string(ImageFormat::gif), "gif");
  EXPECT_EQ(to_string(ImageFormat::bmp), "bmp");
  EXPECT_EQ(to_string(ImageFormat::tiff), "tiff");
  EXPECT_EQ(to_string(ImageFormat::unknown), "unknown");
}

// --- PNG -------------------------------------------------------------------------------

TEST(DecodePng, RgbIsExact) {
  const Raster src = gradient(37, 23, 3);
  const Image image = decode_image(testing::encode_png(src));
  EXPECT_EQ(image.format, ImageFormat::png);
  EXPECT_EQ(image.source_width, 37);
  EXPECT_EQ(image.source_height, 23);
  EXPECT_FALSE(image.had_alpha);
  EXPECT_EQ(image.exif_orientation, 1);
  EXPECT_EQ(max_difference(image, src), 0);
}

TEST(DecodePng, GrayIsExpandedToRgb) {
  const Raster src = gradient(16, 9, 1);
  EXPECT_EQ(max_difference(decode_image(testing::encode_png(src)), to_rgb(src)), 0);
}

TEST(DecodePng, OneBitGray) {
  testing::PngSpec spec;
  spec.width = 10;
  spec.height = 3;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.bit_depth = 1;
  Raster expected(10, 3, 3);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 10; ++x) {
      const std::uint8_t v = (x + y) % 2 ? 255 : 0;
      std::fill(expected.at(x, y), expected.at(x, y) + 3, v);
    }
  }
  const Bytes png = testing::encode_png(spec, [](int y, std::uint8_t* row) {
    row[0] = row[1] = 0;
    for (int x = 0; x < 10; ++x) row[x / 8] |= static_cast<std::uint8_t>(((x + y) % 2) << (7 - x % 8));
  });
  EXPECT_EQ(max_difference(decode_image(png), expected), 0);
}

TEST(DecodePng, SixteenBitIsRoundedToEightBits) {
  for (const int color_type : {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_GRAY}) {
    const int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 1;
    testing::PngSpec spec;
    spec.width = 64;
    spec.height = 32;
    spec.color_type = color_type;
    spec.bit_depth = 16;
    auto sample = [](int x, int y, int c) { return static_cast<unsigned>((x * 1031 + y * 2053 + c * 7919) % 65536); };
    Raster expected(64, 32, 3);
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 64; ++x) {
        for (int c = 0; c < 3; ++c) {
          const unsigned v = sample(x, y, channels == 3 ? c : 0);
          expected.at(x, y)[c] = static_cast<std::uint8_t>((v * 255 + 32767) / 65535);  // round(v / 257)
        }
      }
    }
    const Bytes png = testing::encode_png(spec, [&](int y, std::uint8_t* row) {
      for (int x = 0; x < 64; ++x) {
        for (int c = 0; c < channels; ++c) {
          const unsigned v = sample(x, y, c);
          row[(x * channels + c) * 2] = static_cast<std::uint8_t>(v >> 8);
          row[(x * channels + c) * 2 + 1] = static_cast<std::uint8_t>(v);
        }
      }
    });
    EXPECT_EQ(max_difference(decode_image(png), expected), 0) << "channels " << channels;
  }
}

TEST(DecodePng, PaletteWithTransparencyOverBackground) {
  testing::PngSpec spec;
  spec.width = 8;
  spec.height = 4;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.bit_depth = 8;
  spec.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {50, 60, 70}};
  spec.palette_alpha = {255, 128, 0};  // entry 3 has no alpha entry: opaque
  Raster rgba(8, 4, 4);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 8; ++x) {
      const int i = (x + y) % 4;
      const png_color c = spec.palette[i];
      const std::uint8_t a = i < 3 ? spec.palette_alpha[i] : 255;
      std::uint8_t* p = rgba.at(x, y);
      p[0] = c.red, p[1] = c.green, p[2] = c.blue, p[3] = a;
    }
  }
  const Bytes png = testing::encode_png(spec, [](int y, std::uint8_t* row) {
    for (int x = 0; x < 8; ++x) row[x] = static_cast<std::uint8_t>((x + y) % 4);
  });
  const Image image = decode_image(png, with_background(kBackground));
  EXPECT_TRUE(image.had_alpha);
  EXPECT_EQ(max_difference(image, to_rgb(rgba, kBackground)), 0);
  // Half-transparent green over (10, 200, 30): (128*0 + 127*10 + 127) / 255 = 5, ...
  EXPECT_EQ(image.pixel(1, 0)[0], 5);
  EXPECT_EQ(image.pixel(1, 0)[1], 228);
  EXPECT_EQ(image.pixel(2, 0)[2], 30);  // fully transparent: the background
}

TEST(DecodePng, RgbaOverDefaultWhiteAndOverCustomBackground) {
  const Raster src = gradient(31, 17, 4);
  const Bytes png = testing::encode_png(src);
  const Image white = decode_image(png);
  EXPECT_TRUE(white.had_alpha);
  EXPECT_EQ(max_difference(white, to_rgb(src, Rgb8{255, 255, 255})), 0);
  EXPECT_EQ(max_difference(decode_image(png, with_background(kBackground)), to_rgb(src, kBackground)), 0);
}

TEST(DecodePng, GrayAlpha) {
  const Raster gray = gradient(12, 12, 1);
  Raster ga(12, 12, 2);
  Raster rgba(12, 12, 4);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 12; ++x) {
      const std::uint8_t v = gray.at(x, y)[0], a = static_cast<std::uint8_t>(x * 20);
      ga.at(x, y)[0] = v, ga.at(x, y)[1] = a;
      rgba.at(x, y)[0] = rgba.at(x, y)[1] = rgba.at(x, y)[2] = v, rgba.at(x, y)[3] = a;
    }
  }
  testing::PngSpec spec;
  spec.width = spec.height = 12;
  spec.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  const Bytes png = testing::encode_png(spec, [&](int y, std::uint8_t* row) {
    std::memcpy(row, ga.data.data() + y * ga.stride(), ga.stride());
  });
  EXPECT_EQ(max_difference(decode_image(png, with_background(kBackground)), to_rgb(rgba, kBackground)), 0);
}

TEST(DecodePng, InterlacedRgbAndRgba) {
  const Raster rgb = gradient(29, 19, 3);
  EXPECT_EQ(max_difference(decode_image(testing::encode_png(rgb, /*interlaced=*/true)), rgb), 0);
  const Raster rgba = gradient(29, 19, 4);
  EXPECT_EQ(max_difference(decode_image(testing::encode_png(rgba, true), with_background(kBackground)),
                           to_rgb(rgba, kBackground)),
            0);
}

TEST(DecodePng, LongThinStripsDecode) {
  for (const auto& [w, h] : {std::pair{1, 20000}, std::pair{20000, 1}}) {
    const Raster src = gradient(w, h, 3);
    const Image image = decode_image(testing::encode_png(src));
    EXPECT_EQ(max_difference(image, src), 0) << w << "x" << h;
  }
}

// --- JPEG ------------------------------------------------------------------------------

TEST(DecodeJpeg, RgbRoundTrip) {
  const Raster src = gradient(48, 40, 3);
  const Image image = decode_image(testing::encode_jpeg(src));
  EXPECT_EQ(image.format, ImageFormat::jpeg);
  EXPECT_FALSE(image.had_alpha);
  EXPECT_LE(max_difference(image, src), 4);
}

TEST(DecodeJpeg, GrayscaleRoundTrip) {
  const Raster src = gradient(40, 24, 1);
  testing::JpegSpec spec;
  spec.components = 1;
  EXPECT_LE(max_difference(decode_image(testing::encode_jpeg(src, spec)), to_rgb(src)), 2);
}

TEST(DecodeJpeg, ProgressiveRoundTrip) {
  const Raster src = gradient(50, 30, 3);
  testing::JpegSpec spec;
  spec.progressive = true;
  EXPECT_LE(max_difference(decode_image(testing::encode_jpeg(src, spec)), src), 4);
}

// CMYK from four flat blocks; with the Adobe marker the stored values are inverted
// (255 = no ink), without it they are plain ink amounts.
TEST(DecodeJpeg, CmykWithAndWithoutAdobeInversion) {
  const std::array<std::array<std::uint8_t, 4>, 4> inks = {{{0, 0, 0, 0}, {255, 0, 0, 0}, {0, 128, 255, 64}, {30, 60, 90, 200}}};
  for (const bool adobe : {true, false}) {
    Raster cmyk(32, 32, 4);
    Raster expected(32, 32, 3);
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        const auto& ink = inks[(y / 16) * 2 + x / 16];
        for (int c = 0; c < 4; ++c) cmyk.at(x, y)[c] = adobe ? static_cast<std::uint8_t>(255 - ink[c]) : ink[c];
        for (int c = 0; c < 3; ++c) {
          expected.at(x, y)[c] = static_cast<std::uint8_t>(((255 - ink[c]) * (255 - ink[3]) + 127) / 255);
        }
      }
    }
    testing::JpegSpec spec;
    spec.components = 4;
    spec.adobe_marker = adobe;
    const Image image = decode_image(testing::encode_jpeg(cmyk, spec));
    EXPECT_LE(max_difference(image, expected), 3) << (adobe ? "Adobe inverted" : "plain");
  }
}

// Full-size decoding must match libjpeg-turbo's defaults (ISLOW DCT, fancy upsampling)
// exactly, including chroma subsampling.
TEST(DecodeJpeg, FullSizeMatchesLibjpegDefaults) {
  const Raster src = gradient(61, 43, 3);
  testing::JpegSpec spec;
  spec.quality = 75;
  spec.subsample_chroma = true;
  const Bytes jpeg = testing::encode_jpeg(src, spec);

  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, jpeg.data(), static_cast<unsigned long>(jpeg.size()));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  Raster reference(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height), 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = reference.at(0, static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);

  EXPECT_EQ(max_difference(decode_image(jpeg), reference), 0);
}

TEST(DecodeJpeg, MinSideHintPicksTheLargestScaleKeepingBothSides) {
  const Raster src = gradient(64, 48, 3);
  const Bytes jpeg = testing::encode_jpeg(src);
  struct Case {
    int hint, width, height;
  };
  for (const Case c : {Case{0, 64, 48}, Case{6, 8, 6}, Case{7, 16, 12}, Case{12, 16, 12}, Case{13, 32, 24},
                       Case{24, 32, 24}, Case{25, 64, 48}, Case{1000, 64, 48}}) {
    DecodeOptions options;
    options.min_side_hint = c.hint;
    const Image image = decode_image(jpeg, options);
    EXPECT_EQ(image.width, c.width) << "hint " << c.hint;
    EXPECT_EQ(image.height, c.height) << "hint " << c.hint;
    EXPECT_EQ(image.source_width, 64);
    EXPECT_EQ(image.source_height, 48);
  }
  // A scaled decode still shows the same picture: compare with a box-filtered original.
  DecodeOptions quarter;
  quarter.min_side_hint = 12;
  const Image small = decode_image(jpeg, quarter);
  Raster expected(16, 12, 3);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 16; ++x) {
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int dy = 0; dy < 4; ++dy) {
          for (int dx = 0; dx < 4; ++dx) sum += src.at(x * 4 + dx, y * 4 + dy)[c];
        }
        expected.at(x, y)[c] = static_cast<std::uint8_t>((sum + 8) / 16);
      }
    }
  }
  EXPECT_LE(max_difference(small, expected), 6);
}

// --- WebP ------------------------------------------------------------------------------

TEST(DecodeWebp, LosslessRgbIsExact) {
  const Raster src = gradient(33, 21, 3);
  const Image image = decode_image(testing::encode_webp(src, /*lossless=*/true));
  EXPECT_EQ(image.format, ImageFormat::webp);
  EXPECT_FALSE(image.had_alpha);
  EXPECT_EQ(max_difference(image, src), 0);
}

TEST(DecodeWebp, LosslessRgbaOverBackground) {
  const Raster src = gradient(33, 21, 4);
  const Image image = decode_image(testing::encode_webp(src, true), with_background(kBackground));
  EXPECT_TRUE(image.had_alpha);
  EXPECT_EQ(max_difference(image, to_rgb(src, kBackground)), 0);
}

TEST(DecodeWebp, LossyRoundTrip) {
  const Raster src = gradient(64, 40, 3);
  EXPECT_LE(max_difference(decode_image(testing::encode_webp(src, false, 95.0F)), src), 24);
}

Raster flat(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b, int channels = 3) {
  Raster out(w, h, channels);
  for (int i = 0; i < w * h; ++i) {
    std::uint8_t* p = out.data.data() + static_cast<std::size_t>(i) * channels;
    p[0] = r, p[1] = g, p[2] = b;
    if (channels == 4) p[3] = 255;
  }
  return out;
}

TEST(DecodeWebp, AnimatedGivesTheFirstFrameOnItsCanvas) {
  // 10x8 canvas; frame 1 is a 4x4 red square at (2, 2); frame 2 is all blue.
  const Bytes frame1 = testing::encode_webp(flat(4, 4, 255, 0, 0, 4), true);
  const Bytes frame2 = testing::encode_webp(flat(10, 8, 0, 0, 255, 4), true);
  const Bytes webp = testing::webp_file({testing::vp8x_chunk(testing::kWebpAnimation | testing::kWebpAlpha, 10, 8),
                                         testing::anim_chunk(), testing::anmf_chunk(frame1, 2, 2, 4, 4),
                                         testing::anmf_chunk(frame2, 0, 0, 10, 8)});
  const Image image = decode_image(webp, with_background(kBackground));
  ASSERT_EQ(image.width, 10);
  ASSERT_EQ(image.height, 8);
  EXPECT_TRUE(image.had_alpha);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 10; ++x) {
      const bool inside = x >= 2 && x < 6 && y >= 2 && y < 6;
      const Rgb8 want = inside ? Rgb8{255, 0, 0} : kBackground;
      const std::uint8_t* p = image.pixel(x, y);
      ASSERT_EQ((std::array{p[0], p[1], p[2]}), (std::array{want.r, want.g, want.b})) << x << "," << y;
    }
  }
}

// --- GIF -------------------------------------------------------------------------------

const std::vector<GifColorType> kGifPalette = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};

Raster from_indices(const testing::GifFrame& f) {
  Raster out(f.width, f.height, 3);
  for (int i = 0; i < f.width * f.height; ++i) {
    const GifColorType c = kGifPalette[f.indices[static_cast<std::size_t>(i)]];
    out.data[i * 3] = c.Red, out.data[i * 3 + 1] = c.Green, out.data[i * 3 + 2] = c.Blue;
  }
  return out;
}

testing::GifFrame pattern_frame(int w, int h, bool interlaced) {
  testing::GifFrame f;
  f.width = w;
  f.height = h;
  f.interlaced = interlaced;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) f.indices.push_back(static_cast<std::uint8_t>((x / 2 + y) % 4));
  }
  return f;
}

TEST(DecodeGif, SingleFrameIsExact) {
  const testing::GifFrame f = pattern_frame(13, 7, false);
  const Image image = decode_image(testing::encode_gif(13, 7, kGifPalette, {f}));
  EXPECT_EQ(image.format, ImageFormat::gif);
  EXPECT_FALSE(image.had_alpha);
  EXPECT_EQ(max_difference(image, from_indices(f)), 0);
}

TEST(DecodeGif, InterlacedFrameIsExact) {
  const testing::GifFrame f = pattern_frame(9, 21, true);
  EXPECT_EQ(max_difference(decode_image(testing::encode_gif(9, 21, kGifPalette, {f})), from_indices(f)), 0);
}

TEST(DecodeGif, FirstOfTwoFramesPlacedOnTheScreenWithTransparency) {
  // 8x6 screen; frame 1: 5x3 at (1, 2), index 0 transparent; frame 2: all blue.
  testing::GifFrame first = pattern_frame(5, 3, false);
  first.left = 1;
  first.top = 2;
  first.transparent_index = 0;
  testing::GifFrame second;
  second.width = 8;
  second.height = 6;
  second.indices.assign(48, 3);
  const Image image = decode_image(testing::encode_gif(8, 6, kGifPalette, {first, second}), with_background(kBackground));
  ASSERT_EQ(image.width, 8);
  ASSERT_EQ(image.height, 6);
  EXPECT_TRUE(image.had_alpha);
  for (int y = 0; y < 6; ++y) {
    for (int x = 0; x < 8; ++x) {
      Rgb8 want = kBackground;
      if (x >= 1 && x < 6 && y >= 2 && y < 5) {
        const int index = first.indices[static_cast<std::size_t>((y - 2) * 5 + (x - 1))];
        if (index != 0) want = Rgb8{kGifPalette[index].Red, kGifPalette[index].Green, kGifPalette[index].Blue};
      }
      const std::uint8_t* p = image.pixel(x, y);
      ASSERT_EQ((std::array{p[0], p[1], p[2]}), (std::array{want.r, want.g, want.b})) << x << "," << y;
    }
  }
}

// --- BMP -------------------------------------------------------------------------------

TEST(DecodeBmp, TwentyFourBitBottomUpAndTopDown) {
  const Raster src = gradient(13, 7, 3);  // 13 * 3 = 39 bytes per row: padded to 40
  for (const bool top_down : {false, true}) {
    testing::BmpSpec spec;
    spec.top_down = top_down;
    const Image image = decode_image(testing::encode_bmp(src, spec));
    EXPECT_EQ(image.format, ImageFormat::bmp);
    EXPECT_EQ(max_difference(image, src), 0) << (top_down ? "top-down" : "bottom-up");
  }
}

TEST(DecodeBmp, PaletteDepths) {
  for (const int bpp : {1, 4, 8}) {
    for (const bool top_down : {false, true}) {
      testing::BmpSpec spec;
      spec.bits_per_pixel = bpp;
      spec.top_down = top_down;
      const int colors = 1 << bpp;
      for (int i = 0; i < colors; ++i) {
        spec.palette.push_back({static_cast<std::uint8_t>(i * 255 / (colors - 1)), static_cast<std::uint8_t>(i * 7),
                                static_cast<std::uint8_t>(255 - i)});
      }
      Raster indices(11, 5, 1);
      Raster expected(11, 5, 3);
      for (int y = 0; y < 5; ++y) {
        for (int x = 0; x < 11; ++x) {
          const int i = (x * 3 + y * 5) % colors;
          indices.at(x, y)[0] = static_cast<std::uint8_t>(i);
          std::copy(spec.palette[i].begin(), spec.palette[i].end(), expected.at(x, y));
        }
      }
      EXPECT_EQ(max_difference(decode_image(testing::encode_bmp(indices, spec)), expected), 0)
          << bpp << " bits, " << (top_down ? "top-down" : "bottom-up");
    }
  }
}

TEST(DecodeBmp, CoreHeader) {
  const Raster src = gradient(6, 5, 3);
  testing::BmpSpec spec;
  spec.header_size = 12;
  EXPECT_EQ(max_difference(decode_image(testing::encode_bmp(src, spec)), src), 0);
}

TEST(DecodeBmp, ThirtyTwoBitRgbIgnoresThePaddingByte) {
  Raster src = gradient(9, 4, 4);  // the 4th byte is written but is not alpha
  testing::BmpSpec spec;
  spec.bits_per_pixel = 32;
  const Image image = decode_image(testing::encode_bmp(src, spec));
  EXPECT_FALSE(image.had_alpha);
  Raster rgb(9, 4, 3);
  for (int i = 0; i < 36; ++i) std::copy(src.data.begin() + i * 4, src.data.begin() + i * 4 + 3, rgb.data.begin() + i * 3);
  EXPECT_EQ(max_difference(image, rgb), 0);
}

TEST(DecodeBmp, ThirtyTwoBitBitfieldsWithAlpha) {
  const Raster src = gradient(9, 6, 4);
  for (const std::uint32_t header : {108u, 124u}) {
    for (const bool top_down : {false, true}) {
      testing::BmpSpec spec;
      spec.bits_per_pixel = 32;
      spec.compression = 3;
      spec.header_size = header;
      spec.top_down = top_down;
      spec.masks = {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000};
      const Image image = decode_image(testing::encode_bmp(src, spec), with_background(kBackground));
      EXPECT_TRUE(image.had_alpha);
      EXPECT_EQ(max_difference(image, to_rgb(src, kBackground)), 0) << "V" << (header == 108 ? 4 : 5);
    }
  }
}

TEST(DecodeBmp, AllZeroAlphaMeansOpaque) {
  Raster src = gradient(5, 5, 4);
  for (int i = 0; i < 25; ++i) src.data[i * 4 + 3] = 0;
  testing::BmpSpec spec;
  spec.bits_per_pixel = 32;
  spec.compression = 3;
  spec.header_size = 124;
  spec.masks = {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000};
  const Image image = decode_image(testing::encode_bmp(src, spec), with_background(kBackground));
  EXPECT_FALSE(image.had_alpha);
  EXPECT_EQ(max_difference(image, to_rgb(gradient(5, 5, 3))), 0);
}

TEST(DecodeBmp, SixteenBitBitfields565AndDefault555) {
  const Raster src = gradient(10, 6, 3);
  struct Case {
    std::uint32_t compression;
    std::array<std::uint32_t, 4> masks;
  };
  for (const Case c : {Case{3, {0xF800, 0x07E0, 0x001F, 0}}, Case{0, {}}}) {
    testing::BmpSpec spec;
    spec.bits_per_pixel = 16;
    spec.compression = c.compression;
    spec.masks = c.masks;
    // 5 or 6 bits per channel: the writer truncates, the reader rounds back up.
    EXPECT_LE(max_difference(decode_image(testing::encode_bmp(src, spec)), src), 8);
  }
}

// --- TIFF ------------------------------------------------------------------------------

TEST(DecodeTiff, RgbIsExact) {
  const testing::TempDir dir;
  const Raster src = gradient(23, 17, 3);
  const Image image = decode_image(testing::encode_tiff(dir / "t.tif", 23, 17, {}, src.data));
  EXPECT_EQ(image.format, ImageFormat::tiff);
  EXPECT_FALSE(image.had_alpha);
  EXPECT_EQ(max_difference(image, src), 0);
}

TEST(DecodeTiff, GrayIsExact) {
  const testing::TempDir dir;
  const Raster src = gradient(20, 9, 1);
  testing::TiffSpec spec;
  spec.samples_per_pixel = 1;
  spec.photometric = PHOTOMETRIC_MINISBLACK;
  EXPECT_EQ(max_difference(decode_image(testing::encode_tiff(dir / "g.tif", 20, 9, spec, src.data)), to_rgb(src)), 0);
}

TEST(DecodeTiff, Cmyk) {
  const testing::TempDir dir;
  Raster cmyk(16, 8, 4);
  Raster expected(16, 8, 3);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 16; ++x) {
      std::uint8_t* p = cmyk.at(x, y);
      p[0] = static_cast<std::uint8_t>(x * 16), p[1] = static_cast<std::uint8_t>(y * 30), p[2] = 100, p[3] = 40;
      for (int c = 0; c < 3; ++c) expected.at(x, y)[c] = static_cast<std::uint8_t>((255 - p[c]) * (255 - p[3]) / 255);
    }
  }
  testing::TiffSpec spec;
  spec.samples_per_pixel = 4;
  spec.photometric = PHOTOMETRIC_SEPARATED;
  EXPECT_LE(max_difference(decode_image(testing::encode_tiff(dir / "c.tif", 16, 8, spec, cmyk.data)), expected), 1);
}

TEST(DecodeTiff, Palette) {
  const testing::TempDir dir;
  testing::TiffSpec spec;
  spec.samples_per_pixel = 1;
  spec.photometric = PHOTOMETRIC_PALETTE;
  spec.colormap.resize(3 * 256);
  for (int i = 0; i < 256; ++i) {
    spec.colormap[i] = static_cast<std::uint16_t>(i * 257);
    spec.colormap[256 + i] = static_cast<std::uint16_t>((255 - i) * 257);
    spec.colormap[512 + i] = static_cast<std::uint16_t>((i * 3 % 256) * 257);
  }
  Raster indices(12, 6, 1);
  Raster expected(12, 6, 3);
  for (int i = 0; i < 72; ++i) {
    const int v = (i * 7) % 256;
    indices.data[i] = static_cast<std::uint8_t>(v);
    expected.data[i * 3] = static_cast<std::uint8_t>(v);
    expected.data[i * 3 + 1] = static_cast<std::uint8_t>(255 - v);
    expected.data[i * 3 + 2] = static_cast<std::uint8_t>(v * 3 % 256);
  }
  EXPECT_EQ(max_difference(decode_image(testing::encode_tiff(dir / "p.tif", 12, 6, spec, indices.data)), expected), 0);
}

TEST(DecodeTiff, SixteenBitRgb) {
  const testing::TempDir dir;
  const int w = 16, h = 8;
  std::vector<std::uint8_t> samples(static_cast<std::size_t>(w) * h * 3 * 2);
  Raster expected(w, h, 3);
  for (int i = 0; i < w * h * 3; ++i) {
    const std::uint16_t v = static_cast<std::uint16_t>(i * 523 % 65536);
    std::memcpy(samples.data() + i * 2, &v, 2);
    expected.data[i] = static_cast<std::uint8_t>((v * 255 + 32767) / 65535);
  }
  testing::TiffSpec spec;
  spec.bits_per_sample = 16;
  EXPECT_LE(max_difference(decode_image(testing::encode_tiff(dir / "s.tif", w, h, spec, samples)), expected), 1);
}

TEST(DecodeTiff, UnassociatedAlphaOverBackground) {
  const testing::TempDir dir;
  const Raster src = gradient(14, 10, 4);
  testing::TiffSpec spec;
  spec.samples_per_pixel = 4;
  spec.unassociated_alpha = true;
  const Image image = decode_image(testing::encode_tiff(dir / "a.tif", 14, 10, spec, src.data), with_background(kBackground));
  EXPECT_TRUE(image.had_alpha);
  // libtiff premultiplies (one rounding), we composite (a second one).
  EXPECT_LE(max_difference(image, to_rgb(src, kBackground)), 1);
}

TEST(DecodeTiff, FirstPageOnly) {
  const testing::TempDir dir;
  const Raster src = gradient(8, 8, 3);
  testing::TiffSpec spec;
  spec.pages = 2;  // the second page is the negative
  EXPECT_EQ(max_difference(decode_image(testing::encode_tiff(dir / "m.tif", 8, 8, spec, src.data)), src), 0);
}

// --- probe -----------------------------------------------------------------------------

TEST(DecodeProbe, ReadsEveryFormatsHeader) {
  const testing::TempDir dir;
  const Raster rgb = gradient(21, 13, 3);
  const std::vector<std::pair<ImageFormat, Bytes>> files = {
      {ImageFormat::png, testing::encode_png(rgb)},
      {ImageFormat::jpeg, testing::encode_jpeg(rgb)},
      {ImageFormat::webp, testing::encode_webp(rgb, true)},
      {ImageFormat::gif, testing::encode_gif(21, 13, kGifPalette, {pattern_frame(21, 13, false)})},
      {ImageFormat::bmp, testing::encode_bmp(rgb, {})},
      {ImageFormat::tiff, testing::encode_tiff(dir / "p.tif", 21, 13, {}, rgb.data)},
  };
  for (const auto& [format, bytes] : files) {
    const ImageInfo info = probe_image(bytes);
    EXPECT_EQ(info.format, format);
    EXPECT_EQ(info.width, 21) << to_string(format);
    EXPECT_EQ(info.height, 13) << to_string(format);
  }
}

// Every decoder accepts an image of exactly max_pixels and refuses one pixel less.
TEST(DecodeLimits, ExactlyAtTheLimitDecodesOneBelowIsTooLarge) {
  const testing::TempDir dir;
  const Raster rgb = gradient(12, 10, 3);
  const std::vector<Bytes> files = {
      testing::encode_png(rgb),
      testing::encode_jpeg(rgb),
      testing::encode_webp(rgb, true),
      testing::encode_gif(12, 10, kGifPalette, {pattern_frame(12, 10, false)}),
      testing::encode_bmp(rgb, {}),
      testing::encode_tiff(dir / "l.tif", 12, 10, {}, rgb.data),
  };
  for (const Bytes& bytes : files) {
    DecodeOptions options;
    options.max_pixels = 120;
    EXPECT_EQ(decode_image(bytes, options).pixels.size(), 360u);
    options.max_pixels = 119;
    try {
      decode_image(bytes, options, "limit-test");
      ADD_FAILURE() << to_string(sniff_format(bytes)) << " decoded over the pixel limit";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::too_large) << e.what();
      EXPECT_NE(e.message().find("12x10"), std::string::npos) << e.what();
      EXPECT_NE(e.message().find("119"), std::string::npos) << e.what();
      EXPECT_EQ(e.where(), "limit-test");
    }
  }
}

}  // namespace
}  // namespace safescan
