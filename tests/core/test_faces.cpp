// Face detectors (faces.hpp): YuNet through OpenCV dnn and dlib's HOG detector, on the shared
// images (../shared/images, the YuNet file in ../shared/models/faces); box mapping under
// downscaling; several threads at once; the error paths.
//
// FaceSurvey.DISABLED_AllSharedImages prints the faces found in every shared image and the
// median time per image (run with --gtest_also_run_disabled_tests --gtest_filter='*FaceSurvey*').
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <thread>
#include <tuple>

#include "safescan/faces.hpp"
#include "safescan/image.hpp"
#include "safescan/models.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::shared_dir;
using testing::TempDir;

const char* const kYunetRel = "models/faces/face_detection_yunet.onnx";
const char* const kYunetSha = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0";

// Sets SAFESCAN_HOME for the life of the object, then puts the old value back.
class ScopedHome {
 public:
  explicit ScopedHome(const fs::path& home) {
    if (const char* old = std::getenv("SAFESCAN_HOME")) old_ = old;
    ::setenv("SAFESCAN_HOME", home.c_str(), 1);
  }
  ~ScopedHome() {
    if (old_) ::setenv("SAFESCAN_HOME", old_->c_str(), 1);
    else ::unsetenv("SAFESCAN_HOME");
  }

 private:
  std::optional<std::string> old_;
};

Image shared_image(const std::string& name) { return load_image(shared_dir() / "images" / name); }

// Each pixel repeated 2x2: INTER_AREA halving gives the original pixels back exactly.
Image upscale2(const Image& in) {
  Image out;
  out.width = in.width * 2;
  out.height = in.height * 2;
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      std::copy_n(in.pixel(x / 2, y / 2), 3, out.pixels.data() + (static_cast<std::size_t>(y) * out.width + x) * 3);
  return out;
}

double iou(const FaceBox& a, const FaceBox& b) {
  const double ix = std::max(0.0, std::min<double>(a.x + a.width, b.x + b.width) - std::max(a.x, b.x));
  const double iy = std::max(0.0, std::min<double>(a.y + a.height, b.y + b.height) - std::max(a.y, b.y));
  const double inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

std::string describe(const std::vector<FaceBox>& faces) {
  std::string s;
  for (const auto& f : faces)
    s += "[" + std::to_string(int(f.x)) + "," + std::to_string(int(f.y)) + " " + std::to_string(int(f.width)) + "x" +
         std::to_string(int(f.height)) + " " + std::to_string(f.confidence).substr(0, 4) + "] ";
  return s.empty() ? "none" : s;
}

// The top box's centre lies in [x0, x1] x [y0, y1] and its size is plausible for a face.
void expect_face_at(const std::vector<FaceBox>& faces, float x0, float x1, float y0, float y1, float min_side,
                    float max_side) {
  ASSERT_FALSE(faces.empty());
  const FaceBox& f = faces.front();
  const float cx = f.x + f.width / 2, cy = f.y + f.height / 2;
  EXPECT_TRUE(cx >= x0 && cx <= x1 && cy >= y0 && cy <= y1) << describe(faces);
  EXPECT_TRUE(f.width >= min_side && f.width <= max_side && f.height >= min_side && f.height <= max_side)
      << describe(faces);
}

void expect_inside(const std::vector<FaceBox>& faces, const Image& image) {
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const FaceBox& f = faces[i];
    EXPECT_GE(f.x, 0);
    EXPECT_GE(f.y, 0);
    EXPECT_GT(f.width, 0);
    EXPECT_GT(f.height, 0);
    EXPECT_LE(f.x + f.width, image.width + 1e-3);
    EXPECT_LE(f.y + f.height, image.height + 1e-3);
    EXPECT_GT(f.confidence, 0);
    EXPECT_LT(f.confidence, 1.0001);
    if (i > 0) {
      EXPECT_GE(faces[i - 1].confidence, f.confidence);  // highest first
    }
  }
}

FaceDetectorOptions options_for(const std::string& name) {
  FaceDetectorOptions o;
  if (name == "yunet") o.model_file = shared_dir() / kYunetRel;
  return o;
}

// --- both detectors on the shared images ------------------------------------------------

class FaceDetectors : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SAFESCAN_REQUIRE_SHARED("images");
    SAFESCAN_REQUIRE_SHARED(kYunetRel);
  }
  std::unique_ptr<FaceDetector> make(FaceDetectorOptions o = {}) const {
    if (GetParam() == "yunet") o.model_file = shared_dir() / kYunetRel;
    return make_face_detector(GetParam(), o);
  }
};

TEST_P(FaceDetectors, NameFileAndChecksum) {
  const auto d = make();
  EXPECT_EQ(d->name(), GetParam());
  if (GetParam() == "yunet") {
    EXPECT_EQ(d->model_file(), shared_dir() / kYunetRel);
    EXPECT_EQ(d->model_sha256(), kYunetSha);
  } else {
    EXPECT_TRUE(d->model_file().empty());
    EXPECT_TRUE(d->model_sha256().empty());
  }
}

