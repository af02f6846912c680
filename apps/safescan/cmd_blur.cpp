// safescan blur: blurred copies of a scanned dataset (faces, or whole flagged images), as new
// files or new WebDataset shards. The originals are never changed (docs/blur.md).
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.hpp"
#include "output.hpp"
#include "safescan/blur.hpp"
#include "safescan/error.hpp"
#include "safescan/faces.hpp"
#include "safescan/store.hpp"

namespace safescan::cli {

namespace {

struct BlurCommand {
  std::vector<std::string> inputs;
  std::string out, what = "faces", method = "gaussian", format = "keep";
  float expand = 0.2f, sigma = 0.1f;
  int blocks = 8, quality = 95, threads = 0;
  bool ellipse = false, detect = false, changed_only = false;
  std::string detector, category, face_model;
  std::optional<float> min_score, face_threshold;
};

// An SQLite file (its 16-byte header), i.e. a scan database rather than an image or a list.
bool is_sqlite_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  return in.gcount() == 16 && std::string(header, 16) == std::string("SQLite format 3\0", 16);
}

unsigned thread_count(const BlurCommand& opt, const GlobalOptions& global) {
  if (opt.threads > 0) return static_cast<unsigned>(opt.threads);
  if (global.threads > 0) return static_cast<unsigned>(global.threads);
  if (const char* env = std::getenv("SAFESCAN_THREADS"); env && std::atoi(env) > 0)
    return static_cast<unsigned>(std::atoi(env));
  return std::max(1u, std::thread::hardware_concurrency());
}

int run_blur(const BlurCommand& opt, const GlobalOptions& global) {
  setup_logging(global);
  const bool flagged = opt.what == "flagged";
  if (!flagged && (!opt.detector.empty() || !opt.category.empty() || opt.min_score))
    throw Error(ErrorCode::invalid_argument,
                "--detector, --category and --min-score choose flagged images: add --what flagged");
  if (flagged && opt.detect)
    throw Error(ErrorCode::invalid_argument, "--detect finds faces: it does not go with --what flagged");

  std::size_t databases = 0;
  for (const auto& in : opt.inputs) databases += is_sqlite_file(in) ? 1 : 0;
  const bool db_mode = databases > 0;
  if (db_mode && opt.inputs.size() > 1)
    throw Error(ErrorCode::invalid_argument, "give one scan database, or images / directories / shards with --detect");
  if (!db_mode && !opt.detect)
    throw Error(
        ErrorCode::invalid_argument,
        "'" + opt.inputs.front() + "' is not a scan database; to blur faces in images without one, add --detect");

  BlurJobOptions job;
  job.out_dir = opt.out;
  job.what = flagged ? BlurTarget::flagged : BlurTarget::faces;
  job.blur.method = opt.method == "pixelate" ? BlurMethod::pixelate : BlurMethod::gaussian;
  job.blur.expand = opt.expand;
  job.blur.ellipse = opt.ellipse;
  job.blur.sigma_fraction = opt.sigma;
  job.blur.blocks = opt.blocks;
  if (!opt.detector.empty()) job.detector = opt.detector;
  if (!opt.category.empty()) job.category = opt.category;
  job.min_score = opt.min_score;
  job.format = opt.format == "jpeg" ? OutputFormat::jpeg : opt.format == "png" ? OutputFormat::png : OutputFormat::keep;
  job.quality = opt.quality;
  job.changed_only = opt.changed_only;
  job.threads = thread_count(opt, global);
  check_blur_options(job.blur);

  std::unique_ptr<FaceDetector> faces;
  if (opt.detect) {
    FaceDetectorOptions fo;
    fo.model_file = opt.face_model;
    if (opt.face_threshold) fo.score_threshold = *opt.face_threshold;
    faces = make_face_detector("auto", fo);
    spdlog::info("detecting faces with {}{}", faces->name(),
                 faces->model_file().empty() ? std::string() : " (" + faces->model_file().string() + ")");
    job.face_detector = faces.get();
  }

  const BlurEventSink sink = [](const BlurEvent& e) {
    if (e.kind == BlurEvent::Kind::failed)
      spdlog::error("{}: {}", e.key, e.error);
    else if (e.kind == BlurEvent::Kind::blurred)
      spdlog::debug("{}: blurred{} -> {}", e.key, e.boxes ? " " + std::to_string(e.boxes) + " face(s)" : std::string(),
                    e.output.string());
  };
  BlurSummary s;
  if (db_mode) {
    const ResultStore store = ResultStore::open(opt.inputs.front(), OpenMode::read_only);
    s = blur_store(store, job, sink);
  } else {
    s = blur_inputs(opt.inputs, job, sink);
  }
  nlohmann::json j = {{"out", opt.out},     {"blurred", s.blurred}, {"copied", s.copied}, {"skipped", s.skipped},
                      {"failed", s.failed}, {"boxes", s.boxes},     {"shards", s.shards}};
  std::cout << j.dump() << std::endl;
  spdlog::info(
      "{} image(s) blurred ({} box(es)), {} copied unchanged, {} left out, {} failed; {} shard(s) written under {}",
      s.blurred, s.boxes, s.copied, s.skipped, s.failed, s.shards, opt.out);
  if (s.blurred + s.copied > 0 && job.what == BlurTarget::faces)
    spdlog::info("faces the detector missed are not blurred: look through the output before publishing it");
  return s.failed > 0 ? kExitPartial : kExitOk;
}

}  // namespace

