// safescan/store.hpp - the results of scans in one SQLite database (WAL mode).
//
//   auto db = safescan::ResultStore::open("scan.db");
//   std::int64_t run = db.begin_run(info);
//   db.write_batch(run, records);          // one transaction; items already present are kept
//   db.end_run(run, "complete");
//
// Schema (docs/results-store.md): runs, items, scores, faces, decisions, units, score_columns.
// An item is identified by (path, member): the absolute file path and "" for files, the shard
// path and the member name for tar members, the .npy path and row for embeddings. The UNIQUE
// constraint on that pair plus one transaction per batch is what makes resume exactly-once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "safescan/error.hpp"
#include "safescan/result.hpp"

namespace safescan {

struct RunInfo {
  std::string started;      // ISO 8601 UTC; filled by begin_run when empty
  std::string version;      // safescan version
  std::string command;      // the command line
  std::string config_json;  // detectors, thresholds, batch, threads, precision, sources ...
  std::string models_json;  // [{"name":..., "file":..., "sha256":...}, ...]
  std::string host;         // hostname
  int rank = 0, ranks = 1;  // MPI rank and world size (0 / 1 without MPI)
};

struct RunRecord {
  std::int64_t id = 0;
  RunInfo info;
  std::string ended;   // "" while running or after a crash
  std::string status;  // "running", "complete", "interrupted", "failed"
  std::int64_t items_ok = 0, items_failed = 0;
};

enum class OpenMode { create, read_write, read_only };

class ResultStore {
 public:
  // create: creates the file and the schema when missing, opens it otherwise (checking the
  // schema version). read_write: the file must exist. read_only: for exports and reports.
  // Sets WAL mode, synchronous=NORMAL, a busy timeout. Throws Error(unreadable) when the file
  // cannot be opened, Error(invalid_argument) when it is not a safescan database.
  static ResultStore open(const std::filesystem::path& file, OpenMode mode = OpenMode::create);

  ResultStore(ResultStore&&) noexcept;
  ResultStore& operator=(ResultStore&&) noexcept;
  ~ResultStore();

  const std::filesystem::path& file() const;

  std::int64_t begin_run(RunInfo info);
  void end_run(std::int64_t run, std::string_view status);  // also stores the run's counts
  std::vector<RunRecord> runs() const;

  // Writes items with their scores and faces in ONE transaction. An item whose (path, member)
  // is already present is left unchanged (with its scores): writing a batch twice is a no-op.
  // Returns how many items were new.
  std::size_t write_batch(std::int64_t run, const std::vector<ItemResult>& items);

  // Whether (path, member) is already stored (any status).
  bool contains(std::string_view path, std::string_view member) const;

  // Work units whose items were all written (tar shards, embedding slices, file chunks).
  // nullopt when (path, member) is not stored; else whether its status is ok.
  std::optional<bool> item_ok(std::string_view path, std::string_view member) const;

  // `failed`: how many of the unit's items are stored with status error (so that a resumed
  // scan that skips the unit still knows some of its items failed).
  void mark_unit_done(std::int64_t run, std::string_view unit_id, std::int64_t failed = 0);
  bool unit_done(std::string_view unit_id) const;
  // nullopt when the unit is not complete; else its number of failed items.
  std::optional<std::int64_t> unit_failed(std::string_view unit_id) const;

  std::int64_t count_items() const;
  std::int64_t count_failed() const;

  // Visits items in id order with their scores, faces and latest review decision. Streams:
  // one item in memory at a time.
  void for_each_item(const std::function<void(const ItemResult&)>& visit) const;

  // The distinct (detector, category) pairs of the scores table, sorted by detector then
  // category (kept in a small table by write_batch and merge_stores: cheap on large stores).
  std::vector<std::pair<std::string, std::string>> score_columns() const;

  // A ResultStore (its connection and cached statements) is used by one thread at a time.

 private:
  ResultStore();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Copies the runs, items (with scores and faces), units and decisions of each part into
// `dest` (created when missing), skipping items `dest` already holds, in one transaction per
// part. Returns the number of new items. Parts are opened read-only and left in place.
std::size_t merge_stores(const std::filesystem::path& dest, const std::vector<std::filesystem::path>& parts);

enum class ExportFormat { csv, jsonl, q16, removal_list };

class Policy;

struct ExportOptions {
  std::optional<std::string> detector;  // only this detector's scores decide "flagged"
  std::optional<std::string> category;  // only this category (a category name, or a raw output like "porn")
  // When set, an item is flagged when a (selected) score >= min_score; otherwise when a
  // (selected) category was not allowed by the policy (or a raw score counted towards one).
  std::optional<float> min_score;
  // Decide again with this policy from the stored category scores (nullptr: the scan's decisions).
  const Policy* policy = nullptr;
};

// csv: one row per item: key,source,path,member,status,error,width,height,faces, then one
//      column per detector/category seen ("nsfw-mobilenet-v2/porn" ...), RFC 4180 quoting.
// jsonl: one object per item, the row `safescan classify` prints (result.hpp, docs/results.md);
//      the selection options do not change it.
// q16: Q16's inappropriate_images.csv layout, flagged items only: label,class_idx,score,filename
// removal_list: the key of each flagged item (the path for files), one per line.
void export_results(const ResultStore& store, ExportFormat format, const ExportOptions& options, std::ostream& out);
ExportFormat parse_export_format(std::string_view name);  // throws Error(invalid_argument)

}  // namespace safescan
