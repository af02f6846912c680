// Binary-classification metrics (src/bench/metrics.cpp) against scikit-learn 1.2.1.
//
// tests/data/metrics_golden.jsonl was written once by tests/data/make_metrics_golden.py with
// Debian's python3-sklearn (and numpy for the ECE, the best-F1 threshold and the recalls at an
// FPR, read off sklearn's curves). Every metric must match within 1e-9, with the same
// nullness, and both curves point by point.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "safescan/error.hpp"
#include "safescan/metrics.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using safescan::BinaryMetrics;
using safescan::Curve;
using safescan::Error;
using safescan::ErrorCode;

constexpr double kTol = 1e-9;

void expect_optional(const char* name, const std::optional<double>& got, const json& want) {
  SCOPED_TRACE(name);
  if (want.is_null()) {
    EXPECT_FALSE(got.has_value()) << name << " should be undefined, got " << *got;
  } else {
    ASSERT_TRUE(got.has_value()) << name << " should be " << want.get<double>();
    EXPECT_NEAR(*got, want.get<double>(), kTol) << name;
  }
}

// A curve coordinate: null in the file stands for sklearn's NaN.
void expect_series(const char* name, const std::vector<double>& got, const json& want) {
  SCOPED_TRACE(name);
  ASSERT_EQ(got.size(), want.size()) << name;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (want[i].is_null()) {
      EXPECT_TRUE(std::isnan(got[i])) << name << "[" << i << "] = " << got[i] << ", sklearn has NaN";
    } else {
      EXPECT_NEAR(got[i], want[i].get<double>(), kTol) << name << "[" << i << "]";
    }
  }
}

void expect_curve(const char* name, const Curve& got, const json& want) {
  SCOPED_TRACE(name);
  expect_series("x", got.x, want.at("x"));
  expect_series("y", got.y, want.at("y"));
  expect_series("thresholds", got.thresholds, want.at("thresholds"));
}

struct Slice {
  std::vector<int> labels;
  std::vector<float> scores;
};

// Scores that separate the classes somewhat, rounded to 2 decimals (many ties).
Slice random_slice(std::size_t n, double positive_rate, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution label(positive_rate);
  std::normal_distribution<double> noise(0.0, 1.0);
  Slice s;
  for (std::size_t i = 0; i < n; ++i) {
    const int y = label(rng) ? 1 : 0;
    const double z = 1.0 / (1.0 + std::exp(-2.0 * (1.5 * y + noise(rng) - 0.75)));
    s.labels.push_back(y);
    s.scores.push_back(static_cast<float>(std::round(z * 100) / 100));
  }
  return s;
}

// ---- parity with scikit-learn --------------------------------------------------------

TEST(MetricsGolden, MatchesScikitLearn) {
  const fs::path file = fs::path(SAFESCAN_SOURCE_DIR) / "tests/data/metrics_golden.jsonl";
  std::ifstream in(file);
  ASSERT_TRUE(in) << "cannot open " << file;
  std::string line;
  int line_no = 0, cases = 0, one_class = 0, big = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto c = json::parse(line);
    SCOPED_TRACE(file.filename().string() + ":" + std::to_string(line_no) + " " + c.value("name", std::string()));
    const auto labels = c.at("labels").get<std::vector<int>>();
    std::vector<float> scores;
    for (const auto& s : c.at("scores")) {
      const double d = s.get<double>();
      scores.push_back(static_cast<float>(d));
      ASSERT_EQ(static_cast<double>(scores.back()), d) << "scores must be float32 values";
    }
    const double t = c.at("threshold").get<double>();
    const auto threshold = static_cast<float>(t);
    ASSERT_EQ(static_cast<double>(threshold), t);

    const BinaryMetrics m = safescan::binary_metrics(labels, scores, threshold);
    EXPECT_EQ(m.threshold, threshold);
    EXPECT_EQ(m.n, c.at("n").get<std::int64_t>());
    EXPECT_EQ(m.positives, c.at("positives").get<std::int64_t>());
    EXPECT_EQ(m.tp, c.at("tp").get<std::int64_t>());
    EXPECT_EQ(m.fp, c.at("fp").get<std::int64_t>());
    EXPECT_EQ(m.tn, c.at("tn").get<std::int64_t>());
    EXPECT_EQ(m.fn, c.at("fn").get<std::int64_t>());
    expect_optional("accuracy", m.accuracy, c.at("accuracy"));
    expect_optional("precision", m.precision, c.at("precision"));
    expect_optional("recall", m.recall, c.at("recall"));
    expect_optional("f1", m.f1, c.at("f1"));
    expect_optional("fpr", m.fpr, c.at("fpr"));
    expect_optional("auroc", m.auroc, c.at("auroc"));
    expect_optional("average_precision", m.average_precision, c.at("average_precision"));
    expect_optional("ece", m.ece, c.at("ece"));
    expect_optional("best_f1_threshold", m.best_f1_threshold, c.at("best_f1_threshold"));
    expect_optional("best_f1", m.best_f1, c.at("best_f1"));
    expect_optional("recall_at_fpr_1", m.recall_at_fpr_1, c.at("recall_at_fpr_1"));
    expect_optional("recall_at_fpr_5", m.recall_at_fpr_5, c.at("recall_at_fpr_5"));
    expect_curve("roc", safescan::roc_curve(labels, scores), c.at("roc"));
    expect_curve("pr", safescan::precision_recall_curve(labels, scores), c.at("pr"));

    // The reliability diagram adds up to the ECE.
    if (!labels.empty()) {
      double ece = 0;
      std::int64_t total = 0;
      for (const auto& b : safescan::reliability_bins(labels, scores)) {
        total += b.n;
        ece += static_cast<double>(b.n) / static_cast<double>(labels.size()) * std::abs(b.mean_label - b.mean_score);
      }
      EXPECT_EQ(total, static_cast<std::int64_t>(labels.size()));
      EXPECT_NEAR(ece, c.at("ece").get<double>(), kTol);
    }
    ++cases;
    one_class += m.positives == 0 || m.positives == m.n;
    big += m.n >= 1000;
  }
  EXPECT_GE(cases, 60);
  EXPECT_GE(one_class, 6);
  EXPECT_GE(big, 5);
}

