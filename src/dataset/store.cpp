// ResultStore: open, runs, batched writes, lookups and the streaming read of all items.
// The schema is in store_schema.cpp, merging in store_merge.cpp, exports in exports.cpp.
#include "safescan/store.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <system_error>

#include <nlohmann/json.hpp>

#include "dataset/sqlite.hpp"
#include "dataset/store_schema.hpp"

namespace safescan {

namespace fs = std::filesystem;

struct ResultStore::Impl {
  fs::path file;
  OpenMode mode = OpenMode::create;
  sqlite::Database db;
  // Prepared on first use and kept for the life of the connection.
  std::int64_t version = store_schema::kVersion;  // 1: a schema 1 store open read-only (no categories)
  sqlite::Statement insert_item, insert_score, insert_category, insert_face, insert_column, find_item, item_status, find_unit,
      insert_unit;

  sqlite::Statement& cached(sqlite::Statement& slot, const char* sql) {
    if (!slot) slot = db.prepare(sql);
    return slot;
  }
  void require_writable(const char* what) const {
    if (mode == OpenMode::read_only)
      throw Error(ErrorCode::invalid_argument, std::string("cannot ") + what + ": the store is open read-only",
                  file.string());
  }
};

ResultStore::ResultStore() : impl_(std::make_unique<Impl>()) {}
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;
ResultStore::~ResultStore() = default;

const fs::path& ResultStore::file() const { return impl_->file; }

ResultStore ResultStore::open(const fs::path& file, OpenMode mode) {
  std::error_code ec;
  if (mode != OpenMode::create && !fs::exists(file, ec))
    throw Error(ErrorCode::unreadable, "no such results store", file.string());
  if (fs::is_directory(file, ec)) throw Error(ErrorCode::unreadable, "is a directory, not a results store", file.string());
  int flags = mode == OpenMode::read_only ? SQLITE_OPEN_READONLY
              : mode == OpenMode::read_write ? SQLITE_OPEN_READWRITE
                                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  ResultStore store;
  store.impl_->file = file;
  store.impl_->mode = mode;
  store.impl_->db = sqlite::Database::open(file, flags);
  store.impl_->version = store_schema::prepare(store.impl_->db, mode);
  return store;
}

// --- runs --------------------------------------------------------------------------------

namespace {

std::string random_uid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return buf;
}

// The double whose shortest text is the float's ("0.95", not 0.949999988079071): what SQL
// queries show; casting it back to float gives the same float.
double widen(float value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  double out = value;
  if (ec == std::errc()) std::from_chars(buf, end, out);
  return out;
}

std::string json_or(const std::string& text, const char* fallback, const char* what, const fs::path& file) {
  if (text.empty()) return fallback;
  if (!nlohmann::json::accept(text))
    throw Error(ErrorCode::invalid_argument, std::string("the run's ") + what + " is not valid JSON", file.string());
  return text;
}

}  // namespace