TEST_P(FaceDetectors, FindsTheAstronautsFace) {
  const Image image = shared_image("astronaut.png");  // 512x512, face around x 175-270, y 65-185
  const auto faces = make()->detect(image);
  expect_face_at(faces, 195, 255, 100, 150, 60, 150);
  expect_inside(faces, image);
}

TEST_P(FaceDetectors, FindsMessisFace) {
  const Image image = shared_image("messi5.jpg");  // 548x342, a ~35 px face around x 225-262, y 80-130
  const auto faces = make()->detect(image);
  expect_face_at(faces, 230, 258, 95, 125, 20, 60);
  expect_inside(faces, image);
}

TEST_P(FaceDetectors, FindsNoFaceInCoffee) {
  const auto faces = make()->detect(shared_image("coffee.png"));
  EXPECT_TRUE(faces.empty()) << describe(faces);
}

TEST_P(FaceDetectors, EmptyImageHasNoFaces) {
  EXPECT_TRUE(make()->detect(Image{}).empty());
  Image bad;
  bad.width = 4;
  bad.height = 4;
  bad.pixels.resize(10);
  expect_error([&] { make()->detect(bad); }, ErrorCode::invalid_argument, "width * height * 3");
}

TEST_P(FaceDetectors, TinyAndOddSizedImages) {
  const auto d = make();
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {3, 500}, {700, 5}, {33, 65}}) {
    Image im;
    im.width = w;
    im.height = h;
    im.pixels.assign(static_cast<std::size_t>(w) * h * 3, 128);
    const auto faces = d->detect(im);
    EXPECT_TRUE(faces.empty()) << w << "x" << h << ": " << describe(faces);
  }
}

// A 2x upscaled copy detected with max_side = the original's longer side is downscaled back
// by exactly 1/2; its boxes, halved, are the original's.
TEST_P(FaceDetectors, BoxesMapBackWhenDownscaled) {
  for (const char* name : {"astronaut.png", "messi5.jpg"}) {
    SCOPED_TRACE(name);
    const Image small = shared_image(name);
    const Image big = upscale2(small);
    FaceDetectorOptions o;
    o.max_side = std::max(small.width, small.height);
    const auto want = make(o)->detect(small);
    auto got = make(o)->detect(big);
    expect_inside(got, big);
    ASSERT_FALSE(want.empty());
    ASSERT_EQ(got.size(), want.size()) << describe(got) << " vs " << describe(want);
    for (auto& f : got) f = {f.x / 2, f.y / 2, f.width / 2, f.height / 2, f.confidence};
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_GT(iou(got[i], want[i]), 0.8) << describe(got) << " vs " << describe(want);
      // YuNet sees the same pixels at both sizes; HOG (upsampling once) scans a bilinear 2x
      // of the original against the pixel-repeated copy, so its margins differ a little.
      EXPECT_NEAR(got[i].confidence, want[i].confidence, GetParam() == "hog" ? 0.15 : 0.01);
    }
  }
}

