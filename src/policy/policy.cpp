// Policy files (TOML through toml++, or JSON) and the decisions they make. docs/policy.md
// describes the keys; data/policy.toml is the built-in policy.
#include "safescan/policy.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "core/embedded_data.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

using json = nlohmann::json;

json toml_to_json(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    json out = json::object();
    for (const auto& [k, v] : *t) out[std::string(k.str())] = toml_to_json(v);
    return out;
  }
  if (const auto* a = node.as_array()) {
    json out = json::array();
    for (const auto& v : *a) out.push_back(toml_to_json(v));
    return out;
  }
  if (const auto* v = node.as_floating_point()) return v->get();
  if (const auto* v = node.as_integer()) return v->get();
  if (const auto* v = node.as_boolean()) return v->get();
  if (const auto* v = node.as_string()) return v->get();
  return json();  // dates and times: no policy key takes one (reported as not a number below)
}

class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(ErrorCode::invalid_argument, "policy key " + key + ": " + what, where_);
  }

  float probability(const json& v, const std::string& key) const {
    if (!v.is_number()) fail(key, "expected a number in [0, 1]");
    const double d = v.get<double>();
    if (!(d >= 0.0 && d <= 1.0)) fail(key, "expected a number in [0, 1], got " + v.dump());
    return static_cast<float>(d);
  }

  const json& table(const json& v, const std::string& key) const {
    if (!v.is_object()) fail(key, "expected a table");
    return v;
  }

  Policy::Thresholds thresholds(const json& t, const std::string& key, std::initializer_list<const char*> also) const {
    Policy::Thresholds out;
    for (const auto& [k, v] : t.items()) {
      if (k == "review") {
        out.review = probability(v, key + ".review");
      } else if (k == "block") {
        out.block = probability(v, key + ".block");
      } else if (std::find_if(also.begin(), also.end(), [&](const char* a) { return k == a; }) == also.end()) {
        std::string known = "review, block";
        for (const char* a : also) known += std::string(", ") + a;
        fail(key + "." + k, "unknown key (known here: " + known + ")");
      }
    }
    return out;
  }

  std::array<float, 4> boundaries(const json& t, const std::string& key) const {
    static constexpr std::array<Likelihood, 4> kLevels = {Likelihood::unlikely, Likelihood::possible, Likelihood::likely,
                                                          Likelihood::very_likely};
    std::array<std::optional<float>, 4> got;
    for (const auto& [k, v] : table(t, key).items()) {
      const auto level = parse_likelihood(k);
      if (!level || *level == Likelihood::very_unlikely)
        fail(key + "." + k, "unknown level (UNLIKELY, POSSIBLE, LIKELY, VERY_LIKELY take a lower boundary)");
      got[static_cast<std::size_t>(*level) - 1] = probability(v, key + "." + k);
    }
    std::array<float, 4> out{};
    for (std::size_t i = 0; i < 4; ++i) {
      if (!got[i]) fail(key, "needs all four boundaries: UNLIKELY, POSSIBLE, LIKELY, VERY_LIKELY");
      out[i] = *got[i];
      if (i > 0 && !(out[i] > out[i - 1]))
        fail(key, std::string(to_string(kLevels[i])) + " must be above " + std::string(to_string(kLevels[i - 1])));
    }
    return out;
  }

  std::string category(const std::string& name, const std::string& key) const {
    const auto c = canonical_category(name);
    if (!c) {
      std::string known;
      for (const auto k : kCategories) known += (known.empty() ? "" : ", ") + std::string(k);
      fail(key, "unknown category '" + name + "' (" + known + ", or default)");
    }
    return std::string(*c);
  }

 private:
  std::string where_;
};

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec)) throw Error(ErrorCode::unreadable, "cannot read the policy file", file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void put_thresholds(json& out, const Policy::Thresholds& t) {
  if (t.review) out["review"] = *t.review;
  if (t.block) out["block"] = *t.block;
}

}  // namespace

Policy Policy::builtin() {
  static const Policy p = [] {
    Policy policy = parse(embedded::text("policy.toml"), "toml", "data/policy.toml (built in)");
    policy.source_ = "built-in";
    return policy;
  }();
  return p;
}

Policy Policy::load(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  Policy p = parse(read_text(file), ext == ".json" || ext == ".JSON" ? "json" : "toml", file.string());
  p.source_ = file.string();
  return p;
}

