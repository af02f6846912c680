// safescan/decisions.hpp - reviewers' decisions in a results store (the `decisions` table).
//
//   auto log = safescan::DecisionStore::open("scan.db");
//   auto row = log.record(item_id, "remove", "ann");     // committed at once, UTC time
//   log.undo_latest("ann");                                // deletes ann's latest row again
//
// The table is a log: every decision is a new row, and an item's decision is its latest row
// (ORDER BY decided_at, id), which is what ResultStore::for_each_item and the removal list
// use. Undo deletes a row, so the item's decision falls back to the one before it (or none).
// A DecisionStore has its own SQLite connection (WAL: a running scan, exports and reviews can
// use the same file at once) and is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace safescan {

struct DecisionRecord {
  std::int64_t id = 0;       // row id: increases with every decision recorded
  std::int64_t item_id = 0;  // items.id
  std::string decision;      // "keep", "remove" or "skip"
  std::string reviewer;
  std::string decided_at;  // ISO 8601 UTC with milliseconds
  std::string note;
};

// "keep", "remove" and "skip": the values the table's CHECK constraint allows.
bool is_decision(std::string_view value) noexcept;

class DecisionStore {
 public:
  // Opens an existing safescan store for reading and writing. Throws Error(unreadable) when
  // it is missing, Error(invalid_argument) when it is not a safescan store.
  static DecisionStore open(const std::filesystem::path& file);

  DecisionStore(DecisionStore&&) noexcept;
  DecisionStore& operator=(DecisionStore&&) noexcept;
  ~DecisionStore();

  // Appends a decision for the item, stamped with the current UTC time, in its own
  // transaction (durable when this returns). Throws Error(invalid_argument) for an unknown
  // item or decision value.
  DecisionRecord record(std::int64_t item_id, std::string_view decision, std::string_view reviewer,
                        std::string_view note = {});

  // Deletes the most recently recorded decision (highest id) of `reviewer` whose id is above
  // `after_id`, and returns it; nullopt when there is none.
  std::optional<DecisionRecord> undo_latest(std::string_view reviewer, std::int64_t after_id = 0);

  // The item's current decision (its latest row); nullopt when it has none.
  std::optional<DecisionRecord> latest(std::int64_t item_id) const;
  // Every decision of the item, oldest first.
  std::vector<DecisionRecord> history(std::int64_t item_id) const;
  // The most recent decisions (highest id first), of one reviewer when `reviewer` is not empty.
  std::vector<DecisionRecord> recent(std::size_t limit, std::size_t offset = 0, std::string_view reviewer = {}) const;
  // The highest decision id so far (0 when there are none).
  std::int64_t last_id() const;

 private:
  DecisionStore();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan
