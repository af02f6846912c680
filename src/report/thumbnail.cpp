// Previews for the audit card and the review app: decode, shrink (area averaging), blur, JPEG.
// JPEG encoding is src/image/encode.cpp (libjpeg), not OpenCV's imgcodecs.
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>


#include "safescan/error.hpp"
#include "safescan/item_bytes.hpp"

namespace safescan {

namespace {

}  // namespace

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
  JpegOptions jpeg;
  jpeg.quality = quality;
  return encode_jpeg(small.data, small.cols, small.rows, small.step[0], jpeg);
}

}  // namespace safescan
