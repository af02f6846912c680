// YuNet (opencv_zoo face_detection_yunet, 2023+ layout) run with cv::dnn::Net and decoded here.
//
// OpenCV 4.6's cv::FaceDetectorYN only knows the 2022 YuNet outputs (loc/conf/iou) and fails
// on the newer model ("Layer with requested id=-1 not found"), so the network is run directly
// and decoded as OpenCV >= 4.8's FaceDetectorYN and opencv_zoo describe it:
//   input   1x3xHxW float, BGR, 0..255 (no mean, no scaling), H and W padded up to multiples
//           of 32 with zeros at the bottom/right (the model has a dynamic input size);
//   outputs for each stride s in {8, 16, 32}, one row per cell (r, c) of the (H/s)x(W/s) grid:
//           cls_s, obj_s (1 value), bbox_s (4), kps_s (10, five landmarks, unused here);
//   score   sqrt(clamp01(cls) * clamp01(obj));
//   box     centre ((c + b0) * s, (r + b1) * s), size (exp(b2) * s, exp(b3) * s);
//   then non-maximum suppression (cv::dnn::NMSBoxes) with nms_threshold.
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "core/sha256.hpp"
#include "faces/detectors.hpp"
#include "safescan/error.hpp"

namespace safescan::faces {
namespace {

namespace fs = std::filesystem;

constexpr std::array<int, 3> kStrides{8, 16, 32};
// Requested in this order: cls for every stride, then obj, then bbox.
const std::vector<cv::String> kOutputs{"cls_8", "cls_16", "cls_32", "obj_8", "obj_16",
                                       "obj_32", "bbox_8", "bbox_16", "bbox_32"};

int pad32(int v) { return ((v + 31) / 32) * 32; }

std::vector<uchar> read_model(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw Error(ErrorCode::model_missing,
                "YuNet model file not found; run `safescan models pull yunet` to install it, or pass the path "
                "of face_detection_yunet_2023mar.onnx (or newer) as the model file",
                file.string());
  }
  std::ifstream in(file, std::ios::binary);
  std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(ErrorCode::unreadable, "cannot read the YuNet model file", file.string());
  if (bytes.empty()) throw Error(ErrorCode::model_invalid, "the YuNet model file is empty", file.string());
  return bytes;
}

// Runs the network on a zero-padded BGR blob; returns the outputs in kOutputs order.
std::vector<cv::Mat> run(cv::dnn::Net& net, const cv::Mat& blob) {
  std::vector<cv::Mat> outs;
  net.setInput(blob);
  net.forward(outs, kOutputs);
  return outs;
}

// Appends the candidates of one stride with score >= threshold (boxes in padded-input pixels).
void decode(const cv::Mat& cls, const cv::Mat& obj, const cv::Mat& bbox, int stride, int rows, int cols,
            float threshold, std::vector<cv::Rect2d>& boxes, std::vector<float>& scores) {
  const std::size_t cells = static_cast<std::size_t>(rows) * cols;
  if (cls.total() != cells || obj.total() != cells || bbox.total() != cells * 4 || cls.type() != CV_32F ||
      obj.type() != CV_32F || bbox.type() != CV_32F) {
    throw Error(ErrorCode::model_invalid, "unexpected YuNet output shape for stride " + std::to_string(stride));
  }
  const float* c = cls.ptr<float>();
  const float* o = obj.ptr<float>();
  const float* b = bbox.ptr<float>();
  for (int r = 0; r < rows; ++r) {
    for (int col = 0; col < cols; ++col) {
      const std::size_t i = static_cast<std::size_t>(r) * cols + col;
      const float score = std::sqrt(std::clamp(c[i], 0.0f, 1.0f) * std::clamp(o[i], 0.0f, 1.0f));
      if (score < threshold) continue;
      const double cx = (col + b[i * 4 + 0]) * stride;
      const double cy = (r + b[i * 4 + 1]) * stride;
      const double w = std::exp(b[i * 4 + 2]) * stride;
      const double h = std::exp(b[i * 4 + 3]) * stride;
      boxes.emplace_back(cx - w / 2, cy - h / 2, w, h);
      scores.push_back(score);
    }
  }
}

class YuNet final : public FaceDetector {
 public:
  YuNet(fs::path file, const FaceDetectorOptions& options)
      : file_(std::move(file)), options_(options), onnx_(read_model(file_)),
        sha256_(sha256_hex(onnx_.data(), onnx_.size())), pool_([this] { return load(); }) {
    single_threaded_opencv();
    auto first = load();
    check(*first);
    pool_.give_back(std::move(first));
  }

