// export_results: a results store as CSV, JSON lines, Q16's inappropriate_images.csv or a
// removal list. Streams through ResultStore::for_each_item (one item in memory at a time).
// docs/results-store.md has the formats and the flag rule.
#include <algorithm>
#include <functional>
#include <charconv>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "safescan/policy.hpp"
#include "safescan/store.hpp"

namespace safescan {

namespace {

struct Verdict {
  bool flagged = false;
  float score = 0;  // the highest of the scores that flagged the item
};

bool selected(const std::string& detector, const std::string& name, const ExportOptions& options) {
  if (options.detector && detector != *options.detector) return false;
  if (!options.category) return true;
  if (name == *options.category) return true;
  const auto a = canonical_category(name), b = canonical_category(*options.category);
  return a && b && *a == *b;
}

// Error items are never flagged. Without a selection, the item's decision (the policy's at
// scan time, or --policy's now) decides; with --detector / --category, the selected
// categories' decisions and the raw scores counting towards them; with --min-score, a
// selected category or raw score >= min_score.
Verdict judge(const ItemResult& item, const ExportOptions& options) {
  Verdict v;
  if (!item.ok) return v;
  auto consider = [&](bool flags, float score) {
    if (flags && (!v.flagged || score > v.score)) v.score = score;
    v.flagged = v.flagged || flags;
  };
  const bool selecting = options.detector || options.category || options.min_score;
  for (const CategoryRecord& c : item.categories) {
    if (!selected(c.detector, c.category, options)) continue;
    consider(options.min_score ? c.score >= *options.min_score : c.decision != Decision::allow, c.score);
  }
  for (const ScoreRecord& s : item.scores) {
    if (!selected(s.detector, s.category, options)) continue;
    consider(options.min_score ? s.score >= *options.min_score : s.flagged, s.score);
  }
  if (!selecting) v.flagged = item.flagged();
  return v;
}

// A review decision overrides the detectors for the removal list: "remove" puts the item on
// it, "keep" takes it off, "skip" (or none) leaves the detectors' verdict.
bool to_remove(const ItemResult& item, const Verdict& v) {
  if (item.review == "remove") return true;
  if (item.review == "keep") return false;
  return v.flagged;
}

// Each item as the export sees it: with --policy, decided again from its category scores.
void each_item(const ResultStore& store, const ExportOptions& options, const std::function<void(const ItemResult&)>& visit) {
  if (!options.policy) {
    store.for_each_item(visit);
    return;
  }
  store.for_each_item([&](const ItemResult& stored) {
    ItemResult item = stored;
    options.policy->apply(item);
    // The scan's flags on raw scores were the old policy's: now the categories decide alone.
    for (ScoreRecord& s : item.scores) s.flagged = false;
    visit(item);
  });
}

const std::string& key_of(const ItemResult& item) { return item.key.empty() ? item.path : item.key; }

// Shortest decimal text that reads back as the same float ("0.9", not "0.899999976").
std::string float_text(float value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}


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
  each_item(store, options, [&](const ItemResult& item) {
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

// The same row as `safescan classify --format jsonl` (result.hpp); --detector, --category
// and --min-score select what flags an item in the other formats, not these rows.
void export_jsonl(const ResultStore& store, const ExportOptions& options, std::ostream& out) {
  each_item(store, options, [&](const ItemResult& item) { out << result_json_line(item) << '\n'; });
}

// Q16 (ml-research/Q16, main/paper_experiments/experiments.py, run_model_imagefolder) writes
// inappropriate_images.csv without a header, one line per image it flags:
//   f"{label},{idx},{score:.2f},{item}"  e.g.  inappropriate,1,0.97,image.jpg
// label and idx are the predicted class ("inappropriate", index 1 of ['non inappropriate',
// 'inappropriate']), score its softmax probability with two decimals. Q16 writes the image's
// base name; we write the key (the path as enumerated for files), which stays unique.
void export_q16(const ResultStore& store, const ExportOptions& options, std::ostream& out) {
  each_item(store, options, [&](const ItemResult& item) {
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
  each_item(store, options, [&](const ItemResult& item) {
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
