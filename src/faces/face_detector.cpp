// make_face_detector and the helpers both face detectors share (detectors.hpp).
#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include "faces/detectors.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan {
namespace faces {

cv::Mat rgb_view(const Image& image) {
  if (image.width < 0 || image.height < 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3) {
    throw Error(ErrorCode::invalid_argument,
                "image buffer does not match its size (" + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + " RGB8 needs width * height * 3 bytes, got " +
                    std::to_string(image.pixels.size()) + ")");
  }
  return cv::Mat(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
}

double downscale_factor(int width, int height, int max_side) {
  const int longer = std::max(width, height);
  if (max_side <= 0 || longer <= max_side) return 1.0;
  return static_cast<double>(max_side) / longer;
}

Scaled resize_by(const cv::Mat& rgb, double factor) {
  Scaled out;
  if (factor == 1.0) {
    out.rgb = rgb;
    return out;
  }
  const int w = std::max(1, static_cast<int>(std::lround(rgb.cols * factor)));
  const int h = std::max(1, static_cast<int>(std::lround(rgb.rows * factor)));
  cv::resize(rgb, out.rgb, cv::Size(w, h), 0, 0, factor < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  out.sx = static_cast<double>(w) / rgb.cols;
  out.sy = static_cast<double>(h) / rgb.rows;
  return out;
}

void map_back(std::vector<FaceBox>& boxes, double sx, double sy, int width, int height) {
  std::vector<FaceBox> kept;
  kept.reserve(boxes.size());
  for (const FaceBox& b : boxes) {
    const double x0 = std::clamp(b.x / sx, 0.0, static_cast<double>(width));
    const double y0 = std::clamp(b.y / sy, 0.0, static_cast<double>(height));
    const double x1 = std::clamp((b.x + b.width) / sx, 0.0, static_cast<double>(width));
    const double y1 = std::clamp((b.y + b.height) / sy, 0.0, static_cast<double>(height));
    if (!(x1 > x0 && y1 > y0)) continue;
    kept.push_back({static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1 - x0),
                    static_cast<float>(y1 - y0), b.confidence});
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const FaceBox& a, const FaceBox& b) { return a.confidence > b.confidence; });
  boxes = std::move(kept);
}

void single_threaded_opencv() {
  static std::once_flag once;
  std::call_once(once, [] { cv::setNumThreads(1); });
}

void check_options(const FaceDetectorOptions& o) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, what, "FaceDetectorOptions"); };
  if (!(o.score_threshold >= 0.0f && o.score_threshold <= 1.0f)) bad("score_threshold must be in [0, 1]");
  if (!(o.nms_threshold > 0.0f && o.nms_threshold <= 1.0f)) bad("nms_threshold must be in (0, 1]");
  if (o.hog_upsample < 0 || o.hog_upsample > 2) bad("hog_upsample must be 0, 1 or 2");
  if (!std::isfinite(o.hog_threshold)) bad("hog_threshold must be a finite number");
}

}  // namespace faces

std::unique_ptr<FaceDetector> make_face_detector(std::string_view name, const FaceDetectorOptions& options) {
  faces::check_options(options);
  if (name == "hog") return faces::make_hog(options);
  if (name == "yunet") {
    // model_file() throws model_missing saying `safescan models pull yunet` when not installed.
    const auto file = options.model_file.empty() ? model_file("yunet") : options.model_file;
    return faces::make_yunet(file, options);
  }
  if (name == "auto") {
    if (!options.model_file.empty()) return faces::make_yunet(options.model_file, options);
    if (find_installed_model("yunet")) return faces::make_yunet(model_file("yunet"), options);
    return faces::make_hog(options);
  }
  throw Error(ErrorCode::invalid_argument,
              "unknown face detector '" + std::string(name) + "' (known: yunet, hog, auto)");
}

}  // namespace safescan
