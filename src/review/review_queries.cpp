// SQL of the review app; see review_queries.hpp. The flagged set and the score of an item
// follow export_results' rule (src/dataset/exports.cpp), so the grid, the progress and the
// removal list agree.
#include "review/review_queries.hpp"

#include <charconv>
#include <set>

#include "dataset/store_schema.hpp"

namespace safescan::review {

namespace {

using json = nlohmann::json;

// The double stored for a float score (shortest decimal text), so `score >= ?` in SQL agrees
// with the float comparison of the export.
double tidy(float value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::stod(std::string(buf, end)) : static_cast<double>(value);
}

// sel: the flagging score rows per item (highest first: SQLite takes the bare columns of the
// max() row); cur: ok items with the id of their latest decision. ?1 detector, ?2 category,
// ?3 min score. Without min_score the condition is `flagged = 1`, which the partial index
// scores_flagged covers.
std::string flagged_cte(const Filter& f) {
  std::string sql = "WITH sel AS (SELECT item_id, max(score) AS score, detector, category FROM scores WHERE ";
  sql += f.min_score ? "score >= ?3" : "flagged = 1 AND ?3 IS NULL";
  sql +=
      " AND (?1 IS NULL OR detector = ?1) AND (?2 IS NULL OR category = ?2) GROUP BY item_id), "
      "cur AS (SELECT sel.item_id, sel.score, sel.detector, sel.category, "
      "(SELECT d.id FROM decisions d WHERE d.item_id = sel.item_id ORDER BY d.decided_at DESC, d.id DESC LIMIT 1) AS did "
      "FROM sel JOIN items i ON i.id = sel.item_id WHERE i.status = 'ok') ";
  return sql;
}

void bind_filter(sqlite::Statement& st, const Filter& f) {
  if (f.detector) st.bind(1, *f.detector); else st.bind_null(1);
  if (f.category) st.bind(2, *f.category); else st.bind_null(2);
  if (f.min_score) st.bind(3, tidy(*f.min_score)); else st.bind_null(3);
}

json text_or_null(const sqlite::Statement& st, int col) { return st.is_null(col) ? json() : json(st.text(col)); }
json int_or_null(const sqlite::Statement& st, int col) { return st.is_null(col) ? json() : json(st.int64(col)); }

}  // namespace

json decision_json(std::int64_t id, std::int64_t item_id, const std::string& decision, const std::string& reviewer,
                   const std::string& decided_at, const std::string& note) {
  return json{{"id", id}, {"item_id", item_id}, {"decision", decision}, {"reviewer", reviewer},
              {"decided_at", decided_at}, {"note", note}};
}

Queries::Queries(const std::filesystem::path& db) {
  db_ = sqlite::Database::open(db, SQLITE_OPEN_READONLY);
  store_schema::prepare(db_, OpenMode::read_only);
}

std::vector<std::pair<std::string, std::string>> Queries::columns() {
  std::vector<std::pair<std::string, std::string>> cols;
  auto st = db_.prepare("SELECT detector, category FROM score_columns ORDER BY detector, category");
  while (st.step()) cols.emplace_back(st.text(0), st.text(1));
  return cols;
}

json Queries::summary() {
  json cols = json::array();
  std::set<std::string> detectors, categories;
  for (const auto& [d, c] : columns()) {
    cols.push_back({{"detector", d}, {"category", c}});
    detectors.insert(d);
    categories.insert(c);
  }
  return json{{"items", db_.query_int64("SELECT count(*) FROM items")},
              {"failed", db_.query_int64("SELECT count(*) FROM items WHERE status = 'error'")},
              {"decisions", db_.query_int64("SELECT count(*) FROM decisions")},
              {"columns", cols},
              {"detectors", detectors},
              {"categories", categories}};
}

json Queries::items(const Filter& f, std::int64_t offset, std::int64_t limit) {
  std::string where = "1";
  if (f.decision == "undecided") where = "cur.did IS NULL";
  else if (f.decision != "any") where = "d.decision = ?4";
  auto st = db_.prepare(flagged_cte(f) +
                        "SELECT i.id, i.key, i.width, i.height, i.format, i.bytes, i.face_count, cur.score, cur.detector, "
                        "cur.category, d.id, d.decision, d.reviewer, d.decided_at, d.note "
                        "FROM cur JOIN items i ON i.id = cur.item_id LEFT JOIN decisions d ON d.id = cur.did WHERE " +
                        where + " ORDER BY cur.score DESC, i.id LIMIT ?5 OFFSET ?6");
  bind_filter(st, f);
  if (f.decision != "any" && f.decision != "undecided") st.bind(4, f.decision);
  st.bind(5, limit).bind(6, offset);
  json list = json::array();
  while (st.step()) {
    json item{{"id", st.int64(0)},         {"key", st.text(1)},          {"width", int_or_null(st, 2)},
              {"height", int_or_null(st, 3)}, {"format", text_or_null(st, 4)}, {"bytes", int_or_null(st, 5)},
              {"faces", int_or_null(st, 6)}, {"score", st.real(7)},        {"detector", st.text(8)},
              {"category", st.text(9)},      {"decision", json()}};
    if (!st.is_null(10))
      item["decision"] = decision_json(st.int64(10), st.int64(0), st.text(11), st.text(12), st.text(13), st.text(14));
    list.push_back(std::move(item));
  }
  json p = progress(f);
  std::int64_t total = p["flagged"];
  if (f.decision == "undecided") total -= p["reviewed"].get<std::int64_t>();
  else if (f.decision != "any") total = p[f.decision];
  return json{{"total", total}, {"offset", offset}, {"limit", limit}, {"progress", p}, {"items", list}};
}

json Queries::progress(const Filter& f) {
  auto st = db_.prepare(flagged_cte(f) +
                        "SELECT count(*), count(cur.did), coalesce(sum(d.decision = 'keep'), 0), "
                        "coalesce(sum(d.decision = 'remove'), 0), coalesce(sum(d.decision = 'skip'), 0) "
                        "FROM cur LEFT JOIN decisions d ON d.id = cur.did");
  bind_filter(st, f);
  st.step();
  json p{{"flagged", st.int64(0)}, {"reviewed", st.int64(1)}, {"keep", st.int64(2)}, {"remove", st.int64(3)},
         {"skip", st.int64(4)}};
  st.reset();
  return p;
}

std::optional<json> Queries::item(std::int64_t id) {
  auto st = db_.prepare(
      "SELECT id, key, source, path, member, status, error_code, error, width, height, format, bytes, face_count, "
      "face_detector FROM items WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  json item{{"id", st.int64(0)},           {"key", st.text(1)},           {"source", st.text(2)},
            {"path", st.text(3)},          {"member", st.text(4)},        {"status", st.text(5)},
            {"error_code", text_or_null(st, 6)}, {"error", text_or_null(st, 7)}, {"width", int_or_null(st, 8)},
            {"height", int_or_null(st, 9)}, {"format", text_or_null(st, 10)}, {"bytes", int_or_null(st, 11)},
            {"faces", int_or_null(st, 12)}, {"face_detector", text_or_null(st, 13)}};
  st.reset();
  json scores = json::array();
  auto sc = db_.prepare("SELECT detector, category, score, flagged FROM scores WHERE item_id = ?1 ORDER BY detector, category");
  sc.bind(1, id);
  while (sc.step())
    scores.push_back({{"detector", sc.text(0)}, {"category", sc.text(1)}, {"score", sc.real(2)}, {"flagged", sc.int64(3) != 0}});
  json history = json::array();
  auto hi = db_.prepare(
      "SELECT id, item_id, decision, reviewer, decided_at, note FROM decisions WHERE item_id = ?1 ORDER BY decided_at, id");
  hi.bind(1, id);
  while (hi.step()) history.push_back(decision_json(hi.int64(0), hi.int64(1), hi.text(2), hi.text(3), hi.text(4), hi.text(5)));
  item["scores"] = std::move(scores);
  item["decisions"] = history;
  item["decision"] = history.empty() ? json() : history.back();
  return item;
}

std::optional<ItemLocation> Queries::locate(std::int64_t id) {
  auto st = db_.prepare("SELECT key, path, member, status, coalesce(format, '') FROM items WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return ItemLocation{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4)};
}

}  // namespace safescan::review
