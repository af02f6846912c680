// Labelled data and other classifiers' predictions (include/safescan/labels.hpp, docs/bench.md).
//
// Both file kinds are CSV with a header (RFC 4180) or JSON Lines, told apart by the first
// character that is not a byte-order mark or white space: '{' is JSON Lines. Errors name the
// file and the line ("manifest.csv:7: unknown label \"maybe\"") through Error::where; a CSV
// record that spans lines (a quoted field with a newline) is named by the line it starts on.
#include "safescan/labels.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "safescan/error.hpp"
#include "safescan/result.hpp"
#include "safescan/sources.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// --- small text helpers -----------------------------------------------------------------

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && lower(s.substr(s.size() - suffix.size())) == suffix;
}

bool is_tar_name(std::string_view s) {
  return ends_with_nocase(s, ".tar") || ends_with_nocase(s, ".tar.gz") || ends_with_nocase(s, ".tgz");
}

// "file:line", the `where` of an error about one line of a file.
std::string at(const fs::path& file, std::size_t line) { return file.string() + ":" + std::to_string(line); }

[[noreturn]] void fail(const fs::path& file, std::size_t line, const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message, at(file, line));
}

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

// The whole file. Error(unreadable) when it is missing, a directory or cannot be read.
std::string read_file(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw Error(ErrorCode::unreadable, "is a directory, not a file", file.string());
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const bool missing = !fs::exists(file, ec);
    throw Error(ErrorCode::unreadable, missing ? "no such file" : "cannot open the file", file.string());
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::unreadable, "cannot read the file", file.string());
  return text;
}

// The text after a UTF-8 byte-order mark, if any.
std::string_view without_bom(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    text.remove_prefix(3);
  return text;
}

enum class Format { csv, jsonl };

// JSON Lines when the first non-blank character is '{'. Throws for a file with nothing in it.
Format detect_format(std::string_view text, const fs::path& file) {
  const std::string_view content = trim(text);
  if (content.empty()) fail(file, 1, "the file is empty (expected a CSV header or JSON Lines)");
  return content.front() == '{' ? Format::jsonl : Format::csv;
}

// --- CSV (RFC 4180) -----------------------------------------------------------------------

struct CsvRecord {
  std::size_t line = 0;  // the line the record starts on (1-based)
  std::vector<std::string> fields;
};

// Splits the text into records. Fields are separated by ',', records by CRLF, LF or a lone CR;
// a field starting with '"' is quoted: it may hold commas, line breaks and doubled quotes ("")
// and ends at the next lone quote, which must be followed by ',' or the end of the record. A
// quote inside an unquoted field is kept as it is. Blank lines (no characters at all, or only
// white space) are skipped.
std::vector<CsvRecord> parse_csv(std::string_view text, const fs::path& file) {
  std::vector<CsvRecord> records;
  std::size_t line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  // Consumes a line break at i (CRLF, LF or CR); true when there was one.
  auto eat_break = [&]() {
    if (i < n && text[i] == '\r') {
      ++i;
      if (i < n && text[i] == '\n') ++i;
      ++line;
      return true;
    }
    if (i < n && text[i] == '\n') {
      ++i;
      ++line;
      return true;
    }
    return false;
  };
  while (i < n) {
    CsvRecord record;
    record.line = line;
    bool any_quoted = false;
    for (;;) {  // one field per iteration
      std::string field;
      if (i < n && text[i] == '"') {
        any_quoted = true;
        const std::size_t start_line = line;
        ++i;
        for (;;) {
          if (i >= n) fail(file, start_line, "a quoted field is not closed (a '\"' is missing)");
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\r' || c == '\n') {
            // A line break inside quotes is part of the field; count the line.
            if (c == '\r' && i + 1 < n && text[i + 1] == '\n') {
              field += "\r\n";
              i += 2;
            } else {
              field += c;
              ++i;
            }
            ++line;
            continue;
          }
          field += c;
          ++i;
        }
        while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;  // tolerated: "a" , "b"
        if (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n')
          fail(file, line, "unexpected text after the closing quote of a field (a '\"' inside a quoted field is written '\"\"')");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') field += text[i++];
      }
      record.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      eat_break();
      break;
    }
    const bool blank = !any_quoted && record.fields.size() == 1 && trim(record.fields[0]).empty();
    if (!blank) records.push_back(std::move(record));
  }
  return records;
}

