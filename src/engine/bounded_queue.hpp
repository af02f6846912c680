// A blocking queue with a capacity in items and in bytes: producers wait when it is full,
// so a fast stage can never run ahead of a slow one and memory stays flat (back pressure).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace safescan::engine {

template <typename T>
class BoundedQueue {
 public:
  // `max_items` >= 1. `max_bytes` 0 = no byte limit. An item larger than max_bytes is still
  // accepted when the queue is empty, so nothing can block forever.
  explicit BoundedQueue(std::size_t max_items, std::size_t max_bytes = 0) : max_items_(max_items), max_bytes_(max_bytes) {}

  // Blocks while full. Returns false (dropping the item) when the queue was closed.
  bool push(T item, std::size_t bytes = 0) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || (items_.size() < max_items_ && fits(bytes)); });
    if (closed_) return false;
    items_.emplace_back(std::move(item), bytes);
    bytes_ += bytes;
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty; nullopt once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    return take(lock);
  }

  // Blocks until an item arrives, the queue is closed and drained, or `deadline` passes
  // (then nullopt while the queue may still be open: see closed_and_empty()).
  std::optional<T> pop_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    not_empty_.wait_until(lock, deadline, [&] { return closed_ || !items_.empty(); });
    return take(lock);
  }

  bool closed_and_empty() const {
    std::lock_guard lock(mu_);
    return closed_ && items_.empty();
  }

  // Non-blocking: nullopt when empty.
  std::optional<T> try_pop() {
    std::unique_lock lock(mu_);
    return take(lock);
  }

  // No more pushes; pop() drains what is left, then returns nullopt.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  bool fits(std::size_t bytes) const { return max_bytes_ == 0 || items_.empty() || bytes_ + bytes <= max_bytes_; }

  std::optional<T> take(std::unique_lock<std::mutex>&) {
    if (items_.empty()) return std::nullopt;
    auto [item, bytes] = std::move(items_.front());
    items_.pop_front();
    bytes_ -= bytes;
    not_full_.notify_all();
    return std::move(item);
  }

  const std::size_t max_items_, max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::pair<T, std::size_t>> items_;
  std::size_t bytes_ = 0;
  bool closed_ = false;
};

}  // namespace safescan::engine
