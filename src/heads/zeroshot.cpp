// Zero-shot detection over the UnsafeBench categories from prompt ensembles
// (data/zeroshot_prompts.json), independent of the text encoder that embeds the prompts.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/embedded_data.hpp"
#include "heads/clip_head.hpp"
#include "heads/vector_math.hpp"
#include "safescan/clip_heads.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message, where);
}

void only_keys(const json& object, std::initializer_list<const char*> allowed, const std::string& where,
               const std::string& what) {
  for (const auto& [key, value] : object.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) bad(where, what + ": unknown key \"" + key + "\"");
  }
}

ZeroShotCategory parse_category(const json& j, const std::string& where, const std::string& what, bool is_safe) {
  if (!j.is_object()) bad(where, what + " must be an object");
  only_keys(j, {"name", "label", "description", "prompts", "threshold"}, where, what);
  ZeroShotCategory c;
  if (is_safe) c.name = "safe";
  if (j.contains("name")) {
    if (!j["name"].is_string() || j["name"].get<std::string>().empty()) bad(where, what + ": \"name\" must be a non-empty string");
    c.name = j["name"].get<std::string>();
  } else if (!is_safe) {
    bad(where, what + " has no \"name\"");
  }
  const std::string named = what + " (\"" + c.name + "\")";
  c.label = c.name;
  if (j.contains("label")) {
    if (!j["label"].is_string()) bad(where, named + ": \"label\" must be a string");
    c.label = j["label"].get<std::string>();
  }
  if (!j.contains("prompts") || !j["prompts"].is_array() || j["prompts"].empty())
    bad(where, named + ": \"prompts\" must be a non-empty array of strings");
  for (const json& p : j["prompts"]) {
    if (!p.is_string() || p.get<std::string>().empty()) bad(where, named + ": every prompt must be a non-empty string");
    c.prompts.push_back(p.get<std::string>());
  }
  if (j.contains("threshold")) {
    // Prompt files written before policies carried thresholds; the policy holds them now.
    if (!j["threshold"].is_number()) bad(where, named + ": \"threshold\" must be a number");
    static std::mutex mu;
    static std::set<std::string> warned;  // once per file
    std::lock_guard lock(mu);
    if (warned.insert(where).second)
      spdlog::warn("{}: \"threshold\" is ignored: decision thresholds live in the policy (--policy FILE, docs/policy.md)",
                   where);
  }
  return c;
}

}  // namespace

std::vector<std::string> ZeroShotPrompts::all_prompts() const {
  std::vector<std::string> out;
  for (const ZeroShotCategory& c : categories) out.insert(out.end(), c.prompts.begin(), c.prompts.end());
  out.insert(out.end(), safe.prompts.begin(), safe.prompts.end());
  return out;
}

ZeroShotPrompts parse_zeroshot_prompts(std::string_view json_text, const std::string& where) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    bad(where, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) bad(where, "the top level must be an object");
  only_keys(root, {"description", "source", "temperature", "categories", "safe"}, where, "the top level");
  ZeroShotPrompts p;
  if (root.contains("temperature")) {
    if (!root["temperature"].is_number() || !(root["temperature"].get<double>() > 0))
      bad(where, "\"temperature\" must be a positive number");
    p.temperature = root["temperature"].get<float>();
  }
  if (!root.contains("categories") || !root["categories"].is_array() || root["categories"].empty())
    bad(where, "\"categories\" must be a non-empty array");
  std::set<std::string> names;
  for (std::size_t i = 0; i < root["categories"].size(); ++i) {
    ZeroShotCategory c = parse_category(root["categories"][i], where, "category #" + std::to_string(i + 1), false);
    if (c.name == "safe") bad(where, "category #" + std::to_string(i + 1) + ": \"safe\" is reserved for the \"safe\" class");
    if (!names.insert(c.name).second) bad(where, "category \"" + c.name + "\" appears twice");
    p.categories.push_back(std::move(c));
  }
  if (!root.contains("safe")) bad(where, "no \"safe\" class (the prompts of benign images)");
  p.safe = parse_category(root["safe"], where, "the safe class", true);
  p.safe.name = "safe";
  return p;
}

ZeroShotPrompts load_zeroshot_prompts(const std::filesystem::path& file) {
  if (file.empty()) return parse_zeroshot_prompts(embedded::text("zeroshot_prompts.json"), "data/zeroshot_prompts.json (built in)");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::model_missing, "zero-shot prompt file not found", file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_zeroshot_prompts(text.str(), file.string());
}