// A CSV file as a table: the header's column names (trimmed, lower case) and the rows.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<CsvRecord> rows;

  // Index of a column, or -1.
  int column(std::string_view name) const {
    for (std::size_t c = 0; c < columns.size(); ++c)
      if (columns[c] == name) return static_cast<int>(c);
    return -1;
  }
};

CsvTable read_csv(std::string_view text, const fs::path& file) {
  std::vector<CsvRecord> records = parse_csv(text, file);
  CsvTable table;
  if (records.empty()) fail(file, 1, "the file is empty (expected a CSV header)");
  std::set<std::string> seen;
  for (const auto& name : records.front().fields) {
    std::string col = lower(trim(name));
    if (!col.empty() && !seen.insert(col).second)
      fail(file, records.front().line, "the header names column " + in_quotes(col) + " twice");
    table.columns.push_back(std::move(col));
  }
  const std::size_t width = table.columns.size();
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].fields.size() != width)
      fail(file, records[r].line,
           std::to_string(records[r].fields.size()) + (records[r].fields.size() == 1 ? " field" : " fields") +
               ", but the header has " + std::to_string(width) +
               " (a field holding a comma must be quoted)");
    table.rows.push_back(std::move(records[r]));
  }
  return table;
}

// --- JSON Lines ---------------------------------------------------------------------------

struct JsonLine {
  std::size_t line = 0;
  json object;
};

std::vector<JsonLine> read_jsonl(std::string_view text, const fs::path& file) {
  std::vector<JsonLine> lines;
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    ++line;
    const std::string_view content = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (content.empty()) continue;
    JsonLine jl;
    jl.line = line;
    try {
      jl.object = json::parse(content);
    } catch (const json::exception& e) {
      fail(file, line, std::string("not valid JSON: ") + e.what());
    }
    if (!jl.object.is_object()) fail(file, line, "expected a JSON object {...} on each line");
    lines.push_back(std::move(jl));
  }
  return lines;
}

// A JSON value as text: strings as they are, numbers and booleans as written, null as "".
std::string json_text(const json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// The value of `name` in an object, looked up without regard to case ("Key", "LABEL").
const json* json_field(const json& object, std::string_view name) {
  if (const auto it = object.find(std::string(name)); it != object.end()) return &*it;
  for (auto it = object.begin(); it != object.end(); ++it)
    if (lower(it.key()) == name) return &*it;
  return nullptr;
}

// --- manifests ----------------------------------------------------------------------------

// One row as text fields; absent fields are nullopt.
struct RawRow {
  std::size_t line = 0;
  std::optional<std::string> key, path, label, category, source, split;
};

// The label of a JSON value: a string (parse_label), 0 / 1, true / false.
std::optional<int> json_label(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_integer() || v.is_number_unsigned()) {
    const auto n = v.get<std::int64_t>();
    if (n == 0 || n == 1) return static_cast<int>(n);
    return std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == 0.0 || d == 1.0) return static_cast<int>(d);
    return std::nullopt;
  }
  if (v.is_string()) return parse_label(v.get<std::string>());
  return std::nullopt;
}

// Resolves a manifest path: "shard.tar:member" (when the part before the last ':' names a tar
// shard) or a file; relative to `base`; absolute and lexically normal.
std::pair<std::string, std::string> resolve_path(const std::string& written, const fs::path& base) {
  std::string file = written;
  std::string member;
  if (const auto colon = written.rfind(':'); colon != std::string::npos && colon > 0 && colon + 1 < written.size() &&
                                              is_tar_name(std::string_view(written).substr(0, colon))) {
    file = written.substr(0, colon);
    member = written.substr(colon + 1);
  }
  fs::path p(file);
  if (p.is_relative()) p = base / p;
  return {p.lexically_normal().string(), member};
}

fs::path manifest_base(const fs::path& manifest) {
  std::error_code ec;
  fs::path abs = fs::absolute(manifest, ec);
  if (ec) abs = manifest;
  return abs.lexically_normal().parent_path();
}

}  // namespace

