// safescan classify --model clip:... / --embeddings: CLIP detectors (Q16, LAION NSFW and
// violence, zero-shot UnsafeBench categories), every detector scoring one shared embedding.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "batches.hpp"
#include "classify_options.hpp"
#include "clip_common.hpp"
#include "output.hpp"
#include "safescan/clip.hpp"
#include "safescan/detectors.hpp"
#include "safescan/error.hpp"
#include "safescan/inputs.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

using Detectors = pipeline::ClipDetectors;

Detectors load_detectors(const ClassifyOptions& opt, int dim, const std::string& variant, const ClipModel* clip) {
  pipeline::ClipDetectorRequest req;
  req.names = split_list(opt.detectors);
  req.dim = dim;
  req.variant = variant;
  req.clip = clip;
  req.prompts = opt.prompts;
  req.vocab = opt.vocab;
  if (opt.threshold_set) req.threshold = opt.threshold;
  return pipeline::load_clip_detectors(req);
}

nlohmann::ordered_json result_json(const std::string& key, const std::string& model,
                                   const std::vector<const EmbeddingDetector*>& detectors, const float* embedding) {
  nlohmann::ordered_json j, scores, flags;
  j["path"] = key;
  j["model"] = model;
  bool any = false;
  for (const auto* det : detectors) {
    const DetectorResult r = det->score(embedding);
    nlohmann::ordered_json cats;
    for (const auto& c : r.categories) cats[c.category] = c.score;
    scores[r.detector] = cats;
    flags[r.detector] = r.flagged;
    any = any || r.flagged;
  }
  j["scores"] = scores;
  j["flags"] = flags;
  j["flagged"] = any;
  return j;
}

nlohmann::ordered_json error_json(const std::string& key, const std::string& model, const Error& e) {
  return {{"path", key}, {"model", model}, {"error", {{"code", std::string(to_string(e.code()))}, {"message", e.message()}}}};
}

void print_line(const nlohmann::ordered_json& j, bool table) {
  if (!table) {
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::string line = j["path"].get<std::string>();
  if (j.contains("error")) {
    line += "  ERROR " + j["error"]["code"].get<std::string>() + ": " + j["error"]["message"].get<std::string>();
  } else {
    line += j["flagged"].get<bool>() ? "  FLAGGED" : "  ok";
    for (const auto& [det, cats] : j["scores"].items())
      for (const auto& [cat, score] : cats.items()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "  %s/%s=%.3f", det.c_str(), cat.c_str(), score.get<double>());
        line += buf;
      }
  }
  std::cout << line << "\n";
}

std::vector<std::string> read_keys(const std::string& npy, std::size_t rows) {
  std::vector<std::string> keys;
  std::ifstream in(npy + ".keys.txt");
  for (std::string line; in && std::getline(in, line);) keys.push_back(line);
  if (keys.size() != rows) {
    if (!keys.empty()) spdlog::warn("{}.keys.txt has {} lines for {} rows: using row numbers", npy, keys.size(), rows);
    keys.clear();
    for (std::size_t i = 0; i < rows; ++i) keys.push_back(std::to_string(i));
  }
  return keys;
}

}  // namespace

bool is_clip_request(const ClassifyOptions& opt) { return opt.model.rfind("clip:", 0) == 0 || !opt.embeddings.empty(); }

int run_classify_clip(const ClassifyOptions& opt, const GlobalOptions& global) {
  setup_logging(global);
  const RuntimeInfo rt = configure_runtime(global.threads);
  if (!rt.warning.empty()) spdlog::warn("{}", rt.warning);
  const bool table = opt.format == "table" || (opt.format == "auto" && isatty(STDOUT_FILENO));

  // Arguments and inputs are checked before anything is loaded, so mistakes fail fast.
  const bool clip_model = opt.model.rfind("clip:", 0) == 0;
  if (!clip_model && opt.model != kDefaultNsfwModel) {
    throw Error(ErrorCode::invalid_argument, "--embeddings scores CLIP embeddings: use --model clip:CHECKPOINT or leave --model out");
  }
  if (!opt.embeddings.empty() && !opt.paths.empty()) {
    throw Error(ErrorCode::invalid_argument, "give either images or --embeddings, not both");
  }
  if (opt.embeddings.empty() && opt.paths.empty()) throw Error(ErrorCode::invalid_argument, "give image files or directories to classify");
  const auto inputs = opt.embeddings.empty() ? expand_inputs(opt.paths, std::cin) : std::vector<InputPath>{};
  if (opt.embeddings.empty() && inputs.empty()) throw Error(ErrorCode::invalid_argument, "no images found in the given paths");

  std::optional<ClipModel> clip;
  const std::string model_label = clip_model ? opt.model : "embeddings";
  if (clip_model) clip.emplace(ClipModel::load(resolve_clip_checkpoint(opt.model.substr(5)), parse_precision(opt.precision)));
  std::optional<EmbeddingMatrix> matrix;
  if (!opt.embeddings.empty()) matrix = read_embeddings_npy(opt.embeddings);
  const int dim = clip ? clip->config().embed_dim : static_cast<int>(matrix->dim);
  if (clip && matrix && static_cast<int>(matrix->dim) != dim) {
    throw Error(ErrorCode::invalid_argument, "the embeddings are " + std::to_string(matrix->dim) + " wide but the CLIP model makes " +
                                                 std::to_string(dim));
  }
  const std::string variant = !opt.clip_variant.empty() ? opt.clip_variant : clip ? pipeline::clip_variant_name(clip->config()) : "";
  const Detectors detectors = load_detectors(opt, dim, variant, clip ? &*clip : nullptr);

  if (matrix) {
    const auto keys = read_keys(opt.embeddings, matrix->rows);
    for (std::int64_t i = 0; i < matrix->rows; ++i)
      print_line(result_json(keys[i], model_label, detectors.list, matrix->values.data() + i * matrix->dim), table);
    return kExitOk;
  }

  DecodeOptions decode;
  decode.max_pixels = opt.max_pixels;
  std::vector<float> emb;
  const size_t failed = for_each_batch(
      inputs, opt.batch, static_cast<unsigned>(rt.threads), clip->input_floats(), decode,
      [&](const Image& img, float* out) { clip->preprocess(img, out); },
      [&](const float* tensor, int n) { emb = clip->encode_images(tensor, n); },
      [&](const BatchItem& it) {
        if (it.error) {
          print_line(error_json(it.path, model_label, *it.error), table);
          return;
        }
        auto j = result_json(it.path, model_label, detectors.list, emb.data() + static_cast<size_t>(it.row) * dim);
        j["width"] = it.width;
        j["height"] = it.height;
        j["format"] = std::string(to_string(it.format));
        print_line(j, table);
      });
  if (!global.quiet) {
    spdlog::info("classified {} of {} inputs with {} ({} detector(s)){}", inputs.size() - failed, inputs.size(), model_label,
                 detectors.list.size(), failed ? fmt::format(", {} failed", failed) : std::string());
  }
  return failed ? kExitPartial : kExitOk;
}

}  // namespace safescan::cli
