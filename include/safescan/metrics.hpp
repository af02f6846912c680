// safescan/metrics.hpp - how well scores separate unsafe (label 1) from safe (label 0): the
// definitions of scikit-learn 1.2, so that `safescan bench` figures compare with published
// ones (docs/bench.md; tests: tests/core/test_metrics.cpp against golden values made with
// Debian's python3-sklearn, tests/data/metrics_golden.jsonl).
//
//   std::vector<int> labels = {0, 1, 1, 0};
//   std::vector<float> scores = {0.1f, 0.8f, 0.4f, 0.35f};
//   safescan::BinaryMetrics m = safescan::binary_metrics(labels, scores, 0.5f);
//   m.f1, m.auroc, m.average_precision ...        // undefined values are std::nullopt (JSON null)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace safescan {

struct BinaryMetrics {
  std::int64_t n = 0, positives = 0;  // items, and items labelled 1 (unsafe)
  float threshold = 0.5f;             // predicted positive when score >= threshold
  std::int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  // sklearn's accuracy_score, precision_score / recall_score / f1_score with
  // zero_division=0 (0 when undefined). nullopt only for an empty slice.
  std::optional<double> accuracy, precision, recall, f1;
  // fp / (fp + tn); nullopt when there are no negatives.
  std::optional<double> fpr;
  // sklearn's roc_auc_score: the trapezoid under the ROC curve over tie-collapsed points;
  // nullopt when the slice has one class only.
  std::optional<double> auroc;
  // sklearn's average_precision_score: sum over thresholds (distinct scores, descending) of
  // (R_k - R_{k-1}) * P_k; nullopt when there are no positives.
  std::optional<double> average_precision;
  // Expected calibration error: 15 equal-width bins on [0, 1] (the first [0, 1/15], the others
  // (lo, hi]); sum over bins of (n_bin / N) * |mean label - mean score|. nullopt when empty.
  std::optional<double> ece;
  // The threshold (one of the distinct scores, predicting score >= it) that maximises F1, the
  // higher one on a tie, and that F1; nullopt without positives.
  std::optional<double> best_f1_threshold, best_f1;
  // The highest recall at a threshold whose FPR is <= 1% / 5%, over the distinct scores and
  // "nothing positive" (recall 0, FPR 0); nullopt without positives or negatives.
  std::optional<double> recall_at_fpr_1, recall_at_fpr_5;
};

// `scores` in [0, 1] (not checked: a score is what a detector or a predictions file gives; for
// the ECE one below 0 counts in the first bin, one above 1 in the last). Throws
// Error(invalid_argument) when the sizes differ, a label is not 0 or 1, or a score is NaN.
// Sorts once: O(n log n).
BinaryMetrics binary_metrics(std::span<const int> labels, std::span<const float> scores, float threshold = 0.5f);

// Percentile bootstrap: `resamples` resamplings of the n items with replacement (std::mt19937_64
// seeded with `seed`, each draw the item (rng() * n) >> 64; the same seed gives the same
// intervals with any standard library), the `alpha`/2 and 1 - alpha/2 percentiles (linear
// interpolation, as numpy.percentile) of each metric of binary_metrics over the resamples where
// it is defined. nullopt for a metric defined in fewer than half the resamples, and for every
// metric of an empty slice. Throws Error(invalid_argument) as binary_metrics does, and when
// resamples < 1 or alpha is not in (0, 1). Sorts once, then O(n) per resample.
struct Interval {
  double low = 0, high = 0;
};
struct MetricIntervals {
  std::optional<Interval> accuracy, precision, recall, f1, fpr, auroc, average_precision, ece;
};
MetricIntervals bootstrap_intervals(std::span<const int> labels, std::span<const float> scores, float threshold,
                                    int resamples = 1000, std::uint64_t seed = 0, double alpha = 0.05);

// The ROC and precision-recall curves of a slice (for plots): tie-collapsed points as
// sklearn 1.2's roc_curve (with drop_intermediate=false) and precision_recall_curve give them.
// ROC: x = FPR, y = TPR, from (0, 0) at the threshold "highest score + 1" down to the lowest
// score; x is NaN throughout without negatives, y without positives (as sklearn). PR: points
// by ascending threshold, then the point (recall 0, precision 1) which has no threshold, so
// thresholds has one element fewer; without positives the recall is 1 (as sklearn). An empty
// slice gives empty curves. Throws as binary_metrics does.
struct Curve {
  std::vector<double> x, y, thresholds;
};
Curve roc_curve(std::span<const int> labels, std::span<const float> scores);
Curve precision_recall_curve(std::span<const int> labels, std::span<const float> scores);  // x = recall, y = precision

// The reliability diagram behind `ece`: per bin (all `bins` of them, the first [0, 1/bins], the
// others (lo, hi]), the number of items, mean score, mean label (0 for an empty bin). Throws
// as binary_metrics does, and when bins is not in [1, 2^28].
struct ReliabilityBin {
  double low = 0, high = 0;
  std::int64_t n = 0;
  double mean_score = 0, mean_label = 0;
};
std::vector<ReliabilityBin> reliability_bins(std::span<const int> labels, std::span<const float> scores, int bins = 15);

}  // namespace safescan
