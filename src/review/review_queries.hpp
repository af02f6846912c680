// The review app's reads of the scan database: the flagged items under a filter, sorted by
// score, with each item's current decision; progress counts; where an item's bytes are.
// One read-only connection; the caller serialises access (ReviewServer holds a mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset/sqlite.hpp"

namespace safescan::review {

// Which scores flag an item. Like `safescan export`: a score row of the selected detector /
// category flags its item when it was flagged at scan time, or, with min_score, when
// score >= min_score. An item's score is the highest of its flagging rows.
struct Filter {
  std::optional<std::string> detector, category;
  std::optional<float> min_score;
  std::string decision = "any";  // any, undecided, keep, remove, skip (the item's current decision)
};

struct ItemLocation {
  std::string key, path, member, status, format;
};

class Queries {
 public:
  explicit Queries(const std::filesystem::path& db);

  // {"items", "failed", "columns": [{"detector","category"}], "detectors": [...],
  //  "categories": [...], "decisions": n}
  nlohmann::json summary();
  std::vector<std::pair<std::string, std::string>> columns();
  // {"total": matching items, "items": [{id, key, width, height, format, bytes, faces, score,
  //  detector, category, decision, reviewer, decided_at, note}]}
  nlohmann::json items(const Filter& filter, std::int64_t offset, std::int64_t limit);
  // {"flagged": items under the filter (any decision), "reviewed", "keep", "remove", "skip"}
  nlohmann::json progress(const Filter& filter);
  // The item with its scores and decision history; nullopt for an unknown id.
  std::optional<nlohmann::json> item(std::int64_t id);
  std::optional<ItemLocation> locate(std::int64_t id);

 private:
  sqlite::Database db_;
};

// A decision row as JSON.
nlohmann::json decision_json(std::int64_t id, std::int64_t item_id, const std::string& decision,
                             const std::string& reviewer, const std::string& decided_at, const std::string& note);

}  // namespace safescan::review
