// export_results: a results store as CSV, JSON lines, Q16's inappropriate_images.csv or a
// removal list. Streams through ResultStore::for_each_item (one item in memory at a time).
// docs/results-store.md has the formats and the flag rule.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "safescan/store.hpp"

namespace safescan {

namespace {

struct Verdict {
  bool flagged = false;
  float score = 0;  // the highest of the scores that flagged the item
};

bool selected(const ScoreRecord& s, const ExportOptions& options) {
  return (!options.detector || s.detector == *options.detector) && (!options.category || s.category == *options.category);
}

// Error items are never flagged; otherwise a selected score flags the item when it is
// >= min_score (when given) or when its detector flagged it at scan time.
Verdict judge(const ItemRecord& item, const ExportOptions& options) {
  Verdict v;
  if (!item.ok) return v;
  for (const ScoreRecord& s : item.scores) {
    if (!selected(s, options)) continue;
    bool flags = options.min_score ? s.score >= *options.min_score : s.flagged;
    if (flags && (!v.flagged || s.score > v.score)) v.score = s.score;
    v.flagged = v.flagged || flags;
  }
  return v;
}

// A review decision overrides the detectors for the removal list: "remove" puts the item on
// it, "keep" takes it off, "skip" (or none) leaves the detectors' verdict.
bool to_remove(const ItemRecord& item, const Verdict& v) {
  if (item.decision == "remove") return true;
  if (item.decision == "keep") return false;
  return v.flagged;
}

const std::string& key_of(const ItemRecord& item) { return item.key.empty() ? item.path : item.key; }

// Shortest decimal text that reads back as the same float ("0.9", not "0.899999976").
std::string float_text(float value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

double tidy(float value) { return std::stod(float_text(value)); }

// RFC 4180: fields with a comma, a quote or a line break are quoted, quotes doubled.
void csv_field(std::ostream& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out << field;
    return;
  }
  out << '"';
  for (char c : field) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

void export_csv(const ResultStore& store, const ExportOptions& options, std::ostream& out) {
  const auto columns = store.score_columns();
  out << "key,source,path,member,status,error,width,height,faces,flagged";
  for (const auto& [detector, category] : columns) {
    out << ',';
    csv_field(out, detector + "/" + category);
  }
  out << '\n';
  std::vector<const ScoreRecord*> row(columns.size());
  store.for_each_item([&](const ItemRecord& item) {
    for (std::string_view field : {std::string_view(item.key), std::string_view(item.source), std::string_view(item.path),
                                   std::string_view(item.member)}) {
      csv_field(out, field);
      out << ',';
    }
    out << (item.ok ? "ok" : "error") << ',';
    csv_field(out, item.ok ? std::string_view() : std::string_view(item.error_message));
    out << ',';
    if (item.width > 0) out << item.width;
    out << ',';
    if (item.height > 0) out << item.height;
    out << ',';
    if (item.faces) out << item.faces->size();
    out << ',' << (judge(item, options).flagged ? 1 : 0);
    // Both lists are sorted by (detector, category): one merge pass.
    std::size_t c = 0;
    std::fill(row.begin(), row.end(), nullptr);
    for (const ScoreRecord& s : item.scores) {
      while (c < columns.size() && std::tie(columns[c].first, columns[c].second) < std::tie(s.detector, s.category)) ++c;
      if (c < columns.size() && columns[c].first == s.detector && columns[c].second == s.category) row[c] = &s;
    }
    for (const ScoreRecord* s : row) {
      out << ',';
      if (s) out << float_text(s->score);
    }
    out << '\n';
  });
}

nlohmann::ordered_json or_null(std::string_view text) {
  return text.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(std::string(text));
}

void export_jsonl(const ResultStore& store, const ExportOptions& options, std::ostream& out) {
  using json = nlohmann::ordered_json;
  store.for_each_item([&](const ItemRecord& item) {
    json j;
    j["key"] = item.key;
    j["source"] = item.source;
    j["path"] = item.path;
    j["member"] = item.member;
    j["status"] = item.ok ? "ok" : "error";
    if (!item.ok) {
      j["error"] = item.error_message;
      j["error_code"] = item.error_code;
    }
    j["width"] = item.width > 0 ? json(item.width) : json();
    j["height"] = item.height > 0 ? json(item.height) : json();
    j["format"] = or_null(item.format);
    j["bytes"] = item.bytes >= 0 ? json(item.bytes) : json();
    j["sha256"] = or_null(item.sha256);
    j["flagged"] = judge(item, options).flagged;
    if (!item.decision.empty()) j["decision"] = item.decision;
    json scores = json::object();
    for (const ScoreRecord& s : item.scores) scores[s.detector][s.category] = tidy(s.score);
    j["scores"] = std::move(scores);
    if (item.faces) {
      json faces = json::array();
      for (const FaceRecord& f : *item.faces)
        faces.push_back({{"x", tidy(f.x)}, {"y", tidy(f.y)}, {"w", tidy(f.width)}, {"h", tidy(f.height)},
                         {"confidence", tidy(f.confidence)}});
      j["faces"] = std::move(faces);
      j["face_detector"] = or_null(item.face_detector);
    }
    j["face_count"] = item.faces ? json(item.faces->size()) : json();
    if (!item.meta_json.empty()) {
      json meta = json::parse(item.meta_json, nullptr, /*allow_exceptions=*/false);
      j["meta"] = meta.is_discarded() ? json(item.meta_json) : std::move(meta);
    }
    out << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  });
}

// Q16 (ml-research/Q16, main/paper_experiments/experiments.py, run_model_imagefolder) writes
// inappropriate_images.csv without a header, one line per image it flags:
//   f"{label},{idx},{score:.2f},{item}"  e.g.  inappropriate,1,0.97,image.jpg
// label and idx are the predicted class ("inappropriate", index 1 of ['non inappropriate',
// 'inappropriate']), score its softmax probability with two decimals. Q16 writes the image's
// base name; we write the key (the path as enumerated for files), which stays unique.
void export_q16(const ResultStore& store, const ExportOptions& options, std::ostream& out) {
  store.for_each_item([&](const ItemRecord& item) {
    Verdict v = judge(item, options);
    if (!v.flagged) return;
    char score[32];
    std::snprintf(score, sizeof score, "%.2f", static_cast<double>(v.score));
    out << "inappropriate,1," << score << ',';
    csv_field(out, key_of(item));
    out << '\n';
  });
}

void export_removal_list(const ResultStore& store, const ExportOptions& options, std::ostream& out) {
  store.for_each_item([&](const ItemRecord& item) {
    if (to_remove(item, judge(item, options))) out << key_of(item) << '\n';
  });
}

}  // namespace

void export_results(const ResultStore& store, ExportFormat format, const ExportOptions& options, std::ostream& out) {
  switch (format) {
    case ExportFormat::csv: export_csv(store, options, out); break;
    case ExportFormat::jsonl: export_jsonl(store, options, out); break;
    case ExportFormat::q16: export_q16(store, options, out); break;
    case ExportFormat::removal_list: export_removal_list(store, options, out); break;
  }
  out.flush();
  if (!out) throw Error(ErrorCode::unreadable, "cannot write the export (output stream failed)");
}

ExportFormat parse_export_format(std::string_view name) {
  if (name == "csv") return ExportFormat::csv;
  if (name == "jsonl" || name == "json-lines") return ExportFormat::jsonl;
  if (name == "q16") return ExportFormat::q16;
  if (name == "removal-list" || name == "removal_list") return ExportFormat::removal_list;
  throw Error(ErrorCode::invalid_argument,
              "unknown export format \"" + std::string(name) + "\" (csv, jsonl, q16, removal-list)");
}

}  // namespace safescan
