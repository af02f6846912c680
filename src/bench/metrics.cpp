// Binary-classification metrics with scikit-learn 1.2's definitions (include/safescan/metrics.hpp).
//
// Everything is computed from the slice's distinct scores in descending order, each with the
// number of positives and negatives that have it (a "group": sklearn's tie-collapsed
// thresholds). binary_metrics sorts once (O(n log n)) and then walks the groups; the bootstrap
// sorts once for all resamples: a resample only changes the counts of the groups, which are
// rebuilt in O(n) without sorting again.
#include "safescan/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include "safescan/error.hpp"

namespace safescan {
namespace {

constexpr int kEceBins = 15;

void check_input(std::span<const int> labels, std::span<const float> scores) {
  if (labels.size() != scores.size())
    throw Error(ErrorCode::invalid_argument, "metrics: " + std::to_string(labels.size()) + " labels but " +
                                                 std::to_string(scores.size()) + " scores");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw Error(ErrorCode::invalid_argument,
                  "metrics: label " + std::to_string(labels[i]) + " at item " + std::to_string(i) + " (labels are 0 or 1)");
    if (std::isnan(scores[i]))
      throw Error(ErrorCode::invalid_argument, "metrics: the score of item " + std::to_string(i) + " is NaN");
  }
}

// The bin of a score among `bins` equal bins of [0, 1]: [0, 1/B], then (k/B, (k+1)/B].
// Scores outside [0, 1] go to the first or the last bin. s * bins is exact in double for a
// float s and bins < 2^29, so the bin edges are the exact fractions k/B.
int bin_of(float score, int bins) {
  const double k = std::ceil(static_cast<double>(score) * bins) - 1;
  if (!(k > 0)) return 0;
  if (k >= bins - 1) return bins - 1;
  return static_cast<int>(k);
}

// The distinct scores of a slice, descending, with per score the number of positives and
// negatives (both may be 0 in a bootstrap resample, where the score is then absent).
struct Groups {
  std::vector<float> value;
  std::vector<std::int64_t> pos, neg;
  std::int64_t positives = 0, negatives = 0;
};

// Sorts the slice once. `item_group`, when given, receives the group of every item.
Groups make_groups(std::span<const int> labels, std::span<const float> scores, std::vector<std::uint32_t>* item_group) {
  const std::size_t n = scores.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return scores[a] > scores[b]; });
  Groups g;
  if (item_group) item_group->assign(n, 0);
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t i = order[k];
    if (g.value.empty() || scores[i] != g.value.back()) {
      g.value.push_back(scores[i]);
      g.pos.push_back(0);
      g.neg.push_back(0);
    }
    (labels[i] ? g.pos : g.neg).back() += 1;
    if (item_group) (*item_group)[i] = static_cast<std::uint32_t>(g.value.size() - 1);
  }
  for (std::size_t k = 0; k < g.value.size(); ++k) {
    g.positives += g.pos[k];
    g.negatives += g.neg[k];
  }
  return g;
}

double ratio(std::int64_t a, std::int64_t b) { return static_cast<double>(a) / static_cast<double>(b); }

// The ECE bin of every group.
std::vector<std::uint8_t> group_bins(const Groups& g) {
  std::vector<std::uint8_t> bins(g.value.size());
  for (std::size_t k = 0; k < bins.size(); ++k) bins[k] = static_cast<std::uint8_t>(bin_of(g.value[k], kEceBins));
  return bins;
}

