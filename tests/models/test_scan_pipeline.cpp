// Pieces of the scan pipeline: the bounded queue's back pressure, the unit tracker, the
// progress line.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/bounded_queue.hpp"
#include "scan/progress.hpp"
#include "scan/unit_tracker.hpp"

namespace safescan::scanning {
using engine::BoundedQueue;
namespace {

TEST(BoundedQueue, ProducerWaitsWhenFullAndPopDrainsAfterClose) {
  BoundedQueue<int> q(2);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      q.push(i);
      ++pushed;
    }
    q.close();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(pushed.load(), 2);  // blocked on the third
  std::vector<int> got;
  while (auto v = q.pop()) got.push_back(*v);
  producer.join();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(q.push(9));  // closed
}

TEST(BoundedQueue, ByteLimitHoldsBackButNeverBlocksAnEmptyQueue) {
  BoundedQueue<int> q(100, 1000);
  EXPECT_TRUE(q.push(1, 5000));  // larger than the limit, accepted when empty
  std::atomic<bool> second{false};
  std::thread t([&] {
    q.push(2, 10);
    second = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(second.load());
  EXPECT_EQ(q.pop(), 1);
  t.join();
  EXPECT_TRUE(second.load());
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_FALSE(q.try_pop().has_value());
}

TEST(UnitTracker, CompletesAUnitOnlyWhenReadToTheEndAndEveryItemIsWritten) {
  UnitTracker t;
  const auto a = t.open("a"), b = t.open("b"), c = t.open("c");
  t.add_item(a);
  t.add_item(a);
  t.add_item(b);
  t.finish_reading(a, true);
  t.finish_reading(b, false);  // interrupted: never complete
  t.finish_reading(c, true);   // every item skipped: complete at once
  auto done = t.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, "c");
  t.item_written(a);
  EXPECT_TRUE(t.take_completed().empty());
  t.add_failed(a);
  t.item_written(a);
  t.item_written(b);
  done = t.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, "a");
  EXPECT_EQ(done[0].failed, 1);
}

TEST(ProgressLine, ShowsTotalRateEtaAndErrors) {
  const std::string known = ProgressReporter::format_line(50, 2, 10, {120, true}, 10.0, true);
  EXPECT_NE(known.find("60/120 (50%)"), std::string::npos) << known;
  EXPECT_NE(known.find("5.0 img/s"), std::string::npos) << known;
  EXPECT_NE(known.find("ETA 0:12"), std::string::npos) << known;
  EXPECT_NE(known.find("errors 2"), std::string::npos) << known;
  EXPECT_NE(known.find("resumed past 10"), std::string::npos) << known;
  EXPECT_EQ(known.rfind("[", 0), 0u) << known;  // the bar
  const std::string open = ProgressReporter::format_line(50, 0, 0, {80, false}, 10.0, false);
  EXPECT_NE(open.find("50+ done"), std::string::npos) << open;
  EXPECT_EQ(open.find("ETA"), std::string::npos) << open;
}

}  // namespace
}  // namespace safescan::scanning
