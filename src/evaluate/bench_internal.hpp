// Pieces of run_bench (bench.cpp): scoring labelled items through the engine, slices and
// their JSON, the progress line, and the hard-negative and robustness parts.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "safescan/bench.hpp"
#include "safescan/engine.hpp"
#include "safescan/labels.hpp"
#include "safescan/metrics.hpp"
#include "safescan/policy.hpp"
#include "scan/progress.hpp"

namespace safescan::bench {

// Scores `items` (files, or shard members read one shard at a time) with the engine;
// results[i] is items[i]'s (an error result when it could not be read). `on_done` hears how
// many finished, batch after batch.
std::vector<ItemResult> score_items(const DetectorSet& detectors, const Policy& policy, const std::vector<LabelledItem>& items,
                                    const EngineOptions& options, const std::function<void(std::size_t)>& on_done = {});

// Scores items given as they are (bytes or pixels): result i is items[i]'s.
std::vector<ItemResult> score_sources(const DetectorSet& detectors, const Policy& policy, std::vector<SourceItem> items,
                                      const EngineOptions& options, const std::function<void(std::size_t)>& on_done = {});

// Scores decoded images (hard negatives, perturbed copies): result i is images[i]'s.
std::vector<ItemResult> score_images(const DetectorSet& detectors, const Policy& policy,
                                     const std::vector<std::shared_ptr<const Image>>& images, const std::vector<std::string>& keys,
                                     const EngineOptions& options, const std::function<void(std::size_t)>& on_done = {});

// Labels and scores of the items one slice holds, and the threshold it is judged at.
struct Slice {
  std::vector<int> labels;
  std::vector<float> scores;
  float threshold = 0.5f;
  void add(int label, float score) {
    labels.push_back(label);
    scores.push_back(score);
  }
};

nlohmann::json metrics_json(const BinaryMetrics& m, const MetricIntervals* intervals);
nlohmann::json slice_json(const Slice& slice, int bootstrap, std::uint64_t seed);
nlohmann::json curves_json(const Slice& slice);

// The score at which the policy stops allowing `detector`'s `category` (the lower of its
// review and block thresholds; 2 when it does neither). category "" = the detector's default.
float decision_threshold(const Policy& policy, const std::string& detector, const std::string& category);

// A detector's score for an item: its score in the item's category when it covers it
// (nullopt when the item's category is one it does not cover), else its highest category score.
struct Point {
  float score = 0, threshold = 0.5f;
};
std::optional<Point> point_of(const ItemResult& result, const std::string& detector, const std::string& category,
                              const Policy& policy);

std::string now_utc();

// A progress line on stderr (a bar on a terminal) for one phase of the run.
class Progress {
 public:
  Progress(const std::string& what, std::size_t total, bool enabled)
      : total_(total),
        reporter_(
            counters_, [this] { return scanning::ProgressTotal{total_, true}; }, enabled, 0, what + ": ") {}
  void add(std::size_t n) { counters_.ok += n; }

 private:
  scanning::ScanCounters counters_;
  std::size_t total_;
  scanning::ProgressReporter reporter_;
};

// --hard-negatives: benign hard cases made from a folder of benign images; adds
// out["hard_negatives"] and each detector's out["detectors"][NAME]["hard_negatives"].
void measure_hard_negatives(const BenchConfig& config, const DetectorSet& detectors, const Policy& policy,
                            const EngineOptions& options, nlohmann::json& out);

// --corruptions: each corruption at each severity on a sample of the labelled items; adds
// out["detectors"][NAME]["robustness"]["corruptions"].
void measure_robustness(const BenchConfig& config, const DetectorSet& detectors, const Policy& policy,
                        const EngineOptions& options, const std::vector<LabelledItem>& items,
                        const std::vector<ItemResult>& clean, nlohmann::json& out);

// --attacks: white-box FGSM/PGD at each epsilon and UnsafeBench's PGD on detectors that are
// one head on a backbone with gradients, the Square attack on any detector; on at most
// attack_samples items each detector got right. Adds out["attacks"] and each detector's
// out["detectors"][NAME]["robustness"]["attacks"]; writes the examples to save_adversarial.
void measure_attacks(const BenchConfig& config, const DetectorSet& detectors, const Policy& policy,
                     const EngineOptions& options, const std::vector<LabelledItem>& items,
                     const std::vector<ItemResult>& clean, nlohmann::json& out);
const std::vector<std::string>& attack_names();
// The Square attack's schedule: the fraction of the image a square covers at `iteration`.
float square_fraction(float p_init, int iteration, int queries);

// Encodes a small JPEG preview (longest side `side`) as a data: URI, for the report.
std::string preview_uri(const Image& image, int side = 160);

}  // namespace safescan::bench
