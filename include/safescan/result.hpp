// safescan/result.hpp - one result type for one image, from the engine through the results
// store to JSON: what every command prints, stores and serves (docs/results.md, schema 1).
//
//   safescan::ItemResult r = ...;                       // from the engine or ResultStore::for_each_item
//   std::cout << safescan::result_json_line(r) << "\n"; // the JSON Lines row of classify and export
//   for (const auto& c : safescan::summarize_categories(r)) ... c.category, c.score, c.decision
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace safescan {

// --- Categories -------------------------------------------------------------------------
//
// UnsafeBench's 11 categories (Qu et al., after OpenAI's 2022 image content policy), spelled
// as UnsafeBench spells them, plus "Suggestive" (nsfwjs's "sexy"), kept apart from Sexual.
inline constexpr std::array<std::string_view, 12> kCategories = {
    "Hate",      "Harassment", "Violence",  "Self-harm",  "Sexual",
    "Shocking",  "Illegal activity", "Deception", "Political", "Public and personal health",
    "Spam",      "Suggestive"};
inline constexpr std::size_t kUnsafeBenchCategories = 11;  // the first 11 of kCategories

// The canonical spelling of a category name: case, spaces, '-' and '_' are ignored
// ("self_harm", "ILLEGAL-ACTIVITY", "sexual"). nullopt when it is not one of kCategories.
std::optional<std::string_view> canonical_category(std::string_view name);
// Position in kCategories (the order categories are reported in); kCategories.size() when unknown.
std::size_t category_index(std::string_view canonical);

// --- Policy outcomes --------------------------------------------------------------------

// Google SafeSearch's likelihood levels; the policy maps a score onto them.
enum class Likelihood : std::uint8_t { very_unlikely, unlikely, possible, likely, very_likely };
// What to do with an image, worst last.
enum class Decision : std::uint8_t { allow, review, block };

std::string_view to_string(Likelihood level) noexcept;  // "VERY_UNLIKELY" ... "VERY_LIKELY"
std::string_view to_string(Decision decision) noexcept;  // "allow", "review", "block"
std::optional<Likelihood> parse_likelihood(std::string_view text);  // case-insensitive
std::optional<Decision> parse_decision(std::string_view text);

// --- Records ----------------------------------------------------------------------------

// A detector's raw output: nsfwjs's five classes, Q16's "inappropriate", LAION's "nsfw" ...
// (a composed detector's outputs are its category scores).
struct ScoreRecord {
  std::string detector;  // "nsfw-mobilenet-v2", "q16", "zeroshot" ...
  std::string category;  // the output's name: "porn", "inappropriate", "violence" ...
  float score = 0;
  bool flagged = false;  // the output counts towards a category the policy did not allow
};

// A detector's score for one category, with the policy's verdict on it.
struct CategoryRecord {
  std::string detector;
  std::string category;  // canonical (kCategories)
  float score = 0;
  Likelihood likelihood = Likelihood::very_unlikely;
  Decision decision = Decision::allow;
};

// One category over every detector that covers it: the highest score, the highest level and
// the worst decision (the policy's levels are per category, so the level is that of the score).
struct CategorySummary {
  std::string category;
  float score = 0;
  Likelihood likelihood = Likelihood::very_unlikely;
  Decision decision = Decision::allow;
};

struct FaceRecord {
  float x = 0, y = 0, width = 0, height = 0;  // in the pixels of the full-size, upright image
  float confidence = 0;
};

struct ItemResult {
  std::string key;     // the path as enumerated (files), the WebDataset key (tar), the keys-file line (.npy)
  std::string source;  // the command-line argument it came from
  std::string path;    // absolute, lexically normal: the file, or the shard
  std::string member;  // tar: the member's name; .npy: the row number; files: ""
  std::int64_t bytes = -1;  // size of the encoded file / member (-1 when unknown)
  int width = 0, height = 0;  // of the upright image as stored (0 when not decoded)
  std::string format;     // "jpeg", "png" ... ("" when unknown)
  std::string sha256;     // hex digest of the encoded bytes ("" when not read)
  std::string meta_json;  // WebDataset sibling metadata ("" when none)
  bool ok = true;
  std::string error_code;     // ErrorCode name when !ok ("corrupt", "unreadable" ...)
  std::string error_message;  // Error::what(), with the path
  std::vector<ScoreRecord> scores;          // raw outputs, per detector
  std::vector<CategoryRecord> categories;   // per detector and category, after the policy
  Decision decision = Decision::allow;      // the worst category decision (allow for failed items)
  std::optional<std::vector<FaceRecord>> faces;  // set when a face detector ran (empty: none found)
  std::string face_detector;                     // which one ("yunet", "hog")
  std::vector<float> embedding;  // the CLIP image embedding, when the engine was asked to keep it
  // Filled when read from a store (ResultStore::for_each_item), ignored when written:
  std::int64_t id = 0;  // the row id in the items table (id order = write order)
  std::string review;   // the latest review decision: "keep", "remove", "skip" ("" when none)

  bool flagged() const { return ok && decision != Decision::allow; }
};

// Per category over detectors, in kCategories order (categories no detector covered are absent).
std::vector<CategorySummary> summarize_categories(const ItemResult& result);

// The JSON Lines row of a result (docs/results.md): key, source, path, member, status, bytes,
// sha256, width, height, format, [meta], scores {detector: {output: score}}, categories
// {category: score}, likelihood {category: LEVEL}, decision, flagged, [faces, face_count,
// face_detector], [error {code, message}], [review], [embedding]. One line, no newline.
// Scores are written as the shortest decimal that reads back as the same float.
std::string result_json_line(const ItemResult& result);

// The version of that row's schema (docs/results.md).
inline constexpr int kResultSchemaVersion = 1;

}  // namespace safescan
