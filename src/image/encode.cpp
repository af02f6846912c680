// Writing images: JPEG (libjpeg-turbo), PNG (libpng), WebP (libwebp), the libraries the
// decoders use. The audit card's thumbnails, blurred copies and the benchmark's perturbed
// images all go through here.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>  // needs size_t and FILE first
// clang-format on
#include <png.h>
#include <webp/encode.h>

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <cstring>

#include "safescan/error.hpp"
#include "safescan/image.hpp"

namespace safescan {

namespace {

struct JpegErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void check_rgb(const Image& image) {
  if (image.empty() || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw Error(ErrorCode::invalid_argument, "cannot encode an empty or inconsistent image");
}

}  // namespace

// No C++ object with a destructor lives between setjmp and a longjmp back to it.
std::vector<std::uint8_t> encode_jpeg(const std::uint8_t* rgb, int width, int height, std::size_t stride,
                                      const JpegOptions& options) {
  if (!rgb || width <= 0 || height <= 0) throw Error(ErrorCode::invalid_argument, "cannot encode an empty image");
  jpeg_compress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  JpegErrors errors;
  std::memset(&errors, 0, sizeof errors);
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = on_jpeg_error;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (setjmp(errors.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    throw Error(ErrorCode::internal, std::string("cannot encode a JPEG: ") + errors.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, std::clamp(options.quality, 1, 100), TRUE);
  if (!options.subsample_chroma)
    for (int i = 0; i < cinfo.num_components; ++i) cinfo.comp_info[i].h_samp_factor = cinfo.comp_info[i].v_samp_factor = 1;
  cinfo.optimize_coding = options.optimize_coding ? TRUE : FALSE;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rgb + cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<std::uint8_t> out(buffer, buffer + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality) {
  check_rgb(image);
  JpegOptions options;
  options.quality = quality;
  return encode_jpeg(image.pixels.data(), image.width, image.height, static_cast<std::size_t>(image.width) * 3, options);
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  check_rgb(image);
  std::vector<std::uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw Error(ErrorCode::internal, "cannot allocate a libpng writer");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error(ErrorCode::internal, "libpng failed to encode the image");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t n) {
        auto* o = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(p));
        o->insert(o->end(), data, data + n);
      },
      nullptr);
  png_set_compression_level(png, 6);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::vector<std::uint8_t> encode_webp(const Image& image, int quality) {
  check_rgb(image);
  std::uint8_t* data = nullptr;
  const std::size_t size = WebPEncodeRGB(image.pixels.data(), image.width, image.height, image.width * 3,
                                         static_cast<float>(std::clamp(quality, 1, 100)), &data);
  if (size == 0 || !data) throw Error(ErrorCode::internal, "libwebp failed to encode the image");
  std::vector<std::uint8_t> out(data, data + size);
  WebPFree(data);
  return out;
}

std::vector<std::uint8_t> encode_image(const Image& image, ImageFormat container, int quality) {
  check_rgb(image);
  quality = std::clamp(quality, 1, 100);
  switch (container) {
    case ImageFormat::jpeg: {
      JpegOptions options;
      options.quality = quality;
      options.subsample_chroma = quality < 90;  // no subsampling at high quality: fewer colour shifts
      options.optimize_coding = true;
      return encode_jpeg(image.pixels.data(), image.width, image.height, static_cast<std::size_t>(image.width) * 3, options);
    }
    case ImageFormat::webp:
      return encode_webp(image, quality);
    case ImageFormat::png:
      return encode_png(image);
    default:
      throw Error(ErrorCode::invalid_argument, "cannot write " + std::string(to_string(container)) + " images");
  }
}

}  // namespace safescan
