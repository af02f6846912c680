// safescan classify: NSFW scores for images, one result per input.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "output.hpp"
#include "safescan/image.hpp"
#include "safescan/inputs.hpp"
#include "safescan/models.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/parallel.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

namespace {

struct ClassifyOptions {
  std::string model{kDefaultNsfwModel};
  std::string format = "auto";
  float threshold = kDefaultNsfwThreshold;
  int batch = 16;
  std::uint64_t max_pixels = kDefaultMaxPixels;
  std::vector<std::string> paths;
};

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

  const size_t per_image = 3ull * clf.input_size() * clf.input_size();
  std::vector<float> tensor(per_image * opt.batch);
  size_t failed = 0;
  for (size_t start = 0; start < inputs.size(); start += opt.batch) {
    const size_t n = std::min<size_t>(opt.batch, inputs.size() - start);
    std::vector<Result> results(n);
    std::vector<char> ok(n, 0);
    // Decode and preprocess in parallel; a failure is recorded on its item, never thrown.
    parallel_for(n, static_cast<unsigned>(rt.threads), [&](size_t i) {
      const InputPath& in = inputs[start + i];
      Result& r = results[i];
      r.path = in.path.string();
      if (in.error) {
        r.error = in.error;
        return;
      }
      try {
        const Image img = load_image(in.path, decode);
        r.width = img.width;
        r.height = img.height;
        r.format = img.format;
        clf.preprocess(img, tensor.data() + i * per_image);
        ok[i] = 1;
      } catch (const Error& e) {
        r.error = e;
      } catch (const std::bad_alloc&) {
        r.error = Error(ErrorCode::too_large, "out of memory while decoding", r.path);
      }
    });
    // Pack the good ones together and run the model once for the batch.
    std::vector<size_t> good;
    for (size_t i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      if (good.size() != i) std::copy_n(tensor.data() + i * per_image, per_image, tensor.data() + good.size() * per_image);
      good.push_back(i);
    }
    const auto scores = clf.run(tensor.data(), static_cast<int>(good.size()));
    for (size_t k = 0; k < good.size(); ++k) results[good[k]].scores = scores[k];
    for (const auto& r : results) {
      if (r.error) ++failed;
      printer.print(r);
    }
  }
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
  cmd->add_option("paths", opt->paths, "Image files or directories (walked recursively); - reads paths from stdin")
      ->required();
  std::string models_help = "Model name or path to a TensorFlow.js model folder. Names:";
  for (const auto& m : known_models())
    if (m.kind == "tfjs") models_help += " " + std::string(m.name);
  cmd->add_option("-m,--model", opt->model, models_help)->capture_default_str();
  cmd->add_option("-f,--format", opt->format, "jsonl, table, or auto (table on a terminal, jsonl otherwise)")
      ->check(CLI::IsMember({"auto", "jsonl", "table"}))
      ->capture_default_str();
  cmd->add_option("-t,--threshold", opt->threshold,
                  "Flag an image when sexual (porn + hentai) or suggestive (sexy) reaches this probability")
      ->check(CLI::Range(0.0, 1.0))
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
      "  find data -name '*.webp' | safescan classify --threshold 0.7 - > scores.jsonl");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_classify(*opt, global); });
}

}  // namespace safescan::cli
