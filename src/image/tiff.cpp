// TIFF through libtiff, from memory: the first page (directory) only.
//
// TIFFRGBAImage converts every photometric interpretation libtiff knows (RGB, gray,
// palette, CMYK, YCbCr, 16-bit, ...) to 8-bit RGBA; its alpha is premultiplied, so it is
// composited with blend_premultiplied(). The raster is read in stored row order and the
// Orientation tag (same meaning as EXIF's) is applied by decode_image() like every other
// format: libtiff's own orientation handling only flips, it cannot transpose (5..8).
//
// libtiff reports errors and warnings through process-global handlers that print to
// stderr by default. We install silent ones once; they keep the first error message of
// the current thread (thread_local), so concurrent decodes do not mix messages. Any other
// code in the process that uses libtiff gets silent handlers too.
#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <tiffio.h>

#include "image/decoders.hpp"
#include "image/limits.hpp"
#include "image/pixels.hpp"

namespace safescan::detail {

namespace {

thread_local char t_first_error[512];

// `module` is a libtiff function name: useful to libtiff developers, noise to users.
void on_tiff_error(const char* /*module*/, const char* format, va_list args) {
  if (t_first_error[0] != '\0') return;
  std::vsnprintf(t_first_error, sizeof t_first_error, format, args);
}

void on_tiff_warning(const char*, const char*, va_list) {}

// Installs the silent handlers (once per process) and clears this thread's message.
class ErrorCapture {
 public:
  ErrorCapture() {
    static std::once_flag installed;
    std::call_once(installed, [] {
      TIFFSetErrorHandler(on_tiff_error);
      TIFFSetWarningHandler(on_tiff_warning);
    });
    t_first_error[0] = '\0';
  }
  ~ErrorCapture() { t_first_error[0] = '\0'; }
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;

  // "what: libtiff's message" (or just "what").
  static std::string describe(std::string_view what) {
    std::string message(what);
    if (t_first_error[0] != '\0') message += std::string(": ") + t_first_error;
    return message;
  }
};

// Read-only memory I/O for TIFFClientOpen.
struct MemoryFile {
  Bytes data;
  std::uint64_t offset = 0;

  static tmsize_t read(thandle_t handle, void* out, tmsize_t count) {
    auto* f = static_cast<MemoryFile*>(handle);
    if (count <= 0 || f->offset >= f->data.size()) return 0;
    const std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(count), f->data.size() - f->offset);
    std::memcpy(out, f->data.data() + f->offset, n);
    f->offset += n;
    return static_cast<tmsize_t>(n);
  }
  static tmsize_t write(thandle_t, void*, tmsize_t) { return -1; }
  static toff_t seek(thandle_t handle, toff_t offset, int whence) {
    auto* f = static_cast<MemoryFile*>(handle);
    std::uint64_t base = 0;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = f->offset; break;
      case SEEK_END: base = f->data.size(); break;
      default: return static_cast<toff_t>(-1);
    }
    // Offsets are unsigned; libtiff passes "negative" ones as huge values. Reject
    // anything that wraps; positions past the end are allowed (reads there return 0).
    if (offset > UINT64_MAX - base) return static_cast<toff_t>(-1);
    f->offset = base + offset;
    return f->offset;
  }
  static int close(thandle_t) { return 0; }
  static toff_t size(thandle_t handle) { return static_cast<MemoryFile*>(handle)->data.size(); }
  static int map(thandle_t, void**, toff_t*) { return 0; }
  static void unmap(thandle_t, void*, toff_t) {}
};

struct TiffCloser {
  void operator()(TIFF* tif) const noexcept { TIFFClose(tif); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

struct OpenOptionsDeleter {
  void operator()(TIFFOpenOptions* options) const noexcept { TIFFOpenOptionsFree(options); }
};

// libtiff allocates strip and tile buffers from sizes in the file; cap any single
// allocation well above what an image within the pixel limit needs (16-bit RGBA is
// 8 bytes per pixel), so lying tags cannot ask for gigabytes.
tmsize_t max_single_allocation(std::uint64_t max_pixels) {
  if (max_pixels == 0) return 0;  // 0 = libtiff's default (no cap)
  constexpr std::uint64_t kSlack = 64ull << 20;
  constexpr std::uint64_t kCeiling = static_cast<std::uint64_t>(INT64_MAX) / 2;
  const std::uint64_t bytes = max_pixels > (kCeiling - kSlack) / 8 ? kCeiling : max_pixels * 8 + kSlack;
  return static_cast<tmsize_t>(bytes);
}

TiffPtr open_tiff(MemoryFile& file, std::uint64_t max_pixels, std::string_view where) {
  const std::unique_ptr<TIFFOpenOptions, OpenOptionsDeleter> options(TIFFOpenOptionsAlloc());
  if (!options) throw Error(ErrorCode::internal, "cannot allocate libtiff options", std::string(where));
  TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), max_single_allocation(max_pixels));
  // "r": read; "m": no memory mapping (our map() declines anyway).
  // The name appears in some libtiff messages ("input: Can not read TIFF directory").
  TiffPtr tif(TIFFClientOpenExt("input", "rm", &file, MemoryFile::read, MemoryFile::write, MemoryFile::seek,
                                MemoryFile::close, MemoryFile::size, MemoryFile::map, MemoryFile::unmap,
                                options.get()));
  if (!tif) throw Error(ErrorCode::corrupt, ErrorCapture::describe("cannot read the TIFF structure"), std::string(where));
  return tif;
}

