// run_bench: labelled items through the engine, scored per detector and category, measured
// with the metrics of metrics.hpp per category, per source and pooled (docs/bench.md).
#include "safescan/bench.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include "evaluate/bench_internal.hpp"
#include "safescan/engine.hpp"
#include "safescan/error.hpp"
#include "safescan/labels.hpp"
#include "safescan/metrics.hpp"
#include "safescan/policy.hpp"
#include "safescan/runtime.hpp"
#include "safescan/sources.hpp"

namespace safescan {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace bench {

std::vector<ItemResult> score_items(const DetectorSet& detectors, const Policy& policy, const std::vector<LabelledItem>& items,
                                    const EngineOptions& options, const std::function<void(std::size_t)>& on_done) {
  std::vector<ItemResult> results(items.size());
  std::vector<bool> seen(items.size(), false);
  // Members of the same shard are read in one pass over it.
  std::map<std::string, std::map<std::string, std::size_t>> shards;  // shard -> member -> item
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!items[i].member.empty()) shards[items[i].path][items[i].member] = i;
  run_engine(
      detectors, policy, options,
      [&](Engine& engine) {
        for (std::size_t i = 0; i < items.size(); ++i) {
          if (!items[i].member.empty()) continue;
          SourceItem it;
          it.key = items[i].key;
          it.source = items[i].source;
          it.path = items[i].path;
          if (!engine.submit(std::move(it), i)) return;
        }
        for (const auto& [shard, members] : shards) {
          WorkUnit unit;
          unit.kind = SourceKind::tar;
          unit.source = unit.shard = shard;
          bool open = true;
          read_unit(unit, [&](SourceItem&& it) {
            if (it.error) {  // a damaged or missing shard: its members not read yet fail with its reason
              for (const auto& [member, i] : members) {
                if (seen[i]) continue;
                SourceItem failed;
                failed.key = items[i].key;
                failed.path = shard;
                failed.member = member;
                failed.error = it.error;
                seen[i] = true;
                if (!(open = engine.submit(std::move(failed), i))) return false;
              }
              return open;
            }
            const auto m = members.find(it.member);
            if (m == members.end() || seen[m->second]) return true;
            seen[m->second] = true;
            it.key = items[m->second].key;
            return open = engine.submit(std::move(it), m->second);
          });
          for (const auto& [member, i] : members) {
            if (seen[i] || !open) continue;
            SourceItem missing;
            missing.key = items[i].key;
            missing.path = shard;
            missing.member = member;
            missing.error = Error(ErrorCode::unreadable, "no member " + member + " in the shard", shard);
            seen[i] = true;
            if (!(open = engine.submit(std::move(missing), i))) break;
          }
        }
      },
      [&](std::vector<EngineResult>&& batch) {
        for (auto& r : batch) results[r.tag] = std::move(r.result);
        if (on_done) on_done(batch.size());
      });
  return results;
}

json metrics_json(const BinaryMetrics& m, const MetricIntervals* ci) {
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(); };
  json j = {{"n", m.n},
            {"positives", m.positives},
            {"threshold", m.threshold > 1.0f ? json() : json(m.threshold)},
            {"tp", m.tp},
            {"fp", m.fp},
            {"tn", m.tn},
            {"fn", m.fn},
            {"accuracy", opt(m.accuracy)},
            {"precision", opt(m.precision)},
            {"recall", opt(m.recall)},
            {"f1", opt(m.f1)},
            {"fpr", opt(m.fpr)},
            {"auroc", opt(m.auroc)},
            {"average_precision", opt(m.average_precision)},
            {"ece", opt(m.ece)},
            {"best_f1_threshold", opt(m.best_f1_threshold)},
            {"best_f1", opt(m.best_f1)},
            {"recall_at_fpr_1", opt(m.recall_at_fpr_1)},
            {"recall_at_fpr_5", opt(m.recall_at_fpr_5)}};
  if (ci) {
    json c = json::object();
    auto put = [&](const char* name, const std::optional<Interval>& v) { c[name] = v ? json::array({v->low, v->high}) : json(); };
    put("accuracy", ci->accuracy);
    put("precision", ci->precision);
    put("recall", ci->recall);
    put("f1", ci->f1);
    put("fpr", ci->fpr);
    put("auroc", ci->auroc);
    put("average_precision", ci->average_precision);
    put("ece", ci->ece);
    j["ci95"] = std::move(c);
  }
  return j;
}

json slice_json(const Slice& s, int bootstrap, std::uint64_t seed) {
  const BinaryMetrics m = binary_metrics(s.labels, s.scores, s.threshold);
  if (bootstrap <= 0 || s.labels.empty()) return metrics_json(m, nullptr);
  const MetricIntervals ci = bootstrap_intervals(s.labels, s.scores, s.threshold, bootstrap, seed);
  return metrics_json(m, &ci);
}

