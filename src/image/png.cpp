// PNG through libpng, from memory.
//
// libpng reports errors through a callback that must not return; ours records the
// message and png_longjmp()s back into the setjmp() of PngDecoder::run_*(). As for JPEG,
// those functions own no objects with destructors and all state lives in the decoder
// object, so the jump skips nothing.
//
// Conversions: palette and gray expanded to RGB, tRNS turned into alpha, 16-bit samples
// scaled to 8 bits with rounding (png_set_scale_16: v8 = round(v16 * 255 / 65535)),
// alpha composited over the background. No gamma or colour-profile correction: sample
// values are used as stored (like most image-processing libraries).
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <png.h>

#include "image/decoders.hpp"
#include "image/exif.hpp"
#include "image/limits.hpp"
#include "image/pixels.hpp"

namespace safescan::detail {

namespace {

class PngDecoder {
 public:
  PngDecoder(Bytes data, std::string_view where) : data_(data), where_(where) {
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
    if (png_ == nullptr || info_ == nullptr) throw Error(ErrorCode::internal, "cannot initialise libpng", std::string(where));
    png_set_read_fn(png_, this, on_read);
    // We enforce DecodeOptions::max_pixels ourselves (with our message); lift libpng's
    // own default of 1,000,000 pixels per side up to the PNG maximum.
    png_set_user_limits(png_, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    // Ancillary chunks with a bad CRC are dropped silently (libpng's default); a bad
    // CRC in a critical chunk (IHDR, PLTE, IDAT) is an error, i.e. corrupt.
  }
  ~PngDecoder() { png_destroy_read_struct(&png_, &info_, nullptr); }
  PngDecoder(const PngDecoder&) = delete;
  PngDecoder& operator=(const PngDecoder&) = delete;

  ImageInfo probe() {
    if (!read_info()) throw error("cannot read the PNG header");
    const std::int64_t width = png_get_image_width(png_, info_);
    const std::int64_t height = png_get_image_height(png_, info_);
    check_dimensions(ImageFormat::png, width, height, 0, where_);
    return {ImageFormat::png, static_cast<int>(width), static_cast<int>(height)};
  }

  Image decode(const DecodeOptions& options) {
    options_ = &options;
    if (!read_info()) throw error("cannot read the PNG header");
    const std::int64_t width = png_get_image_width(png_, info_);
    const std::int64_t height = png_get_image_height(png_, info_);
    check_dimensions(ImageFormat::png, width, height, options.max_pixels, where_);
    image_.source_width = static_cast<int>(width);
    image_.source_height = static_cast<int>(height);
    if (!read_pixels()) throw error("cannot decode the PNG");
    image_.exif_orientation = find_exif_orientation();
    return std::move(image_);
  }

 private:
  static void on_error(png_structp png, png_const_charp message) {
    auto* self = static_cast<PngDecoder*>(png_get_error_ptr(png));
    // No allocation here: an exception must not cross libpng's C frames.
    std::snprintf(self->message_, sizeof self->message_, "%s", message != nullptr ? message : "unknown error");
    png_longjmp(png, 1);
  }
  static void on_warning(png_structp, png_const_charp) {}  // never print

  static void on_read(png_structp png, png_bytep out, png_size_t count) {
    auto* self = static_cast<PngDecoder*>(png_get_io_ptr(png));
    if (count > self->data_.size() - self->offset_) png_error(png, "unexpected end of file (truncated)");
    std::memcpy(out, self->data_.data() + self->offset_, count);
    self->offset_ += count;
  }

  Error error(std::string_view what) const {
    std::string message(what);
    if (message_[0] != '\0') message += std::string(": ") + message_;
    return Error(ErrorCode::corrupt, std::move(message), std::string(where_));
  }

  bool read_info() {
    if (setjmp(png_jmpbuf(png_))) return false;
    png_read_info(png_, info_);
    return true;
  }

  bool read_pixels() {
    if (setjmp(png_jmpbuf(png_))) return false;
    png_set_expand(png_);  // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
    png_set_scale_16(png_);
    png_set_gray_to_rgb(png_);
    const int passes = png_set_interlace_handling(png_);
    png_read_update_info(png_, info_);

    const png_uint_32 width = png_get_image_width(png_, info_);
    const png_uint_32 height = png_get_image_height(png_, info_);
    const int channels = png_get_channels(png_, info_);
    if (png_get_bit_depth(png_, info_) != 8 || (channels != 3 && channels != 4) ||
        png_get_rowbytes(png_, info_) != static_cast<png_size_t>(width) * channels) {
      png_error(png_, "unexpected pixel layout after conversion");
    }
    allocate_pixels(image_, static_cast<int>(width), static_cast<int>(height));
    const std::size_t rgb_stride = static_cast<std::size_t>(width) * 3;
    if (channels == 3) {
      for (int pass = 0; pass < passes; ++pass) {
        for (png_uint_32 y = 0; y < height; ++y) png_read_row(png_, image_.pixels.data() + y * rgb_stride, nullptr);
      }
    } else {
      // Interlaced passes refine the whole image, so they need all of it as RGBA;
      // otherwise one RGBA row is enough.
      const std::size_t rgba_stride = static_cast<std::size_t>(width) * 4;
      rgba_.resize(passes > 1 ? rgba_stride * height : rgba_stride);
      for (int pass = 0; pass < passes; ++pass) {
        for (png_uint_32 y = 0; y < height; ++y) {
          std::uint8_t* rgba = passes > 1 ? rgba_.data() + y * rgba_stride : rgba_.data();
          png_read_row(png_, rgba, nullptr);
          if (pass + 1 == passes) {
            composite_rgba(rgba, image_.pixels.data() + y * rgb_stride, width, options_->background);
          }
        }
      }
      image_.had_alpha = true;  // an alpha channel or tRNS was present
    }
    // Reads the chunks after the image (checking the last IDAT's CRC and finding an
    // eXIf written after the pixels); a file cut before IEND is reported as corrupt.
    png_read_end(png_, info_);
    return true;
  }

  int find_exif_orientation() const {
    png_uint_32 size = 0;
    png_bytep exif = nullptr;
    if (png_get_eXIf_1(png_, info_, &size, &exif) == 0 || exif == nullptr) return 1;
    return exif_orientation(Bytes(exif, size));
  }

  Bytes data_;
  std::size_t offset_ = 0;
  std::string_view where_;
  const DecodeOptions* options_ = nullptr;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  char message_[256] = {};
  Image image_;
  std::vector<std::uint8_t> rgba_;
};

}  // namespace

Image decode_png(Bytes data, const DecodeOptions& options, std::string_view where) {
  PngDecoder decoder(data, where);
  return decoder.decode(options);
}

ImageInfo probe_png(Bytes data, std::string_view where) {
  PngDecoder decoder(data, where);
  return decoder.probe();
}

}  // namespace safescan::detail
