// merge_stores: folds per-rank (or per-machine) result stores into one. Each part is attached
// read-only to the destination connection and copied with set-based INSERT ... SELECT
// statements in one transaction per part.
//
// Identity: a run is the same run when its uid matches (so a part merged twice adds no run),
// an item is the same item when its (path, member) matches (the destination keeps its own
// copy, with its scores), a unit by its unit_id, a decision by all its columns.
#include <cstdio>
#include <string>
#include <system_error>

#include "dataset/sqlite.hpp"
#include "dataset/store_schema.hpp"
#include "safescan/store.hpp"

namespace safescan {

namespace fs = std::filesystem;

namespace {

// "file:" URI for ATTACH with mode=ro (percent-encodes everything but unreserved characters).
std::string read_only_uri(const fs::path& file) {
  std::string uri = "file:";
  for (unsigned char c : fs::absolute(file).string()) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      uri += buf;
    }
  }
  return uri + "?mode=ro";
}

constexpr const char* kCopyRuns = R"sql(
INSERT INTO main.runs (uid, started, ended, status, version, command, config, models, host, rank, ranks,
                       items_ok, items_failed)
  SELECT uid, started, ended, status, version, command, config, models, host, rank, ranks, items_ok, items_failed
  FROM part.runs WHERE uid NOT IN (SELECT uid FROM main.runs) ORDER BY id;
CREATE TEMP TABLE merge_runs (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
INSERT INTO temp.merge_runs SELECT p.id, m.id FROM part.runs p JOIN main.runs m ON m.uid = p.uid;
)sql";

// DECISION: i.decision for a schema 2 part, NULL for a schema 1 part (see copy_items).
constexpr const char* kCopyItems = R"sql(
INSERT INTO main.items (run_id, key, source, path, member, bytes, width, height, format, sha256, meta, status,
                        error_code, error, face_count, face_detector, created, decision)
  SELECT r.new, i.key, i.source, i.path, i.member, i.bytes, i.width, i.height, i.format, i.sha256, i.meta,
         i.status, i.error_code, i.error, i.face_count, i.face_detector, i.created, DECISION
  FROM part.items i JOIN temp.merge_runs r ON r.old = i.run_id
  WHERE NOT EXISTS (SELECT 1 FROM main.items m WHERE m.path = i.path AND m.member = i.member)
  ORDER BY i.id;
)sql";

constexpr const char* kCopyCategories = R"sql(
INSERT INTO main.categories (item_id, detector, category, score, likelihood, decision)
  SELECT mi.new, c.detector, c.category, c.score, c.likelihood, c.decision
  FROM part.categories c JOIN temp.merge_items mi ON mi.old = c.item_id WHERE mi.fresh;
)sql";

// Every item of the part mapped to its row in the destination; `fresh` when just copied
// (?1: the last item id before the copy).
constexpr const char* kMapItems = R"sql(
CREATE TEMP TABLE merge_items (old INTEGER PRIMARY KEY, new INTEGER NOT NULL, fresh INTEGER NOT NULL);
INSERT INTO temp.merge_items
  SELECT i.id, m.id, m.id > ?1 FROM part.items i JOIN main.items m ON m.path = i.path AND m.member = i.member;
)sql";

constexpr const char* kCopyDetails = R"sql(
INSERT INTO main.scores (item_id, detector, category, score, flagged)
  SELECT mi.new, s.detector, s.category, s.score, s.flagged
  FROM part.scores s JOIN temp.merge_items mi ON mi.old = s.item_id WHERE mi.fresh;
INSERT INTO main.faces (item_id, x, y, w, h, confidence)
  SELECT mi.new, f.x, f.y, f.w, f.h, f.confidence
  FROM part.faces f JOIN temp.merge_items mi ON mi.old = f.item_id WHERE mi.fresh
  ORDER BY f.item_id, f.rowid;
INSERT INTO main.decisions (item_id, decision, reviewer, decided_at, note)
  SELECT mi.new, d.decision, d.reviewer, d.decided_at, d.note
  FROM part.decisions d JOIN temp.merge_items mi ON mi.old = d.item_id
  WHERE NOT EXISTS (SELECT 1 FROM main.decisions x WHERE x.item_id = mi.new AND x.decision = d.decision AND
                    x.reviewer = d.reviewer AND x.decided_at = d.decided_at AND x.note = d.note)
  ORDER BY d.id;
INSERT INTO main.units (unit_id, run_id, done_at, failed)
  SELECT u.unit_id, r.new, u.done_at, u.failed FROM part.units u JOIN temp.merge_runs r ON r.old = u.run_id
  WHERE true ON CONFLICT (unit_id) DO NOTHING;
INSERT INTO main.score_columns (detector, category)
  SELECT DISTINCT detector, category FROM main.scores WHERE item_id > ?1 ON CONFLICT DO NOTHING;
DROP TABLE temp.merge_items;
DROP TABLE temp.merge_runs;
)sql";

// Runs `sql`: statements separated by ";\n", with ?1 = value in those that use it.
void exec_with(sqlite::Database& db, std::string_view sql, std::int64_t value) {
  std::string_view rest = sql;
  while (!rest.empty()) {
    auto end = rest.find(";\n");
    std::string_view one = rest.substr(0, end == std::string_view::npos ? rest.size() : end + 1);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (one.find_first_not_of(" \n") == std::string_view::npos) continue;
    auto st = db.prepare(one);
    if (sqlite3_bind_parameter_count(st.get()) > 0) st.bind(1, value);
    st.run();
  }
}

std::size_t merge_part(sqlite::Database& db, const fs::path& part) {
  auto attach = db.prepare("ATTACH DATABASE ?1 AS part");
  attach.bind(1, read_only_uri(part)).run();
  struct Detach {
    sqlite::Database& db;
    ~Detach() { sqlite3_exec(db.get(), "DETACH DATABASE part", nullptr, nullptr, nullptr); }
  } detach{db};

  sqlite::Transaction tx(db);
  db.exec(kCopyRuns);
  const std::int64_t last_id = db.query_int64("SELECT coalesce(max(id), 0) FROM main.items");
  const bool v2 = db.query_int64("PRAGMA part.user_version") >= 2;
  std::string copy_items = kCopyItems;
  copy_items.replace(copy_items.find("DECISION"), 8, v2 ? "i.decision" : "NULL");
  db.exec(copy_items);
  const auto added = static_cast<std::size_t>(db.changes());
  exec_with(db, kMapItems, last_id);
  if (v2) db.exec(kCopyCategories);
  exec_with(db, kCopyDetails, last_id);
  tx.commit();
  return added;
}

}  // namespace

std::size_t merge_stores(const fs::path& dest, const std::vector<fs::path>& parts) {
  // Create (or check) the destination, and check every part before copying anything.
  ResultStore::open(dest, OpenMode::create);
  for (const fs::path& part : parts) {
    std::error_code ec;
    if (fs::equivalent(part, dest, ec))
      throw Error(ErrorCode::invalid_argument, "cannot merge a results store into itself", part.string());
    ResultStore::open(part, OpenMode::read_only);
  }
  auto db = sqlite::Database::open(dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI);
  store_schema::prepare(db, OpenMode::read_write);
  std::size_t added = 0;
  for (const fs::path& part : parts) {
    try {
      added += merge_part(db, part);
    } catch (const Error& e) {
      throw Error(e.code(), "merging " + part.string() + ": " + e.message(), dest.string());
    }
  }
  return added;
}

}  // namespace safescan
