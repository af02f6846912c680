// safescan/faces.hpp - face detectors: YuNet (ONNX, through OpenCV's dnn module) and dlib's
// HOG frontal-face detector (built into libdlib, no model file).
//
//   auto faces = safescan::make_face_detector("auto");   // YuNet when installed, else HOG
//   for (const auto& f : faces->detect(safescan::load_image("group.jpg"))) ...
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/image.hpp"

namespace safescan {

struct FaceBox {
  float x = 0, y = 0, width = 0, height = 0;  // pixels of the image given to detect()
  float confidence = 0;                       // YuNet: score in [0, 1]; HOG: SVM margin mapped to (0, 1)
};

struct FaceDetectorOptions {
  // YuNet's ONNX file; empty: the installed "yunet" model of the model store (models.hpp).
  std::filesystem::path model_file;
  float score_threshold = 0.6f;  // YuNet: keep detections with score >= this
  float nms_threshold = 0.3f;
  // Images whose longer side exceeds this are downscaled before detection (boxes are
  // returned in the original image's pixels). Smaller faces than ~10 px at that scale are missed.
  // max_side <= 0: never downscale.
  int max_side = 640;
  // HOG: how many times the (downscaled) image is doubled before scanning. dlib's window is
  // 80x80, so 0 finds faces from ~80 px, 1 (default) from ~40 px at about 4x the time.
  int hog_upsample = 1;
  // HOG: keep detections whose SVM margin is >= this (dlib's adjust_threshold; lower finds
  // more faces and more false positives). confidence = 1 / (1 + exp(-margin)).
  double hog_threshold = 0.0;
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  virtual const std::string& name() const = 0;  // "yunet" or "hog"
  // The model file and its sha256 (empty for HOG, which is compiled into dlib).
  virtual const std::filesystem::path& model_file() const = 0;
  virtual const std::string& model_sha256() const = 0;
  // Boxes sorted by confidence, highest first. Safe to call from several threads at once
  // (each thread gets its own network / detector copy). Uses one thread per call: the first
  // detector created calls cv::setNumThreads(1), which is process-wide (docs/faces.md).
  virtual std::vector<FaceBox> detect(const Image& image) const = 0;
};

// name: "yunet", "hog", or "auto" (YuNet when its model file is available, else HOG).
// Throws Error(model_missing) when YuNet is asked for and its file is missing,
// Error(model_invalid) when OpenCV cannot load it, Error(invalid_argument) for another name.
std::unique_ptr<FaceDetector> make_face_detector(std::string_view name, const FaceDetectorOptions& options = {});

}  // namespace safescan