// ---- cases spelled out ---------------------------------------------------------------

TEST(MetricsBasics, HeaderExample) {
  const std::vector<int> labels = {0, 1, 1, 0};
  const std::vector<float> scores = {0.1f, 0.8f, 0.4f, 0.35f};
  const BinaryMetrics m = safescan::binary_metrics(labels, scores, 0.5f);
  EXPECT_EQ(m.n, 4);
  EXPECT_EQ(m.positives, 2);
  EXPECT_EQ(m.tp, 1);
  EXPECT_EQ(m.fp, 0);
  EXPECT_EQ(m.tn, 2);
  EXPECT_EQ(m.fn, 1);
  EXPECT_DOUBLE_EQ(*m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(*m.precision, 1.0);
  EXPECT_DOUBLE_EQ(*m.recall, 0.5);
  EXPECT_DOUBLE_EQ(*m.f1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*m.fpr, 0.0);
  EXPECT_DOUBLE_EQ(*m.auroc, 1.0);
  EXPECT_DOUBLE_EQ(*m.average_precision, 1.0);
  EXPECT_DOUBLE_EQ(*m.best_f1, 1.0);
  EXPECT_EQ(*m.best_f1_threshold, static_cast<double>(0.4f));
  EXPECT_DOUBLE_EQ(*m.recall_at_fpr_1, 1.0);
}

TEST(MetricsBasics, EmptySlice) {
  const BinaryMetrics m = safescan::binary_metrics({}, {}, 0.5f);
  EXPECT_EQ(m.n, 0);
  EXPECT_EQ(m.positives, 0);
  EXPECT_EQ(m.tp + m.fp + m.tn + m.fn, 0);
  EXPECT_FALSE(m.accuracy);
  EXPECT_FALSE(m.precision);
  EXPECT_FALSE(m.recall);
  EXPECT_FALSE(m.f1);
  EXPECT_FALSE(m.fpr);
  EXPECT_FALSE(m.auroc);
  EXPECT_FALSE(m.average_precision);
  EXPECT_FALSE(m.ece);
  EXPECT_FALSE(m.best_f1_threshold);
  EXPECT_FALSE(m.best_f1);
  EXPECT_FALSE(m.recall_at_fpr_1);
  EXPECT_FALSE(m.recall_at_fpr_5);
  EXPECT_TRUE(safescan::roc_curve({}, {}).x.empty());
  EXPECT_TRUE(safescan::precision_recall_curve({}, {}).thresholds.empty());
  const auto bins = safescan::reliability_bins({}, {});
  ASSERT_EQ(bins.size(), 15u);
  for (const auto& b : bins) EXPECT_EQ(b.n, 0);
  const auto ci = safescan::bootstrap_intervals({}, {}, 0.5f, 100, 1);
  EXPECT_FALSE(ci.accuracy);
  EXPECT_FALSE(ci.auroc);
  EXPECT_FALSE(ci.ece);
}

TEST(MetricsBasics, ReliabilityBinEdges) {
  // 0 and 1/15 (as a float, just above 1/15) and 1: the first bin is closed at 0, the others (lo, hi].
  const std::vector<int> labels = {1, 0, 1, 0};
  const std::vector<float> scores = {0.0f, 0.0666f, 0.0667f, 1.0f};
  const auto bins = safescan::reliability_bins(labels, scores, 15);
  ASSERT_EQ(bins.size(), 15u);
  EXPECT_EQ(bins[0].n, 2);
  EXPECT_EQ(bins[1].n, 1);
  EXPECT_EQ(bins[14].n, 1);
  EXPECT_DOUBLE_EQ(bins[0].low, 0.0);
  EXPECT_DOUBLE_EQ(bins[0].high, 1.0 / 15);
  EXPECT_DOUBLE_EQ(bins[14].high, 1.0);
  EXPECT_DOUBLE_EQ(bins[0].mean_label, 0.5);
  EXPECT_DOUBLE_EQ(bins[0].mean_score, (0.0 + static_cast<double>(0.0666f)) / 2);
  const auto two = safescan::reliability_bins(labels, scores, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].n, 3);
  EXPECT_EQ(two[1].n, 1);
}

