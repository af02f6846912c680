// Reference outputs in ../shared, each file parsed once per test process and shared by every
// test that compares against it.
//
//   for (const auto& row : safescan::testing::nsfwjs_golden("MobileNetV2")) ... row.image, row.probs
//   const nlohmann::json& ref = safescan::testing::clip_tiny_reference();
#pragma once

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing.hpp"

namespace safescan::testing {

// ../shared/golden/nsfwjs_public.jsonl: nsfwjs 4.4.0's probabilities per model and image.
struct NsfwjsGoldenRow {
  std::string image;                // the stem of a file in ../shared/images
  std::array<double, 5> probs{};    // drawing, hentai, neutral, porn, sexy (nsfwjs's order)
};

// The nsfwjs names of the catalogue's models.
inline const std::map<std::string, std::string>& nsfwjs_model_names() {
  static const std::map<std::string, std::string> names = {
      {"nsfw-mobilenet-v2", "MobileNetV2"}, {"nsfw-mobilenet-v2-mid", "MobileNetV2Mid"}, {"nsfw-inception-v3", "InceptionV3"}};
  return names;
}

// Rows of one model ("MobileNetV2", "MobileNetV2Mid", "InceptionV3"), in file order; empty
// when the file or the model is absent.
inline const std::vector<NsfwjsGoldenRow>& nsfwjs_golden(const std::string& nsfwjs_model) {
  static std::once_flag once;
  static std::map<std::string, std::vector<NsfwjsGoldenRow>> rows;
  std::call_once(once, [] {
    std::ifstream in(shared_path("golden/nsfwjs_public.jsonl"));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      NsfwjsGoldenRow r;
      r.image = j.at("image").get<std::string>();
      const char* keys[] = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
      for (int i = 0; i < 5; ++i) r.probs[static_cast<std::size_t>(i)] = j.at("probs").at(keys[i]).get<double>();
      rows[j.at("model").get<std::string>()].push_back(r);
    }
  });
  static const std::vector<NsfwjsGoldenRow> none;
  const auto it = rows.find(nsfwjs_model);
  return it == rows.end() ? none : it->second;
}

// The golden probabilities of one image for a catalogue model, by class name ("neutral" -> p).
inline std::map<std::string, double> nsfwjs_probs(const std::string& model, const std::string& image) {
  static const char* kClasses[] = {"drawing", "hentai", "neutral", "porn", "sexy"};
  for (const auto& r : nsfwjs_golden(nsfwjs_model_names().at(model))) {
    if (r.image != image) continue;
    std::map<std::string, double> out;
    for (int i = 0; i < 5; ++i) out[kClasses[i]] = r.probs[static_cast<std::size_t>(i)];
    return out;
  }
  return {};
}

// ../shared/fixtures/clip-tiny/reference.json (openai/CLIP's outputs on the tiny model).
inline const nlohmann::json& clip_tiny_reference() {
  static std::once_flag once;
  static nlohmann::json ref;
  std::call_once(once, [] {
    std::ifstream in(shared_path("fixtures/clip-tiny/reference.json"));
    ref = nlohmann::json::parse(in);
  });
  return ref;
}

}  // namespace safescan::testing