json curves_json(const Slice& s) {
  json j;
  if (s.labels.empty()) return j;
  const Curve roc = roc_curve(s.labels, s.scores), pr = precision_recall_curve(s.labels, s.scores);
  j["roc"] = {{"fpr", roc.x}, {"tpr", roc.y}};
  j["pr"] = {{"recall", pr.x}, {"precision", pr.y}};
  json bins = json::array();
  for (const auto& b : reliability_bins(s.labels, s.scores))
    bins.push_back({{"low", b.low}, {"high", b.high}, {"n", b.n}, {"mean_score", b.mean_score}, {"mean_label", b.mean_label}});
  j["reliability"] = std::move(bins);
  return j;
}

float decision_threshold(const Policy& policy, const std::string& detector, const std::string& category) {
  const Policy::Thresholds t = policy.thresholds(detector, category);
  float th = 2.0f;  // never: the policy neither reviews nor blocks
  if (t.review) th = std::min(th, *t.review);
  if (t.block) th = std::min(th, *t.block);
  return th;
}

std::optional<Point> point_of(const ItemResult& r, const std::string& detector, const std::string& category,
                              const Policy& policy) {
  if (canonical_category(category)) {
    for (const auto& c : r.categories)
      if (c.detector == detector && c.category == category) return Point{c.score, decision_threshold(policy, detector, category)};
    return std::nullopt;  // a category this detector does not cover
  }
  // No category (or free text): the detector's highest category score.
  std::optional<Point> best;
  for (const auto& c : r.categories)
    if (c.detector == detector && (!best || c.score > best->score)) best = Point{c.score, decision_threshold(policy, detector, "")};
  return best;
}

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace bench

using namespace bench;

namespace {

// One measured thing: a detector of the set, or another classifier's predictions file.
struct Measured {
  std::string name, kind, spec;
  std::vector<std::string> covers;  // categories it is scored on
  bool all_categories = false;      // a predictions file: every category
};

json data_json(const std::vector<LabelledItem>& items, const std::vector<ItemResult>& results, const BenchConfig& cfg) {
  json d;
  std::int64_t unsafe = 0, failed = 0;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> cats, sources;
  for (std::size_t i = 0; i < items.size(); ++i) {
    unsafe += items[i].label;
    if (!results.empty() && !results[i].ok) ++failed;
    auto& c = cats[items[i].category.empty() ? "(none)" : items[i].category];
    ++c.first;
    c.second += items[i].label;
    auto& s = sources[items[i].source.empty() ? "(none)" : items[i].source];
    ++s.first;
    s.second += items[i].label;
  }
  d["items"] = items.size();
  d["unsafe"] = unsafe;
  d["safe"] = static_cast<std::int64_t>(items.size()) - unsafe;
  d["failed"] = failed;
  for (const auto& [name, n] : cats) d["categories"][name] = {{"items", n.first}, {"unsafe", n.second}};
  for (const auto& [name, n] : sources) d["sources"][name] = {{"items", n.first}, {"unsafe", n.second}};
  d["labels"] = !cfg.manifest.empty() ? cfg.manifest.string() : cfg.folder.string();
  return d;
}

}  // namespace

