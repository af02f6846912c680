// The HTML5 named character references, as Python's html.entities.html5 has them (used by
// text_clean.cpp to reproduce html.unescape). The table is generated: see html_entities.cpp.
#pragma once

#include <span>
#include <string_view>

namespace safescan::clip {

struct HtmlEntity {
  std::string_view name;   // without the leading '&'; "amp;" and the legacy "amp" are both present
  std::string_view value;  // UTF-8, one or two code points
};

// All entities, sorted by name (byte order).
std::span<const HtmlEntity> html5_entities();

// The entity with exactly this name (binary search), or nullptr.
const HtmlEntity* find_html5_entity(std::string_view name);

}  // namespace safescan::clip
