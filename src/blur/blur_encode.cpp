// Encoding blurred images (libjpeg, libpng, libwebp: the libraries safescan_core decodes
// with) and naming the outputs: extensions that follow the container, keys made safe as
// relative paths.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>  // needs size_t and FILE first
// clang-format on
#include <png.h>
#include <webp/encode.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdlib>

#include "safescan/blur.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

std::vector<std::uint8_t> encode_jpeg_rgb(const Image& image, int quality) {
  jpeg_compress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = [](j_common_ptr c) { std::longjmp(reinterpret_cast<JpegError*>(c->err)->jump, 1); };
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    throw Error(ErrorCode::internal, "libjpeg failed to encode the image");
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (quality >= 90)  // no chroma subsampling: fewer colour changes outside the blurred boxes
    for (int i = 0; i < cinfo.num_components; ++i)
      cinfo.comp_info[i].h_samp_factor = cinfo.comp_info[i].v_samp_factor = 1;
  cinfo.optimize_coding = TRUE;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(image.pixels.data() + static_cast<std::size_t>(cinfo.next_scanline) * image.width * 3);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<std::uint8_t> out(buffer, buffer + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

std::vector<std::uint8_t> encode_png_rgb(const Image& image) {
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

std::vector<std::uint8_t> encode_webp_rgb(const Image& image, int quality) {
  std::uint8_t* data = nullptr;
  const std::size_t size = WebPEncodeRGB(image.pixels.data(), image.width, image.height, image.width * 3,
                                         static_cast<float>(quality), &data);
  if (size == 0 || !data) throw Error(ErrorCode::internal, "libwebp failed to encode the image");
  std::vector<std::uint8_t> out(data, data + size);
  WebPFree(data);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Extensions (lower case, with the dot) a container may be named with; the first is the one given.
std::vector<std::string> extensions_of(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return {".jpg", ".jpeg", ".jpe", ".jfif"};
    case ImageFormat::png:
      return {".png"};
    case ImageFormat::webp:
      return {".webp"};
    case ImageFormat::bmp:
      return {".bmp"};
    case ImageFormat::tiff:
      return {".tif", ".tiff"};
    case ImageFormat::gif:
      return {".gif"};
    default:
      return {};
  }
}

}  // namespace

ImageFormat output_container(ImageFormat source, OutputFormat format) {
  if (format == OutputFormat::jpeg) return ImageFormat::jpeg;
  if (format == OutputFormat::png) return ImageFormat::png;
  switch (source) {
    case ImageFormat::jpeg:
    case ImageFormat::png:
    case ImageFormat::webp:
      return source;
    default:
      return ImageFormat::png;  // GIF, BMP, TIFF (and anything else): lossless PNG
  }
}

std::vector<std::uint8_t> encode_image(const Image& image, ImageFormat container, int quality) {
  if (image.empty() || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw Error(ErrorCode::invalid_argument, "cannot encode an empty or inconsistent image");
  quality = std::clamp(quality, 1, 100);
  switch (container) {
    case ImageFormat::jpeg:
      return encode_jpeg_rgb(image, quality);
    case ImageFormat::webp:
      return encode_webp_rgb(image, quality);
    case ImageFormat::png:
      return encode_png_rgb(image);
    default:
      throw Error(ErrorCode::invalid_argument, "cannot write " + std::string(to_string(container)) + " images");
  }
}

std::string output_name(std::string_view name, ImageFormat original, ImageFormat container) {
  const auto slash = name.rfind('/');
  const auto dot = name.rfind('.');
  const bool has_ext = dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash + 1);
  const std::string ext = has_ext ? lower(name.substr(dot)) : std::string();
  const auto allowed = extensions_of(container);
  if (container == original && !allowed.empty()) return std::string(name);  // same container: same name
  if (std::find(allowed.begin(), allowed.end(), ext) != allowed.end()) return std::string(name);
  const std::string stem(has_ext ? name.substr(0, dot) : name);
  return stem + (allowed.empty() ? ".png" : allowed.front());
}

std::filesystem::path output_relative_path(std::string_view key) {
  std::filesystem::path out;
  for (const auto& part : std::filesystem::path(std::string(key)).relative_path()) {
    const std::string s = part.string();
    if (s.empty() || s == ".") continue;
    out /= s == ".." ? std::string("__") : s;
  }
  if (out.empty())
    throw Error(ErrorCode::invalid_argument, "no file name to write under the output directory", std::string(key));
  return out;
}

}  // namespace safescan
