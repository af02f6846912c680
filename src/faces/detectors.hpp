// Private helpers shared by the face detectors (src/models/faces/*.cpp): wrapping an Image
// as a cv::Mat, downscaling by max_side, mapping boxes back, and a pool of per-thread
// network / detector instances.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "safescan/faces.hpp"

namespace safescan::faces {

// The RGB pixels of `image` as a CV_8UC3 header (no copy; the Mat must not be written).
// Throws Error(invalid_argument) when the pixel buffer does not match width * height * 3.
cv::Mat rgb_view(const Image& image);

// `rgb` resized by `factor` (INTER_AREA when shrinking, INTER_LINEAR when enlarging); the
// returned scales are the exact per-axis ratios new / old of the rounded sizes.
struct Scaled {
  cv::Mat rgb;
  double sx = 1, sy = 1;
};
Scaled resize_by(const cv::Mat& rgb, double factor);

// The factor that brings the longer side of a width x height image down to max_side
// (1 when it already fits or max_side <= 0).
double downscale_factor(int width, int height, int max_side);

// Maps boxes found in a scaled image back to the original (divides by sx, sy), clips them to
// width x height, drops empty ones, and sorts by confidence, highest first.
void map_back(std::vector<FaceBox>& boxes, double sx, double sy, int width, int height);

// Makes OpenCV run its parallel_for_ loops in the calling thread (process-wide, once): the
// scan parallelises across images, so each detect() call uses one thread.
void single_threaded_opencv();

// Checks the options shared by both detectors. Throws Error(invalid_argument).
void check_options(const FaceDetectorOptions& options);

// A pool of instances (cv::dnn::Net, dlib detector) that are not safe to share between
// threads: each call borrows one (made on demand) and gives it back when the lease dies, so
// there are at most as many instances as concurrent callers.
template <class T>
class Pool {
 public:
  explicit Pool(std::function<std::unique_ptr<T>()> make) : make_(std::move(make)) {}

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<T> item) : pool_(pool), item_(std::move(item)) {}
    ~Lease() { pool_.give_back(std::move(item_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    T& operator*() const { return *item_; }
    T* operator->() const { return item_.get(); }

   private:
    Pool& pool_;
    std::unique_ptr<T> item_;
  };

  Lease borrow() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        auto item = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(item));
      }
    }
    return Lease(*this, make_());  // outside the lock: building a network takes a while
  }

  // Adds an instance built up front (e.g. the one that validated the model at load).
  void give_back(std::unique_ptr<T> item) {
    if (!item) return;
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(item));
  }

 private:
  std::function<std::unique_ptr<T>()> make_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<T>> free_;
};

std::unique_ptr<FaceDetector> make_yunet(const std::filesystem::path& file, const FaceDetectorOptions& options);
std::unique_ptr<FaceDetector> make_hog(const FaceDetectorOptions& options);

}  // namespace safescan::faces
