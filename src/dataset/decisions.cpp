// DecisionStore: writes, undoes and lists rows of the decisions table; see decisions.hpp.
#include "safescan/decisions.hpp"

#include "dataset/sqlite.hpp"
#include "dataset/store_schema.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace fs = std::filesystem;

namespace {

constexpr const char* kColumns = "id, item_id, decision, reviewer, decided_at, note";

DecisionRecord read_row(const sqlite::Statement& st) {
  DecisionRecord r;
  r.id = st.int64(0);
  r.item_id = st.int64(1);
  r.decision = st.text(2);
  r.reviewer = st.text(3);
  r.decided_at = st.text(4);
  r.note = st.text(5);
  return r;
}

std::vector<DecisionRecord> read_rows(sqlite::Statement& st) {
  std::vector<DecisionRecord> rows;
  while (st.step()) rows.push_back(read_row(st));
  st.reset();
  return rows;
}

}  // namespace

bool is_decision(std::string_view value) noexcept { return value == "keep" || value == "remove" || value == "skip"; }

struct DecisionStore::Impl {
  sqlite::Database db;
  sqlite::Statement item_exists, insert, by_id, latest, history, last_reviewer_row, remove;
};

DecisionStore::DecisionStore() : impl_(std::make_unique<Impl>()) {}
DecisionStore::DecisionStore(DecisionStore&&) noexcept = default;
DecisionStore& DecisionStore::operator=(DecisionStore&&) noexcept = default;
DecisionStore::~DecisionStore() = default;

DecisionStore DecisionStore::open(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(ErrorCode::unreadable, "no such results store", file.string());
  if (fs::is_directory(file, ec)) throw Error(ErrorCode::unreadable, "is a directory, not a results store", file.string());
  DecisionStore store;
  Impl& d = *store.impl_;
  d.db = sqlite::Database::open(file, SQLITE_OPEN_READWRITE);
  store_schema::prepare(d.db, OpenMode::read_write);
  const std::string cols = kColumns;
  d.item_exists = d.db.prepare("SELECT 1 FROM items WHERE id = ?1");
  d.insert = d.db.prepare("INSERT INTO decisions (item_id, decision, reviewer, decided_at, note) VALUES (?1, ?2, ?3, ?4, ?5)");
  d.by_id = d.db.prepare("SELECT " + cols + " FROM decisions WHERE id = ?1");
  d.latest = d.db.prepare("SELECT " + cols + " FROM decisions WHERE item_id = ?1 ORDER BY decided_at DESC, id DESC LIMIT 1");
  d.history = d.db.prepare("SELECT " + cols + " FROM decisions WHERE item_id = ?1 ORDER BY decided_at, id");
  d.last_reviewer_row = d.db.prepare("SELECT " + cols +
                                     " FROM decisions WHERE reviewer = ?1 AND id > ?2 ORDER BY id DESC LIMIT 1");
  d.remove = d.db.prepare("DELETE FROM decisions WHERE id = ?1");
  return store;
}

DecisionRecord DecisionStore::record(std::int64_t item_id, std::string_view decision, std::string_view reviewer,
                                     std::string_view note) {
  Impl& d = *impl_;
  if (!is_decision(decision))
    throw Error(ErrorCode::invalid_argument, "unknown decision \"" + std::string(decision) + "\" (keep, remove, skip)");
  sqlite::Transaction tx(d.db);
  const bool exists = d.item_exists.reset().bind(1, item_id).step();
  d.item_exists.reset();
  if (!exists) throw Error(ErrorCode::invalid_argument, "no item with id " + std::to_string(item_id), d.db.file());
  d.insert.reset()
      .bind(1, item_id)
      .bind(2, decision)
      .bind(3, reviewer)
      .bind(4, store_schema::utc_now())
      .bind(5, note)
      .run();
  const std::int64_t id = d.db.last_insert_rowid();
  d.by_id.reset().bind(1, id).step();
  DecisionRecord row = read_row(d.by_id);
  d.by_id.reset();
  tx.commit();
  return row;
}

std::optional<DecisionRecord> DecisionStore::undo_latest(std::string_view reviewer, std::int64_t after_id) {
  Impl& d = *impl_;
  sqlite::Transaction tx(d.db);
  if (!d.last_reviewer_row.reset().bind(1, reviewer).bind(2, after_id).step()) {
    d.last_reviewer_row.reset();
    return std::nullopt;
  }
  DecisionRecord row = read_row(d.last_reviewer_row);
  d.last_reviewer_row.reset();
  d.remove.reset().bind(1, row.id).run();
  tx.commit();
  return row;
}

std::optional<DecisionRecord> DecisionStore::latest(std::int64_t item_id) const {
  Impl& d = *impl_;
  std::optional<DecisionRecord> row;
  if (d.latest.reset().bind(1, item_id).step()) row = read_row(d.latest);
  d.latest.reset();
  return row;
}

std::vector<DecisionRecord> DecisionStore::history(std::int64_t item_id) const {
  impl_->history.reset().bind(1, item_id);
  return read_rows(impl_->history);
}

std::vector<DecisionRecord> DecisionStore::recent(std::size_t limit, std::size_t offset, std::string_view reviewer) const {
  auto st = impl_->db.prepare(std::string("SELECT ") + kColumns +
                              " FROM decisions WHERE (?1 = '' OR reviewer = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3");
  st.bind(1, reviewer).bind(2, static_cast<std::int64_t>(limit)).bind(3, static_cast<std::int64_t>(offset));
  return read_rows(st);
}

std::int64_t DecisionStore::last_id() const { return impl_->db.query_int64("SELECT coalesce(max(id), 0) FROM decisions"); }

}  // namespace safescan
