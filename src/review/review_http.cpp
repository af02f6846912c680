// Request validation, access-control helpers and the thumbnail cache; see review_http.hpp.
#include "review/review_http.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "safescan/review.hpp"

namespace safescan::review {

namespace {

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string shorten(std::string_view s) { return std::string(s.substr(0, 40)) + (s.size() > 40 ? "..." : ""); }

}  // namespace

// --- parameters ----------------------------------------------------------------------------

Params::Params(const std::multimap<std::string, std::string>& params, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : params) {
    if (name != "token" && std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      throw HttpError(400, "unknown parameter \"" + shorten(name) + "\"");
    if (!values_.emplace(name, value).second) throw HttpError(400, "parameter \"" + shorten(name) + "\" given twice");
  }
}

std::optional<std::string> Params::text(const std::string& name, std::size_t max_length) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  if (it->second.size() > max_length) throw HttpError(400, "parameter \"" + name + "\" is too long");
  for (unsigned char c : it->second)
    if (c < 0x20 || c == 0x7f) throw HttpError(400, "parameter \"" + name + "\" has control characters");
  return it->second;
}

std::int64_t Params::integer(const std::string& name, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !(is_digits(s) || (s[0] == '-' && is_digits(s.substr(1)))))
    throw HttpError(400, "parameter \"" + name + "\" must be an integer, not \"" + shorten(s) + "\"");
  if (v < lo || v > hi)
    throw HttpError(400, "parameter \"" + name + "\" must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

std::optional<float> Params::number(const std::string& name, float lo, float hi) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  const std::string& s = it->second;
  float v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    throw HttpError(400, "parameter \"" + name + "\" must be a number, not \"" + shorten(s) + "\"");
  if (v < lo || v > hi) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "\" must be between %g and %g", static_cast<double>(lo), static_cast<double>(hi));
    throw HttpError(400, "parameter \"" + name + buf);
  }
  return v;
}

std::string Params::choice(const std::string& name, const std::set<std::string>& values, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (values.count(it->second)) return it->second;
  std::string list;
  for (const auto& v : values) list += (list.empty() ? "" : ", ") + v;
  throw HttpError(400, "parameter \"" + name + "\" must be one of " + list + ", not \"" + shorten(it->second) + "\"");
}

std::int64_t parse_id(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!is_digits(text) || ec != std::errc() || end != text.data() + text.size() || v <= 0)
    throw HttpError(400, "an item id must be a positive integer");
  return v;
}

// --- access control ------------------------------------------------------------------------

bool same_token(std::string_view a, std::string_view b) noexcept {
  if (a.empty() || a.size() != b.size()) return false;  // the length is not the secret
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    std::size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    std::size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
  }
  return "";
}

std::string host_name(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    return lower(host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  std::size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) host = host.substr(0, colon);
  return lower(host);
}

bool is_loopback_host(std::string_view host_header) {
  const std::string name = host_name(host_header);
  return name == "localhost" || is_loopback_address(name);
}

// --- thumbnails ----------------------------------------------------------------------------

std::shared_ptr<const std::string> ThumbCache::get(std::int64_t item, int size) {
  std::lock_guard lock(mutex_);
  auto it = index_.find({item, size});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->jpeg;
}

void ThumbCache::put(std::int64_t item, int size, std::shared_ptr<const std::string> jpeg) {
  std::lock_guard lock(mutex_);
  if (!jpeg || jpeg->size() > max_bytes_ || index_.count({item, size})) return;
  bytes_ += jpeg->size();
  lru_.push_front(Entry{{item, size}, std::move(jpeg)});
  index_[{item, size}] = lru_.begin();
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().jpeg->size();
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

}  // namespace safescan::review
