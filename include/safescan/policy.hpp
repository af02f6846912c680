// safescan/policy.hpp - from category scores to likelihood levels and decisions, the one
// place where thresholds live (docs/policy.md). Every command that decides takes a policy:
// the built-in one (data/policy.toml) unless `--policy FILE` names another.
//
//   safescan::Policy p = safescan::Policy::load("strict.toml");   // or Policy::builtin()
//   p.set_block_threshold(0.7f);                                    // what --threshold does
//   safescan::Decision d = p.decide("q16", "Violence", 0.93f);      // allow / review / block
//
// Per category: a likelihood level from four boundaries (Google SafeSearch's names) and a
// decision from two thresholds: block when score >= block, else review when score >= review,
// else allow. Thresholds are looked up from the most to the least specific:
// [detectors.NAME.categories.CATEGORY], [detectors.NAME], [categories.CATEGORY],
// [categories.default]. An absent threshold never fires.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "safescan/result.hpp"

namespace safescan {

class Policy {
 public:
  struct Thresholds {
    std::optional<float> review, block;
  };

  // data/policy.toml as compiled in: block at 0.5, Q16 at 0.9 (today's decisions).
  static Policy builtin();
  // A .toml or .json file (by its extension; other names are tried as TOML). Throws
  // Error(unreadable) when it cannot be read, Error(invalid_argument) naming the file, the key
  // and what is wrong (unknown key or category, a value outside [0, 1], boundaries not increasing).
  static Policy load(const std::filesystem::path& file);
  // `format`: "toml" or "json"; `where` names the text in errors.
  static Policy parse(std::string_view text, std::string_view format, const std::string& where);

  // --threshold T: every block threshold becomes T (a review threshold at or above T then
  // never fires: block is checked first).
  void set_block_threshold(float threshold);

  Likelihood likelihood(std::string_view category, float score) const;
  Decision decide(std::string_view detector, std::string_view category, float score) const;
  Thresholds thresholds(std::string_view detector, std::string_view category) const;

  // Fills each category record's likelihood and decision, and the item's decision (the
  // worst; allow for a failed item). Raw scores' `flagged` is the detector set's to mark.
  void apply(ItemResult& result) const;

  // Where it came from ("built-in" or the file) and its settings as JSON (recorded with runs).
  const std::string& source() const { return source_; }
  std::string to_json() const;

 private:
  using Boundaries = std::array<float, 4>;  // UNLIKELY, POSSIBLE, LIKELY, VERY_LIKELY
  struct CategoryRule {
    Thresholds thresholds;
    std::optional<Boundaries> likelihood;
  };
  struct DetectorRule {
    Thresholds thresholds;
    std::map<std::string, Thresholds, std::less<>> categories;
  };
  std::string source_;
  Boundaries likelihood_{0.1f, 0.3f, 0.5f, 0.8f};
  CategoryRule default_;
  std::map<std::string, CategoryRule, std::less<>> categories_;  // canonical names
  std::map<std::string, DetectorRule, std::less<>> detectors_;
  std::optional<float> block_override_;
};

}  // namespace safescan
