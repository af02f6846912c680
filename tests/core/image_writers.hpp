// Test-corpus generators for the decoding tests: small in-memory encoders written with
// the native libraries (libpng, libjpeg, libwebp, giflib, libtiff) or by hand (BMP, WebP
// containers, EXIF blocks), so every test builds the exact file it needs.
//
// These encoders assume valid arguments: they are test fixtures, not library code. The
// header does not depend on GoogleTest, so fuzz/make_seeds.cpp uses it too.
#pragma once

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>
#include <webp/encode.h>

#include "safescan/image.hpp"

namespace safescan::testing {

using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------
// Rasters

// Interleaved 8-bit pixels: 1 (gray or palette index), 3 (RGB) or 4 (RGBA) channels.
struct Raster {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<std::uint8_t> data;

  Raster() = default;
  Raster(int w, int h, int c) : width(w), height(h), channels(c), data(static_cast<std::size_t>(w) * h * c) {}
  std::uint8_t* at(int x, int y) { return data.data() + (static_cast<std::size_t>(y) * width + x) * channels; }
  const std::uint8_t* at(int x, int y) const {
    return data.data() + (static_cast<std::size_t>(y) * width + x) * channels;
  }
  std::size_t stride() const { return static_cast<std::size_t>(width) * channels; }
};

// A smooth, asymmetric test pattern (different along x, y and both), optionally with a
// varying alpha channel.
inline Raster gradient(int width, int height, int channels = 3) {
  Raster r(width, height, channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = r.at(x, y);
      const int gx = width > 1 ? x * 255 / (width - 1) : 0;
      const int gy = height > 1 ? y * 255 / (height - 1) : 0;
      if (channels == 1) {
        p[0] = static_cast<std::uint8_t>((gx + gy) / 2);
        continue;
      }
      p[0] = static_cast<std::uint8_t>(gx);
      p[1] = static_cast<std::uint8_t>(gy);
      p[2] = static_cast<std::uint8_t>(255 - (gx + gy) / 2);
      if (channels == 4) p[3] = static_cast<std::uint8_t>((x * 37 + y * 11) % 256);
    }
  }
  return r;
}

// The expected RGB8 of any raster: gray expanded, alpha composited over `bg` with the
// library's documented rounding.
inline Raster to_rgb(const Raster& in, Rgb8 bg = {}) {
  Raster out(in.width, in.height, 3);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      const std::uint8_t* s = in.at(x, y);
      std::uint8_t* d = out.at(x, y);
      if (in.channels == 1) {
        d[0] = d[1] = d[2] = s[0];
      } else if (in.channels == 3) {
        std::copy(s, s + 3, d);
      } else {
        const int a = s[3];
        const int bgc[3] = {bg.r, bg.g, bg.b};
        for (int c = 0; c < 3; ++c) d[c] = static_cast<std::uint8_t>((a * s[c] + (255 - a) * bgc[c] + 127) / 255);
      }
    }
  }
  return out;
}