json run_bench(const BenchConfig& cfg) {
  if (!cfg.manifest.empty() && !cfg.folder.empty())
    throw Error(ErrorCode::invalid_argument, "give labelled data either as a manifest or as a folder, not both");
  if (cfg.manifest.empty() && cfg.folder.empty() && cfg.hard_negatives.empty())
    throw Error(ErrorCode::invalid_argument,
                "nothing to measure: give labelled data (--manifest FILE or --folder ROOT) or --hard-negatives DIR");
  if (cfg.bootstrap < 0) throw Error(ErrorCode::invalid_argument, "--bootstrap must be 0 or more");
  for (const int s : cfg.severities)
    if (s < 1 || s > 5) throw Error(ErrorCode::invalid_argument, "severities are 1 to 5, not " + std::to_string(s));

  std::vector<LabelledItem> items;
  if (!cfg.manifest.empty()) items = read_labels(cfg.manifest);
  if (!cfg.folder.empty()) items = read_label_folder(cfg.folder);
  if ((!cfg.manifest.empty() || !cfg.folder.empty()) && items.empty())
    throw Error(ErrorCode::invalid_argument, "the labelled data holds no item", (cfg.manifest.empty() ? cfg.folder : cfg.manifest).string());
  std::vector<std::pair<std::string, std::map<std::string, float>>> predictions;
  for (const auto& [name, file] : cfg.predictions) predictions.emplace_back(name, read_predictions(file));

  Policy policy = cfg.policy.empty() ? Policy::builtin() : Policy::load(cfg.policy);
  if (cfg.threshold) policy.set_block_threshold(*cfg.threshold);
  std::optional<DetectorSet> detectors;
  if (!cfg.detectors.empty()) detectors = load_detectors(parse_detector_specs(cfg.detectors), cfg.detector_options);

  EngineOptions eo;
  eo.max_batch = static_cast<std::size_t>(std::max(1, cfg.batch));
  eo.workers = cfg.threads > 0 ? static_cast<unsigned>(cfg.threads) : 0;
  eo.decode = cfg.decode;
  eo.ordered = true;

  json out;
  out["schema"] = 1;
  out["created"] = now_utc();
  out["version"] = SAFESCAN_VERSION;
  out["policy"] = json::parse(policy.to_json());

  // Effectiveness.
  std::vector<ItemResult> results;
  double seconds = 0;
  if (detectors && !items.empty()) {
    Progress progress("scoring", items.size(), cfg.progress);
    const auto t0 = std::chrono::steady_clock::now();
    results = score_items(*detectors, policy, items, eo, [&](std::size_t n) { progress.add(n); });
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  if (!items.empty()) out["data"] = data_json(items, results, cfg);

  std::vector<Measured> measured;
  if (detectors)
    for (const auto& d : detectors->detectors())
      if (!d.annotator) measured.push_back({d.name, "detector", d.spec, d.categories, false});
  for (const auto& [name, _] : predictions) measured.push_back({name, "predictions", "", {}, true});

  json& out_detectors = out["detectors"];
  out_detectors = json::object();
  for (std::size_t mi = 0; mi < measured.size(); ++mi) {
    const Measured& m = measured[mi];
    json d;
    d["kind"] = m.kind;
    if (!m.spec.empty()) d["spec"] = m.spec;
    d["covers"] = m.all_categories ? json("all") : json(m.covers);
    const float default_threshold =
        m.kind == "detector" ? decision_threshold(policy, m.name, "") : cfg.threshold.value_or(0.5f);
    d["threshold"] = default_threshold > 1.0f ? json() : json(default_threshold);
    if (m.kind == "detector" && seconds > 0) d["images_per_second"] = static_cast<double>(items.size()) / seconds;

    // Each item's point for this measured thing.
    const std::map<std::string, float>* pred = m.kind == "predictions" ? &predictions[mi - (measured.size() - predictions.size())].second : nullptr;
    std::int64_t not_scored = 0, missing = 0;
    Slice overall;
    overall.threshold = default_threshold;
    std::map<std::string, Slice> by_category, by_source;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const LabelledItem& it = items[i];
      const bool canonical = canonical_category(it.category).has_value();
      std::optional<Point> p;
      if (pred) {
        const auto f = pred->find(it.key);
        if (f == pred->end()) {
          ++missing;
          continue;
        }
        p = Point{f->second, default_threshold};
      } else {
        const ItemResult& r = results[i];
        if (!r.ok) continue;
        p = point_of(r, m.name, it.category, policy);
        if (!p) {
          if (canonical) ++not_scored;  // a category this detector does not cover
          continue;
        }
      }
      overall.add(it.label, p->score);
      if (!it.category.empty()) {
        Slice& s = by_category[it.category];
        s.threshold = p->threshold;
        s.add(it.label, p->score);
      }
      Slice& s = by_source[it.source.empty() ? "(none)" : it.source];
      s.threshold = default_threshold;
      s.add(it.label, p->score);
    }
    if (!items.empty()) {
      d["overall"] = slice_json(overall, cfg.bootstrap, cfg.seed);
      d["curves"] = curves_json(overall);
      json bc = json::object(), bs = json::object();
      for (const auto& [c, s] : by_category) bc[c] = slice_json(s, cfg.bootstrap, cfg.seed);
      for (const auto& [src, s] : by_source) bs[src] = slice_json(s, cfg.bootstrap, cfg.seed);
      d["by_category"] = std::move(bc);
      d["by_source"] = std::move(bs);
      d["not_scored"] = not_scored;  // items of categories it does not cover
      if (pred) d["missing_predictions"] = missing;
      if (missing) spdlog::warn("{}: no prediction for {} of {} items (left out)", m.name, missing, items.size());
    }
    out_detectors[m.name] = std::move(d);
  }

  if (detectors && !cfg.hard_negatives.empty()) measure_hard_negatives(cfg, *detectors, policy, eo, out);
  if (detectors && !cfg.corruptions.empty() && !items.empty()) measure_robustness(cfg, *detectors, policy, eo, items, results, out);
  if (detectors && !cfg.attacks.empty() && !items.empty()) measure_attacks(cfg, *detectors, policy, eo, items, results, out);
  out["config"] = {{"detectors", cfg.detectors},
                   {"predictions", json::array()},
                   {"bootstrap", cfg.bootstrap},
                   {"seed", cfg.seed},
                   {"threshold", cfg.threshold ? json(*cfg.threshold) : json()},
                   {"policy_file", cfg.policy.string()}};
  for (const auto& [name, file] : cfg.predictions) out["config"]["predictions"].push_back({{"name", name}, {"file", file.string()}});
  return out;
}

}  // namespace safescan
