// Writes a small seed corpus for fuzz_decode: one file per format and variant, made with
// the same encoders as the tests (tests/core/image_writers.hpp).
//   fuzz_make_seeds DIR
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "image_writers.hpp"

namespace fs = std::filesystem;
using namespace safescan::testing;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n  e.g. %s fuzz-seeds\n", argv[0], argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  int count = 0;
  const auto save = [&](const std::string& name, const Bytes& bytes) {
    write_file(dir / name, bytes);
    ++count;
  };

  const Raster rgb = gradient(24, 16, 3);
  const Raster rgba = gradient(24, 16, 4);
  const Raster gray = gradient(24, 16, 1);

  save("rgb.png", encode_png(rgb));
  save("rgba.png", encode_png(rgba));
  save("gray.png", encode_png(gray));
  save("interlaced.png", encode_png(rgba, true));
  {
    PngSpec spec;
    spec.width = 16;
    spec.height = 8;
    spec.color_type = PNG_COLOR_TYPE_PALETTE;
    spec.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    spec.palette_alpha = {255, 100};
    spec.exif = exif_block(6, true, false);
    save("palette-trns-exif.png", encode_png(spec, [](int y, std::uint8_t* row) {
      for (int x = 0; x < 16; ++x) row[x] = static_cast<std::uint8_t>((x + y) % 3);
    }));
    spec = {};
    spec.width = 8;
    spec.height = 8;
    spec.bit_depth = 16;
    save("rgb16.png", encode_png(spec, [](int y, std::uint8_t* row) {
      for (int i = 0; i < 48; ++i) row[i] = static_cast<std::uint8_t>(i * 5 + y);
    }));
  }

  save("baseline.jpg", encode_jpeg(rgb));
  JpegSpec jpeg;
  jpeg.progressive = true;
  jpeg.subsample_chroma = true;
  jpeg.quality = 80;
  jpeg.app1 = exif_block(8);
  save("progressive-exif.jpg", encode_jpeg(rgb, jpeg));
  jpeg = {};
  jpeg.components = 1;
  save("gray.jpg", encode_jpeg(gray, jpeg));
  jpeg = {};
  jpeg.components = 4;
  save("cmyk.jpg", encode_jpeg(rgba, jpeg));

  save("lossy.webp", encode_webp(rgb, false));
  save("lossless-alpha.webp", encode_webp(rgba, true));
  const Bytes frame = encode_webp(gradient(8, 8, 4), true);
  save("animated.webp", webp_file({vp8x_chunk(kWebpAnimation | kWebpAlpha, 12, 10), anim_chunk(),
                                   anmf_chunk(frame, 2, 2, 8, 8), anmf_chunk(frame, 0, 0, 8, 8)}));
  save("exif.webp", webp_file({vp8x_chunk(kWebpExif, 24, 16), webp_image_chunks(encode_webp(rgb, true)),
                               riff_chunk("EXIF", exif_block(3, false, false))}));

  GifFrame f1;
  f1.width = 10;
  f1.height = 9;
  f1.left = 2;
  f1.top = 1;
  f1.interlaced = true;
  f1.transparent_index = 0;
  for (int i = 0; i < 90; ++i) f1.indices.push_back(static_cast<std::uint8_t>(i % 4));
  GifFrame f2 = f1;
  f2.interlaced = false;
  save("two-frames.gif", encode_gif(14, 12, {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}}, {f1, f2}));

  BmpSpec bmp;
  save("rgb24.bmp", encode_bmp(rgb, bmp));
  bmp.bits_per_pixel = 32;
  bmp.compression = 3;
  bmp.header_size = 124;
  bmp.top_down = true;
  bmp.masks = {0xFF0000, 0xFF00, 0xFF, 0xFF000000};
  save("rgba32-v5.bmp", encode_bmp(rgba, bmp));
  bmp = {};
  bmp.bits_per_pixel = 16;
  bmp.compression = 3;
  bmp.masks = {0xF800, 0x07E0, 0x001F, 0};
  save("rgb565.bmp", encode_bmp(rgb, bmp));
  bmp = {};
  bmp.bits_per_pixel = 4;
  for (int i = 0; i < 16; ++i) bmp.palette.push_back({static_cast<std::uint8_t>(i * 16), 0, 0});
  Raster indices(24, 16, 1);
  for (std::size_t i = 0; i < indices.data.size(); ++i) indices.data[i] = static_cast<std::uint8_t>(i % 16);
  save("palette4.bmp", encode_bmp(indices, bmp));

  const fs::path scratch = dir / "scratch.tif";
  save("rgb-lzw.tif", encode_tiff(scratch, 24, 16, {}, rgb.data));
  TiffSpec tiff;
  tiff.samples_per_pixel = 4;
  tiff.photometric = PHOTOMETRIC_SEPARATED;
  tiff.compression = COMPRESSION_ADOBE_DEFLATE;
  tiff.orientation = ORIENTATION_RIGHTTOP;
  save("cmyk-deflate-rot.tif", encode_tiff(scratch, 24, 16, tiff, rgba.data));
  tiff = {};
  tiff.samples_per_pixel = 4;
  tiff.unassociated_alpha = true;
  tiff.compression = COMPRESSION_PACKBITS;
  tiff.pages = 2;
  save("rgba-packbits-2pages.tif", encode_tiff(scratch, 24, 16, tiff, rgba.data));
  fs::remove(scratch);

  std::printf("wrote %d seeds to %s\n", count, dir.c_str());
  return 0;
}