inline void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void put_le16(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
inline void put_le24(Bytes& b, unsigned v) {
  put_le16(b, v & 0xFFFF);
  b.push_back(static_cast<std::uint8_t>(v >> 16));
}
inline void put_le32(Bytes& b, std::uint32_t v) {
  put_le16(b, v & 0xFFFF);
  put_le16(b, v >> 16);
}
inline void put_be16(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put_be32(Bytes& b, std::uint32_t v) {
  put_be16(b, v >> 16);
  put_be16(b, v & 0xFFFF);
}
inline void put_text(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// ---------------------------------------------------------------------------------------
// EXIF

// A minimal EXIF TIFF structure with one IFD0 entry: Orientation (SHORT) = orientation.
// With `identifier`, prefixed by "Exif\0\0" as in a JPEG APP1 segment.
inline Bytes exif_block(int orientation, bool big_endian = false, bool identifier = true) {
  Bytes b;
  if (identifier) b.insert(b.end(), {'E', 'x', 'i', 'f', 0, 0});
  auto u16 = [&](unsigned v) { big_endian ? put_be16(b, v) : put_le16(b, v); };
  auto u32 = [&](std::uint32_t v) { big_endian ? put_be32(b, v) : put_le32(b, v); };
  put_text(b, big_endian ? "MM" : "II");
  u16(42);
  u32(8);       // IFD0 right after the header
  u16(2);       // two entries: an unrelated one first, then Orientation
  u16(0x010F);  // Make, ASCII, 4 bytes inline: "Tst\0"
  u16(2);
  u32(4);
  put_text(b, "Tst");
  b.push_back(0);
  u16(0x0112);  // Orientation, SHORT, 1 value, inline (left-justified)
  u16(3);
  u32(1);
  u16(static_cast<unsigned>(orientation));
  u16(0);
  u32(0);  // no next IFD
  return b;
}

// ---------------------------------------------------------------------------------------
// PNG (libpng)

struct PngSpec {
  int width = 0;
  int height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  bool interlaced = false;
  std::vector<png_color> palette;
  std::vector<std::uint8_t> palette_alpha;  // tRNS for palette images
  Bytes exif;                               // eXIf chunk payload (TIFF structure)
  int compression_level = -1;               // zlib level, -1 = libpng default
};

// Fills row `y` with the PNG's packed samples (16-bit samples big-endian).
using PngRowWriter = std::function<void(int y, std::uint8_t* row)>;

inline Bytes encode_png(const PngSpec& spec, const PngRowWriter& write_row) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::vector<std::uint8_t> row;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("libpng failed to encode the test image");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t n) {
        auto* o = static_cast<Bytes*>(png_get_io_ptr(p));
        o->insert(o->end(), data, data + n);
      },
      nullptr);
  if (spec.compression_level >= 0) png_set_compression_level(png, spec.compression_level);
  png_set_IHDR(png, info, static_cast<png_uint_32>(spec.width), static_cast<png_uint_32>(spec.height), spec.bit_depth,
               spec.color_type, spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) {
    png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  }
  if (!spec.palette_alpha.empty()) {
    png_set_tRNS(png, info, spec.palette_alpha.data(), static_cast<int>(spec.palette_alpha.size()), nullptr);
  }
  if (!spec.exif.empty()) {
    png_set_eXIf_1(png, info, static_cast<png_uint_32>(spec.exif.size()), const_cast<png_bytep>(spec.exif.data()));
  }
  png_write_info(png, info);
  row.resize(png_get_rowbytes(png, info));
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass) {
    for (int y = 0; y < spec.height; ++y) {
      write_row(y, row.data());
      png_write_row(png, row.data());
    }
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// An 8-bit gray, RGB or RGBA PNG of `raster`.
inline Bytes encode_png(const Raster& raster, bool interlaced = false) {
  PngSpec spec;
  spec.width = raster.width;
  spec.height = raster.height;
  spec.color_type = raster.channels == 1   ? PNG_COLOR_TYPE_GRAY
                    : raster.channels == 3 ? PNG_COLOR_TYPE_RGB
                                           : PNG_COLOR_TYPE_RGB_ALPHA;
  spec.interlaced = interlaced;
  return encode_png(spec, [&](int y, std::uint8_t* row) {
    std::memcpy(row, raster.data.data() + y * raster.stride(), raster.stride());
  });
}

// Offset of the first chunk of `type` in a PNG (its length field), or npos.
inline std::size_t find_png_chunk(const Bytes& png, std::string_view type) {
  std::size_t at = 8;
  while (at + 12 <= png.size()) {
    const std::uint32_t length = (std::uint32_t{png[at]} << 24) | (std::uint32_t{png[at + 1]} << 16) |
                                 (std::uint32_t{png[at + 2]} << 8) | png[at + 3];
    if (std::memcmp(png.data() + at + 4, type.data(), 4) == 0) return at;
    at += 12 + static_cast<std::size_t>(length);
  }
  return std::string::npos;
}

// ---------------------------------------------------------------------------------------
// JPEG (libjpeg)

struct JpegSpec {
  // 1 (gray), 3 (RGB) or 4 (CMYK, stored as given: Adobe-inverted when adobe_marker).
  int components = 3;
  int quality = 100;
  bool progressive = false;
  bool adobe_marker = true;  // for CMYK
  bool subsample_chroma = false;
  Bytes app1;  // written as an APP1 segment (e.g. exif_block())
};

inline Bytes encode_jpeg(const Raster& raster, const JpegSpec& spec = {}) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(raster.width);
  cinfo.image_height = static_cast<JDIMENSION>(raster.height);
  cinfo.input_components = spec.components;
  cinfo.in_color_space = spec.components == 1 ? JCS_GRAYSCALE : spec.components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  if (spec.components == 4) {
    jpeg_set_colorspace(&cinfo, JCS_CMYK);
    cinfo.write_Adobe_marker = spec.adobe_marker ? TRUE : FALSE;
  }
  jpeg_set_quality(&cinfo, spec.quality, TRUE);
  if (!spec.subsample_chroma) {
    for (int c = 0; c < cinfo.num_components; ++c) {
      cinfo.comp_info[c].h_samp_factor = 1;
      cinfo.comp_info[c].v_samp_factor = 1;
    }
  }
  if (spec.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  if (!spec.app1.empty()) {
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, spec.app1.data(), static_cast<unsigned>(spec.app1.size()));
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(raster.data.data() + cinfo.next_scanline * raster.stride());
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  Bytes out(buffer, buffer + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

// Offset of the first byte of entropy-coded data (just after the first SOS segment).
inline std::size_t jpeg_scan_start(const Bytes& jpeg) {
  for (std::size_t i = 2; i + 4 <= jpeg.size();) {
    if (jpeg[i] != 0xFF) return std::string::npos;
    const std::size_t length = (std::size_t{jpeg[i + 2]} << 8) | jpeg[i + 3];
    if (jpeg[i + 1] == 0xDA) return i + 2 + length;
    i += 2 + length;
  }
  return std::string::npos;
}

// ---------------------------------------------------------------------------------------
// WebP (libwebp encoder; extended containers assembled by hand)

inline Bytes encode_webp(const Raster& raster, bool lossless, float quality = 90.0F) {
  std::uint8_t* out = nullptr;
  std::size_t size = 0;
  const int stride = static_cast<int>(raster.stride());
  if (raster.channels == 4) {
    size = lossless ? WebPEncodeLosslessRGBA(raster.data.data(), raster.width, raster.height, stride, &out)
                    : WebPEncodeRGBA(raster.data.data(), raster.width, raster.height, stride, quality, &out);
  } else {
    size = lossless ? WebPEncodeLosslessRGB(raster.data.data(), raster.width, raster.height, stride, &out)
                    : WebPEncodeRGB(raster.data.data(), raster.width, raster.height, stride, quality, &out);
  }
  if (size == 0) throw std::runtime_error("libwebp failed to encode the test image");
  Bytes bytes(out, out + size);
  WebPFree(out);
  return bytes;
}

inline Bytes riff_chunk(std::string_view fourcc, const Bytes& payload) {
  Bytes b;
  put_text(b, fourcc);
  put_le32(b, static_cast<std::uint32_t>(payload.size()));
  b.insert(b.end(), payload.begin(), payload.end());
  if (payload.size() % 2 != 0) b.push_back(0);
  return b;
}

// The chunks of a simple (VP8 / VP8L) WebP file, without its RIFF header.
inline Bytes webp_image_chunks(const Bytes& simple_webp) { return Bytes(simple_webp.begin() + 12, simple_webp.end()); }

inline Bytes webp_file(const std::vector<Bytes>& chunks) {
  Bytes body;
  put_text(body, "WEBP");
  for (const Bytes& c : chunks) body.insert(body.end(), c.begin(), c.end());
  Bytes file;
  put_text(file, "RIFF");
  put_le32(file, static_cast<std::uint32_t>(body.size()));
  file.insert(file.end(), body.begin(), body.end());
  return file;
}

enum WebpFlags : std::uint8_t { kWebpAnimation = 0x02, kWebpExif = 0x08, kWebpAlpha = 0x10 };

inline Bytes vp8x_chunk(std::uint8_t flags, int canvas_width, int canvas_height) {
  Bytes p;
  p.push_back(flags);
  p.insert(p.end(), {0, 0, 0});
  put_le24(p, static_cast<unsigned>(canvas_width - 1));
  put_le24(p, static_cast<unsigned>(canvas_height - 1));
  return riff_chunk("VP8X", p);
}

// One animation frame at (x, y) (even numbers), not blended with the previous canvas.
inline Bytes anmf_chunk(const Bytes& simple_webp, int x, int y, int width, int height) {
  Bytes p;
  put_le24(p, static_cast<unsigned>(x / 2));
  put_le24(p, static_cast<unsigned>(y / 2));
  put_le24(p, static_cast<unsigned>(width - 1));
  put_le24(p, static_cast<unsigned>(height - 1));
  put_le24(p, 100);  // duration, ms
  p.push_back(0x02);  // do not blend, do not dispose
  const Bytes frame = webp_image_chunks(simple_webp);
  p.insert(p.end(), frame.begin(), frame.end());
  return riff_chunk("ANMF", p);
}

inline Bytes anim_chunk() {
  Bytes p;
  put_le32(p, 0xFF000000);  // background (ignored by decoders that follow the spec advice)
  put_le16(p, 0);           // loop forever
  return riff_chunk("ANIM", p);
}

// ---------------------------------------------------------------------------------------
// GIF (giflib)

struct GifFrame {
  int left = 0;
  int top = 0;
  int width = 0;
  int height = 0;
  bool interlaced = false;
  int transparent_index = -1;
  std::vector<std::uint8_t> indices;  // width * height, row-major
};

inline Bytes encode_gif(int screen_width, int screen_height, const std::vector<GifColorType>& palette,
                        const std::vector<GifFrame>& frames) {
  Bytes out;
  int error = 0;
  GifFileType* gif = EGifOpen(
      &out,
      [](GifFileType* g, const GifByteType* data, int n) {
        auto* o = static_cast<Bytes*>(g->UserData);
        o->insert(o->end(), data, data + n);
        return n;
      },
      &error);
  if (gif == nullptr) throw std::runtime_error("EGifOpen failed");
  ColorMapObject* map = GifMakeMapObject(static_cast<int>(palette.size()), palette.data());
  EGifSetGifVersion(gif, true);
  bool ok = EGifPutScreenDesc(gif, screen_width, screen_height, 8, 0, map) == GIF_OK;
  GifFreeMapObject(map);
  for (const GifFrame& f : frames) {
    if (f.transparent_index >= 0) {
      GraphicsControlBlock gcb{};
      gcb.DisposalMode = DISPOSAL_UNSPECIFIED;
      gcb.DelayTime = 10;
      gcb.TransparentColor = f.transparent_index;
      GifByteType ext[4];
      const size_t n = EGifGCBToExtension(&gcb, ext);
      ok = ok && EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext) == GIF_OK;
    }
    ok = ok && EGifPutImageDesc(gif, f.left, f.top, f.width, f.height, f.interlaced, nullptr) == GIF_OK;
    std::vector<int> order;
    if (f.interlaced) {
      for (auto [start, step] : {std::pair{0, 8}, {4, 8}, {2, 4}, {1, 2}}) {
        for (int y = start; y < f.height; y += step) order.push_back(y);
      }
    } else {
      for (int y = 0; y < f.height; ++y) order.push_back(y);
    }
    for (int y : order) {
      auto* line = const_cast<GifPixelType*>(f.indices.data() + static_cast<std::size_t>(y) * f.width);
      ok = ok && EGifPutLine(gif, line, f.width) == GIF_OK;
    }
  }
  ok = EGifCloseFile(gif, &error) == GIF_OK && ok;
  if (!ok) throw std::runtime_error("giflib failed to encode the test image");
  return out;
}

// ---------------------------------------------------------------------------------------
// BMP (by hand)

struct BmpSpec {
  int bits_per_pixel = 24;  // 1, 4, 8 (palette), 16, 24, 32
  bool top_down = false;
  std::uint32_t header_size = 40;  // 12, 40, 108 or 124
  std::uint32_t compression = 0;   // 0 BI_RGB, 3 BI_BITFIELDS
  std::array<std::uint32_t, 4> masks{};  // r, g, b, a for BI_BITFIELDS
  std::vector<std::array<std::uint8_t, 3>> palette;  // RGB entries
};

// `raster`: indices (1 channel) for palette depths, RGB or RGBA otherwise. For 16 and
// 32 bits each channel is scaled to its mask width (truncating).
inline Bytes encode_bmp(const Raster& raster, const BmpSpec& spec) {
  const int bpp = spec.bits_per_pixel;
  const std::size_t stride = (static_cast<std::size_t>(raster.width) * bpp + 31) / 32 * 4;
  Bytes pixels(stride * raster.height, 0);
  auto pack = [&](const std::uint8_t* p) {
    std::array<std::uint32_t, 4> masks = spec.masks;
    if (spec.compression == 0) {
      masks = bpp == 16 ? std::array<std::uint32_t, 4>{0x7C00, 0x03E0, 0x001F, 0}
                        : std::array<std::uint32_t, 4>{0xFF0000, 0xFF00, 0xFF, 0};
    }
    std::uint32_t v = 0;
    for (int c = 0; c < 4; ++c) {
      if (masks[c] == 0) continue;
      const int shift = __builtin_ctz(masks[c]);
      const std::uint32_t max = masks[c] >> shift;
      const std::uint32_t sample = c < raster.channels ? p[c] : 255;
      v |= (sample * max / 255) << shift;
    }
    return v;
  };
  for (int y = 0; y < raster.height; ++y) {
    const int stored = spec.top_down ? y : raster.height - 1 - y;
    std::uint8_t* row = pixels.data() + static_cast<std::size_t>(stored) * stride;
    for (int x = 0; x < raster.width; ++x) {
      const std::uint8_t* p = raster.at(x, y);
      if (bpp <= 8) {
        const int per_byte = 8 / bpp;
        row[x / per_byte] |= static_cast<std::uint8_t>(p[0] << (8 - bpp * (1 + x % per_byte)));
      } else if (bpp == 24) {
        row[x * 3] = p[2];
        row[x * 3 + 1] = p[1];
        row[x * 3 + 2] = p[0];
      } else {
        const std::uint32_t v = pack(p);
        for (int i = 0; i < bpp / 8; ++i) row[x * (bpp / 8) + i] = static_cast<std::uint8_t>(v >> (8 * i));
      }
    }
  }
  Bytes dib;
  if (spec.header_size == 12) {
    put_le32(dib, 12);
    put_le16(dib, static_cast<unsigned>(raster.width));
    put_le16(dib, static_cast<unsigned>(raster.height));
    put_le16(dib, 1);
    put_le16(dib, static_cast<unsigned>(bpp));
  } else {
    put_le32(dib, spec.header_size);
    put_le32(dib, static_cast<std::uint32_t>(raster.width));
    put_le32(dib, static_cast<std::uint32_t>(spec.top_down ? -raster.height : raster.height));
    put_le16(dib, 1);
    put_le16(dib, static_cast<unsigned>(bpp));
    put_le32(dib, spec.compression);
    put_le32(dib, static_cast<std::uint32_t>(pixels.size()));
    put_le32(dib, 2835);
    put_le32(dib, 2835);
    put_le32(dib, static_cast<std::uint32_t>(spec.palette.size()));
    put_le32(dib, 0);
    if (spec.header_size > 40) {
      for (std::uint32_t m : spec.masks) put_le32(dib, m);
      put_text(dib, "BGRs");  // V4: colour space type (LCS_sRGB)
      dib.resize(spec.header_size, 0);
    } else if (spec.compression == 3) {
      for (int c = 0; c < 3; ++c) put_le32(dib, spec.masks[c]);
    }
  }
  for (const auto& e : spec.palette) {
    dib.insert(dib.end(), {e[2], e[1], e[0]});
    if (spec.header_size != 12) dib.push_back(0);
  }
  Bytes file;
  put_text(file, "BM");
  put_le32(file, static_cast<std::uint32_t>(14 + dib.size() + pixels.size()));
  put_le32(file, 0);
  put_le32(file, static_cast<std::uint32_t>(14 + dib.size()));
  file.insert(file.end(), dib.begin(), dib.end());
  file.insert(file.end(), pixels.begin(), pixels.end());
  return file;
}

// ---------------------------------------------------------------------------------------
// TIFF (libtiff, through a temporary file)

struct TiffSpec {
  int samples_per_pixel = 3;
  int bits_per_sample = 8;
  int photometric = PHOTOMETRIC_RGB;
  int compression = COMPRESSION_LZW;
  int orientation = ORIENTATION_TOPLEFT;
  bool unassociated_alpha = false;        // the 4th sample of an RGBA raster
  std::vector<std::uint16_t> colormap;    // 3 * 2^bits entries (r..., g..., b...) for palette
  int pages = 1;                          // extra pages repeat the first with inverted samples
};

// `samples`: width * height * samples_per_pixel samples, each bits_per_sample wide
// (16-bit samples in native byte order).
inline Bytes encode_tiff(const std::filesystem::path& scratch, int width, int height, const TiffSpec& spec,
                         const std::vector<std::uint8_t>& samples) {
  TIFF* tif = TIFFOpen(scratch.c_str(), "w");
  if (tif == nullptr) throw std::runtime_error("TIFFOpen failed");
  const std::size_t row_bytes = static_cast<std::size_t>(width) * spec.samples_per_pixel * spec.bits_per_sample / 8;
  for (int page = 0; page < spec.pages; ++page) {
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(width));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(height));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(spec.samples_per_pixel));
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(spec.bits_per_sample));
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, static_cast<std::uint16_t>(spec.photometric));
    TIFFSetField(tif, TIFFTAG_COMPRESSION, static_cast<std::uint16_t>(spec.compression));
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ORIENTATION, static_cast<std::uint16_t>(spec.orientation));
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, std::uint32_t{16});
    if (spec.photometric == PHOTOMETRIC_SEPARATED) TIFFSetField(tif, TIFFTAG_INKSET, INKSET_CMYK);
    if (spec.unassociated_alpha) {
      const std::uint16_t extra = EXTRASAMPLE_UNASSALPHA;
      TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    if (!spec.colormap.empty()) {
      const std::size_t n = spec.colormap.size() / 3;
      std::vector<std::uint16_t> map = spec.colormap;
      TIFFSetField(tif, TIFFTAG_COLORMAP, map.data(), map.data() + n, map.data() + 2 * n);
    }
    std::vector<std::uint8_t> row(row_bytes);
    for (int y = 0; y < height; ++y) {
      std::memcpy(row.data(), samples.data() + y * row_bytes, row_bytes);
      if (page > 0) {
        for (auto& b : row) b = static_cast<std::uint8_t>(~b);
      }
      if (TIFFWriteScanline(tif, row.data(), static_cast<std::uint32_t>(y), 0) < 0) {
        TIFFClose(tif);
        throw std::runtime_error("TIFFWriteScanline failed");
      }
    }
    TIFFWriteDirectory(tif);
  }
  TIFFClose(tif);
  return read_file(scratch);
}

}  // namespace safescan::testing
