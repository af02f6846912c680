// run_scan: one process's scan, the engine between the work units and the results store.
//
//   reader (the engine's producer): units from the feed, resume filter, items submitted with
//   their unit -> engine (decode workers, batched inference, policy) -> sink: one transaction
//   per batch, units marked complete once all their items are stored.
#include <spdlog/spdlog.h>

#include <chrono>

#include "safescan/engine.hpp"
#include "safescan/error.hpp"
#include "safescan/runtime.hpp"
#include "scan/progress.hpp"
#include "scan/scan_internal.hpp"
#include "scan/unit_tracker.hpp"

namespace safescan {

namespace fs = std::filesystem;
using namespace scanning;

namespace {

nlohmann::json models_json(const DetectorSet& set) {
  nlohmann::json models = nlohmann::json::array();
  for (const ModelInfo& m : set.models()) {
    nlohmann::json j = {{"name", m.name}, {"path", m.path}};
    if (!m.sha256.empty()) j["sha256"] = m.sha256;
    if (!m.files.empty()) j["files"] = m.files;
    models.push_back(std::move(j));
  }
  return models;
}

}  // namespace

namespace scanning {

LoadedScan load_scan_detectors(const ScanConfig& cfg) {
  const SourceHints hints = source_hints(cfg.sources);
  DetectorOptions options = cfg.detector_options;
  if (hints.embeddings_only) options.embeddings_dim = hints.embeddings_dim;
  const std::string spec = cfg.detectors.empty() ? default_detectors("scan", hints.embeddings_only) : cfg.detectors;
  LoadedScan loaded{load_detectors(parse_detector_specs(spec), options),
                    cfg.policy.empty() ? Policy::builtin() : Policy::load(cfg.policy), {}};
  if (cfg.threshold) loaded.policy.set_block_threshold(*cfg.threshold);
  loaded.config = {{"detectors", loaded.detectors.names()}, {"spec", spec}, {"policy", nlohmann::json::parse(loaded.policy.to_json())}};
  if (!options.clip_precision.empty()) loaded.config["clip_precision"] = options.clip_precision;
  return loaded;
}

}  // namespace scanning

ScanStats run_scan(const ScanConfig& cfg, WorkFeed& feed, const fs::path& write_db, const fs::path& filter_db_path) {
  const auto started = std::chrono::steady_clock::now();
  configure_runtime(cfg.model_threads);
  const LoadedScan loaded = load_scan_detectors(cfg);

  ResultStore store = ResultStore::open(write_db, OpenMode::create);
  RunInfo info = make_run_info(cfg, loaded.config, models_json(loaded.detectors));
  const std::int64_t run = store.begin_run(info);
  const fs::path filter_path = filter_db_path.empty() ? write_db : filter_db_path;
  std::optional<ResultStore> filter;
  if (std::error_code ec; fs::exists(filter_path, ec)) filter.emplace(ResultStore::open(filter_path, OpenMode::read_only));

  EngineOptions options;
  options.max_batch = static_cast<std::size_t>(std::max(1, cfg.batch));
  options.workers = cfg.threads > 0 ? static_cast<unsigned>(cfg.threads) : 0;
  options.decode = cfg.decode;
  options.ordered = true;  // items are stored in input order: an export lists them as classify does

  UnitTracker tracker;
  ScanCounters counters;
  ScanStats stats;
  ProgressReporter progress(
      counters, [&] { return ProgressTotal{feed.items_known(), feed.total_known()}; }, cfg.progress,
      cfg.progress_interval_ms, progress_prefix(info));

  auto produce = [&](Engine& engine) {
    while (!scan_stop_requested()) {
      std::optional<WorkUnit> unit = feed.next();
      if (!unit) break;
      const std::string id = unit->id();
      if (auto failed = filter ? filter->unit_failed(id) : std::nullopt) {
        ++stats.units_skipped;
        stats.skipped_failed += static_cast<std::size_t>(*failed);
        continue;
      }
      const std::size_t u = tracker.open(id);
      bool complete = true;
      read_unit(*unit, [&](SourceItem&& item) {
        if (scan_stop_requested()) return complete = false;
        if (auto ok = filter ? filter->item_ok(item.path, item.member) : std::nullopt) {
          ++counters.skipped;
          if (!*ok) {
            ++stats.skipped_failed;
            tracker.add_failed(u);
          }
          return true;
        }
        tracker.add_item(u);
        if (engine.submit(std::move(item), u)) return true;
        return complete = false;  // the engine stopped taking items (its sink failed)
      });
      tracker.finish_reading(u, complete);
      if (!complete) break;
    }
  };
  auto write = [&](std::vector<EngineResult>&& batch) {
    std::vector<ItemResult> results;
    results.reserve(batch.size());
    for (auto& r : batch) results.push_back(std::move(r.result));
    store.write_batch(run, results);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ++(results[i].ok ? counters.ok : counters.failed);
      if (!results[i].ok) tracker.add_failed(batch[i].tag);
      tracker.item_written(batch[i].tag);
    }
    for (const auto& u : tracker.take_completed()) store.mark_unit_done(run, u.id, u.failed);
  };

  try {
    run_engine(loaded.detectors, loaded.policy, options, produce, write);
    for (const auto& u : tracker.take_completed()) store.mark_unit_done(run, u.id, u.failed);
  } catch (...) {
    progress.stop();
    store.end_run(run, "failed");
    throw;
  }
  progress.stop();

  stats.ok = counters.ok;
  stats.failed = counters.failed;
  stats.skipped = counters.skipped;
  stats.interrupted = scan_stop_requested();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  store.end_run(run, stats.interrupted ? "interrupted" : "complete");
  return stats;
}

}  // namespace safescan