  const std::string& name() const override { return name_; }
  const fs::path& model_file() const override { return file_; }
  const std::string& model_sha256() const override { return sha256_; }

  std::vector<FaceBox> detect(const Image& image) const override {
    const cv::Mat rgb = rgb_view(image);
    if (image.width == 0 || image.height == 0) return {};
    const Scaled scaled = resize_by(rgb, downscale_factor(image.width, image.height, options_.max_side));
    const int w = scaled.rgb.cols, h = scaled.rgb.rows, pw = pad32(w), ph = pad32(h);
    cv::Mat padded;
    cv::copyMakeBorder(scaled.rgb, padded, 0, ph - h, 0, pw - w, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    // swapRB: the model wants BGR; no mean, scale 1 (pixel values 0..255).
    const cv::Mat blob = cv::dnn::blobFromImage(padded, 1.0, cv::Size(), cv::Scalar(), true, false, CV_32F);

    std::vector<cv::Rect2d> boxes;
    std::vector<float> scores;
    {
      auto net = pool_.borrow();
      std::vector<cv::Mat> outs;
      try {
        outs = run(*net, blob);
      } catch (const cv::Exception& e) {
        throw Error(ErrorCode::internal, std::string("YuNet inference failed: ") + e.what(), file_.string());
      }
      for (std::size_t i = 0; i < kStrides.size(); ++i) {
        const int s = kStrides[i];
        decode(outs[i], outs[i + 3], outs[i + 6], s, ph / s, pw / s, options_.score_threshold, boxes, scores);
      }
    }
    std::vector<int> keep;
    cv::dnn::NMSBoxes(boxes, scores, options_.score_threshold, options_.nms_threshold, keep);
    std::vector<FaceBox> faces;
    faces.reserve(keep.size());
    for (int k : keep) {
      const cv::Rect2d& r = boxes[k];
      faces.push_back({static_cast<float>(r.x), static_cast<float>(r.y), static_cast<float>(r.width),
                       static_cast<float>(r.height), scores[k]});
    }
    map_back(faces, scaled.sx, scaled.sy, image.width, image.height);
    return faces;
  }

 private:
  std::unique_ptr<cv::dnn::Net> load() const {
    try {
      auto net = std::make_unique<cv::dnn::Net>(cv::dnn::readNetFromONNX(onnx_));
      if (net->empty()) throw Error(ErrorCode::model_invalid, "OpenCV loaded an empty network", file_.string());
      net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      return net;
    } catch (const cv::Exception& e) {
      throw Error(ErrorCode::model_invalid, std::string("OpenCV cannot load this ONNX file: ") + e.err,
                  file_.string());
    }
  }

  // The outputs must be YuNet's (2023+ layout) and a small input must run.
  void check(cv::dnn::Net& net) const {
    const auto names = net.getUnconnectedOutLayersNames();
    for (const auto& want : kOutputs) {
      if (std::find(names.begin(), names.end(), want) == names.end()) {
        std::string have;
        for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
        throw Error(ErrorCode::model_invalid,
                    "not a YuNet model of the 2023+ layout: no output '" + want + "' (outputs: " + have +
                        "); use face_detection_yunet_2023mar.onnx or newer",
                    file_.string());
      }
    }
    try {
      const int side = 64;
      const auto outs = run(net, cv::Mat(std::vector<int>{1, 3, side, side}, CV_32F, cv::Scalar(0)));
      std::vector<cv::Rect2d> boxes;
      std::vector<float> scores;
      for (std::size_t i = 0; i < kStrides.size(); ++i) {
        const int s = kStrides[i];
        decode(outs[i], outs[i + 3], outs[i + 6], s, side / s, side / s, 2.0f, boxes, scores);
      }
    } catch (const cv::Exception& e) {
      throw Error(ErrorCode::model_invalid, std::string("the YuNet model does not run: ") + e.err, file_.string());
    } catch (const Error& e) {
      throw Error(ErrorCode::model_invalid, e.message(), file_.string());
    }
  }

  const std::string name_ = "yunet";
  fs::path file_;
  FaceDetectorOptions options_;
  std::vector<uchar> onnx_;
  std::string sha256_;
  mutable Pool<cv::dnn::Net> pool_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_yunet(const std::filesystem::path& file, const FaceDetectorOptions& options) {
  return std::make_unique<YuNet>(file, options);
}

}  // namespace safescan::faces
