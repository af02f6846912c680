// run_scan: the stages of one process's scan, joined by bounded queues.
//
//   reader (1 thread)  -> tasks -> decode workers (N) -> prepared -> inference (caller's
//   thread, batches) -> writes -> writer (1 thread, one transaction per batch)
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <new>
#include <thread>

#include "core/sha256.hpp"
#include "pipeline/bounded_queue.hpp"
#include "pipeline/detector_set.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/scan_internal.hpp"
#include "pipeline/unit_tracker.hpp"
#include "safescan/error.hpp"
#include "safescan/runtime.hpp"
#include "safescan/scan.hpp"
#include "safescan/store.hpp"

namespace safescan {

namespace fs = std::filesystem;
using namespace pipeline;

namespace {

struct Task {
  SourceItem item;
  std::size_t unit = 0;
};

struct Prepared {
  ItemRecord record;
  std::vector<float> input;      // preprocessed pixels for every backbone (empty: no inference)
  std::vector<float> embedding;  // precomputed CLIP embedding
  std::size_t unit = 0;
};

struct WriteBatch {
  std::vector<ItemRecord> records;
  std::vector<std::size_t> units;
};

void fail(ItemRecord& r, ErrorCode code, const std::string& message) {
  r.ok = false;
  r.error_code = std::string(to_string(code));
  r.error_message = message;
}

// Size of the image as stored, upright (EXIF orientations 5-8 swap the sides).
std::pair<int, int> upright_size(const Image& img) {
  if (img.source_width <= 0 || img.source_height <= 0) return {img.width, img.height};
  if (img.exif_orientation >= 5 && img.exif_orientation <= 8) return {img.source_height, img.source_width};
  return {img.source_width, img.source_height};
}

// The decode worker's job for one item: read, hash, decode, preprocess, faces.
Prepared prepare(Task&& task, const DetectorSet& set, const DecodeOptions& decode) {
  Prepared p;
  p.unit = task.unit;
  SourceItem& it = task.item;
  ItemRecord& r = p.record;
  r.key = std::move(it.key);
  r.source = std::move(it.source);
  r.path = std::move(it.path);
  r.member = std::move(it.member);
  r.meta_json = std::move(it.meta_json);
  if (it.error) {
    fail(r, it.error->code(), it.error->what());
    return p;
  }
  if (!it.embedding.empty()) {
    p.embedding = std::move(it.embedding);
    return p;
  }
  const std::string where = r.member.empty() ? r.path : r.path + ":" + r.member;
  try {
    std::vector<std::uint8_t> bytes = r.member.empty() ? read_file_bytes(r.path, decode.max_file_bytes) : std::move(it.bytes);
    r.bytes = static_cast<std::int64_t>(bytes.size());
    r.sha256 = sha256_hex(bytes.data(), bytes.size());
    if (!set.has_image_models()) {
      const ImageInfo info = probe_image(bytes);
      r.width = info.width;
      r.height = info.height;
      r.format = std::string(to_string(info.format));
      return p;
    }
    const Image img = decode_image(bytes, decode, where);
    bytes = {};
    const auto [w, h] = upright_size(img);
    r.width = w;
    r.height = h;
    r.format = std::string(to_string(img.format));
    p.input.resize(set.floats_per_item());
    set.preprocess(img, p.input.data());
    set.detect_faces(img, w, h, r);
  } catch (const Error& e) {
    fail(r, e.code(), e.what());
    p.input.clear();
  } catch (const std::bad_alloc&) {
    fail(r, ErrorCode::too_large, "out of memory while decoding " + where);
    p.input.clear();
  } catch (const std::exception& e) {
    fail(r, ErrorCode::internal, std::string(e.what()) + " (" + where + ")");
    p.input.clear();
  }
  return p;
}

// Runs the batch's backbones; a model failure marks the batch's items failed, not the scan.
WriteBatch infer(std::vector<Prepared>& batch, const DetectorSet& set) {
  std::vector<const float*> inputs;
  std::vector<ItemRecord*> records;
  for (auto& p : batch) {
    if (!p.record.ok) continue;
    if (!p.input.empty()) {
      inputs.push_back(p.input.data());
      records.push_back(&p.record);
    } else if (!p.embedding.empty()) {
      if (set.embed_dim() && static_cast<int>(p.embedding.size()) != set.embed_dim()) {
        fail(p.record, ErrorCode::invalid_argument,
             "embedding has " + std::to_string(p.embedding.size()) + " values, the detectors take " +
                 std::to_string(set.embed_dim()));
      } else {
        set.score_embedding(p.embedding.data(), p.record);
      }
    }
  }
  try {
    set.run_batch(inputs, records);
  } catch (const std::exception& e) {
    for (auto* r : records) {
      r->scores.clear();
      fail(*r, ErrorCode::internal, std::string("inference failed: ") + e.what());
    }
  }
  WriteBatch out;
  for (auto& p : batch) {
    out.records.push_back(std::move(p.record));
    out.units.push_back(p.unit);
  }
  return out;
}

}  // namespace

ScanStats run_scan(const ScanConfig& cfg, WorkFeed& feed, const fs::path& write_db, const fs::path& filter_db_path) {
  const auto started = std::chrono::steady_clock::now();
  configure_runtime(cfg.model_threads);
  const DetectorSet set = DetectorSet::load(cfg, source_hints(cfg.sources));
  DecodeOptions decode = cfg.decode;
  decode.min_side_hint = set.min_side_hint();

  ResultStore store = ResultStore::open(write_db, OpenMode::create);
  RunInfo info = make_run_info(cfg, set.describe_config(), set.describe_models());
  const std::int64_t run = store.begin_run(info);
  const fs::path filter_path = filter_db_path.empty() ? write_db : filter_db_path;
  std::optional<ResultStore> filter;
  if (std::error_code ec; fs::exists(filter_path, ec)) filter.emplace(ResultStore::open(filter_path, OpenMode::read_only));

  const std::size_t batch_size = static_cast<std::size_t>(std::max(1, cfg.batch));
  const unsigned workers = cfg.threads > 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  BoundedQueue<Task> tasks(4 * batch_size + workers, 256u << 20);
  BoundedQueue<Prepared> prepared(2 * batch_size + workers);
  BoundedQueue<WriteBatch> writes(2);
  UnitTracker tracker;
  ScanCounters counters;
  ScanStats stats;
  std::exception_ptr writer_error, reader_error;

  ProgressReporter progress(
      counters, [&] { return ProgressTotal{feed.items_known(), feed.total_known()}; }, cfg.progress,
      cfg.progress_interval_ms, progress_prefix(info));

  std::thread reader([&] {
    try {
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
          const std::size_t bytes = item.bytes.size() + item.embedding.size() * sizeof(float);
          return tasks.push(Task{std::move(item), u}, bytes);
        });
        tracker.finish_reading(u, complete);
      }
    } catch (...) {
      reader_error = std::current_exception();
    }
    tasks.close();
  });

  std::atomic<unsigned> live_workers{workers};
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      while (auto t = tasks.pop()) prepared.push(prepare(std::move(*t), set, decode));
      if (--live_workers == 0) prepared.close();
    });
  }

  std::thread writer([&] {
    try {
      while (auto b = writes.pop()) {
        store.write_batch(run, b->records);
        for (std::size_t i = 0; i < b->records.size(); ++i) {
          ++(b->records[i].ok ? counters.ok : counters.failed);
          if (!b->records[i].ok) tracker.add_failed(b->units[i]);
          tracker.item_written(b->units[i]);
        }
        for (const auto& u : tracker.take_completed()) store.mark_unit_done(run, u.id, u.failed);
      }
      for (const auto& u : tracker.take_completed()) store.mark_unit_done(run, u.id, u.failed);
    } catch (...) {
      writer_error = std::current_exception();
      request_scan_stop();
      while (writes.pop()) {
      }
    }
  });

  std::vector<Prepared> batch;
  for (;;) {
    batch.clear();
    auto first = prepared.pop();
    if (!first) break;
    batch.push_back(std::move(*first));
    while (batch.size() < batch_size) {
      auto p = prepared.pop();
      if (!p) break;
      batch.push_back(std::move(*p));
    }
    writes.push(infer(batch, set));
  }
  writes.close();
  reader.join();
  for (auto& t : pool) t.join();
  writer.join();
  progress.stop();

  stats.ok = counters.ok;
  stats.failed = counters.failed;
  stats.skipped = counters.skipped;
  stats.interrupted = scan_stop_requested();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& error : {reader_error, writer_error}) {
    if (!error) continue;
    store.end_run(run, "failed");
    std::rethrow_exception(error);
  }
  store.end_run(run, stats.interrupted ? "interrupted" : "complete");
  return stats;
}

}  // namespace safescan