std::optional<int> parse_label(std::string_view text) {
  const std::string t = lower(trim(text));
  if (t == "unsafe" || t == "1" || t == "true") return 1;
  if (t == "safe" || t == "0" || t == "false") return 0;
  return std::nullopt;
}

std::vector<LabelledItem> read_labels(const fs::path& manifest) {
  const std::string bytes = read_file(manifest);
  const std::string_view text = without_bom(bytes);
  const Format format = detect_format(text, manifest);

  // Rows as text, whichever the format; a missing label is reported per format.
  std::vector<RawRow> rows;
  if (format == Format::csv) {
    const CsvTable table = read_csv(text, manifest);
    const int key = table.column("key"), path = table.column("path"), label = table.column("label");
    const int category = table.column("category"), source = table.column("source"), split = table.column("split");
    if (key < 0 && path < 0) fail(manifest, 1, "the header has no \"key\" or \"path\" column (at least one is needed)");
    if (label < 0) fail(manifest, 1, "the header has no \"label\" column");
    auto get = [](const CsvRecord& r, int c) -> std::optional<std::string> {
      if (c < 0) return std::nullopt;
      return r.fields[static_cast<std::size_t>(c)];
    };
    for (const auto& r : table.rows)
      rows.push_back({r.line, get(r, key), get(r, path), get(r, label), get(r, category), get(r, source), get(r, split)});
  } else {
    for (const auto& jl : read_jsonl(text, manifest)) {
      RawRow row;
      row.line = jl.line;
      auto text_of = [&](std::string_view name) -> std::optional<std::string> {
        const json* v = json_field(jl.object, name);
        if (!v || v->is_null()) return std::nullopt;
        if (v->is_object() || v->is_array()) fail(manifest, jl.line, in_quotes(name) + " must be a string, not " + v->dump());
        return json_text(*v);
      };
      row.key = text_of("key");
      row.path = text_of("path");
      row.category = text_of("category");
      row.source = text_of("source");
      row.split = text_of("split");
      const json* label = json_field(jl.object, "label");
      if (!label || label->is_null()) fail(manifest, jl.line, "no \"label\"");
      const auto parsed = json_label(*label);
      if (!parsed) fail(manifest, jl.line, "unknown label " + label->dump() + " (expected Safe / Unsafe, 0 / 1 or false / true)");
      row.label = *parsed ? "1" : "0";
      rows.push_back(std::move(row));
    }
  }

  const fs::path base = manifest_base(manifest);
  std::vector<LabelledItem> items;
  items.reserve(rows.size());
  std::unordered_map<std::string, std::size_t> first_line;  // key -> the line it was first seen on
  for (const RawRow& row : rows) {
    const std::string key = row.key.value_or("");
    const std::string path = row.path.value_or("");
    if (key.empty() && path.empty()) fail(manifest, row.line, "no key and no path");
    LabelledItem item;
    item.key = key.empty() ? path : key;
    std::tie(item.path, item.member) = resolve_path(path.empty() ? key : path, base);
    const std::string label = row.label.value_or("");
    const auto parsed = parse_label(label);
    if (!parsed)
      fail(manifest, row.line,
           (trim(label).empty() ? std::string("no label") : "unknown label " + in_quotes(label)) +
               " (expected Safe / Unsafe, 0 / 1 or false / true)");
    item.label = *parsed;
    const std::string category(trim(row.category.value_or("")));
    const auto canonical = canonical_category(category);
    item.category = canonical ? std::string(*canonical) : category;
    item.source = std::string(trim(row.source.value_or("")));
    item.split = std::string(trim(row.split.value_or("")));
    if (const auto [it, inserted] = first_line.emplace(item.key, row.line); !inserted)
      fail(manifest, row.line, "duplicate key " + in_quotes(item.key) + " (first on line " + std::to_string(it->second) + ")");
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<LabelledItem> read_label_folder(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    const bool missing = !fs::exists(root, ec);
    throw Error(missing ? ErrorCode::unreadable : ErrorCode::invalid_argument, missing ? "no such folder" : "not a folder",
                root.string());
  }
  // safe/ and unsafe/ (any case), in name order.
  std::vector<std::pair<std::string, int>> classes;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code dir_ec;
    if (!entry.is_directory(dir_ec)) continue;
    const std::string folded = lower(name);
    if (folded == "safe") classes.emplace_back(name, 0);
    if (folded == "unsafe") classes.emplace_back(name, 1);
  }
  if (ec) throw Error(ErrorCode::unreadable, "cannot list the folder: " + ec.message(), root.string());
  if (classes.empty())
    throw Error(ErrorCode::invalid_argument, "the folder has neither safe/ nor unsafe/ (expected ROOT/safe/... and ROOT/unsafe/CATEGORY/...)",
                root.string());
  std::sort(classes.begin(), classes.end());

  std::vector<LabelledItem> items;
  for (const auto& [name, label] : classes) {
    const fs::path class_dir = root / name;
    UnitEnumerator units({class_dir.string()});
    while (auto unit = units.next()) {
      // An entry that could not be listed (unreadable folder, dangling link) stays an item: the
      // bench counts it as failed, as a scan does.
      read_unit(*unit, [&](SourceItem&& it) {
        LabelledItem item;
        const fs::path in_class = fs::path(it.key).lexically_relative(class_dir);
        item.key = in_class.empty() || in_class == "." ? name : name + "/" + in_class.generic_string();
        item.path = it.path;
        item.label = label;
        // The first folder under safe/ or unsafe/ (a file directly in it has no category).
        auto part = in_class.begin();
        if (part != in_class.end() && std::next(part) != in_class.end() && *part != "..") {
          const std::string folder = part->string();
          const auto canonical = canonical_category(folder);
          item.category = canonical ? std::string(*canonical) : folder;
        }
        items.push_back(std::move(item));
        return true;
      });
    }
  }
  return items;
}

