// safescan/labels.hpp - labelled data for `safescan bench` (and training): what an image is
// (Safe / Unsafe, a category, where it came from), and scores other classifiers gave.
// docs/bench.md describes the formats.
//
//   auto items = safescan::read_labels("manifest.csv");          // CSV or JSON Lines, by content
//   auto same  = safescan::read_label_folder("data/");            // ROOT/{safe,unsafe}/CATEGORY/...
//   auto gpt4v = safescan::read_predictions("gpt4v.csv");         // key,score
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace safescan {

struct LabelledItem {
  std::string key;       // what rows, predictions and results are matched on
  std::string path;      // the image file, or the tar shard
  std::string member;    // the member of a shard ("" for a file)
  int label = 0;         // 1 = unsafe (the positive class), 0 = safe
  std::string category;  // one of kCategories (canonical spelling) when it names one, else the text as given ("" when none)
  std::string source;    // free text: "Laion5B" (real), "Lexica" (AI-generated) ... ("" when none)
  std::string split;     // "train", "test" ... ("" when none)
};

// A manifest: CSV with a header, or JSON Lines (one object per line), recognised by content.
// Columns / keys:
//  - `key` or `path` (at least one). `path` is a file, or `shard.tar:member` for a member of a
//    WebDataset shard (only when the part before the last ':' ends in .tar, .tar.gz or .tgz;
//    otherwise the ':' is part of a file name); relative paths are relative to the manifest's
//    folder. LabelledItem::path is stored absolute and lexically normal. Without `key` (or
//    with it empty), the key is `path` as written. Without `path`, `key` is taken as a path.
//  - `label`: `Safe` / `Unsafe`, `0` / `1`, `false` / `true` (any case; JSON Lines may also
//    give the number 0 / 1 or a boolean).
//  - `category` (optional): a name of kCategories in any case and spelling (canonical_category:
//    UnsafeBench's 11 and "Suggestive"), else kept as free text; `source` and `split` (optional)
//    free text. Unknown columns are ignored. Column names / object keys match in any case.
// CSV is RFC 4180 (quoted fields with commas, doubled quotes and line breaks; CRLF, LF or CR);
// every row must have as many fields as the header. A UTF-8 byte-order mark is skipped. Blank
// lines are skipped. Throws Error(unreadable) when the file cannot be read, Error(invalid_argument)
// naming the file and the line ("FILE:LINE: ...", the line a CSV record starts on) for an empty
// file, a missing column, an unknown label, a duplicated key, malformed CSV or JSON.
std::vector<LabelledItem> read_labels(const std::filesystem::path& manifest);

// A folder laid out ROOT/safe/... and ROOT/unsafe/CATEGORY/... (files anywhere below; the
// first folder under safe/ or unsafe/ is the category, e.g. ROOT/unsafe/Violence/x.jpg;
// ROOT/safe/x.jpg has none). Walked with the scan's walker (sorted; images recognised by
// extension or content; hidden entries skipped); the key is the path relative to ROOT
// ("unsafe/Violence/x.jpg"), the path absolute. safe/ and unsafe/ match in any case; other
// entries of ROOT are ignored. An entry the walk cannot list (an unreadable folder, a dangling
// link) is kept as an item, which then fails to read, as in a scan. Throws Error(unreadable)
// when ROOT does not exist, Error(invalid_argument) when it has neither safe/ nor unsafe/.
std::vector<LabelledItem> read_label_folder(const std::filesystem::path& root);

// A predictions file of another classifier: CSV with a header `key,score` (more columns are
// ignored; score a number in [0, 1]), or JSON Lines {"key": ..., "score": ...}. Throws
// Error(invalid_argument) naming the file and line for a missing or bad score (not a number,
// outside [0, 1]), a missing key, a duplicated key or an empty file; Error(unreadable) when the
// file cannot be read. Same CSV and JSON Lines rules as read_labels; a JSON score may be a
// number or a numeric string.
std::map<std::string, float> read_predictions(const std::filesystem::path& file);

// Parses one label: "Unsafe"/"unsafe"/"1"/"true" -> 1, "Safe"/"safe"/"0"/"false" -> 0.
std::optional<int> parse_label(std::string_view text);

}  // namespace safescan
