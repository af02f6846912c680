// Helpers of the review server that know nothing of the database: request validation
// (parameters, JSON bodies), access control (tokens, Host and Origin checks), and the
// in-memory thumbnail cache.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace safescan::review {

// Thrown by validation and handlers; the server answers {"error": message} with `status`.
struct HttpError : std::runtime_error {
  int status;
  HttpError(int status_code, const std::string& message) : std::runtime_error(message), status(status_code) {}
};

// The query parameters of a request, checked against the names a route accepts ("token" is
// always accepted). Each name may appear once. Throws HttpError(400).
class Params {
 public:
  Params(const std::multimap<std::string, std::string>& params, std::initializer_list<std::string_view> allowed);
  std::optional<std::string> text(const std::string& name, std::size_t max_length = 200) const;
  // A decimal integer in [lo, hi]; `fallback` when absent.
  std::int64_t integer(const std::string& name, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const;
  // A finite number in [lo, hi]; nullopt when absent or empty.
  std::optional<float> number(const std::string& name, float lo, float hi) const;
  // One of `values`; `fallback` when absent.
  std::string choice(const std::string& name, const std::set<std::string>& values, const std::string& fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// A path segment that must be a positive decimal id (no sign, no leading zeros beyond "0").
std::int64_t parse_id(std::string_view text);

// Constant-time comparison of two tokens.
bool same_token(std::string_view a, std::string_view b) noexcept;

// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookie_value(std::string_view header, std::string_view name);

// The host name of a Host header without the port ("[::1]:8765" -> "::1", "localhost:1" ->
// "localhost"); lower case.
std::string host_name(std::string_view host_header);

// Whether a client's Host header names this machine's loopback (localhost, 127.x.y.z, ::1):
// DNS rebinding protection for a server that answers without a token.
bool is_loopback_host(std::string_view host_header);

// Bounded least-recently-used cache of generated JPEG thumbnails, keyed by (item, size).
class ThumbCache {
 public:
  explicit ThumbCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  std::shared_ptr<const std::string> get(std::int64_t item, int size);
  void put(std::int64_t item, int size, std::shared_ptr<const std::string> jpeg);

 private:
  using Key = std::pair<std::int64_t, int>;
  struct Entry {
    Key key;
    std::shared_ptr<const std::string> jpeg;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept { return std::hash<std::int64_t>()(k.first * 4099 + k.second); }
  };
  std::mutex mutex_;
  std::size_t max_bytes_, bytes_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
};

}  // namespace safescan::review
