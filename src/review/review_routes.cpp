// The review app's routes: a fixed set of static assets and the JSON API (docs/review.md).
// Images are found by item id only: a client never names a file.
#include <fstream>
#include <iterator>
#include <sstream>

#include "review/review_state.hpp"
#include "safescan/error.hpp"
#include "safescan/image.hpp"
#include "safescan/item_bytes.hpp"
#include "safescan/store.hpp"

namespace safescan::review {

namespace {

using json = nlohmann::json;
using httplib::Request;
using httplib::Response;

constexpr std::uint64_t kMaxImageBytes = 256ull << 20;
const std::set<std::string> kDecisionFilters = {"any", "undecided", "keep", "remove", "skip"};

struct Asset {
  const char* file;
  const char* type;
};

// The only files served from the web directory.
const std::map<std::string, Asset, std::less<>> kAssets = {
    {"/", {"index.html", "text/html; charset=utf-8"}},
    {"/index.html", {"index.html", "text/html; charset=utf-8"}},
    {"/app.js", {"app.js", "text/javascript; charset=utf-8"}},
    {"/app.css", {"app.css", "text/css; charset=utf-8"}},
};

// Over the server's default headers.
void replace_header(Response& res, const char* name, const std::string& value) {
  res.headers.erase(name);
  res.set_header(name, value);
}

void send_json(Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// `allowed`: "GET" (HEAD too) or "POST" or "GET, POST".
void require_method(const Request& req, Response& res, std::string_view allowed) {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  const bool ok = (method == "GET" || method == "POST") && allowed.find(method) != std::string_view::npos;
  if (!ok) {
    res.set_header("Allow", allowed == "GET" ? "GET, HEAD" : allowed == "GET, POST" ? "GET, HEAD, POST" : std::string(allowed));
    throw HttpError(405, "method " + req.method.substr(0, 20) + " is not allowed here (" + std::string(allowed) + ")");
  }
}

// Routes without parameters still refuse unknown ones (only "token" is accepted).
void no_params(const Request& req) { Params check(req.params, {}); }

Filter read_filter(const Params& p) {
  Filter f;
  f.detector = p.text("detector");
  f.category = p.text("category");
  f.min_score = p.number("min_score", 0.0f, 1.0f);
  return f;
}

void serve_asset(State& s, const Asset& asset, Response& res) {
  std::ifstream in(s.opt.web_dir / asset.file, std::ios::binary);
  if (!in) throw HttpError(404, std::string("web asset ") + asset.file + " not found (set SAFESCAN_WEB_DIR)");
  std::string body((std::istreambuf_iterator<char>(in)), {});
  res.set_content(std::move(body), asset.type);
}

ItemLocation locate(State& s, std::int64_t id) {
  std::lock_guard lock(s.db_mutex);
  auto where = s.queries.locate(id);
  if (!where) throw HttpError(404, "no item with id " + std::to_string(id));
  return *where;
}

std::vector<std::uint8_t> item_bytes(const ItemLocation& where) {
  try {
    return read_item_bytes(where.path, where.member, kMaxImageBytes);
  } catch (const Error& e) {
    throw HttpError(e.code() == ErrorCode::too_large ? 413 : 404, std::string("cannot read the item: ") + e.what());
  }
}

void thumb(State& s, std::int64_t id, const Params& p, Response& res) {
  const int size = static_cast<int>(p.integer("size", 32, 1024, 320));
  auto jpeg = s.thumbs.get(id, size);
  if (!jpeg) {
    const ItemLocation where = locate(s, id);
    const auto bytes = item_bytes(where);
    std::vector<std::uint8_t> out;
    try {
      out = make_thumbnail_jpeg(bytes, size, 80);
    } catch (const Error& e) {
      throw HttpError(422, std::string("cannot make a thumbnail: ") + e.what());
    }
    jpeg = std::make_shared<const std::string>(out.begin(), out.end());
    s.thumbs.put(id, size, jpeg);
  }
  res.set_content(*jpeg, "image/jpeg");
  replace_header(res, "Cache-Control", "private, max-age=3600");
}

void image(State& s, std::int64_t id, Response& res) {
  const auto bytes = item_bytes(locate(s, id));
  const ImageFormat format = sniff_format(bytes);
  if (format == ImageFormat::unknown) throw HttpError(415, "the item is not an image format a browser shows");
  res.set_content(std::string(bytes.begin(), bytes.end()), "image/" + std::string(to_string(format)));
  replace_header(res, "Content-Security-Policy", "default-src 'none'; sandbox");
  res.set_header("Content-Disposition", "inline");
}

json parse_body(const Request& req) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/json", 0) != 0) throw HttpError(415, "the body must be application/json");
  if (req.body.empty()) return json::object();
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw HttpError(400, "the body is not valid JSON");
  if (!body.is_object()) throw HttpError(400, "the body must be a JSON object");
  return body;
}

void post_decision(State& s, const Request& req, Response& res) {
  const json body = parse_body(req);
  for (const auto& [name, value] : body.items())
    if (name != "item_id" && name != "decision" && name != "note") throw HttpError(400, "unknown field \"" + name.substr(0, 40) + "\"");
  if (!body.contains("item_id") || !(body["item_id"].is_number_integer()) || body["item_id"].get<std::int64_t>() <= 0)
    throw HttpError(400, "item_id must be a positive integer");
  if (!body.contains("decision") || !body["decision"].is_string() || !is_decision(body["decision"].get<std::string>()))
    throw HttpError(400, "decision must be \"keep\", \"remove\" or \"skip\"");
  std::string note;
  if (body.contains("note") && !body["note"].is_null()) {
    if (!body["note"].is_string()) throw HttpError(400, "note must be a string");
    note = body["note"].get<std::string>();
    if (note.size() > 2000) throw HttpError(400, "note is longer than 2000 bytes");
  }
  const std::int64_t item = body["item_id"].get<std::int64_t>();
  std::lock_guard lock(s.db_mutex);
  if (!s.queries.locate(item)) throw HttpError(404, "no item with id " + std::to_string(item));
  const DecisionRecord r = s.decisions.record(item, body["decision"].get<std::string>(), s.opt.reviewer, note);
  send_json(res, {{"decision", decision_json(r.id, r.item_id, r.decision, r.reviewer, r.decided_at, r.note)}}, 201);
}

void post_undo(State& s, const Request& req, Response& res) {
  if (!parse_body(req).empty()) throw HttpError(400, "undo takes no fields");
  std::lock_guard lock(s.db_mutex);
  const auto r = s.decisions.undo_latest(s.opt.reviewer, s.session_floor);
  if (!r) throw HttpError(409, "nothing to undo (no decision of " + s.opt.reviewer + " since the server started)");
  const auto now = s.decisions.latest(r->item_id);
  send_json(res, {{"undone", decision_json(r->id, r->item_id, r->decision, r->reviewer, r->decided_at, r->note)},
                  {"decision", now ? decision_json(now->id, now->item_id, now->decision, now->reviewer, now->decided_at, now->note)
                                   : json()}});
}

void list_decisions(State& s, const Params& p, Response& res) {
  const auto limit = p.integer("limit", 1, 1000, 100), offset = p.integer("offset", 0, 1'000'000'000, 0);
  const std::string reviewer = p.text("reviewer").value_or("");
  json list = json::array();
  std::lock_guard lock(s.db_mutex);
  for (const auto& r : s.decisions.recent(static_cast<std::size_t>(limit), static_cast<std::size_t>(offset), reviewer))
    list.push_back(decision_json(r.id, r.item_id, r.decision, r.reviewer, r.decided_at, r.note));
  send_json(res, {{"decisions", list}, {"offset", offset}, {"limit", limit}});
}

void removal_list(State& s, const Params& p, Response& res) {
  const Filter f = read_filter(p);
  ExportOptions eo;
  eo.detector = f.detector;
  eo.category = f.category;
  eo.min_score = f.min_score;
  std::ostringstream out;
  const ResultStore store = ResultStore::open(s.opt.db, OpenMode::read_only);
  export_results(store, ExportFormat::removal_list, eo, out);
  res.set_content(out.str(), "text/plain; charset=utf-8");
  res.set_header("Content-Disposition", "attachment; filename=\"removal-list.txt\"");
}

}  // namespace

void send_error(Response& res, int status, const std::string& message) { send_json(res, {{"error", message}}, status); }

void route(State& s, const Request& req, Response& res) {
  const std::string& path = req.path;
  if (auto asset = kAssets.find(path); asset != kAssets.end()) {
    require_method(req, res, "GET");
    Params page(req.params, {"detector", "category", "min_score", "decision"});  // the page keeps its filters in the URL
    return serve_asset(s, asset->second, res);
  }
  const std::string_view p(path);
  auto id_after = [&](std::string_view prefix) -> std::optional<std::int64_t> {
    if (p.substr(0, prefix.size()) != prefix) return std::nullopt;
    return parse_id(p.substr(prefix.size()));
  };
  if (p == "/api/summary") {
    require_method(req, res, "GET");
    no_params(req);
    json body;
    {
      std::lock_guard lock(s.db_mutex);
      body = s.queries.summary();
      body["progress"] = s.queries.progress(Filter{});
    }
    body["reviewer"] = s.opt.reviewer;
    body["database"] = s.opt.db.filename().string();
    return send_json(res, body);
  }
  if (p == "/api/items" || p == "/api/progress") {
    require_method(req, res, "GET");
    if (p == "/api/progress") {
      const Filter f = read_filter(Params(req.params, {"detector", "category", "min_score"}));
      std::lock_guard lock(s.db_mutex);
      return send_json(res, s.queries.progress(f));
    }
    const Params params(req.params, {"detector", "category", "min_score", "decision", "offset", "limit"});
    Filter f = read_filter(params);
    f.decision = params.choice("decision", kDecisionFilters, "any");
    const auto offset = params.integer("offset", 0, 1'000'000'000, 0), limit = params.integer("limit", 1, 500, 100);
    std::lock_guard lock(s.db_mutex);
    return send_json(res, s.queries.items(f, offset, limit));
  }
  if (auto id = id_after("/api/items/")) {
    require_method(req, res, "GET");
    no_params(req);
    std::lock_guard lock(s.db_mutex);
    auto item = s.queries.item(*id);
    if (!item) throw HttpError(404, "no item with id " + std::to_string(*id));
    return send_json(res, *item);
  }
  if (auto id = id_after("/api/thumb/")) {
    require_method(req, res, "GET");
    return thumb(s, *id, Params(req.params, {"size"}), res);
  }
  if (auto id = id_after("/api/image/")) {
    require_method(req, res, "GET");
    no_params(req);
    return image(s, *id, res);
  }
  if (p == "/api/decisions") {
    require_method(req, res, "GET, POST");
    if (req.method == "POST") return post_decision(s, req, res);
    return list_decisions(s, Params(req.params, {"limit", "offset", "reviewer"}), res);
  }
  if (p == "/api/undo") {
    require_method(req, res, "POST");
    return post_undo(s, req, res);
  }
  if (p == "/api/removal-list") {
    require_method(req, res, "GET");
    return removal_list(s, Params(req.params, {"detector", "category", "min_score"}), res);
  }
  throw HttpError(404, "not found");
}

}  // namespace safescan::review
