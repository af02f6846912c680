// Categories, likelihood levels, decisions and the JSON row of a result (result.hpp).
#include "safescan/result.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>

#include <nlohmann/json.hpp>

namespace safescan {

namespace {

// Lower case, letters and digits only: "Self-harm" -> "selfharm".
std::string fold(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::array<std::string_view, 5> kLevels = {"VERY_UNLIKELY", "UNLIKELY", "POSSIBLE", "LIKELY", "VERY_LIKELY"};
constexpr std::array<std::string_view, 3> kDecisions = {"allow", "review", "block"};

// Shortest decimal text that reads back as the same float ("0.9", not "0.899999976"), as a
// JSON number.
nlohmann::ordered_json tidy(float value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return static_cast<double>(value);
  return std::stod(std::string(buf, end));
}

nlohmann::ordered_json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s);
}

}  // namespace

std::optional<std::string_view> canonical_category(std::string_view name) {
  const std::string key = fold(name);
  for (const auto c : kCategories)
    if (fold(c) == key) return c;
  return std::nullopt;
}

std::size_t category_index(std::string_view canonical) {
  return static_cast<std::size_t>(std::find(kCategories.begin(), kCategories.end(), canonical) - kCategories.begin());
}

std::string_view to_string(Likelihood level) noexcept { return kLevels[static_cast<std::size_t>(level)]; }
std::string_view to_string(Decision decision) noexcept { return kDecisions[static_cast<std::size_t>(decision)]; }

std::optional<Likelihood> parse_likelihood(std::string_view text) {
  const std::string key = fold(text);
  for (std::size_t i = 0; i < kLevels.size(); ++i)
    if (fold(kLevels[i]) == key) return static_cast<Likelihood>(i);
  return std::nullopt;
}

std::optional<Decision> parse_decision(std::string_view text) {
  const std::string key = fold(text);
  for (std::size_t i = 0; i < kDecisions.size(); ++i)
    if (kDecisions[i] == key) return static_cast<Decision>(i);
  return std::nullopt;
}

std::vector<CategorySummary> summarize_categories(const ItemResult& result) {
  std::vector<CategorySummary> out;
  std::array<int, kCategories.size()> slot;
  slot.fill(-1);
  for (const CategoryRecord& c : result.categories) {
    const std::size_t i = category_index(c.category);
    if (i >= kCategories.size()) continue;
    if (slot[i] < 0) {
      slot[i] = static_cast<int>(out.size());
      out.push_back({c.category, c.score, c.likelihood, c.decision});
      continue;
    }
    CategorySummary& s = out[static_cast<std::size_t>(slot[i])];
    s.score = std::max(s.score, c.score);
    s.likelihood = std::max(s.likelihood, c.likelihood);
    s.decision = std::max(s.decision, c.decision);
  }
  std::sort(out.begin(), out.end(),
            [](const CategorySummary& a, const CategorySummary& b) { return category_index(a.category) < category_index(b.category); });
  return out;
}

std::string result_json_line(const ItemResult& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["key"] = r.key;
  j["source"] = r.source;
  j["path"] = r.path;
  j["member"] = r.member;
  j["status"] = r.ok ? "ok" : "error";
  j["bytes"] = r.bytes >= 0 ? json(r.bytes) : json();
  j["sha256"] = text_or_null(r.sha256);
  j["width"] = r.width > 0 ? json(r.width) : json();
  j["height"] = r.height > 0 ? json(r.height) : json();
  j["format"] = text_or_null(r.format);
  if (!r.meta_json.empty()) {
    json meta = json::parse(r.meta_json, nullptr, /*allow_exceptions=*/false);
    j["meta"] = meta.is_discarded() ? json(r.meta_json) : std::move(meta);
  }
  if (r.ok && (!r.scores.empty() || !r.categories.empty())) {
    // Sorted by detector and output, as the store returns them: a row is the same however it was made.
    std::vector<const ScoreRecord*> sorted;
    for (const ScoreRecord& s : r.scores) sorted.push_back(&s);
    std::sort(sorted.begin(), sorted.end(), [](const ScoreRecord* a, const ScoreRecord* b) {
      return std::tie(a->detector, a->category) < std::tie(b->detector, b->category);
    });
    json scores = json::object();
    for (const ScoreRecord* s : sorted) scores[s->detector][s->category] = tidy(s->score);
    json categories = json::object(), likelihood = json::object();
    for (const CategorySummary& c : summarize_categories(r)) {
      categories[c.category] = tidy(c.score);
      likelihood[c.category] = std::string(to_string(c.likelihood));
    }
    j["scores"] = std::move(scores);
    j["categories"] = std::move(categories);
    j["likelihood"] = std::move(likelihood);
    j["decision"] = std::string(to_string(r.decision));
  }
  j["flagged"] = r.flagged();
  if (r.ok && r.faces) {
    json faces = json::array();
    for (const FaceRecord& f : *r.faces)
      faces.push_back({{"x", tidy(f.x)}, {"y", tidy(f.y)}, {"w", tidy(f.width)}, {"h", tidy(f.height)},
                       {"confidence", tidy(f.confidence)}});
    j["faces"] = std::move(faces);
    j["face_count"] = r.faces->size();
    j["face_detector"] = text_or_null(r.face_detector);
  }
  if (!r.ok) j["error"] = {{"code", r.error_code}, {"message", r.error_message}};
  if (!r.review.empty()) j["review"] = r.review;
  if (!r.embedding.empty()) {
    json e = json::array();
    for (const float v : r.embedding) e.push_back(tidy(v));
    j["embedding"] = std::move(e);
  }
  // File names need not be UTF-8 (they are bytes on POSIX): invalid sequences become U+FFFD.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace safescan