ZeroShotHead::ZeroShotHead(ZeroShotPrompts prompts, std::span<const float> prompt_embeddings, int dim, std::string name)
    : name_(std::move(name)), prompts_(std::move(prompts)), dim_(dim) {
  const std::size_t n = prompts_.all_prompts().size();
  if (dim <= 0 || prompt_embeddings.size() != n * static_cast<std::size_t>(dim))
    throw Error(ErrorCode::invalid_argument,
                "expected " + std::to_string(n) + " prompt embeddings of " + std::to_string(dim) + " floats (" +
                    std::to_string(n * static_cast<std::size_t>(std::max(dim, 0))) + " values), got " +
                    std::to_string(prompt_embeddings.size()),
                name_);
  std::size_t next = 0;
  auto add_class = [&](const ZeroShotCategory& c) {
    std::vector<float> mean(static_cast<std::size_t>(dim), 0.0f);
    for (std::size_t k = 0; k < c.prompts.size(); ++k, ++next) {
      const auto e = detect::l2_normalized(prompt_embeddings.data() + next * dim, static_cast<std::size_t>(dim));
      for (int i = 0; i < dim; ++i) mean[i] += e[i];
    }
    for (float& v : mean) v /= static_cast<float>(c.prompts.size());
    const auto normalised = detect::l2_normalized(mean.data(), mean.size());
    const float norm2 = detect::dot(normalised.data(), normalised.data(), normalised.size());
    if (!(std::abs(norm2 - 1.0f) < 1e-3f))
      throw Error(ErrorCode::invalid_argument,
                  "the prompt embeddings of class \"" + c.name + "\" are zero, cancel out or are not finite", name_);
    classes_.insert(classes_.end(), normalised.begin(), normalised.end());
  };
  for (const ZeroShotCategory& c : prompts_.categories) add_class(c);
  add_class(prompts_.safe);
  for (std::size_t i = 0; i < prompts_.categories.size(); ++i) {
    const ZeroShotCategory& c = prompts_.categories[i];
    outputs_.push_back(c.name);
    auto category = canonical_category(c.label);
    if (!category) category = canonical_category(c.name);
    if (!category) continue;
    // Several prompt-file categories may map to one category: their probabilities add up.
    auto same = std::find_if(categories_.begin(), categories_.end(), [&](const CategoryMap& m) { return m.category == *category; });
    if (same != categories_.end()) same->outputs.push_back(static_cast<int>(i));
    else categories_.push_back({std::string(*category), {static_cast<int>(i)}});
  }
}

ZeroShotHead::ZeroShotHead(ZeroShotPrompts prompts, const TextEncoder& encode, int dim, std::string name)
    : ZeroShotHead(prompts, encode(prompts.all_prompts()), dim, std::move(name)) {}

const std::string& ZeroShotHead::backbone() const { return detect::ClipHead::backbone_name(); }

std::vector<float> ZeroShotHead::probabilities(const float* embedding) const {
  const auto e = detect::l2_normalized(embedding, static_cast<std::size_t>(dim_));
  const std::size_t k = prompts_.categories.size() + 1;
  std::vector<float> p(k);
  for (std::size_t c = 0; c < k; ++c)
    p[c] = prompts_.temperature * detect::dot(e.data(), classes_.data() + c * dim_, e.size());
  detect::softmax(p);
  return p;
}

void ZeroShotHead::score(const float* embedding, float* out) const {
  const std::vector<float> p = probabilities(embedding);
  std::copy_n(p.begin(), prompts_.categories.size(), out);
}

bool ZeroShotHead::score_gradient(const float* embedding, const float* out_grad, float* feature_grad) const {
  const std::vector<float> p = probabilities(embedding);
  const std::size_t k = p.size(), n = static_cast<std::size_t>(dim_);
  std::vector<float> g(k, 0.0f);  // the safe class is not an output
  std::copy_n(out_grad, prompts_.categories.size(), g.begin());
  detect::softmax_vjp(p, g);
  std::vector<float> grad_e(n, 0.0f);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t i = 0; i < n; ++i) grad_e[i] += prompts_.temperature * g[c] * classes_[c * n + i];
  const auto gx = detect::l2_normalized_vjp(embedding, grad_e.data(), n);
  std::copy(gx.begin(), gx.end(), feature_grad);
  return true;
}

}  // namespace safescan