TEST(MetricsBasics, BadInputThrows) {
  const std::vector<int> labels = {0, 1, 1};
  const std::vector<float> scores = {0.1f, 0.2f};
  const std::vector<int> bad_label = {0, 2};
  const std::vector<float> two = {0.1f, 0.2f};
  auto expect_invalid = [](auto&& f) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    }
  };
  expect_invalid([&] { safescan::binary_metrics(labels, scores); });
  expect_invalid([&] { safescan::binary_metrics(bad_label, two); });
  expect_invalid([&] { safescan::binary_metrics(std::vector<int>{-1}, std::vector<float>{0.5f}); });
  expect_invalid([&] { safescan::bootstrap_intervals(labels, scores, 0.5f, 10); });
  expect_invalid([&] { safescan::bootstrap_intervals(bad_label, two, 0.5f, 10); });
  expect_invalid([&] { safescan::roc_curve(labels, scores); });
  expect_invalid([&] { safescan::precision_recall_curve(bad_label, two); });
  expect_invalid([&] { safescan::reliability_bins(labels, scores); });
  expect_invalid([&] { safescan::reliability_bins(bad_label, two); });
  const std::vector<float> nan = {0.1f, std::numeric_limits<float>::quiet_NaN()};
  expect_invalid([&] { safescan::binary_metrics(std::vector<int>{0, 1}, nan); });
}

// ---- bootstrap -------------------------------------------------------------------------

void expect_same(const std::optional<safescan::Interval>& a, const std::optional<safescan::Interval>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (a) {
    EXPECT_EQ(a->low, b->low);
    EXPECT_EQ(a->high, b->high);
  }
}

TEST(MetricsBootstrap, DeterministicForASeed) {
  const Slice s = random_slice(500, 0.3, 7);
  const auto a = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 200, 42);
  const auto b = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 200, 42);
  expect_same(a.accuracy, b.accuracy);
  expect_same(a.precision, b.precision);
  expect_same(a.recall, b.recall);
  expect_same(a.f1, b.f1);
  expect_same(a.fpr, b.fpr);
  expect_same(a.auroc, b.auroc);
  expect_same(a.average_precision, b.average_precision);
  expect_same(a.ece, b.ece);
}

TEST(MetricsBootstrap, ContainsThePointEstimate) {
  const Slice s = random_slice(2000, 0.3, 11);
  const BinaryMetrics m = safescan::binary_metrics(s.labels, s.scores, 0.5f);
  const auto ci = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 500, 3);
  auto inside = [](const char* name, const std::optional<double>& v, const std::optional<safescan::Interval>& i) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(v);
    ASSERT_TRUE(i);
    EXPECT_LT(i->low, i->high);
    EXPECT_LE(i->low, *v);
    EXPECT_GE(i->high, *v);
    EXPECT_LT(i->high - i->low, 0.2);  // 2000 items: a few points wide
  };
  inside("accuracy", m.accuracy, ci.accuracy);
  inside("precision", m.precision, ci.precision);
  inside("recall", m.recall, ci.recall);
  inside("f1", m.f1, ci.f1);
  inside("fpr", m.fpr, ci.fpr);
  inside("auroc", m.auroc, ci.auroc);
  inside("average_precision", m.average_precision, ci.average_precision);
  inside("ece", m.ece, ci.ece);
  // Wider at 99% than at 95%.
  const auto wide = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 500, 3, 0.01);
  EXPECT_LE(wide.auroc->low, ci.auroc->low);
  EXPECT_GE(wide.auroc->high, ci.auroc->high);
}