std::int64_t ResultStore::begin_run(RunInfo info) {
  impl_->require_writable("begin a run");
  if (info.started.empty()) info.started = store_schema::utc_now();
  auto st = impl_->db.prepare(
      "INSERT INTO runs (uid, started, status, version, command, config, models, host, rank, ranks) "
      "VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  st.bind(1, random_uid())
      .bind(2, info.started)
      .bind(3, info.version)
      .bind(4, info.command)
      .bind(5, json_or(info.config_json, "{}", "config", impl_->file))
      .bind(6, json_or(info.models_json, "[]", "models", impl_->file))
      .bind(7, info.host)
      .bind(8, info.rank)
      .bind(9, info.ranks)
      .run();
  return impl_->db.last_insert_rowid();
}

void ResultStore::end_run(std::int64_t run, std::string_view status) {
  impl_->require_writable("end a run");
  if (status != "complete" && status != "interrupted" && status != "failed" && status != "running")
    throw Error(ErrorCode::invalid_argument,
                "unknown run status \"" + std::string(status) + "\" (complete, interrupted, failed, running)",
                impl_->file.string());
  auto st = impl_->db.prepare(
      "UPDATE runs SET ended = ?2, status = ?3, "
      "items_ok = (SELECT count(*) FROM items WHERE run_id = ?1 AND status = 'ok'), "
      "items_failed = (SELECT count(*) FROM items WHERE run_id = ?1 AND status = 'error') WHERE id = ?1");
  st.bind(1, run).bind(2, store_schema::utc_now()).bind(3, status).run();
  if (impl_->db.changes() == 0)
    throw Error(ErrorCode::invalid_argument, "no run " + std::to_string(run), impl_->file.string());
}

std::vector<RunRecord> ResultStore::runs() const {
  auto st = impl_->db.prepare(
      "SELECT id, started, ended, status, version, command, config, models, host, rank, ranks, items_ok, "
      "items_failed FROM runs ORDER BY id");
  std::vector<RunRecord> out;
  while (st.step()) {
    RunRecord r;
    r.id = st.int64(0);
    r.info.started = st.text(1);
    r.ended = st.text(2);
    r.status = st.text(3);
    r.info.version = st.text(4);
    r.info.command = st.text(5);
    r.info.config_json = st.text(6);
    r.info.models_json = st.text(7);
    r.info.host = st.text(8);
    r.info.rank = static_cast<int>(st.int64(9));
    r.info.ranks = static_cast<int>(st.int64(10));
    r.items_ok = st.int64(11);
    r.items_failed = st.int64(12);
    out.push_back(std::move(r));
  }
  return out;
}

// --- writing items -----------------------------------------------------------------------

std::size_t ResultStore::write_batch(std::int64_t run, const std::vector<ItemResult>& items) {
  impl_->require_writable("write items");
  if (items.empty()) return 0;
  for (const ItemResult& item : items) {
    if (item.path.empty())
      throw Error(ErrorCode::invalid_argument, "an item without a path (key \"" + item.key + "\")",
                  impl_->file.string());
    for (const ScoreRecord& s : item.scores)
      if (std::isnan(s.score))
        throw Error(ErrorCode::invalid_argument, "a NaN score (" + s.detector + "/" + s.category + ")", item.key);
    for (const CategoryRecord& c : item.categories)
      if (std::isnan(c.score))
        throw Error(ErrorCode::invalid_argument, "a NaN category score (" + c.detector + "/" + c.category + ")", item.key);
    if (item.faces)
      for (const FaceRecord& f : *item.faces)
        if (std::isnan(f.x) || std::isnan(f.y) || std::isnan(f.width) || std::isnan(f.height) || std::isnan(f.confidence))
          throw Error(ErrorCode::invalid_argument, "a face with a NaN coordinate or confidence", item.key);
  }
  auto& db = impl_->db;
  auto& insert_item = impl_->cached(
      impl_->insert_item,
      "INSERT INTO items (run_id, key, source, path, member, bytes, width, height, format, sha256, meta, status, "
      "error_code, error, face_count, face_detector, created, decision) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
      "ON CONFLICT (path, member) DO NOTHING");
  auto& insert_category = impl_->cached(
      impl_->insert_category,
      "INSERT INTO categories (item_id, detector, category, score, likelihood, decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  auto& insert_score = impl_->cached(
      impl_->insert_score, "INSERT INTO scores (item_id, detector, category, score, flagged) VALUES (?1, ?2, ?3, ?4, ?5)");
  auto& insert_face = impl_->cached(
      impl_->insert_face, "INSERT INTO faces (item_id, x, y, w, h, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  auto& insert_column = impl_->cached(
      impl_->insert_column, "INSERT INTO score_columns (detector, category) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
  const std::string created = store_schema::utc_now();
  std::vector<std::pair<std::string_view, std::string_view>> columns;  // of this batch's new items

  sqlite::Transaction tx(db);
  std::size_t added = 0;
  for (const ItemResult& item : items) {
    insert_item.reset()
        .bind(1, run)
        .bind(2, item.key)
        .bind(3, item.source)
        .bind(4, item.path)
        .bind(5, item.member)
        .bind_or_null(6, item.bytes < 0 ? -1 : item.bytes, -1)
        .bind_or_null(7, item.width, 0)
        .bind_or_null(8, item.height, 0)
        .bind_or_null(9, item.format)
        .bind_or_null(10, item.sha256)
        .bind_or_null(11, item.meta_json)
        .bind(12, item.ok ? "ok" : "error")
        .bind_or_null(13, item.ok ? std::string_view() : std::string_view(item.error_code))
        .bind_or_null(14, item.ok ? std::string_view() : std::string_view(item.error_message))
        .bind(17, created)
        .bind_or_null(18, item.ok ? to_string(item.decision) : std::string_view());
    if (item.faces) {
      insert_item.bind(15, static_cast<std::int64_t>(item.faces->size())).bind_or_null(16, item.face_detector);
    }
    insert_item.run();
    if (db.changes() == 0) continue;  // (path, member) already stored: keep the first result
    const std::int64_t id = db.last_insert_rowid();
    for (const ScoreRecord& s : item.scores) {
      std::pair<std::string_view, std::string_view> column(s.detector, s.category);
      if (std::find(columns.begin(), columns.end(), column) == columns.end()) columns.push_back(column);
      insert_score.reset()
          .bind(1, id)
          .bind(2, s.detector)
          .bind(3, s.category)
          .bind(4, widen(s.score))
          .bind(5, s.flagged ? 1 : 0)
          .run();
    }
    for (const CategoryRecord& c : item.categories)
      insert_category.reset()
          .bind(1, id)
          .bind(2, c.detector)
          .bind(3, c.category)
          .bind(4, widen(c.score))
          .bind(5, to_string(c.likelihood))
          .bind(6, to_string(c.decision))
          .run();
    if (item.faces)
      for (const FaceRecord& f : *item.faces)
        insert_face.reset()
            .bind(1, id)
            .bind(2, widen(f.x))
            .bind(3, widen(f.y))
            .bind(4, widen(f.width))
            .bind(5, widen(f.height))
            .bind(6, widen(f.confidence))
            .run();
    ++added;
  }
  for (const auto& [detector, category] : columns) insert_column.reset().bind(1, detector).bind(2, category).run();
  tx.commit();
  return added;
}

bool ResultStore::contains(std::string_view path, std::string_view member) const {
  auto& st = impl_->cached(impl_->find_item, "SELECT 1 FROM items WHERE path = ?1 AND member = ?2");
  st.reset().bind(1, path).bind(2, member);
  bool found = st.step();
  st.reset();  // releases the read snapshot
  return found;
}

std::optional<bool> ResultStore::item_ok(std::string_view path, std::string_view member) const {
  auto& st = impl_->cached(impl_->item_status, "SELECT status = 'ok' FROM items WHERE path = ?1 AND member = ?2");
  st.reset().bind(1, path).bind(2, member);
  std::optional<bool> ok;
  if (st.step()) ok = st.int64(0) != 0;
  st.reset();
  return ok;
}

void ResultStore::mark_unit_done(std::int64_t run, std::string_view unit_id, std::int64_t failed) {
  impl_->require_writable("mark a unit done");
  auto& st = impl_->cached(impl_->insert_unit,
                           "INSERT INTO units (unit_id, run_id, done_at, failed) VALUES (?1, ?2, ?3, ?4) "
                           "ON CONFLICT (unit_id) DO NOTHING");
  st.reset().bind(1, unit_id).bind(2, run).bind(3, store_schema::utc_now()).bind(4, failed).run();
}

bool ResultStore::unit_done(std::string_view unit_id) const { return unit_failed(unit_id).has_value(); }

std::optional<std::int64_t> ResultStore::unit_failed(std::string_view unit_id) const {
  auto& st = impl_->cached(impl_->find_unit, "SELECT failed FROM units WHERE unit_id = ?1");
  st.reset().bind(1, unit_id);
  std::optional<std::int64_t> failed;
  if (st.step()) failed = st.int64(0);
  st.reset();
  return failed;
}

std::int64_t ResultStore::count_items() const { return impl_->db.query_int64("SELECT count(*) FROM items"); }

std::int64_t ResultStore::count_failed() const {
  return impl_->db.query_int64("SELECT count(*) FROM items WHERE status = 'error'");
}

// --- reading -----------------------------------------------------------------------------

void ResultStore::for_each_item(const std::function<void(const ItemResult&)>& visit) const {
  auto& db = impl_->db;
  // Four cursors in item id order, merged: no per-item lookups, one item in memory.
  const bool v2 = impl_->version >= 2;
  auto items = db.prepare(v2 ? "SELECT id, key, source, path, member, bytes, width, height, format, sha256, meta, status, error_code, "
                               "error, face_count, face_detector, decision FROM items ORDER BY id"
                             : "SELECT id, key, source, path, member, bytes, width, height, format, sha256, meta, status, error_code, "
                               "error, face_count, face_detector, NULL FROM items ORDER BY id");
  // Schema 1 has no categories: an empty cursor stands in.
  auto categories = db.prepare(v2 ? "SELECT item_id, detector, category, score, likelihood, decision FROM categories "
                                    "ORDER BY item_id, detector, category"
                                  : "SELECT 0, '', '', 0.0, '', '' WHERE 0");
  auto scores = db.prepare("SELECT item_id, detector, category, score, flagged FROM scores ORDER BY item_id, detector, category");
  auto faces = db.prepare("SELECT item_id, x, y, w, h, confidence FROM faces ORDER BY item_id, rowid");
  auto decisions = db.prepare("SELECT item_id, decision FROM decisions ORDER BY item_id, decided_at, id");
  bool have_score = scores.step(), have_face = faces.step(), have_decision = decisions.step(),
       have_category = categories.step();

  ItemResult item;
  while (items.step()) {
    item = ItemResult{};
    item.id = items.int64(0);
    item.key = items.text(1);
    item.source = items.text(2);
    item.path = items.text(3);
    item.member = items.text(4);
    item.bytes = items.is_null(5) ? -1 : items.int64(5);
    item.width = static_cast<int>(items.int64(6));
    item.height = static_cast<int>(items.int64(7));
    item.format = items.text(8);
    item.sha256 = items.text(9);
    item.meta_json = items.text(10);
    item.ok = items.text_view(11) == "ok";
    item.error_code = items.text(12);
    item.error_message = items.text(13);
    if (!items.is_null(14)) {
      item.faces.emplace();
      item.face_detector = items.text(15);
    }
    const std::int64_t id = item.id;
    while (have_score && scores.int64(0) < id) have_score = scores.step();
    for (; have_score && scores.int64(0) == id; have_score = scores.step())
      item.scores.push_back({scores.text(1), scores.text(2), static_cast<float>(scores.real(3)), scores.int64(4) != 0});
    while (have_category && categories.int64(0) < id) have_category = categories.step();
    for (; have_category && categories.int64(0) == id; have_category = categories.step())
      item.categories.push_back({categories.text(1), categories.text(2), static_cast<float>(categories.real(3)),
                                 parse_likelihood(categories.text_view(4)).value_or(Likelihood::very_unlikely),
                                 parse_decision(categories.text_view(5)).value_or(Decision::allow)});
    if (!items.is_null(16)) {
      item.decision = parse_decision(items.text_view(16)).value_or(Decision::allow);
    } else if (item.ok) {
      // Written before policies (schema 1): a score flagged at scan time blocked the item.
      const bool any = std::any_of(item.scores.begin(), item.scores.end(), [](const ScoreRecord& s) { return s.flagged; });
      item.decision = any ? Decision::block : Decision::allow;
    }
    while (have_face && faces.int64(0) < id) have_face = faces.step();
    for (; have_face && faces.int64(0) == id; have_face = faces.step()) {
      FaceRecord f{static_cast<float>(faces.real(1)), static_cast<float>(faces.real(2)),
                   static_cast<float>(faces.real(3)), static_cast<float>(faces.real(4)),
                   static_cast<float>(faces.real(5))};
      if (item.faces) item.faces->push_back(f);
    }
    while (have_decision && decisions.int64(0) < id) have_decision = decisions.step();
    for (; have_decision && decisions.int64(0) == id; have_decision = decisions.step())
      item.review = decisions.text(1);  // ordered by time: the last one wins
    visit(item);
  }
}

std::vector<std::pair<std::string, std::string>> ResultStore::score_columns() const {
  auto st = impl_->db.prepare("SELECT detector, category FROM score_columns ORDER BY detector, category");
  std::vector<std::pair<std::string, std::string>> out;
  while (st.step()) out.emplace_back(st.text(0), st.text(1));
  return out;
}

}  // namespace safescan
