// Previews for the audit card and the review app: decode, shrink (area averaging), blur, JPEG.
// JPEG encoding uses libjpeg(-turbo) directly (the decoder's library), not OpenCV's imgcodecs,
// which the build does not link.
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>

#include "safescan/error.hpp"
#include "safescan/item_bytes.hpp"

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

// RGB8 rows (`stride` bytes apart) to a baseline JPEG. No C++ objects with destructors live
// between setjmp and a longjmp back to it.
std::vector<std::uint8_t> encode_rgb(const std::uint8_t* pixels, int width, int height, std::size_t stride, int quality) {
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
  jpeg_set_quality(&cinfo, std::clamp(quality, 1, 100), TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<std::uint8_t> out(buffer, buffer + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

}  // namespace

std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality) {
  if (image.empty()) throw Error(ErrorCode::invalid_argument, "cannot encode an empty image");
  return encode_rgb(image.pixels.data(), image.width, image.height, static_cast<std::size_t>(image.width) * 3, quality);
}

std::vector<std::uint8_t> make_thumbnail_jpeg(std::span<const std::uint8_t> encoded, int max_side, int quality,
                                              float blur_sigma) {
  if (max_side < 1) throw Error(ErrorCode::invalid_argument, "the thumbnail side must be positive");
  DecodeOptions opt;
  // JPEGs may be decoded at a reduced size with both sides >= max_side, so that the longer
  // side still reaches max_side (max_side / 2 made e.g. an 800 px square come out at 100 px).
  opt.min_side_hint = max_side;
  const Image img = decode_image(encoded, opt);
  if (img.empty()) throw Error(ErrorCode::corrupt, "the image decoded to nothing");
  cv::Mat rgb(img.height, img.width, CV_8UC3, const_cast<std::uint8_t*>(img.pixels.data()));
  const double scale = std::min(1.0, static_cast<double>(max_side) / std::max(img.width, img.height));
  cv::Mat small;
  if (scale < 1.0) {
    const int w = std::max(1, static_cast<int>(std::lround(img.width * scale)));
    const int h = std::max(1, static_cast<int>(std::lround(img.height * scale)));
    cv::resize(rgb, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  } else {
    small = rgb.clone();
  }
  if (blur_sigma > 0) cv::GaussianBlur(small, small, cv::Size(0, 0), blur_sigma);
  return encode_rgb(small.data, small.cols, small.rows, small.step[0], quality);
}

}  // namespace safescan