// All metrics of BinaryMetrics from the groups, in one walk over the thresholds (distinct
// scores, descending). `bins`: group_bins(g). `extras`: also the best F1 and the recalls at
// an FPR (not needed by the bootstrap).
BinaryMetrics metrics_of(const Groups& g, const std::vector<std::uint8_t>& bins, float threshold, bool extras) {
  BinaryMetrics m;
  m.threshold = threshold;
  const std::int64_t P = g.positives, N = g.negatives;
  m.n = P + N;
  m.positives = P;
  if (m.n == 0) return m;
  const std::size_t G = g.value.size();

  std::int64_t bin_n[kEceBins] = {}, bin_pos[kEceBins] = {};
  double bin_score[kEceBins] = {};
  std::int64_t tp = 0, fp = 0;
  // AUROC: the trapezoids in integers (2 * area * P * N). AP: sum over thresholds of
  // (R_k - R_{k-1}) * P_k = sum of pos_k * P_k, divided by P at the end.
  double twice_area = 0, ap = 0;
  double best_num = -1, best_den = 1;  // best F1 = 2 * best_num / best_den, compared exactly
  double rec1 = 0, rec5 = 0;           // the "nothing positive" threshold: recall 0 at FPR 0
  for (std::size_t k = 0; k < G; ++k) {
    const std::int64_t pos = g.pos[k], neg = g.neg[k];
    if (pos + neg == 0) continue;  // a score absent from a bootstrap resample
    const std::int64_t tp0 = tp;
    tp += pos;
    fp += neg;
    if (g.value[k] >= threshold) {  // descending: the threshold's confusion matrix so far
      m.tp = tp;
      m.fp = fp;
    }
    const int b = bins[k];
    bin_n[b] += pos + neg;
    bin_pos[b] += pos;
    bin_score[b] += static_cast<double>(pos + neg) * static_cast<double>(g.value[k]);
    twice_area += static_cast<double>(neg) * static_cast<double>(tp + tp0);
    if (pos > 0) ap += static_cast<double>(pos) * ratio(tp, tp + fp);
    if (extras && P > 0) {
      // F1 at this threshold = 2 tp / (tp + fp + P); only a strictly better one replaces the
      // best (ties keep the higher threshold, met first). The products are exact below 2^53.
      const double num = static_cast<double>(tp), den = static_cast<double>(tp + fp + P);
      if (num * best_den > best_num * den) {
        best_num = num;
        best_den = den;
        m.best_f1_threshold = static_cast<double>(g.value[k]);
      }
      if (N > 0) {
        const double fpr = ratio(fp, N), rec = ratio(tp, P);
        if (fpr <= 0.01) rec1 = std::max(rec1, rec);
        if (fpr <= 0.05) rec5 = std::max(rec5, rec);
      }
    }
  }
  m.fn = P - m.tp;
  m.tn = N - m.fp;

  m.accuracy = ratio(m.tp + m.tn, m.n);
  m.precision = m.tp + m.fp > 0 ? ratio(m.tp, m.tp + m.fp) : 0.0;
  m.recall = P > 0 ? ratio(m.tp, P) : 0.0;
  m.f1 = m.tp > 0 ? ratio(2 * m.tp, 2 * m.tp + m.fp + m.fn) : 0.0;
  if (N > 0) m.fpr = ratio(m.fp, N);
  double ece = 0;
  for (int b = 0; b < kEceBins; ++b)
    if (bin_n[b] > 0) ece += std::abs(static_cast<double>(bin_pos[b]) - bin_score[b]);
  m.ece = ece / static_cast<double>(m.n);
  if (P > 0 && N > 0) m.auroc = twice_area / (2.0 * static_cast<double>(P) * static_cast<double>(N));
  if (P > 0) m.average_precision = ap / static_cast<double>(P);
  if (extras && P > 0) {
    m.best_f1 = 2 * best_num / best_den;
    if (N > 0) {
      m.recall_at_fpr_1 = rec1;
      m.recall_at_fpr_5 = rec5;
    }
  }
  return m;
}

// numpy.percentile(values, 100 * q) with the default linear method; `values` sorted.
double percentile(const std::vector<double>& values, double q) {
  const double pos = q * static_cast<double>(values.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  const double t = pos - static_cast<double>(lo), a = values[lo], b = values[hi], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;  // numpy's _lerp
}

}  // namespace

BinaryMetrics binary_metrics(std::span<const int> labels, std::span<const float> scores, float threshold) {
  check_input(labels, scores);
  const Groups g = make_groups(labels, scores, nullptr);
  return metrics_of(g, group_bins(g), threshold, true);
}

MetricIntervals bootstrap_intervals(std::span<const int> labels, std::span<const float> scores, float threshold,
                                    int resamples, std::uint64_t seed, double alpha) {
  check_input(labels, scores);
  if (resamples < 1) throw Error(ErrorCode::invalid_argument, "bootstrap: resamples must be at least 1");
  if (!(alpha > 0 && alpha < 1)) throw Error(ErrorCode::invalid_argument, "bootstrap: alpha must be in (0, 1)");
  MetricIntervals out;
  const std::size_t n = labels.size();
  if (n == 0) return out;

  std::vector<std::uint32_t> item_group;
  Groups g = make_groups(labels, scores, &item_group);
  const std::size_t G = g.value.size();
  const std::vector<std::uint8_t> bins = group_bins(g);
  // Per item: its group times 2 plus its label, so that a draw touches one array.
  std::vector<std::uint32_t> slot(n);
  for (std::size_t i = 0; i < n; ++i) slot[i] = item_group[i] * 2 + static_cast<std::uint32_t>(labels[i]);

  enum { kAccuracy, kPrecision, kRecall, kF1, kFpr, kAuroc, kAp, kEce, kMetrics };
  std::vector<double> values[kMetrics];
  for (auto& v : values) v.reserve(static_cast<std::size_t>(resamples));
  std::vector<std::int64_t> counts(2 * G);  // per group: negatives, positives
  std::mt19937_64 rng(seed);
  for (int r = 0; r < resamples; ++r) {
    std::fill(counts.begin(), counts.end(), 0);
    // An index from the high bits of rng() * n (Lemire's multiply-shift): the same indices on
    // every platform, which std::uniform_int_distribution does not promise; the bias, at most
    // n / 2^64, is negligible.
    for (std::size_t j = 0; j < n; ++j)
      ++counts[slot[static_cast<std::size_t>((static_cast<unsigned __int128>(rng()) * n) >> 64)]];
    g.positives = g.negatives = 0;
    for (std::size_t k = 0; k < G; ++k) {
      g.neg[k] = counts[2 * k];
      g.pos[k] = counts[2 * k + 1];
      g.positives += g.pos[k];
      g.negatives += g.neg[k];
    }
    const BinaryMetrics m = metrics_of(g, bins, threshold, false);
    const std::optional<double>* fields[kMetrics] = {&m.accuracy, &m.precision, &m.recall, &m.f1,
                                                     &m.fpr,      &m.auroc,     &m.average_precision, &m.ece};
    for (int k = 0; k < kMetrics; ++k)
      if (*fields[k]) values[k].push_back(**fields[k]);
  }

  std::optional<Interval>* targets[kMetrics] = {&out.accuracy, &out.precision, &out.recall, &out.f1,
                                                &out.fpr,      &out.auroc,     &out.average_precision, &out.ece};
  for (int k = 0; k < kMetrics; ++k) {
    auto& v = values[k];
    if (v.empty() || 2 * v.size() < static_cast<std::size_t>(resamples)) continue;
    std::sort(v.begin(), v.end());
    *targets[k] = Interval{percentile(v, alpha / 2), percentile(v, 1 - alpha / 2)};
  }
  return out;
}

Curve roc_curve(std::span<const int> labels, std::span<const float> scores) {
  check_input(labels, scores);
  Curve c;
  if (labels.empty()) return c;
  const Groups g = make_groups(labels, scores, nullptr);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::size_t G = g.value.size();
  c.x.reserve(G + 1);
  c.y.reserve(G + 1);
  c.thresholds.reserve(G + 1);
  c.x.push_back(g.negatives > 0 ? 0.0 : nan);
  c.y.push_back(g.positives > 0 ? 0.0 : nan);
  c.thresholds.push_back(static_cast<double>(g.value[0]) + 1);  // sklearn 1.2: the highest score + 1
  std::int64_t tp = 0, fp = 0;
  for (std::size_t k = 0; k < G; ++k) {
    tp += g.pos[k];
    fp += g.neg[k];
    c.x.push_back(g.negatives > 0 ? ratio(fp, g.negatives) : nan);
    c.y.push_back(g.positives > 0 ? ratio(tp, g.positives) : nan);
    c.thresholds.push_back(static_cast<double>(g.value[k]));
  }
  return c;
}

Curve precision_recall_curve(std::span<const int> labels, std::span<const float> scores) {
  check_input(labels, scores);
  Curve c;
  if (labels.empty()) return c;
  const Groups g = make_groups(labels, scores, nullptr);
  const std::size_t G = g.value.size();
  c.x.resize(G + 1);
  c.y.resize(G + 1);
  c.thresholds.resize(G);
  // sklearn's order: thresholds ascending (recall decreasing), then the point (recall 0,
  // precision 1). Without positives the recall is 1 at every threshold.
  std::int64_t tp = 0, fp = 0;
  for (std::size_t k = 0; k < G; ++k) {
    tp += g.pos[k];
    fp += g.neg[k];
    const std::size_t at = G - 1 - k;
    c.x[at] = g.positives > 0 ? ratio(tp, g.positives) : 1.0;
    c.y[at] = ratio(tp, tp + fp);
    c.thresholds[at] = static_cast<double>(g.value[k]);
  }
  c.x[G] = 0.0;
  c.y[G] = 1.0;
  return c;
}

std::vector<ReliabilityBin> reliability_bins(std::span<const int> labels, std::span<const float> scores, int bins) {
  check_input(labels, scores);
  if (bins < 1 || bins > (1 << 28)) throw Error(ErrorCode::invalid_argument, "reliability_bins: bins must be in [1, 2^28]");
  std::vector<ReliabilityBin> out(static_cast<std::size_t>(bins));
  std::vector<std::int64_t> pos(out.size());
  for (int b = 0; b < bins; ++b) {
    out[b].low = static_cast<double>(b) / bins;
    out[b].high = static_cast<double>(b + 1) / bins;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto b = static_cast<std::size_t>(bin_of(scores[i], bins));
    ++out[b].n;
    out[b].mean_score += static_cast<double>(scores[i]);
    pos[b] += labels[i];
  }
  for (std::size_t b = 0; b < out.size(); ++b) {
    if (out[b].n == 0) continue;
    out[b].mean_score /= static_cast<double>(out[b].n);
    out[b].mean_label = ratio(pos[b], out[b].n);
  }
  return out;
}

}  // namespace safescan
