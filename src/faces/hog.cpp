// dlib's HOG + linear SVM frontal-face detector (get_frontal_face_detector(): five HOG
// filters for frontal and slightly turned faces, compiled into libdlib, no model file).
//
// The image is scaled once by downscale_factor(max_side) * 2^hog_upsample (dlib's window is
// 80x80 pixels, so upsampling once finds faces down to ~40 px of the downscaled image) and
// scanned in RGB (dlib's FHOG takes the strongest gradient of the three channels).
// confidence = logistic(SVM margin): margin 0 (dlib's default threshold) -> 0.5, 1 -> 0.73,
// 2 -> 0.88; it ranks detections but is not a calibrated probability.
#include <cmath>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv.h>

#include "faces/detectors.hpp"

namespace safescan::faces {
namespace {

using Detector = dlib::frontal_face_detector;

// get_frontal_face_detector() deserialises the built-in filters (~0.3 s), so it runs once
// per process; detectors and their per-thread copies are copied from this one.
const Detector& builtin_detector() {
  static const Detector detector = dlib::get_frontal_face_detector();
  return detector;
}

class Hog final : public FaceDetector {
 public:
  explicit Hog(const FaceDetectorOptions& options)
      : options_(options),
        pool_([] { return std::make_unique<Detector>(builtin_detector()); }) {
    single_threaded_opencv();
    pool_.give_back(std::make_unique<Detector>(builtin_detector()));
  }

  const std::string& name() const override { return name_; }
  const std::filesystem::path& model_file() const override { return no_file_; }
  const std::string& model_sha256() const override { return no_sha_; }

  std::vector<FaceBox> detect(const Image& image) const override {
    const cv::Mat rgb = rgb_view(image);
    if (image.width == 0 || image.height == 0) return {};
    const double factor =
        downscale_factor(image.width, image.height, options_.max_side) * std::ldexp(1.0, options_.hog_upsample);
    const Scaled scaled = resize_by(rgb, factor);
    const dlib::cv_image<dlib::rgb_pixel> view(scaled.rgb);

    std::vector<dlib::rect_detection> found;
    {
      auto detector = pool_.borrow();
      (*detector)(view, found, options_.hog_threshold);
    }
    std::vector<FaceBox> faces;
    faces.reserve(found.size());
    for (const auto& d : found) {
      const auto& r = d.rect;  // inclusive pixel corners
      faces.push_back({static_cast<float>(r.left()), static_cast<float>(r.top()), static_cast<float>(r.width()),
                       static_cast<float>(r.height()),
                       static_cast<float>(1.0 / (1.0 + std::exp(-d.detection_confidence)))});
    }
    map_back(faces, scaled.sx, scaled.sy, image.width, image.height);
    return faces;
  }

 private:
  const std::string name_ = "hog";
  const std::filesystem::path no_file_;
  const std::string no_sha_;
  FaceDetectorOptions options_;
  mutable Pool<Detector> pool_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_hog(const FaceDetectorOptions& options) { return std::make_unique<Hog>(options); }

}  // namespace safescan::faces