Policy Policy::parse(std::string_view text, std::string_view format, const std::string& where) {
  json doc;
  if (format == "json") {
    doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw Error(ErrorCode::invalid_argument, "the policy is not valid JSON", where);
  } else {
    try {
      doc = toml_to_json(toml::parse(text, where));
    } catch (const toml::parse_error& e) {
      const auto& at = e.source().begin;
      throw Error(ErrorCode::invalid_argument,
                  "the policy is not valid TOML: " + std::string(e.description()) + " (line " + std::to_string(at.line) +
                      ", column " + std::to_string(at.column) + ")",
                  where);
    }
  }
  const Reader r(where);
  if (!doc.is_object()) r.fail("(top level)", "expected a table");
  Policy p;
  p.source_ = where;
  for (const auto& [key, value] : doc.items()) {
    if (key == "version") {
      if (!value.is_number_integer() || value.get<std::int64_t>() != 1) r.fail("version", "this safescan reads policy version 1");
    } else if (key == "description") {
      if (!value.is_string()) r.fail("description", "expected a string");
    } else if (key == "likelihood") {
      p.likelihood_ = r.boundaries(value, "likelihood");
    } else if (key == "categories") {
      for (const auto& [name, rule] : r.table(value, "categories").items()) {
        const std::string k = "categories." + name;
        r.table(rule, k);
        CategoryRule c;
        c.thresholds = r.thresholds(rule, k, {"likelihood"});
        if (rule.contains("likelihood")) c.likelihood = r.boundaries(rule["likelihood"], k + ".likelihood");
        if (name == "default") p.default_ = c;
        else p.categories_[r.category(name, k)] = c;
      }
    } else if (key == "detectors") {
      for (const auto& [name, rule] : r.table(value, "detectors").items()) {
        const std::string k = "detectors." + name;
        r.table(rule, k);
        DetectorRule d;
        d.thresholds = r.thresholds(rule, k, {"categories"});
        if (rule.contains("categories"))
          for (const auto& [cat, t] : r.table(rule["categories"], k + ".categories").items()) {
            const std::string ck = k + ".categories." + cat;
            d.categories[r.category(cat, ck)] = r.thresholds(r.table(t, ck), ck, {});
          }
        p.detectors_[name] = d;
      }
    } else {
      r.fail(key, "unknown key (version, description, likelihood, categories, detectors)");
    }
  }
  return p;
}

void Policy::set_block_threshold(float threshold) {
  if (!(threshold >= 0.0f && threshold <= 1.0f))
    throw Error(ErrorCode::invalid_argument, "the threshold must be in [0, 1], not " + std::to_string(threshold));
  block_override_ = threshold;
}

Policy::Thresholds Policy::thresholds(std::string_view detector, std::string_view category) const {
  Thresholds out = default_.thresholds;
  auto merge = [&](const Thresholds& t) {
    if (t.review) out.review = t.review;
    if (t.block) out.block = t.block;
  };
  if (auto c = categories_.find(category); c != categories_.end()) merge(c->second.thresholds);
  if (auto d = detectors_.find(detector); d != detectors_.end()) {
    merge(d->second.thresholds);
    if (auto c = d->second.categories.find(category); c != d->second.categories.end()) merge(c->second);
  }
  if (block_override_) out.block = block_override_;
  return out;
}

Likelihood Policy::likelihood(std::string_view category, float score) const {
  const auto c = categories_.find(category);
  const Boundaries& b = c != categories_.end() && c->second.likelihood ? *c->second.likelihood
                        : default_.likelihood                          ? *default_.likelihood
                                                                       : likelihood_;
  int level = 0;
  while (level < 4 && score >= b[static_cast<std::size_t>(level)]) ++level;
  return static_cast<Likelihood>(level);
}

Decision Policy::decide(std::string_view detector, std::string_view category, float score) const {
  const Thresholds t = thresholds(detector, category);
  if (t.block && score >= *t.block) return Decision::block;
  if (t.review && score >= *t.review) return Decision::review;
  return Decision::allow;
}

void Policy::apply(ItemResult& result) const {
  result.decision = Decision::allow;
  for (CategoryRecord& c : result.categories) {
    c.likelihood = likelihood(c.category, c.score);
    c.decision = decide(c.detector, c.category, c.score);
    if (result.ok) result.decision = std::max(result.decision, c.decision);
  }
}

std::string Policy::to_json() const {
  json out;
  out["source"] = source_;
  json levels;
  static constexpr std::array<const char*, 4> kNames = {"UNLIKELY", "POSSIBLE", "LIKELY", "VERY_LIKELY"};
  auto put_levels = [&](json& dst, const Boundaries& b) {
    for (std::size_t i = 0; i < 4; ++i) dst[kNames[i]] = b[i];
  };
  put_levels(out["likelihood"], likelihood_);
  json& cats = out["categories"];
  auto put_category = [&](const std::string& name, const CategoryRule& c) {
    cats[name] = json::object();
    put_thresholds(cats[name], c.thresholds);
    if (c.likelihood) put_levels(cats[name]["likelihood"], *c.likelihood);
  };
  put_category("default", default_);
  for (const auto& [name, c] : categories_) put_category(name, c);
  json& dets = out["detectors"];
  dets = json::object();
  for (const auto& [name, d] : detectors_) {
    dets[name] = json::object();
    put_thresholds(dets[name], d.thresholds);
    for (const auto& [cat, t] : d.categories) put_thresholds(dets[name]["categories"][cat], t);
  }
  if (block_override_) out["threshold"] = *block_override_;
  return out.dump();
}

}  // namespace safescan
