// merge_stores (include/safescan/store.hpp): parts written from halves of a dataset merge
// into what one store written in one go holds; overlaps and repeated merges add nothing;
// runs, units and decisions follow their items.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "safescan/store.hpp"
#include "store_test_items.hpp"
#include "testing.hpp"

namespace {

namespace fs = std::filesystem;
using safescan::ErrorCode;
using safescan::ItemResult;
using safescan::OpenMode;
using safescan::ResultStore;
using safescan::testing::describe;
using safescan::testing::describe_all;
using safescan::testing::expect_error;
using safescan::testing::make_items;
using safescan::testing::pragma_text;
using safescan::testing::run_info;
using safescan::testing::TempDir;

void write_store(const fs::path& file, const std::vector<ItemResult>& items, int rank = 0) {
  auto db = ResultStore::open(file);
  const auto run = db.begin_run(run_info(rank));
  for (std::size_t i = 0; i < items.size(); i += 16)
    db.write_batch(run, std::vector<ItemResult>(items.begin() + i, items.begin() + std::min(items.size(), i + 16)));
  db.mark_unit_done(run, "files:/data:" + std::to_string(rank));
  db.end_run(run, "complete");
}

TEST(StoreMerge, DisjointHalvesEqualOneGo) {
  TempDir dir;
  write_store(dir / "all.db", make_items(0, 100));
  write_store(dir / "part0.db", make_items(0, 50), 0);
  write_store(dir / "part1.db", make_items(50, 50), 1);
  EXPECT_EQ(safescan::merge_stores(dir / "merged.db", {dir / "part0.db", dir / "part1.db"}), 100u);
  auto all = ResultStore::open(dir / "all.db", OpenMode::read_only);
  auto merged = ResultStore::open(dir / "merged.db", OpenMode::read_only);
  EXPECT_EQ(describe_all(merged), describe_all(all));  // same items, scores, faces, in this order
  EXPECT_EQ(merged.count_failed(), all.count_failed());
  EXPECT_EQ(merged.score_columns(), all.score_columns());
  auto runs = merged.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].info.rank, 0);
  EXPECT_EQ(runs[1].info.rank, 1);
  EXPECT_EQ(runs[1].status, "complete");
  EXPECT_EQ(runs[0].items_ok + runs[0].items_failed, 50);
  EXPECT_TRUE(merged.unit_done("files:/data:0"));
  EXPECT_TRUE(merged.unit_done("files:/data:1"));
  // Items point at their own run in the destination.
  EXPECT_EQ(pragma_text(dir / "merged.db", "SELECT count(*) FROM items WHERE run_id = (SELECT max(id) FROM runs)"),
            "50");
  // The parts are left as they were.
  EXPECT_EQ(ResultStore::open(dir / "part0.db", OpenMode::read_only).count_items(), 50);
}

TEST(StoreMerge, OverlapsAndRepeatsAddNothing) {
  TempDir dir;
  write_store(dir / "a.db", make_items(0, 60), 0);
  write_store(dir / "b.db", make_items(40, 60), 1);  // 40..59 in both
  EXPECT_EQ(safescan::merge_stores(dir / "m.db", {dir / "a.db", dir / "b.db"}), 100u);
  const auto once = describe_all(ResultStore::open(dir / "m.db", OpenMode::read_only));
  EXPECT_EQ(once.size(), 100u);
  EXPECT_EQ(safescan::merge_stores(dir / "m.db", {dir / "a.db", dir / "b.db", dir / "a.db"}), 0u);
  auto m = ResultStore::open(dir / "m.db", OpenMode::read_only);
  EXPECT_EQ(describe_all(m), once);
  EXPECT_EQ(m.runs().size(), 2u);
  EXPECT_EQ(pragma_text(dir / "m.db", "SELECT count(*) FROM scores"), pragma_text(dir / "m.db", "SELECT 86 * 4"));
  EXPECT_EQ(pragma_text(dir / "m.db", "SELECT count(*) FROM units"), "2");
  // Merging into an existing store with items of its own.
  write_store(dir / "c.db", make_items(90, 20), 2);
  EXPECT_EQ(safescan::merge_stores(dir / "c.db", {dir / "m.db"}), 90u);
  EXPECT_EQ(ResultStore::open(dir / "c.db", OpenMode::read_only).count_items(), 110);
}

TEST(StoreMerge, CopiesDecisions) {
  TempDir dir;
  write_store(dir / "a.db", make_items(0, 10));
  {
    auto raw = safescan::sqlite::Database::open(dir / "a.db", SQLITE_OPEN_READWRITE);
    raw.exec("INSERT INTO decisions (item_id, decision, reviewer, decided_at, note) VALUES "
             "((SELECT id FROM items WHERE path = '/data/img2.jpg'), 'remove', 'ann', '2024-01-01T00:00:00Z', 'x'),"
             "((SELECT id FROM items WHERE path = '/data/img4.jpg'), 'keep', 'bob', '2024-01-02T00:00:00Z', '')");
  }
  write_store(dir / "m.db", make_items(0, 3), 1);  // img2 already in the destination
  EXPECT_EQ(safescan::merge_stores(dir / "m.db", {dir / "a.db"}), 7u);
  EXPECT_EQ(safescan::merge_stores(dir / "m.db", {dir / "a.db"}), 0u);
  std::map<std::string, std::string> decisions;
  ResultStore::open(dir / "m.db", OpenMode::read_only).for_each_item([&](const ItemResult& it) {
    if (!it.review.empty()) decisions[it.path] = it.review;
  });
  EXPECT_EQ(decisions, (std::map<std::string, std::string>{{"/data/img2.jpg", "remove"}, {"/data/img4.jpg", "keep"}}));
  EXPECT_EQ(pragma_text(dir / "m.db", "SELECT count(*) FROM decisions"), "2");
}

TEST(StoreMerge, RejectsSelfAndNonStores) {
  TempDir dir;
  write_store(dir / "a.db", make_items(0, 5));
  safescan::testing::write_all(dir / "junk.db", std::string(4096, 'j'));
  expect_error([&] { safescan::merge_stores(dir / "a.db", {dir / "a.db"}); }, ErrorCode::invalid_argument, "itself");
  expect_error([&] { safescan::merge_stores(dir / "m.db", {dir / "a.db", dir / "junk.db"}); },
               ErrorCode::invalid_argument, "not a safescan database");
  expect_error([&] { safescan::merge_stores(dir / "m.db", {dir / "nope.db"}); }, ErrorCode::unreadable, "nope.db");
  EXPECT_EQ(ResultStore::open(dir / "m.db", OpenMode::read_only).count_items(), 0);  // nothing half-merged
  // A part whose name needs URI escaping.
  fs::create_directories(dir / "odd dir?#%");
  write_store(dir / "odd dir?#%" / "p.db", make_items(0, 4));
  EXPECT_EQ(safescan::merge_stores(dir / "m.db", {dir / "odd dir?#%" / "p.db"}), 4u);
}

}  // namespace