struct Size {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

Size read_size(TIFF* tif, std::string_view where) {
  Size size;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &size.width) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &size.height)) {
    throw Error(ErrorCode::corrupt, "TIFF has no image width or length", std::string(where));
  }
  return size;
}

struct RgbaImageEnd {
  void operator()(TIFFRGBAImage* image) const noexcept { TIFFRGBAImageEnd(image); }
};

}  // namespace

Image decode_tiff(Bytes data, const DecodeOptions& options, std::string_view where) {
  const ErrorCapture capture;
  MemoryFile file{data};
  const TiffPtr tif = open_tiff(file, options.max_pixels, where);
  const Size size = read_size(tif.get(), where);
  check_dimensions(ImageFormat::tiff, size.width, size.height, options.max_pixels, where);

  std::uint16_t compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_COMPRESSION, &compression);
  if (!TIFFIsCODECConfigured(compression)) {
    throw Error(ErrorCode::unsupported, "TIFF compression scheme " + std::to_string(compression) + " is not available",
                std::string(where));
  }
  std::uint16_t orientation = ORIENTATION_TOPLEFT;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_ORIENTATION, &orientation);
  if (orientation < ORIENTATION_TOPLEFT || orientation > ORIENTATION_LEFTBOT) orientation = ORIENTATION_TOPLEFT;

  char reason[1024] = {};
  if (!TIFFRGBAImageOK(tif.get(), reason)) {
    throw Error(ErrorCode::unsupported, std::string("TIFF variant not decodable: ") + reason, std::string(where));
  }
  TIFFRGBAImage rgba{};
  if (!TIFFRGBAImageBegin(&rgba, tif.get(), /*stop_on_error=*/1, reason)) {
    throw Error(ErrorCode::corrupt, std::string("cannot decode the TIFF: ") + reason, std::string(where));
  }
  const std::unique_ptr<TIFFRGBAImage, RgbaImageEnd> rgba_end(&rgba);
  // Ask for the stored orientation, i.e. no flipping by libtiff; rows come out top-down.
  rgba.req_orientation = orientation;

  std::vector<std::uint32_t> raster(static_cast<std::size_t>(size.width) * size.height);
  if (!TIFFRGBAImageGet(&rgba, raster.data(), size.width, size.height)) {
    throw Error(ErrorCode::corrupt, ErrorCapture::describe("cannot decode the TIFF"), std::string(where));
  }

  Image image;
  image.source_width = static_cast<int>(size.width);
  image.source_height = static_cast<int>(size.height);
  image.exif_orientation = orientation;
  image.had_alpha = rgba.alpha != 0;
  allocate_pixels(image, image.source_width, image.source_height);
  const Rgb8 bg = options.background;
  std::uint8_t* out = image.pixels.data();
  for (const std::uint32_t p : raster) {
    const auto a = static_cast<std::uint8_t>(TIFFGetA(p));
    out[0] = blend_premultiplied(a, static_cast<std::uint8_t>(TIFFGetR(p)), bg.r);
    out[1] = blend_premultiplied(a, static_cast<std::uint8_t>(TIFFGetG(p)), bg.g);
    out[2] = blend_premultiplied(a, static_cast<std::uint8_t>(TIFFGetB(p)), bg.b);
    out += 3;
  }
  return image;
}

ImageInfo probe_tiff(Bytes data, std::string_view where) {
  const ErrorCapture capture;
  MemoryFile file{data};
  const TiffPtr tif = open_tiff(file, 0, where);
  const Size size = read_size(tif.get(), where);
  check_dimensions(ImageFormat::tiff, size.width, size.height, 0, where);
  return {ImageFormat::tiff, static_cast<int>(size.width), static_cast<int>(size.height)};
}

}  // namespace safescan::detail
