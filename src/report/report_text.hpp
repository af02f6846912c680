// Text helpers of the audit card: escaping for HTML, Markdown and JSON inside <script>,
// number formatting, and the wording both the HTML page and the Markdown twin share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace safescan::report {

// Valid UTF-8: invalid bytes and C0 controls other than tab / newline become U+FFFD.
std::string clean_utf8(std::string_view s);
// For HTML text and attribute values (& < > " ' escaped, UTF-8 cleaned).
std::string html(std::string_view s);
// For a Markdown table cell or list item: one line, | \ ` * _ [ ] < > # escaped.
std::string md(std::string_view s);
// JSON for a <script> element: never contains "<" (written \u003c), so no "</script" or "<!--".
std::string script_json(const nlohmann::json& j);
// A file as CSV field (RFC 4180 quoting).
std::string csv(std::string_view s);

std::string thousands(std::int64_t n);  // 1234567 -> "1,234,567"
std::string percent(std::int64_t part, std::int64_t whole);  // "12.3 %", "0 %", "-" when whole == 0
std::string fixed(double v, int decimals);
std::string human_bytes(double bytes);  // "1.2 MB"

// The "Known limitations" section: one paragraph each, plain text.
std::vector<std::string> limitations(bool has_thumbnails, bool has_classes, bool classes_capped, std::size_t max_classes);

}  // namespace safescan::report