void add_blur(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<BlurCommand>();
  CLI::App* cmd = app.add_subcommand("blur", "Write copies of a dataset with faces (or whole flagged images) blurred");
  cmd->add_option("inputs", opt->inputs,
                  "A scan database; or, with --detect, images, directories, list files, tar shards")
      ->required();
  cmd->add_option("-o,--out", opt->out, "Directory for the blurred copies (never a source directory)")->required();
  cmd->add_option("--what", opt->what, "faces: the face boxes; flagged: whole flagged images (for galleries)")
      ->check(CLI::IsMember({"faces", "flagged"}))
      ->capture_default_str();
  cmd->add_option("--method", opt->method, "gaussian or pixelate")
      ->check(CLI::IsMember({"gaussian", "pixelate"}))
      ->capture_default_str();
  cmd->add_option("--expand", opt->expand, "Grow each side of a face box by this fraction of its size")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  cmd->add_flag("--ellipse", opt->ellipse, "Blur the ellipse inscribed in each (grown) box, not the whole box");
  cmd->add_option("--sigma", opt->sigma,
                  "gaussian: sigma as a fraction of the grown box's longer side (of the image for flagged)")
      ->check(CLI::Range(0.001, 10.0))
      ->capture_default_str();
  cmd->add_option("--blocks", opt->blocks,
                  "pixelate: blocks across the grown box's longer side (the image's for flagged)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--detector", opt->detector, "flagged: only this detector's scores decide");
  cmd->add_option("--category", opt->category, "flagged: only this category's scores decide");
  cmd->add_option("--min-score", opt->min_score,
                  "flagged: a selected score of at least this flags (instead of the scan's decisions)")
      ->check(CLI::Range(0.0, 1.0));
  CLI::Option* detect =
      cmd->add_flag("--detect", opt->detect,
                    "Detect faces now (YuNet when installed or --face-model, else HOG), adding to the scan's boxes");
  cmd->add_option("--face-model", opt->face_model, "YuNet .onnx for --detect")->needs(detect);
  cmd->add_option("--face-threshold", opt->face_threshold, "YuNet score threshold for --detect (default 0.6)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(detect);
  cmd->add_option("--format", opt->format, "keep (PNG stays PNG, JPEG stays JPEG ...), jpeg or png")
      ->check(CLI::IsMember({"keep", "jpeg", "png"}))
      ->capture_default_str();
  cmd->add_option("--quality", opt->quality, "JPEG / WebP quality of re-encoded images")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--changed-only", opt->changed_only,
                "Write only the images that were blurred (files; shards keep every member)");
  cmd->add_option("-j,--threads", opt->threads,
                  "Worker threads (default: --threads, $SAFESCAN_THREADS, or one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->footer(
      "Files are written under --out at their key (the path the scan was given), tar shards as new\n"
      "shards with the same members in the same order. Images without faces (or not flagged) are\n"
      "copied as they are. Only the pixels inside the (grown) boxes change; JPEGs are re-encoded.\n"
      "Exit status: 0 every image written, 3 some failed (reported), 2 usage error, 1 could not run.\n\nExamples:\n"
      "  safescan blur scan.db --out blurred/\n"
      "  safescan blur scan.db --out gallery/ --what flagged --method pixelate --changed-only\n"
      "  safescan blur --detect photos/ --out blurred/ --ellipse");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_blur(*opt, global); });
}

}  // namespace safescan::cli
