// Brace expansion of shard patterns, as WebDataset and img2dataset write them:
// "data/{00000..00099}.tar", "{train,val}/{000..009}.tar". One level of braces (no nesting);
// numeric ranges (ascending or descending, optional step "{0..100..10}", zero padding kept
// when an endpoint has a leading zero) and comma lists ("{a,b,c}", empty items allowed).
// The leftmost group varies slowest, as in bash.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/sources.hpp"

namespace safescan {

namespace {

// More than this many names is certainly a typo (and would exhaust memory).
constexpr std::size_t kMaxExpansion = 10'000'000;

[[noreturn]] void fail(std::string_view pattern, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "malformed brace expression: " + what, std::string(pattern));
}

// A decimal integer with an optional '-' sign, the whole of `s`.
bool parse_integer(std::string_view s, std::int64_t& value) {
  if (s.empty()) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  return ec == std::errc() && ptr == last;
}

bool zero_padded(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return s.size() > 1 && s[0] == '0';
}

std::string pad(std::int64_t v, std::size_t width) {
  const std::uint64_t magnitude = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  std::string digits = std::to_string(magnitude);
  const std::size_t sign = v < 0 ? 1 : 0;
  if (digits.size() + sign < width) digits.insert(0, width - digits.size() - sign, '0');
  return (v < 0 ? "-" : "") + digits;
}

// The alternatives of one group's body (the text between the braces).
std::vector<std::string> alternatives(std::string_view body, std::string_view pattern) {
  if (const auto dots = body.find(".."); dots != std::string_view::npos) {
    const std::string_view from_text = body.substr(0, dots);
    std::string_view to_text = body.substr(dots + 2);
    std::int64_t step = 1;
    if (const auto dots2 = to_text.find(".."); dots2 != std::string_view::npos) {
      if (!parse_integer(to_text.substr(dots2 + 2), step) || step == 0)
        fail(pattern, "bad step in {" + std::string(body) + "}");
      if (step < 0) step = -step;
      to_text = to_text.substr(0, dots2);
    }
    std::int64_t from = 0, to = 0;
    if (!parse_integer(from_text, from) || !parse_integer(to_text, to))
      fail(pattern, "{" + std::string(body) + "} is not a numeric range like {00000..00099}");
    const std::uint64_t span = from <= to ? static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from)
                                          : static_cast<std::uint64_t>(from) - static_cast<std::uint64_t>(to);
    if (span / static_cast<std::uint64_t>(step) >= kMaxExpansion)
      fail(pattern, "range {" + std::string(body) + "} has more than " + std::to_string(kMaxExpansion) + " values");
    const std::size_t width =
        zero_padded(from_text) || zero_padded(to_text) ? std::max(from_text.size(), to_text.size()) : 0;
    std::vector<std::string> out;
    const std::uint64_t count = span / static_cast<std::uint64_t>(step) + 1;
    out.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto delta = static_cast<std::int64_t>(i) * step;
      out.push_back(pad(from <= to ? from + delta : from - delta, width));
    }
    return out;
  }
  if (body.find(',') == std::string_view::npos)
    fail(pattern, "{" + std::string(body) + "} is neither a range {a..b} nor a list {a,b}");
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = body.find(',', start);
    out.emplace_back(body.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> expand_braces(std::string_view pattern) {
  // Split into literal text and groups: parts[0] group[0] parts[1] group[1] ... parts[n].
  std::vector<std::string> literals(1);
  std::vector<std::vector<std::string>> groups;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '}') fail(pattern, "'}' without '{' at character " + std::to_string(i));
    if (c != '{') {
      literals.back().push_back(c);
      continue;
    }
    const auto close = pattern.find('}', i + 1);
    if (close == std::string_view::npos) fail(pattern, "'{' at character " + std::to_string(i) + " is never closed");
    const std::string_view body = pattern.substr(i + 1, close - i - 1);
    if (body.find('{') != std::string_view::npos) fail(pattern, "nested braces are not supported");
    if (body.empty()) fail(pattern, "empty braces {} at character " + std::to_string(i));
    groups.push_back(alternatives(body, pattern));
    literals.emplace_back();
    i = close;
  }

  std::size_t total = 1;
  for (const auto& g : groups) {
    if (total > kMaxExpansion / g.size())
      fail(pattern, "expands to more than " + std::to_string(kMaxExpansion) + " names");
    total *= g.size();
  }
  std::vector<std::string> out;
  out.reserve(total);
  // An odometer over the groups, the last group turning fastest.
  std::vector<std::size_t> digit(groups.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    std::string s = literals[0];
    for (std::size_t g = 0; g < groups.size(); ++g) {
      s += groups[g][digit[g]];
      s += literals[g + 1];
    }
    out.push_back(std::move(s));
    for (std::size_t g = groups.size(); g-- > 0;) {
      if (++digit[g] < groups[g].size()) break;
      digit[g] = 0;
    }
  }
  return out;
}

}  // namespace safescan