std::map<std::string, float> read_predictions(const fs::path& file) {
  const std::string bytes = read_file(file);
  const std::string_view text = without_bom(bytes);
  const Format format = detect_format(text, file);

  std::map<std::string, float> scores;
  std::map<std::string, std::size_t> first_line;
  auto add = [&](std::size_t line, const std::string& key, const std::optional<double>& score, const std::string& written) {
    if (key.empty()) fail(file, line, "no key");
    if (!score) {
      if (trim(written).empty()) fail(file, line, "no score for " + in_quotes(key));
      fail(file, line, "the score " + in_quotes(written) + " of " + in_quotes(key) + " is not a number");
    }
    if (!std::isfinite(*score) || *score < 0.0 || *score > 1.0)
      fail(file, line, "the score " + in_quotes(written) + " of " + in_quotes(key) + " is not in [0, 1]");
    if (const auto [it, inserted] = first_line.emplace(key, line); !inserted)
      fail(file, line, "duplicate key " + in_quotes(key) + " (first on line " + std::to_string(it->second) + ")");
    scores[key] = static_cast<float>(*score);
  };
  auto number = [](std::string_view s) -> std::optional<double> {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
  };

  if (format == Format::csv) {
    const CsvTable table = read_csv(text, file);
    const int key = table.column("key"), score = table.column("score");
    if (key < 0) fail(file, 1, "the header has no \"key\" column");
    if (score < 0) fail(file, 1, "the header has no \"score\" column");
    for (const auto& r : table.rows) {
      const std::string& written = r.fields[static_cast<std::size_t>(score)];
      add(r.line, r.fields[static_cast<std::size_t>(key)], number(written), written);
    }
  } else {
    for (const auto& jl : read_jsonl(text, file)) {
      const json* key = json_field(jl.object, "key");
      if (!key || key->is_null()) fail(file, jl.line, "no \"key\"");
      if (key->is_object() || key->is_array()) fail(file, jl.line, "\"key\" must be a string, not " + key->dump());
      const json* score = json_field(jl.object, "score");
      std::optional<double> value;
      std::string written;
      if (score && score->is_number()) {
        value = score->get<double>();
        written = score->dump();
      } else if (score && score->is_string()) {
        written = score->get<std::string>();
        value = number(written);
      } else if (score && !score->is_null()) {
        written = score->dump();
      }
      add(jl.line, json_text(*key), value, written);
    }
  }
  return scores;
}

}  // namespace safescan
