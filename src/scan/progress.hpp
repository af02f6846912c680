// Progress of a scan: a bar on a terminal (done / total when known, images/s, ETA, errors),
// otherwise a log line every few seconds. Runs on its own thread; reads atomic counters.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace safescan::scanning {

struct ScanCounters {
  std::atomic<std::size_t> ok{0}, failed{0}, skipped{0};
};

struct ProgressTotal {
  std::size_t items = 0;  // enumerated so far
  bool known = false;     // items is the final total
};

class ProgressReporter {
 public:
  // `interval_ms` 0: 250 ms on a terminal, 5000 ms otherwise. `prefix` is put before each
  // line (e.g. "rank 1/4: "). Does nothing when `enabled` is false.
  ProgressReporter(const ScanCounters& counters, std::function<ProgressTotal()> total, bool enabled, int interval_ms,
                   std::string prefix = {});
  ~ProgressReporter();  // stops the thread and, on a terminal, ends the bar's line
  void stop();

  // The text of one progress line (exposed for tests).
  static std::string format_line(std::size_t done, std::size_t failed, std::size_t skipped, ProgressTotal total,
                                 double seconds, bool bar);

 private:
  void loop();
  const ScanCounters& counters_;
  std::function<ProgressTotal()> total_;
  bool tty_ = false;
  int interval_ms_ = 0;
  std::string prefix_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace safescan::scanning
