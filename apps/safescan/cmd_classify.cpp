// safescan classify: NSFW scores for images, one result per input.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "batches.hpp"
#include "classify_options.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "safescan/image.hpp"
#include "safescan/inputs.hpp"
#include "safescan/models.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

namespace {

struct Result {
  std::string path;
  std::optional<Error> error;
  NsfwScores scores;
  int width = 0, height = 0;
  ImageFormat format = ImageFormat::unknown;
};

nlohmann::ordered_json to_json(const Result& r, const std::string& model, float threshold) {
  nlohmann::ordered_json j;
  j["path"] = r.path;
  j["model"] = model;
  if (r.error) {
    j["error"] = {{"code", std::string(to_string(r.error->code()))}, {"message", r.error->message()}};
    return j;
  }
  nlohmann::ordered_json scores;
  for (size_t c = 0; c < kNsfwClassNames.size(); ++c) scores[std::string(kNsfwClassNames[c])] = r.scores.probs[c];
  j["scores"] = scores;
  j["top"] = std::string(kNsfwClassNames[static_cast<int>(r.scores.top())]);
  j["categories"] = {{"sexual", r.scores.sexual()}, {"suggestive", r.scores.suggestive()}};
  j["flagged"] = r.scores.flagged(threshold);
  j["width"] = r.width;
  j["height"] = r.height;
  j["format"] = std::string(to_string(r.format));
  return j;
}

class ResultPrinter {
 public:
  ResultPrinter(bool table, std::string model, float threshold)
      : table_(table), model_(std::move(model)), threshold_(threshold) {
    if (table_) {
      std::printf("%-40s %-8s %7s %7s %7s %7s %7s  %s\n", "path", "top", "drawing", "hentai", "neutral", "porn", "sexy",
                  "flagged");
    }
  }
  void print(const Result& r) {
    if (!table_) {
      // File names need not be UTF-8 (they are bytes on POSIX): replace invalid sequences
      // with U+FFFD instead of letting dump() throw and abort the whole scan.
      std::cout << to_json(r, model_, threshold_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else if (r.error) {
      std::printf("%-40s ERROR %s: %s\n", r.path.c_str(), std::string(to_string(r.error->code())).c_str(),
                  r.error->message().c_str());
    } else {
      const auto& p = r.scores.probs;
      std::printf("%-40s %-8s %7.4f %7.4f %7.4f %7.4f %7.4f  %s\n", r.path.c_str(),
                  std::string(kNsfwClassNames[static_cast<int>(r.scores.top())]).c_str(), p[0], p[1], p[2], p[3], p[4],
                  r.scores.flagged(threshold_) ? "yes" : "no");
    }
    std::cout.flush();
  }

 private:
  bool table_;
  std::string model_;
  float threshold_;
};

int run_classify(const ClassifyOptions& opt, const GlobalOptions& global) {
  setup_logging(global);
  const RuntimeInfo rt = configure_runtime(global.threads);
  if (!rt.warning.empty()) spdlog::warn("{}", rt.warning);
  spdlog::debug("libtorch threads: {}, BLAS: {}", rt.threads, rt.blas);

  const auto inputs = expand_inputs(opt.paths, std::cin);
  if (inputs.empty()) throw Error(ErrorCode::invalid_argument, "no images found in the given paths");

  const auto t0 = std::chrono::steady_clock::now();
  const NsfwClassifier clf = NsfwClassifier::load(opt.model);
  spdlog::debug("loaded {} from {} ({} px input)", clf.name(), clf.path().string(), clf.input_size());

  const bool table = opt.format == "table" || (opt.format == "auto" && isatty(STDOUT_FILENO));
  ResultPrinter printer(table, clf.name(), opt.threshold);
  DecodeOptions decode;
  decode.max_pixels = opt.max_pixels;

  std::vector<NsfwScores> scores;
  const size_t failed = for_each_batch(
      inputs, opt.batch, static_cast<unsigned>(rt.threads), 3ull * clf.input_size() * clf.input_size(), decode,
      [&](const Image& img, float* out) { clf.preprocess(img, out); },
      [&](const float* tensor, int n) { scores = clf.run(tensor, n); },
      [&](const BatchItem& it) {
        Result r{it.path, it.error, {}, it.width, it.height, it.format};
        if (it.row >= 0) r.scores = scores[it.row];
        printer.print(r);
      });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!global.quiet) {
    spdlog::info("classified {} of {} inputs with {} in {:.2f} s ({:.1f} images/s){}", inputs.size() - failed,
                 inputs.size(), clf.name(), secs, inputs.size() / secs,
                 failed ? fmt::format(", {} failed", failed) : std::string());
  }
  return failed ? kExitPartial : kExitOk;
}

}  // namespace

void add_classify(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand("classify", "Score images with an NSFW classifier (one result per input)");
  cmd->add_option("paths", opt->paths, "Image files or directories (walked recursively); - reads paths from stdin");
  std::string models_help = "Model name or path to a TensorFlow.js model folder. Names:";
  for (const auto& m : known_models())
    if (m.kind == "tfjs") models_help += " " + std::string(m.name);
  cmd->add_option("-m,--model", opt->model, models_help)->capture_default_str();
  cmd->add_option("-f,--format", opt->format, "jsonl, table, or auto (table on a terminal, jsonl otherwise)")
      ->check(CLI::IsMember({"auto", "jsonl", "table"}))
      ->capture_default_str();
  auto* threshold = cmd->add_option("-t,--threshold", opt->threshold,
                  "Flag an image when sexual (porn + hentai) or suggestive (sexy) reaches this probability "
                  "(with CLIP detectors: overrides every detector's own default threshold)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--detectors", opt->detectors,
                  "With --model clip:...: comma-separated q16, laion-nsfw, laion-violence, zeroshot "
                  "(default: every one whose model files are installed)");
  cmd->add_option("--clip-variant", opt->clip_variant,
                  "ViT-B-32, ViT-B-16 or ViT-L-14: which CLIP made the embeddings (default: inferred from the checkpoint)");
  cmd->add_option("--embeddings", opt->embeddings,
                  "Score precomputed CLIP image embeddings (N x D .npy, keys in FILE.keys.txt) instead of images")
      ->check(CLI::ExistingFile);
  cmd->add_option("--prompts", opt->prompts, "Zero-shot prompt file (default: data/zeroshot_prompts.json)");
  cmd->add_option("--vocab", opt->vocab, "CLIP vocabulary for the zero-shot prompts (default: the installed clip-vocab)");
  cmd->add_option("--precision", opt->precision, "CLIP precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}))
      ->capture_default_str();
  cmd->add_option("-b,--batch", opt->batch, "Images per inference batch")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--max-pixels", opt->max_pixels, "Refuse images with more pixels than this (checked from the header)")
      ->capture_default_str();
  cmd->footer(
      "Output (--format jsonl), one JSON object per line, in input order:\n"
      "  {\"path\", \"model\", \"scores\": {drawing, hentai, neutral, porn, sexy}, \"top\",\n"
      "   \"categories\": {\"sexual\": porn + hentai, \"suggestive\": sexy}, \"flagged\", \"width\", \"height\", \"format\"}\n"
      "  or {\"path\", \"model\", \"error\": {\"code\", \"message\"}} for an input that failed.\n"
      "Exit status: 0 all classified, 3 some inputs failed, 2 usage error, 1 could not run (e.g. model missing).\n\n"
      "Examples:\n"
      "  safescan classify photo.jpg\n"
      "  safescan classify --model nsfw-inception-v3 --format table ~/Pictures\n"
      "  find data -name '*.webp' | safescan classify --threshold 0.7 - > scores.jsonl\n"
      "  safescan classify --model clip:clip-vit-b-32 --detectors q16,laion-nsfw,zeroshot photos/\n"
      "  safescan classify --model clip:ViT-L-14.pt --embeddings embeddings.npy --detectors q16\n\n"
      "With CLIP detectors each line has \"scores\": {detector: {category: score}}, \"flags\": {detector: bool}\n"
      "and \"flagged\" (any detector). docs/detectors.md describes each detector and its threshold.");
  cmd->callback([opt, threshold, &global, &exit_code] {
    opt->threshold_set = threshold->count() > 0;
    if (is_clip_request(*opt)) {
      exit_code = run_classify_clip(*opt, global);
      return;
    }
    if (opt->paths.empty()) throw Error(ErrorCode::invalid_argument, "give image files or directories to classify");
    exit_code = run_classify(*opt, global);
  });
}

}  // namespace safescan::cli
