// safescan/blur.hpp - blurring or pixelating faces (or whole flagged images), and writing
// blurred copies of a scanned dataset: new files, or new WebDataset shards with the same
// members. Originals are never changed. docs/blur.md has the details.
//
//   safescan::BlurOptions opt;                       // Gaussian, boxes grown by 20 % per side
//   safescan::blur_boxes(image, faces, opt);         // only pixels inside the (grown) boxes change
//   safescan::blur_whole(image, opt);                // for galleries of flagged images
//
//   safescan::BlurJobOptions job;  job.out_dir = "blurred";
//   safescan::blur_store(safescan::ResultStore::open("scan.db", safescan::OpenMode::read_only), job);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/faces.hpp"
#include "safescan/image.hpp"
#include "safescan/store.hpp"

namespace safescan {

// --- Pixels ---------------------------------------------------------------------------------

enum class BlurMethod { gaussian, pixelate };

struct BlurOptions {
  BlurMethod method = BlurMethod::gaussian;
  // Each side of a box moves out by `expand` times the box's size along that axis: a w x h box
  // becomes (1 + 2 expand) w x (1 + 2 expand) h around the same centre, then is clipped to the
  // image. 0 blurs exactly the detected box. YuNet boxes run from the hairline to the chin,
  // so some margin covers ears, hair and the jaw line.
  float expand = 0.2f;
  // Blur only the ellipse inscribed in the (grown, unclipped) box: the box's corners keep
  // their pixels. With expand >= 0.21 the ellipse still covers the whole detected box.
  bool ellipse = false;
  // gaussian: sigma = sigma_fraction x the longer side of the grown box (at least 1 px). The
  // default 0.1 (a 100 px face grown to 140 px: sigma 14 px) removes eyes, mouth and every
  // feature smaller than the face itself; what remains is a skin-coloured blob.
  float sigma_fraction = 0.1f;
  // pixelate: this many blocks across the longer side of the grown box (at least 1); each
  // block is filled with its mean colour. 8 leaves blocks ~ the size of an eye.
  int blocks = 8;
};

// The pixels a box covers after expansion: [x0, x1) x [y0, y1), clipped to the image. Every
// pixel the grown box covers even partly (by more than 1/1000 px) is inside:
// x0 = floor(x - expand w + 0.001), x1 = ceil(x + w + expand w - 0.001), the same for y. Empty (x0 == x1 or y0 == y1)
// when the box lies outside the image or has no area.
struct PixelRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const noexcept { return x1 <= x0 || y1 <= y0; }
  bool contains(int x, int y) const noexcept { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};
PixelRect blur_region(const FaceBox& box, int image_width, int image_height, float expand);

// Blurs each box (see BlurOptions). Pixels outside every grown box (or outside every ellipse
// with `ellipse`) keep their exact values; inside, the Gaussian takes the neighbouring pixels
// outside the box into account (they are read, never written). Overlapping boxes are blurred
// one after the other. Throws Error(invalid_argument) for out-of-range options.
void blur_boxes(Image& image, std::span<const FaceBox> boxes, const BlurOptions& options);

// Blurs or pixelates the whole image (expand and ellipse are ignored; the "box" is the image).
void blur_whole(Image& image, const BlurOptions& options);

// Checks the options: expand in [0, 10], sigma_fraction in (0, 10], blocks in [1, 10000].
void check_blur_options(const BlurOptions& options);

// --- Encoding -------------------------------------------------------------------------------

enum class OutputFormat { keep, jpeg, png };

// The container written for an image decoded from `source` under `format`: keep writes JPEG,
// PNG and WebP as themselves, GIF, BMP and TIFF as PNG (lossless).
ImageFormat output_container(ImageFormat source, OutputFormat format);
// `name` with its extension replaced when it does not already suit `container`
// ("a.gif" + png -> "a.png", "a.jpeg" + jpeg -> "a.jpeg", "noext" + png -> "noext.png").
std::string output_name(std::string_view name, ImageFormat original, ImageFormat container);

// --- Datasets -------------------------------------------------------------------------------

enum class BlurTarget { faces, flagged };

struct BlurJobOptions {
  std::filesystem::path out_dir;
  BlurTarget what = BlurTarget::faces;
  BlurOptions blur;
  // flagged: which scores decide, as in `safescan export` (detectors' decisions at scan time,
  // or score >= min_score). An item whose latest review decision is "remove" is also blurred.
  std::optional<std::string> detector, category;
  std::optional<float> min_score;
  // faces: when set, this detector runs on every image and its boxes are added to the boxes
  // the scan stored (blur_inputs needs it). nullptr: the stored boxes only.
  const FaceDetector* face_detector = nullptr;
  OutputFormat format = OutputFormat::keep;
  int quality = 95;
  // Files only: write just the images that were blurred (shards always get every member).
  bool changed_only = false;
  unsigned threads = 1;
  DecodeOptions decode;  // EXIF orientation is always applied (boxes are in upright pixels)
};

// What happened to one image, for progress and error reports (called from worker threads,
// one call at a time).
struct BlurEvent {
  enum class Kind { blurred, copied, skipped, failed } kind = Kind::copied;
  std::string key;               // the item's key ("shard.tar:member" for shard members)
  std::filesystem::path output;  // the file (or shard) written; empty when failed / skipped
  int boxes = 0;                 // boxes blurred (faces), 0 for whole-image blurs
  std::string error;             // failed: why
};
using BlurEventSink = std::function<void(const BlurEvent&)>;

struct BlurSummary {
  std::size_t blurred = 0;  // images written with blurred pixels
  std::size_t copied = 0;   // images written unchanged (no face / not flagged)
  std::size_t skipped = 0;  // unchanged images left out (changed_only)
  std::size_t failed = 0;   // images not written: scan error, unreadable, changed since the scan...
  std::size_t boxes = 0;    // face boxes blurred
  std::size_t shards = 0;   // new shards written
};

// Writes blurred copies of the items of a scan database under options.out_dir: a file item
// goes to out_dir / sanitised key, a tar shard to out_dir / sanitised source (the shard as it
// was named to the scan), with the same members in the same order. Throws Error(invalid_argument)
// before writing anything when out_dir is a source directory (or inside a walked one), when
// "faces" is asked of a store without face results and without a detector, or for bad
// options. Per-image failures are counted and reported through `sink`.
BlurSummary blur_store(const ResultStore& store, const BlurJobOptions& options, const BlurEventSink& sink = {});

// The same without a database: the inputs (images, directories, list files, tar shards, as
// `safescan scan` takes them) are read and options.face_detector finds the faces
// (faces only; Error(invalid_argument) without a detector or with what == flagged).
BlurSummary blur_inputs(const std::vector<std::string>& inputs, const BlurJobOptions& options,
                        const BlurEventSink& sink = {});

// A key or source as a relative path under the output directory: the root and "." parts are
// dropped, ".." parts become "__", so nothing escapes it ("/data/a.jpg" -> "data/a.jpg",
// "../x/a.jpg" -> "__/x/a.jpg"). Error(invalid_argument) when nothing is left.
std::filesystem::path output_relative_path(std::string_view key);

}  // namespace safescan
