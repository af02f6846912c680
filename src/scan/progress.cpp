#include "scan/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace safescan::scanning {

namespace {

std::string hms(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

}  // namespace

std::string ProgressReporter::format_line(std::size_t done, std::size_t failed, std::size_t skipped, ProgressTotal total,
                                          double seconds, bool bar) {
  const double rate = seconds > 0 ? done / seconds : 0;
  // Skipped (already stored) items count towards the total but not the rate.
  const std::size_t remaining = total.items > done + skipped ? total.items - done - skipped : 0;
  std::string line;
  char buf[160];
  if (total.known && total.items > 0) {
    const double frac = static_cast<double>(done + skipped) / total.items;
    if (bar) {
      const int width = 24, filled = static_cast<int>(frac * width);
      line = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    }
    std::snprintf(buf, sizeof buf, "%zu/%zu (%.0f%%)  %.1f img/s  ETA %s", done + skipped, total.items, frac * 100, rate,
                  rate > 0 ? hms(remaining / rate).c_str() : "--:--");
  } else {
    std::snprintf(buf, sizeof buf, "%zu%s done  %.1f img/s  elapsed %s", done + skipped, total.items ? "+" : "", rate,
                  hms(seconds).c_str());
  }
  line += buf;
  std::snprintf(buf, sizeof buf, "  errors %zu", failed);
  line += buf;
  if (skipped) {
    std::snprintf(buf, sizeof buf, "  resumed past %zu", skipped);
    line += buf;
  }
  return line;
}

ProgressReporter::ProgressReporter(const ScanCounters& counters, std::function<ProgressTotal()> total, bool enabled,
                                   int interval_ms, std::string prefix)
    : counters_(counters), total_(std::move(total)), tty_(isatty(STDERR_FILENO) == 1), prefix_(std::move(prefix)) {
  interval_ms_ = interval_ms > 0 ? interval_ms : tty_ ? 250 : 5000;
  if (enabled) thread_ = std::thread([this] { loop(); });
}

ProgressReporter::~ProgressReporter() { stop(); }

void ProgressReporter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    if (tty_) std::fputc('\n', stderr);
  }
}

void ProgressReporter::loop() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  for (;;) {
    const bool last = cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stopping_; });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::size_t done = counters_.ok + counters_.failed;
    const std::string line = format_line(done, counters_.failed, counters_.skipped, total_(), secs, tty_);
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s%s", prefix_.c_str(), line.c_str());
      std::fflush(stderr);
    } else if (!last) {
      spdlog::info("{}{}", prefix_, line);
    }
    if (last) return;
  }
}

}  // namespace safescan::scanning
