// safescan/image.hpp - decoding any input file into 8-bit RGB.
//
// Formats: JPEG, PNG, WebP, GIF (first frame), BMP, TIFF (first page). The format is
// recognised from the bytes, never from the file name. Grayscale, 16-bit, palette and
// CMYK are converted to RGB8; alpha is composited over DecodeOptions::background; the
// EXIF orientation (JPEG, PNG eXIf, WebP EXIF, TIFF) is applied so pixels are upright.
//
// Dimensions are checked against DecodeOptions::max_pixels from the header, before the
// pixel buffer is allocated, so a decompression bomb is refused cheaply. Every failure
// throws safescan::Error with one of the decoding codes (see error.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/error.hpp"

namespace safescan {

enum class ImageFormat { unknown, jpeg, png, webp, gif, bmp, tiff };

std::string_view to_string(ImageFormat format) noexcept;

// Default pixel limit: 100 megapixels (width * height), about 300 MB of RGB8.
inline constexpr std::uint64_t kDefaultMaxPixels = 100'000'000;

struct Rgb8 {
  std::uint8_t r = 255, g = 255, b = 255;
};

struct DecodeOptions {
  // Refuse images with more pixels than this (ErrorCode::too_large). 0 = no limit.
  std::uint64_t max_pixels = kDefaultMaxPixels;
  // Refuse files larger than this many bytes before reading them (too_large). 0 = no limit.
  std::uint64_t max_file_bytes = 1ull << 30;
  // Transparent pixels are composited over this colour (default white, as browsers show).
  Rgb8 background{};
  // Rotate/flip according to the EXIF orientation tag.
  bool apply_exif_orientation = true;
  // When > 0, a JPEG may be decoded at a reduced size (libjpeg DCT scaling by 1/2, 1/4, 1/8)
  // as long as both sides stay >= this value. 0 decodes at full size (exact pixels).
  int min_side_hint = 0;
};

struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3 bytes, RGB, row-major, no padding

  ImageFormat format = ImageFormat::unknown;  // container the pixels came from
  int source_width = 0;                       // size stored in the file (before scaling
  int source_height = 0;                      //   and before EXIF rotation)
  int exif_orientation = 1;                   // 1..8 as found (1 when absent)
  bool had_alpha = false;                     // alpha was present and composited

  bool empty() const noexcept { return pixels.empty(); }
  const std::uint8_t* pixel(int x, int y) const { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

// Header information, read without decoding pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::unknown;
  int width = 0;
  int height = 0;
};

// Recognises the format from the leading bytes (magic numbers). unknown when none match.
ImageFormat sniff_format(std::span<const std::uint8_t> data) noexcept;

// The file-name extensions of each container, lower case with the dot, the usual one first
// (".jpg", ".jpeg", ".jpe", ".jfif"): the one list of image extensions (src/image/sniff.cpp).
const std::vector<std::string_view>& extensions_of(ImageFormat format);
// Whether a name ends with one of them, in any case ("a.JPG", "x/y.tiff"; a bare "jpg" too).
bool has_image_extension(std::string_view name);

// Reads the header only. Throws Error (not_an_image, corrupt, unsupported, empty).
ImageInfo probe_image(std::span<const std::uint8_t> data);

// Decodes a whole image held in memory. `where` names the input in error messages.
Image decode_image(std::span<const std::uint8_t> data, const DecodeOptions& options = {},
                   std::string_view where = {});

// Reads and decodes a file. Errors name the path (unreadable for missing files, for
// directories, dangling symlinks and permission problems; empty for zero-byte files).
Image load_image(const std::filesystem::path& path, const DecodeOptions& options = {});

// Reads a whole file into memory with the same checks and error codes as load_image.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path,
                                          std::uint64_t max_bytes = 1ull << 30);

// --- Encoding (src/image/encode.cpp: the one place that writes images) -------------------

struct JpegOptions {
  int quality = 90;              // 1-100
  bool subsample_chroma = true;  // 4:2:0 (libjpeg's default); false keeps full-resolution colour (4:4:4)
  bool optimize_coding = false;  // optimal Huffman tables: smaller files, slower
};
// RGB8 rows `stride` bytes apart as a baseline JPEG. Throws Error(internal) when libjpeg fails.
std::vector<std::uint8_t> encode_jpeg(const std::uint8_t* rgb, int width, int height, std::size_t stride,
                                      const JpegOptions& options = {});
std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality = 90);
// Lossless PNG (zlib level 6) and lossy WebP (quality 1-100) of RGB8 pixels.
std::vector<std::uint8_t> encode_png(const Image& image);
std::vector<std::uint8_t> encode_webp(const Image& image, int quality);
// One container at `quality`: JPEG (4:4:4 chroma at quality >= 90, optimised tables), lossy
// WebP, lossless PNG. Other containers, or an empty or inconsistent image: Error(invalid_argument).
std::vector<std::uint8_t> encode_image(const Image& image, ImageFormat container, int quality);

}  // namespace safescan