TEST_P(FaceDetectors, ConcurrentCallsGiveTheSameResults) {
  const auto d = make();
  const std::vector<Image> images{shared_image("astronaut.png"), shared_image("messi5.jpg"),
                                  shared_image("coffee.png"), shared_image("kodim04.png")};
  std::vector<std::vector<FaceBox>> want;
  for (const auto& im : images) want.push_back(d->detect(im));

  std::vector<std::vector<std::vector<FaceBox>>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2; ++round)
        for (std::size_t i = 0; i < images.size(); ++i) got[t].push_back(d->detect(images[(i + t) % images.size()]));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    ASSERT_EQ(got[t].size(), 2 * images.size());
    for (std::size_t k = 0; k < got[t].size(); ++k) {
      const auto& w = want[(k % images.size() + t) % images.size()];
      const auto& g = got[t][k];
      ASSERT_EQ(g.size(), w.size()) << "thread " << t << " call " << k;
      for (std::size_t i = 0; i < g.size(); ++i) {
        EXPECT_FLOAT_EQ(g[i].x, w[i].x);
        EXPECT_FLOAT_EQ(g[i].y, w[i].y);
        EXPECT_FLOAT_EQ(g[i].width, w[i].width);
        EXPECT_FLOAT_EQ(g[i].height, w[i].height);
        EXPECT_FLOAT_EQ(g[i].confidence, w[i].confidence);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, FaceDetectors, ::testing::Values("yunet", "hog"),
                         [](const auto& info) { return info.param; });

// --- choosing a detector and the errors -------------------------------------------------

TEST(FaceDetectorFactory, AutoIsHogWithoutYunetAndYunetWhenInstalled) {
  SAFESCAN_REQUIRE_SHARED(kYunetRel);
  const TempDir home;
  const ScopedHome scoped(home.path());
  EXPECT_EQ(make_face_detector("auto")->name(), "hog");
  EXPECT_EQ(make_face_detector("auto", options_for("yunet"))->name(), "yunet");

  import_model(shared_dir() / kYunetRel);  // recognised by its sha256 as the catalogue's "yunet"
  const auto d = make_face_detector("auto");
  EXPECT_EQ(d->name(), "yunet");
  EXPECT_EQ(d->model_file(), model_file("yunet"));
  EXPECT_EQ(d->model_sha256(), kYunetSha);
  EXPECT_EQ(make_face_detector("yunet")->name(), "yunet");
}

TEST(FaceDetectorFactory, YunetNotInstalledSaysHowToInstall) {
  const TempDir home;
  const ScopedHome scoped(home.path());
  expect_error([] { make_face_detector("yunet"); }, ErrorCode::model_missing, "safescan models pull yunet");
}

TEST(FaceDetectorFactory, MissingModelFileIsModelMissing) {
  const TempDir dir;
  FaceDetectorOptions o;
  o.model_file = dir / "nope.onnx";
  expect_error([&] { make_face_detector("yunet", o); }, ErrorCode::model_missing, (dir / "nope.onnx").string());
  expect_error([&] { make_face_detector("auto", o); }, ErrorCode::model_missing, "safescan models pull yunet");
}

TEST(FaceDetectorFactory, GarbageOnnxIsModelInvalid) {
  const TempDir dir;
  FaceDetectorOptions o;
  o.model_file = dir / "garbage.onnx";
  testing::write_all(o.model_file, "this is not a protobuf \x01\x02\x03\xff\xfe at all");
  expect_error([&] { make_face_detector("yunet", o); }, ErrorCode::model_invalid, o.model_file.string());
  testing::write_all(o.model_file, "");
  expect_error([&] { make_face_detector("yunet", o); }, ErrorCode::model_invalid, o.model_file.string());
  if (testing::have_shared(kYunetRel)) {  // the real model cut in half
    const std::string onnx = testing::read_all(shared_dir() / kYunetRel);
    testing::write_all(o.model_file, onnx.substr(0, onnx.size() / 2));
    expect_error([&] { make_face_detector("yunet", o); }, ErrorCode::model_invalid, "cannot load this ONNX");
  }
}

TEST(FaceDetectorFactory, UnknownNameAndBadOptions) {
  expect_error([] { make_face_detector("mtcnn"); }, ErrorCode::invalid_argument, "unknown face detector 'mtcnn'");
  FaceDetectorOptions o;
  o.hog_upsample = 5;
  expect_error([&] { make_face_detector("hog", o); }, ErrorCode::invalid_argument, "hog_upsample");
  o = {};
  o.nms_threshold = 0;
  expect_error([&] { make_face_detector("hog", o); }, ErrorCode::invalid_argument, "nms_threshold");
}

// --- not a test: faces per shared image and time per image ------------------------------

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

TEST(FaceSurvey, DISABLED_AllSharedImages) {
  SAFESCAN_REQUIRE_SHARED("images");
  SAFESCAN_REQUIRE_SHARED(kYunetRel);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(shared_dir() / "images")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  FaceDetectorOptions hog0;
  hog0.hog_upsample = 0;
  const std::vector<std::tuple<std::string, std::string, FaceDetectorOptions>> configs{
      {"yunet", "yunet", options_for("yunet")}, {"hog", "hog", {}}, {"hog-up0", "hog", hog0}};
  for (const auto& [label, detector, options] : configs) {
    const std::string& name = label;
    const auto d = make_face_detector(detector, options);
    std::vector<double> all, all_cpu;
    for (const auto& f : files) {
      const Image image = load_image(f);
      std::vector<double> ms, cpu;
      std::vector<FaceBox> faces;
      for (int i = 0; i < 7; ++i) {
        const double c0 = thread_cpu_ms();
        const auto t0 = std::chrono::steady_clock::now();
        faces = d->detect(image);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        cpu.push_back(thread_cpu_ms() - c0);
      }
      std::sort(ms.begin(), ms.end());
      std::sort(cpu.begin(), cpu.end());
      all.push_back(ms[3]);
      all_cpu.push_back(cpu[3]);
      std::cout << name << " " << f.filename().string() << " " << image.width << "x" << image.height << " "
                << ms[3] << " ms (cpu " << cpu[3] << "): " << faces.size() << " " << describe(faces) << "\n";
    }
    std::sort(all.begin(), all.end());
    std::sort(all_cpu.begin(), all_cpu.end());
    std::cout << name << " median over images: " << all[all.size() / 2] << " ms wall, "
              << all_cpu[all_cpu.size() / 2] << " ms thread cpu\n";
  }
}

}  // namespace
}  // namespace safescan
