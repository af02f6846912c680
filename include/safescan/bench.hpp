// safescan/bench.hpp - how well detectors work on labelled data (UnsafeBench's questions for
// your detectors and your data): effectiveness per detector x category and x source, the
// false alarms on benign hard cases, robustness to corruptions. docs/bench.md.
//
//   safescan::BenchConfig cfg;
//   cfg.manifest = "labels.csv";
//   cfg.detectors = "nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid";
//   cfg.predictions = {{"gpt-4v", "gpt4v.csv"}};
//   nlohmann::json metrics = safescan::run_bench(cfg);      // metrics.json's content
//   safescan::write_bench_report(metrics, "out/");          // metrics.json, report.md, report.html
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "safescan/image.hpp"
#include "safescan/registry.hpp"

namespace safescan {

struct BenchConfig {
  // Labelled data: a manifest (read_labels) or a folder ROOT/{safe,unsafe}/CATEGORY/...
  // (read_label_folder); one of them, or neither when only hard negatives are measured.
  std::filesystem::path manifest;
  std::filesystem::path folder;
  // Detectors to measure (the --detectors spec; empty: none, or the command's default when
  // no predictions file is given either) and their options.
  std::string detectors;
  DetectorOptions detector_options;
  // Other classifiers' scores: (name, file), file = read_predictions's format.
  std::vector<std::pair<std::string, std::filesystem::path>> predictions;
  // Thresholds: a policy file (empty: the built-in policy) and --threshold over it. A
  // detector's item is predicted unsafe when its score reaches the policy's review or block
  // threshold for that detector and category (the lower of the two); a predictions file's
  // at 0.5, or --threshold.
  std::filesystem::path policy;
  std::optional<float> threshold;
  // 95% percentile bootstrap intervals: resamples (0: none) and seed.
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  // Benign hard negatives generated from the images of this folder (close-up crops, 3x3
  // grids, text overlays): false-positive rate per detector. Empty: not measured.
  std::filesystem::path hard_negatives;
  int hard_negative_seed = 0;
  // Robustness: each corruption (corruption_names()) at each severity, on the labelled items
  // (at most robustness_samples of them, chosen with the seed): flip rate and accuracy.
  std::vector<std::string> corruptions;
  std::vector<int> severities = {1, 2, 3, 4, 5};
  int robustness_samples = 200;
  // Adversarial attacks (docs/bench.md): "fgsm" and "pgd" (white-box, L-inf in [0, 1] pixel
  // space at the model's input size, at each epsilon, both directions), "pgd-unsafebench"
  // (UnsafeBench's setting: epsilon 0.01 in the model's normalised input space, 100 steps of
  // 0.01/0.3 of it, random start), "square" (query-only, any detector). Each on at most
  // attack_samples items the detector first got right, drawn with attack_seed. Every example
  // is rounded to 8 bits, encoded as PNG and scored again; save_adversarial keeps them.
  std::vector<std::string> attacks;
  std::vector<float> epsilons = {1.0f / 255, 2.0f / 255, 4.0f / 255, 8.0f / 255};
  int pgd_steps = 10;
  float unsafebench_epsilon = 0.01f;
  int unsafebench_steps = 100;
  int square_queries = 1000;
  float square_p_init = 0.8f;
  int attack_samples = 500;
  std::uint64_t attack_seed = 2023;
  std::filesystem::path save_adversarial;
  // The engine.
  int batch = 32;
  int threads = 0;
  DecodeOptions decode;
  bool progress = true;
};

// Runs every part the config asks for and returns metrics.json's content (docs/bench.md: the
// schema). Throws Error: invalid_argument (bad config, unreadable labels), model_missing ...
nlohmann::json run_bench(const BenchConfig& config);

// Writes OUT/metrics.json, OUT/report.md and OUT/report.html (self-contained: Chart.js
// inlined, hard-negative examples blurred until clicked, no requests).
void write_bench_report(const nlohmann::json& metrics, const std::filesystem::path& out_dir);

}  // namespace safescan
