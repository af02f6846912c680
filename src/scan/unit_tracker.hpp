// Knows when every item of a work unit is in the store, so the unit can be marked complete
// (a resumed scan then skips it without reading it). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace safescan::scanning {

class UnitTracker {
 public:
  // The reader opens a unit, adds each item it queues, then says whether it read the unit
  // to its end (an interrupted read never completes the unit).
  std::size_t open(std::string id) {
    std::lock_guard lock(mu_);
    units_[next_] = Unit{std::move(id)};
    return next_++;
  }
  void add_item(std::size_t unit) {
    std::lock_guard lock(mu_);
    ++units_[unit].pending;
  }
  // An item of the unit that is stored (now or by an earlier run) with status error.
  void add_failed(std::size_t unit) {
    std::lock_guard lock(mu_);
    ++units_[unit].failed;
  }
  void finish_reading(std::size_t unit, bool complete) {
    std::lock_guard lock(mu_);
    Unit& u = units_[unit];
    u.read_done = true;
    u.complete = complete;
    settle(unit);
  }
  // The writer, after committing an item of `unit`.
  void item_written(std::size_t unit) {
    std::lock_guard lock(mu_);
    --units_[unit].pending;
    settle(unit);
  }
  struct Completed {
    std::string id;
    std::int64_t failed = 0;
  };
  // Units whose items are all written since the last call.
  std::vector<Completed> take_completed() {
    std::lock_guard lock(mu_);
    return std::exchange(completed_, {});
  }

 private:
  struct Unit {
    std::string id;
    std::size_t pending = 0;
    std::int64_t failed = 0;
    bool read_done = false, complete = false;
  };
  void settle(std::size_t unit) {
    auto it = units_.find(unit);
    if (it == units_.end() || !it->second.read_done || it->second.pending) return;
    if (it->second.complete) completed_.push_back({std::move(it->second.id), it->second.failed});
    units_.erase(it);
  }
  std::mutex mu_;
  std::unordered_map<std::size_t, Unit> units_;
  std::vector<Completed> completed_;
  std::size_t next_ = 0;
};

}  // namespace safescan::scanning