// numpy.percentile(v, 100 * q), linear: the test's own version.
double numpy_percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

TEST(MetricsBootstrap, EqualsBinaryMetricsOfTheResamples) {
  // The documented draws, resampled explicitly and measured with binary_metrics: the same
  // intervals as the bootstrap's shortcut (which only recounts the sorted scores).
  const Slice s = random_slice(300, 0.2, 5);
  const int resamples = 120;
  const std::uint64_t seed = 77;
  std::mt19937_64 rng(seed);
  std::vector<double> auroc, ap, f1, ece;
  for (int r = 0; r < resamples; ++r) {
    Slice x;
    for (std::size_t j = 0; j < s.labels.size(); ++j) {
      const auto i = static_cast<std::size_t>((static_cast<unsigned __int128>(rng()) * s.labels.size()) >> 64);
      x.labels.push_back(s.labels[i]);
      x.scores.push_back(s.scores[i]);
    }
    const BinaryMetrics m = safescan::binary_metrics(x.labels, x.scores, 0.4f);
    auroc.push_back(*m.auroc);
    ap.push_back(*m.average_precision);
    f1.push_back(*m.f1);
    ece.push_back(*m.ece);
  }
  const auto ci = safescan::bootstrap_intervals(s.labels, s.scores, 0.4f, resamples, seed, 0.1);
  auto expect_interval = [](const char* name, const std::vector<double>& v, const std::optional<safescan::Interval>& i) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(i);
    EXPECT_NEAR(i->low, numpy_percentile(v, 0.05), 1e-12);
    EXPECT_NEAR(i->high, numpy_percentile(v, 0.95), 1e-12);
  };
  expect_interval("auroc", auroc, ci.auroc);
  expect_interval("average_precision", ap, ci.average_precision);
  expect_interval("f1", f1, ci.f1);
  expect_interval("ece", ece, ci.ece);
}

TEST(MetricsBootstrap, DifferentSeedsDiffer) {
  const Slice s = random_slice(500, 0.3, 7);
  const auto a = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 200, 1);
  const auto b = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 200, 2);
  ASSERT_TRUE(a.auroc && b.auroc && a.f1 && b.f1);
  EXPECT_TRUE(a.auroc->low != b.auroc->low || a.auroc->high != b.auroc->high);
  EXPECT_TRUE(a.f1->low != b.f1->low || a.f1->high != b.f1->high);
}

TEST(MetricsBootstrap, UndefinedMetricsHaveNoInterval) {
  // One class: no AUROC; all negative: no AP, while recall is 0 (zero_division) but defined.
  const std::vector<int> negatives(50, 0);
  std::vector<float> scores;
  for (int i = 0; i < 50; ++i) scores.push_back(static_cast<float>(i) / 50);
  const auto ci = safescan::bootstrap_intervals(negatives, scores, 0.5f, 100, 5);
  EXPECT_FALSE(ci.auroc);
  EXPECT_FALSE(ci.average_precision);
  EXPECT_TRUE(ci.accuracy);
  EXPECT_TRUE(ci.fpr);
  EXPECT_TRUE(ci.ece);
  ASSERT_TRUE(ci.recall);
  EXPECT_EQ(ci.recall->low, 0.0);
  EXPECT_EQ(ci.recall->high, 0.0);

  const std::vector<int> positives(50, 1);
  const auto cp = safescan::bootstrap_intervals(positives, scores, 0.5f, 100, 5);
  EXPECT_FALSE(cp.auroc);
  EXPECT_FALSE(cp.fpr);
  EXPECT_TRUE(cp.average_precision);

  // A single positive among 1000: about 63% of the resamples draw it, so AUROC and AP keep
  // an interval (defined in at least half of the resamples).
  std::vector<int> rare(1000, 0);
  rare[17] = 1;
  std::vector<float> rare_scores(1000, 0.2f);
  rare_scores[17] = 0.9f;
  const auto cr = safescan::bootstrap_intervals(rare, rare_scores, 0.5f, 200, 9);
  EXPECT_TRUE(cr.auroc);
  EXPECT_TRUE(cr.average_precision);
}

TEST(MetricsBootstrap, TimingOf1000ResamplesOn10k) {
  const Slice s = random_slice(10000, 0.3, 123);
  const auto start = std::chrono::steady_clock::now();
  const auto ci = safescan::bootstrap_intervals(s.labels, s.scores, 0.5f, 1000, 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(ci.auroc);
  std::cout << "[ timing ] bootstrap, 1000 resamples of 10000 items: " << seconds << " s\n";
}

}  // namespace
