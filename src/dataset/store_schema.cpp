// The results store's schema (version 2) and the checks open() makes; version 1 stores are
// upgraded in place when opened for writing. docs/results-store.md
// describes every table and column; keep the two in step.
#include "dataset/store_schema.hpp"

#include <chrono>
#include <ctime>

#include "safescan/error.hpp"

namespace safescan::store_schema {

namespace {

// Schema 1 -> 2: the policy's decisions (items.decision: NULL for failed items) and, per
// detector and category, the score and the policy's verdict on it. A new store is schema 1
// then this: one definition of every table.
constexpr const char* kUpgrade1to2 = R"sql(
ALTER TABLE items ADD COLUMN decision TEXT CHECK (decision IN ('allow', 'review', 'block'));
CREATE TABLE categories (
  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  detector TEXT NOT NULL,
  category TEXT NOT NULL,
  score REAL NOT NULL,
  likelihood TEXT NOT NULL CHECK (likelihood IN ('VERY_UNLIKELY', 'UNLIKELY', 'POSSIBLE', 'LIKELY', 'VERY_LIKELY')),
  decision TEXT NOT NULL CHECK (decision IN ('allow', 'review', 'block')),
  PRIMARY KEY (item_id, detector, category)
) WITHOUT ROWID;
CREATE INDEX items_decision ON items(decision) WHERE decision IN ('review', 'block');
)sql";

// Schema 1: what a new store starts from (then kUpgrade1to2).
constexpr const char* kSchema = R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,                -- random 128-bit hex: a run's identity across merges
  started TEXT NOT NULL,                   -- ISO 8601 UTC
  ended TEXT,                              -- NULL while running or after a crash
  status TEXT NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
  version TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '',
  config TEXT NOT NULL DEFAULT '{}',       -- JSON object
  models TEXT NOT NULL DEFAULT '[]',       -- JSON array [{name, file, sha256}, ...]
  host TEXT NOT NULL DEFAULT '',
  rank INTEGER NOT NULL DEFAULT 0,
  ranks INTEGER NOT NULL DEFAULT 1,
  items_ok INTEGER NOT NULL DEFAULT 0,     -- set by end_run
  items_failed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  key TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  path TEXT NOT NULL,
  member TEXT NOT NULL DEFAULT '',
  bytes INTEGER,                           -- NULL: unknown
  width INTEGER,                           -- NULL: unknown (not decoded)
  height INTEGER,
  format TEXT,
  sha256 TEXT,
  meta TEXT,                               -- JSON (WebDataset sibling files), NULL: none
  status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  error_code TEXT,
  error TEXT,
  face_count INTEGER,                      -- NULL: no face detector ran
  face_detector TEXT,
  created TEXT NOT NULL,
  UNIQUE (path, member)
);
CREATE INDEX items_key ON items(key);
CREATE INDEX items_run_status ON items(run_id, status);
CREATE INDEX items_failed ON items(id) WHERE status = 'error';

CREATE TABLE scores (
  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  detector TEXT NOT NULL,
  category TEXT NOT NULL,
  score REAL NOT NULL,
  flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
  PRIMARY KEY (item_id, detector, category)
) WITHOUT ROWID;
-- "Top flagged" queries. Partial: an index over every score would take a random insert per
-- score row (about 6x slower batches); CREATE INDEX ... ON scores(detector, category, score)
-- after a scan when thresholds need to be explored over all scores.
CREATE INDEX scores_flagged ON scores(detector, category, score) WHERE flagged = 1;

-- Every (detector, category) of the scores table: the CSV export's columns.
CREATE TABLE score_columns (
  detector TEXT NOT NULL,
  category TEXT NOT NULL,
  PRIMARY KEY (detector, category)
) WITHOUT ROWID;

CREATE TABLE faces (
  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  x REAL NOT NULL,
  y REAL NOT NULL,
  w REAL NOT NULL,
  h REAL NOT NULL,
  confidence REAL NOT NULL
);
CREATE INDEX faces_item ON faces(item_id);

CREATE TABLE decisions (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  decision TEXT NOT NULL CHECK (decision IN ('keep', 'remove', 'skip')),
  reviewer TEXT NOT NULL DEFAULT '',
  decided_at TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_item ON decisions(item_id, decided_at, id);

CREATE TABLE units (
  unit_id TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  done_at TEXT NOT NULL,
  failed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

[[noreturn]] void not_safescan(const sqlite::Database& db, const std::string& why) {
  throw Error(ErrorCode::invalid_argument, "not a safescan database (" + why + ")", db.file());
}

bool has_tables(const sqlite::Database& db) {
  return db.query_int64("SELECT count(*) FROM sqlite_schema WHERE type = 'table'") > 0;
}

// Checks the identification of a database that has one; false when the file is blank.
bool check(const sqlite::Database& db) {
  std::int64_t app = db.query_int64("PRAGMA application_id");
  std::int64_t version = db.query_int64("PRAGMA user_version");
  if (app == 0 && version == 0 && !has_tables(db)) return false;
  if (app != kApplicationId) not_safescan(db, "an SQLite database of another application");
  if (version > kVersion)
    throw Error(ErrorCode::invalid_argument,
                "written by a newer safescan (schema version " + std::to_string(version) + ", this one reads " +
                    std::to_string(kVersion) + ")",
                db.file());
  if (version < 1) not_safescan(db, "unknown schema version " + std::to_string(version));
  return true;
}

}  // namespace

std::int64_t prepare(sqlite::Database& db, OpenMode mode) {
  db.exec("PRAGMA busy_timeout = 10000");
  // Reading the header fails with SQLITE_NOTADB for files that are not SQLite databases.
  bool present = check(db);
  if (!present && mode != OpenMode::create) not_safescan(db, "no safescan schema");
  if (mode != OpenMode::read_only) {
    // journal_mode cannot change inside a transaction; WAL is persistent once set.
    sqlite::Statement wal = db.prepare("PRAGMA journal_mode = WAL");
    std::string journal = wal.step() ? wal.text(0) : "";
    wal.reset();
    if (journal != "wal")
      throw Error(ErrorCode::unreadable, "cannot switch to WAL mode (journal_mode is " + journal + ")", db.file());
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA cache_size = -32768");  // 32 MiB: the (path, member) and score indexes
  }
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA temp_store = MEMORY");
  if (present) {
    std::int64_t version = db.query_int64("PRAGMA user_version");
    if (version == 1 && mode != OpenMode::read_only) {
      sqlite::Transaction tx(db);
      if (db.query_int64("PRAGMA user_version") == 1) {  // not upgraded by another process meanwhile
        db.exec(kUpgrade1to2);
        db.exec("PRAGMA user_version = 2");
      }
      tx.commit();
      version = 2;
    }
    return version;
  }
  // Create the schema; another process may be doing the same, so check again under the lock.
  sqlite::Transaction tx(db);
  if (check(db)) return db.query_int64("PRAGMA user_version");
  db.exec(kSchema);
  db.exec(kUpgrade1to2);
  db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
  db.exec("PRAGMA user_version = " + std::to_string(kVersion));
  tx.commit();
  return kVersion;
}

std::string utc_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

}  // namespace safescan::store_schema
