// The results store (include/safescan/store.hpp): schema and identification, runs, batched
// exactly-once writes, lookups, the streaming read, WAL and readers. Merging:
// test_store_merge.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "dataset/sqlite.hpp"
#include "safescan/store.hpp"
#include "store_test_items.hpp"
#include "testing.hpp"

namespace {

namespace fs = std::filesystem;
using safescan::ErrorCode;
using safescan::FaceRecord;
using safescan::ItemResult;
using safescan::OpenMode;
using safescan::ResultStore;
using safescan::RunInfo;
using safescan::ScoreRecord;
using safescan::testing::describe;
using safescan::testing::describe_all;
using safescan::testing::expect_error;
using safescan::testing::make_items;
using safescan::testing::pragma_text;
using safescan::testing::query_plan;
using safescan::testing::run_info;
using safescan::testing::sorted;
using safescan::testing::TempDir;

TEST(Store, CreatesSchemaAndReopens) {
  TempDir dir;
  const fs::path file = dir / "scan.db";
  { auto db = ResultStore::open(file); EXPECT_EQ(db.file(), file); }
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(pragma_text(file, "PRAGMA user_version"), "2");
  EXPECT_EQ(pragma_text(file, "PRAGMA application_id"), std::to_string(0x53665363));
  auto tables = pragma_text(file, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema "
                                  "WHERE type = 'table' ORDER BY name)");
  EXPECT_EQ(tables, "categories,decisions,faces,items,runs,score_columns,scores,units");
  // "Top flagged" queries use the partial index.
  const auto plan = query_plan(file, "SELECT item_id, score FROM scores WHERE detector = 'q16' AND "
                                     "category = 'inappropriate' AND flagged = 1 ORDER BY score DESC LIMIT 10");
  EXPECT_NE(plan.find("USING INDEX scores_flagged"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  // The streaming reads need no sorting.
  for (const char* sql : {"SELECT * FROM items ORDER BY id", "SELECT * FROM scores ORDER BY item_id, detector, category",
                          "SELECT * FROM categories ORDER BY item_id, detector, category",
                          "SELECT * FROM faces ORDER BY item_id, rowid",
                          "SELECT item_id, decision FROM decisions ORDER BY item_id, decided_at, id"})
    EXPECT_EQ(query_plan(file, sql).find("TEMP B-TREE"), std::string::npos) << sql << ": " << query_plan(file, sql);
  for (OpenMode mode : {OpenMode::create, OpenMode::read_write, OpenMode::read_only}) {
    auto db = ResultStore::open(file, mode);
    EXPECT_EQ(db.count_items(), 0);
  }
  expect_error([&] { ResultStore::open(dir / "missing.db", OpenMode::read_write); }, ErrorCode::unreadable, "missing.db");
  expect_error([&] { ResultStore::open(dir / "missing.db", OpenMode::read_only); }, ErrorCode::unreadable, "no such");
  expect_error([&] { ResultStore::open(dir.path(), OpenMode::create); }, ErrorCode::unreadable, "directory");
  EXPECT_FALSE(fs::exists(dir / "missing.db"));
}

// A store written before policies (schema 1: no categories, no item decision) is read with the
// decisions its raw flags made, and upgraded in place when opened for writing.
TEST(Store, SchemaOneIsReadAndUpgraded) {
  TempDir dir;
  const fs::path file = dir / "old.db";
  auto items = make_items(0, 12);
  for (auto& it : items) {
    it.categories.clear();
    it.decision = safescan::Decision::allow;
  }
  {
    auto db = ResultStore::open(file);
    db.write_batch(db.begin_run(run_info()), items);
  }
  {  // back to schema 1, as an older safescan wrote it
    auto raw = safescan::sqlite::Database::open(file, SQLITE_OPEN_READWRITE);
    raw.exec("DROP INDEX items_decision");
    raw.exec("DROP TABLE categories");
    raw.exec("ALTER TABLE items DROP COLUMN decision");
    raw.exec("PRAGMA user_version = 1");
  }
  auto expected_decision = [](const ItemResult& it) {
    const bool any = std::any_of(it.scores.begin(), it.scores.end(), [](const ScoreRecord& s) { return s.flagged; });
    return it.ok && any ? safescan::Decision::block : safescan::Decision::allow;
  };
  {
    const auto db = ResultStore::open(file, OpenMode::read_only);
    EXPECT_EQ(pragma_text(file, "PRAGMA user_version"), "1");  // reading changes nothing
    std::size_t i = 0, flagged = 0;
    db.for_each_item([&](const ItemResult& it) {
      EXPECT_EQ(it.decision, expected_decision(items[i])) << it.key;
      EXPECT_TRUE(it.categories.empty());
      flagged += it.flagged();
      ++i;
    });
    EXPECT_EQ(i, items.size());
    EXPECT_GT(flagged, 0u);
  }
  {
    auto db = ResultStore::open(file);  // create mode: upgrades
    EXPECT_EQ(pragma_text(file, "PRAGMA user_version"), "2");
    db.write_batch(db.begin_run(run_info()), make_items(21, 3));
    std::size_t with_categories = 0;
    db.for_each_item([&](const ItemResult& it) {
      if (it.id <= 12) return;  // the old items keep their derived decisions
      with_categories += !it.categories.empty();
    });
    EXPECT_EQ(with_categories, 3u);
    EXPECT_EQ(describe_all(db).size(), 15u);
  }
}

TEST(Store, RejectsFilesThatAreNotSafescanStores) {
  TempDir dir;
  // A text file: opening must fail without touching it, whatever the mode.
  const std::string text = "key,score\nimage.jpg,0.5\n" + std::string(5000, 'x');
  safescan::testing::write_all(dir / "notes.csv", text);
  for (OpenMode mode : {OpenMode::create, OpenMode::read_write, OpenMode::read_only})
    expect_error([&] { ResultStore::open(dir / "notes.csv", mode); }, ErrorCode::invalid_argument,
                 "not a safescan database");
  EXPECT_EQ(safescan::testing::read_all(dir / "notes.csv"), text);
  EXPECT_FALSE(fs::exists(dir / "notes.csv-wal"));

  // Another application's SQLite database.
  {
    auto other = safescan::sqlite::Database::open(dir / "other.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    other.exec("CREATE TABLE things (a INTEGER); INSERT INTO things VALUES (1);");
  }
  for (OpenMode mode : {OpenMode::create, OpenMode::read_write, OpenMode::read_only})
    expect_error([&] { ResultStore::open(dir / "other.db", mode); }, ErrorCode::invalid_argument,
                 "not a safescan database");

  // An empty SQLite file is given the schema in create mode only.
  safescan::testing::write_all(dir / "empty.db", "");
  expect_error([&] { ResultStore::open(dir / "empty.db", OpenMode::read_only); }, ErrorCode::invalid_argument,
               "not a safescan database");
  EXPECT_NO_THROW(ResultStore::open(dir / "empty.db", OpenMode::create));

  // A store from a newer safescan.
  { ResultStore::open(dir / "new.db"); }
  {
    auto raw = safescan::sqlite::Database::open(dir / "new.db", SQLITE_OPEN_READWRITE);
    raw.exec("PRAGMA user_version = 99");
  }
  expect_error([&] { ResultStore::open(dir / "new.db"); }, ErrorCode::invalid_argument, "newer safescan");
}

TEST(Store, RunsBeginEnd) {
  TempDir dir;
  auto db = ResultStore::open(dir / "scan.db");
  const auto run = db.begin_run(run_info(1));
  auto runs = db.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].id, run);
  EXPECT_EQ(runs[0].status, "running");
  EXPECT_EQ(runs[0].ended, "");
  EXPECT_EQ(runs[0].info.command, "safescan scan /data");
  EXPECT_EQ(runs[0].info.models_json, R"([{"name":"nsfw","sha256":"00ff"}])");
  EXPECT_EQ(runs[0].info.rank, 1);
  EXPECT_EQ(runs[0].info.ranks, 2);
  // ISO 8601 UTC: 2024-05-01T12:34:56.789Z
  ASSERT_EQ(runs[0].info.started.size(), 24u) << runs[0].info.started;
  EXPECT_EQ(runs[0].info.started[10], 'T');
  EXPECT_EQ(runs[0].info.started.back(), 'Z');

  db.write_batch(run, make_items(0, 14));  // items 6 and 13 fail
  db.end_run(run, "complete");
  runs = db.runs();
  EXPECT_EQ(runs[0].status, "complete");
  EXPECT_FALSE(runs[0].ended.empty());
  EXPECT_EQ(runs[0].items_ok, 12);
  EXPECT_EQ(runs[0].items_failed, 2);

  RunInfo given = run_info();
  given.started = "2020-01-02T03:04:05Z";
  given.config_json.clear();
  const auto run2 = db.begin_run(given);
  EXPECT_GT(run2, run);
  EXPECT_EQ(db.runs()[1].info.started, "2020-01-02T03:04:05Z");
  EXPECT_EQ(db.runs()[1].info.config_json, "{}");
  expect_error([&] { db.end_run(run2, "exploded"); }, ErrorCode::invalid_argument, "unknown run status");
  expect_error([&] { db.end_run(12345, "failed"); }, ErrorCode::invalid_argument, "no run 12345");
  given.config_json = "{not json";
  expect_error([&] { db.begin_run(given); }, ErrorCode::invalid_argument, "not valid JSON");
}

TEST(Store, WriteBatchIsIdempotent) {
  TempDir dir;
  auto db = ResultStore::open(dir / "scan.db");
  const auto run = db.begin_run(run_info());
  const auto batch = make_items(0, 64);
  EXPECT_EQ(db.write_batch(run, batch), 64u);
  const auto before = describe_all(db);
  EXPECT_EQ(db.write_batch(run, batch), 0u);
  EXPECT_EQ(db.count_items(), 64);
  EXPECT_EQ(describe_all(db), before);

  // A changed result for a stored item is ignored (the first result stays); new ones are added.
  auto mixed = make_items(60, 8);
  mixed[0].scores[0].score = 0.123f;
  EXPECT_EQ(db.write_batch(run, mixed), 4u);
  EXPECT_EQ(db.count_items(), 68);
  EXPECT_EQ(sorted(describe_all(db)), sorted([&] {
              auto v = before;
              for (const auto& it : make_items(64, 4)) v.push_back(describe(it));
              return v;
            }()));
  EXPECT_EQ(db.write_batch(run, {}), 0u);
}

TEST(Store, WriteBatchRollsBackOnFailure) {
  TempDir dir;
  auto db = ResultStore::open(dir / "scan.db");
  const auto run = db.begin_run(run_info());
  auto batch = make_items(0, 5);
  batch[3].scores.push_back(batch[3].scores[0]);  // the same (detector, category) twice
  expect_error([&] { db.write_batch(run, batch); }, ErrorCode::invalid_argument, "UNIQUE constraint failed");
  EXPECT_EQ(db.count_items(), 0);
  EXPECT_FALSE(db.contains(batch[0].path, ""));
  EXPECT_EQ(pragma_text(db.file(), "SELECT count(*) FROM scores"), "0");

  expect_error([&] { db.write_batch(run + 100, make_items(0, 3)); }, ErrorCode::invalid_argument, "FOREIGN KEY");
  auto nan = make_items(0, 3);
  nan[2].scores[0].score = std::nanf("");
  expect_error([&] { db.write_batch(run, nan); }, ErrorCode::invalid_argument, "NaN");
  auto no_path = make_items(0, 3);
  no_path[1].path.clear();
  expect_error([&] { db.write_batch(run, no_path); }, ErrorCode::invalid_argument, "without a path");
  EXPECT_EQ(db.count_items(), 0);

  // The store is still usable after the failures.
  batch.pop_back();
  batch[3].scores.pop_back();
  EXPECT_EQ(db.write_batch(run, batch), 4u);
}

TEST(Store, ContainsUnitsAndCounts) {
  TempDir dir;
  auto db = ResultStore::open(dir / "scan.db");
  const auto run = db.begin_run(run_info());
  ItemResult member;
  member.key = "shard-000/0001";
  member.path = "/shards/shard-000.tar";
  member.member = "0001.jpg";
  auto items = make_items(0, 20);
  items.push_back(member);
  db.write_batch(run, items);
  EXPECT_TRUE(db.contains("/data/img3.jpg", ""));
  EXPECT_TRUE(db.contains("/data/img6.jpg", ""));  // failed items count as done
  EXPECT_FALSE(db.contains("/data/img3.jpg", "x"));
  EXPECT_FALSE(db.contains("/data/img20.jpg", ""));
  EXPECT_TRUE(db.contains("/shards/shard-000.tar", "0001.jpg"));
  EXPECT_FALSE(db.contains("/shards/shard-000.tar", ""));
  EXPECT_EQ(db.count_items(), 21);
  EXPECT_EQ(db.count_failed(), 2);  // 6 and 13

  EXPECT_FALSE(db.unit_done("tar:/shards/shard-000.tar"));
  db.mark_unit_done(run, "tar:/shards/shard-000.tar");
  db.mark_unit_done(run, "tar:/shards/shard-000.tar");  // twice is fine
  EXPECT_TRUE(db.unit_done("tar:/shards/shard-000.tar"));
  EXPECT_FALSE(db.unit_done("tar:/shards/shard-001.tar"));
  auto reopened = ResultStore::open(dir / "scan.db", OpenMode::read_only);
  EXPECT_TRUE(reopened.unit_done("tar:/shards/shard-000.tar"));
  EXPECT_EQ(reopened.count_failed(), 2);
}

TEST(Store, ForEachItemRoundTrip) {
  TempDir dir;
  const auto items = make_items(0, 50);
  {
    auto db = ResultStore::open(dir / "scan.db");
    db.write_batch(db.begin_run(run_info()), items);
  }
  auto db = ResultStore::open(dir / "scan.db", OpenMode::read_only);
  std::vector<ItemResult> read;
  db.for_each_item([&](const ItemResult& it) { read.push_back(it); });
  ASSERT_EQ(read.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(describe(read[i]), describe(items[i]));
    EXPECT_EQ(read[i].faces.has_value(), items[i].faces.has_value()) << i;
    if (i > 0) {
      EXPECT_GT(read[i].id, read[i - 1].id);
    }
  }
  // Item 0: scores sorted by (detector, category), meta kept verbatim, face detector ran, no face.
  EXPECT_EQ(read[0].meta_json, R"({"caption":"item 0","n":0})");
  ASSERT_TRUE(read[0].faces.has_value());
  EXPECT_TRUE(read[0].faces->empty());
  ASSERT_EQ(read[3].faces->size(), 3u);
  EXPECT_EQ(read[3].faces->at(2).x, 2.0f);
  EXPECT_EQ(read[3].faces->at(2).height, 12.25f);
  EXPECT_FALSE(read[1].faces.has_value());
  EXPECT_EQ(read[6].bytes, -1);
  EXPECT_EQ(read[6].error_code, "corrupt");
  EXPECT_TRUE(read[6].scores.empty());

  auto columns = db.score_columns();
  ASSERT_EQ(columns.size(), 4u);
  EXPECT_EQ(columns[0], std::make_pair(std::string("nsfw"), std::string("cat0")));
  EXPECT_EQ(columns[3], std::make_pair(std::string("q16"), std::string("cat1")));
}

TEST(Store, WalModeAndReaderWhileWriterIsOpen) {
  TempDir dir;
  const fs::path file = dir / "scan.db";
  auto writer = ResultStore::open(file);
  EXPECT_EQ(pragma_text(file, "PRAGMA journal_mode"), "wal");
  const auto run = writer.begin_run(run_info());
  writer.write_batch(run, make_items(0, 10));

  auto reader = ResultStore::open(file, OpenMode::read_only);
  EXPECT_EQ(reader.count_items(), 10);
  writer.write_batch(run, make_items(10, 10));
  EXPECT_EQ(reader.count_items(), 20);
  EXPECT_TRUE(reader.contains("/data/img15.jpg", ""));
  std::size_t seen = 0;
  reader.for_each_item([&](const ItemResult&) {
    if (seen++ == 0) writer.write_batch(run, make_items(20, 5));  // a writer does not disturb the read
  });
  EXPECT_EQ(seen, 20u);
  EXPECT_EQ(reader.count_items(), 25);
  expect_error([&] { reader.write_batch(run, make_items(30, 1)); }, ErrorCode::invalid_argument, "read-only");
  expect_error([&] { reader.begin_run(run_info()); }, ErrorCode::invalid_argument, "read-only");
}

TEST(Store, WriteRate) {
  TempDir dir;
  auto db = ResultStore::open(dir / "scan.db");
  const auto run = db.begin_run(run_info());
  constexpr int kItems = 32768, kBatch = 64, kScores = 10;
  std::vector<std::vector<ItemResult>> batches;
  for (int b = 0; b < kItems / kBatch; ++b) {
    batches.push_back(make_items(b * kBatch, kBatch, kScores));
    for (auto& item : batches.back())  // a realistic share of flagged scores: about 2 %
      for (auto& s : item.scores) s.flagged = s.score >= 0.98f;
  }
  const auto start = std::chrono::steady_clock::now();
  std::size_t added = 0;
  for (const auto& batch : batches) added += db.write_batch(run, batch);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(added, static_cast<std::size_t>(kItems));
  std::printf("[ rate     ] write_batch: %d items (%d scores each, batches of %d) in %.3f s: %.0f items/s\n", kItems,
              kScores, kBatch, seconds, kItems / seconds);
  const auto t2 = std::chrono::steady_clock::now();
  std::size_t hits = 0;
  for (int i = 0; i < kItems; ++i) hits += db.contains("/data/img" + std::to_string(i) + ".jpg", "");
  const double s2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  EXPECT_EQ(hits, static_cast<std::size_t>(kItems));
  std::printf("[ rate     ] contains: %.0f lookups/s\n", kItems / s2);
}

}  // namespace
