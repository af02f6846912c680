#include "text/text_clean.hpp"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <stdexcept>

#include "text/html_entities.hpp"

namespace safescan::clip {

// ---- UTF-8 ----------------------------------------------------------------------------

namespace {

// Decodes one code point at s[i]; on an ill-formed sequence returns U+FFFD and consumes its
// maximal subpart (Unicode 15, section 3.9, Table 3-7), as CPython's decoder does.
char32_t decode_one(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int need;
  unsigned lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) need = 1, cp = b0 & 0x1F;
  else if (b0 == 0xE0) need = 2, lo = 0xA0, cp = 0;
  else if (b0 == 0xED) need = 2, hi = 0x9F, cp = 0xD;
  else if (b0 >= 0xE1 && b0 <= 0xEF) need = 2, cp = b0 & 0x0F;
  else if (b0 == 0xF0) need = 3, lo = 0x90, cp = 0;
  else if (b0 >= 0xF1 && b0 <= 0xF3) need = 3, cp = b0 & 0x07;
  else if (b0 == 0xF4) need = 3, hi = 0x8F, cp = 4;
  else {
    ++i;
    return 0xFFFD;
  }
  ++i;
  for (int k = 0; k < need; ++k) {
    if (i >= s.size()) return 0xFFFD;
    const unsigned b = byte(i);
    if (b < lo || b > hi) return 0xFFFD;
    lo = 0x80, hi = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    ++i;
  }
  return cp;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace

std::u32string utf8_to_utf32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) out.push_back(decode_one(utf8, i));
  return out;
}

std::string utf32_to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t start = i;
    const char32_t c = decode_one(bytes, i);
    if (c == 0xFFFD && !(i - start == 3 && bytes.substr(start, 3) == "\xEF\xBF\xBD")) append_utf8(out, c);
    else out.append(bytes.substr(start, i - start));
  }
  return out;
}

// ---- html.unescape --------------------------------------------------------------------

namespace {

// html._invalid_charrefs: references to these numbers give another character (HTML5).
char32_t invalid_charref(std::uint32_t num) {
  static constexpr char32_t kC1[32] = {
      0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
  if (num == 0x00) return 0xFFFD;
  if (num == 0x0D) return U'\r';
  if (num >= 0x80 && num <= 0x9F) return kC1[num - 0x80];
  return 0;  // not in the table
}

// html._invalid_codepoints: references to these are dropped.
bool invalid_codepoint(std::uint32_t num) {
  return (num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) || (num >= 0x7F && num <= 0x9F) ||
         (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE;
}

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }
int hex_value(char32_t c) {
  return is_digit(c) ? static_cast<int>(c - U'0') : static_cast<int>((c | 0x20) - U'a' + 10);
}

void append_value(std::u32string& out, std::string_view utf8) {
  const std::u32string v = utf8_to_utf32(utf8);
  out += v;
}

}  // namespace

std::u32string html_unescape(std::u32string_view s) {
  if (s.find(U'&') == std::u32string_view::npos) return std::u32string(s);
  // _charref = '&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)', applied by re.sub.
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != U'&') {
      out.push_back(s[i++]);
      continue;
    }
    const std::size_t j = i + 1;
    if (j < s.size() && s[j] == U'#') {
      const bool hex = j + 1 < s.size() && (s[j + 1] == U'x' || s[j + 1] == U'X');
      std::size_t k = hex ? j + 2 : j + 1;
      const std::size_t digits_start = k;
      std::uint32_t num = 0;  // saturates above U+10FFFF: only "too large" matters then
      if (!hex) {
        for (; k < s.size() && is_digit(s[k]); ++k) num = std::min<std::uint32_t>(num * 10 + (s[k] - U'0'), 0x110000);
      } else {
        for (; k < s.size() && is_hex(s[k]); ++k)
          num = std::min<std::uint32_t>(num * 16 + static_cast<std::uint32_t>(hex_value(s[k])), 0x110000);
      }
      if (k == digits_start) {  // "&#" or "&#x" without digits: not a reference
        out.push_back(s[i++]);
        continue;
      }
      if (k < s.size() && s[k] == U';') ++k;
      if (const char32_t r = invalid_charref(num); r != 0) out.push_back(r);
      else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) out.push_back(0xFFFD);
      else if (!invalid_codepoint(num)) out.push_back(static_cast<char32_t>(num));
      i = k;
      continue;
    }
    // A named reference: 1..32 characters other than \t \n \f space < & # ;, then maybe ';'.
    std::size_t k = j;
    auto name_char = [](char32_t c) {
      return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' && c != U'#' && c != U';';
    };
    while (k < s.size() && k - j < 32 && name_char(s[k])) ++k;
    if (k == j) {
      out.push_back(s[i++]);
      continue;
    }
    if (k < s.size() && s[k] == U';') ++k;
    const std::u32string_view name = s.substr(j, k - j);
    // The entity names are ASCII: only the leading ASCII part can match.
    std::string ascii;
    for (char32_t c : name) {
      if (c >= 0x80) break;
      ascii.push_back(static_cast<char>(c));
    }
    const HtmlEntity* e = ascii.size() == name.size() ? find_html5_entity(ascii) : nullptr;
    if (e) {
      append_value(out, e->value);
    } else {
      // The longest prefix (at least 2 characters) that is an entity, the rest kept as text.
      bool found = false;
      for (std::size_t x = std::min(name.size() - 1, ascii.size()); x >= 2 && !found; --x) {
        if (const HtmlEntity* p = find_html5_entity(std::string_view(ascii).substr(0, x))) {
          append_value(out, p->value);
          out.append(name.substr(x));
          found = true;
        }
      }
      if (!found) {
        out.push_back(U'&');
        out.append(name);
      }
    }
    i = k;
  }
  return out;
}

// ---- whitespace and case --------------------------------------------------------------

bool is_regex_space(char32_t c) {
  // White_Space (Unicode 15): what the `regex` module's \s matches in a str pattern.
  if (c < 0x80) return c == U' ' || (c >= 0x09 && c <= 0x0D);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_python_space(char32_t c) { return is_regex_space(c) || (c >= 0x1C && c <= 0x1F); }

std::u32string python_strip(std::u32string_view text) {
  std::size_t b = 0, e = text.size();
  while (b < e && is_python_space(text[b])) ++b;
  while (e > b && is_python_space(text[e - 1])) --e;
  return std::u32string(text.substr(b, e - b));
}

std::u32string whitespace_clean(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (is_regex_space(text[i])) {
      out.push_back(U' ');
      while (i < text.size() && is_regex_space(text[i])) ++i;
    } else {
      out.push_back(text[i++]);
    }
  }
  return python_strip(out);
}

std::u32string python_lower(std::u32string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; })) {
    std::u32string out(text);
    for (char32_t& c : out)
      if (c >= U'A' && c <= U'Z') c += 32;
    return out;
  }
  // ICU's full lower-case mapping in the root locale: SpecialCasing's unconditional
  // mappings and the Final_Sigma context, as CPython's str.lower applies them.
  UErrorCode status = U_ZERO_ERROR;
  int32_t len16 = 0;
  std::u16string src(text.size() * 2, u'\0');
  u_strFromUTF32(src.data(), static_cast<int32_t>(src.size()), &len16, reinterpret_cast<const UChar32*>(text.data()),
                 static_cast<int32_t>(text.size()), &status);
  if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU u_strFromUTF32: ") + u_errorName(status));
  src.resize(static_cast<std::size_t>(len16));
  std::u16string low(src.size() + 16, u'\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    status = U_ZERO_ERROR;
    const int32_t n = u_strToLower(low.data(), static_cast<int32_t>(low.size()), src.data(),
                                   static_cast<int32_t>(src.size()), "", &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      low.assign(static_cast<std::size_t>(n), u'\0');
      continue;
    }
    if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU u_strToLower: ") + u_errorName(status));
    low.resize(static_cast<std::size_t>(n));
    break;
  }
  std::u32string out(low.size(), U'\0');
  int32_t len32 = 0;
  status = U_ZERO_ERROR;
  u_strToUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()), &len32, low.data(),
               static_cast<int32_t>(low.size()), &status);
  if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU u_strToUTF32: ") + u_errorName(status));
  out.resize(static_cast<std::size_t>(len32));
  return out;
}

std::u32string clean_text(std::string_view utf8) {
  std::u32string text = utf8_to_utf32(utf8);
  text = html_unescape(html_unescape(text));
  text = python_strip(text);
  text = whitespace_clean(text);
  return python_lower(text);
}

// ---- pre-tokenisation -----------------------------------------------------------------

namespace {

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }

// U+0345 COMBINING GREEK YPOGEGRAMMENI (Mn) upper-cases to a letter (U+0399), so with
// IGNORECASE the `regex` module counts it as one of [\s\p{L}\p{N}] for the negated class but
// not as \p{L}: no alternative matches it and findall skips it like a space. An exhaustive
// scan of all code points with regex 2022.10.31 found no other such character.
bool is_other(char32_t c) { return !is_regex_space(c) && !is_letter(c) && !is_number(c) && c != 0x345; }

// A literal of the pattern matched case-insensitively: in the `regex` module the letters
// used here match their ASCII upper case, and 's' also U+017F LATIN SMALL LETTER LONG S.
bool literal_eq(char32_t c, char lit) {
  if (c == static_cast<unsigned char>(lit)) return true;
  if (lit >= 'a' && lit <= 'z') return c == static_cast<char32_t>(lit - 32) || (lit == 's' && c == 0x17F);
  return false;
}

std::size_t match_literal(std::u32string_view text, std::size_t i, std::string_view lit) {
  if (text.size() - i < lit.size()) return 0;
  for (std::size_t k = 0; k < lit.size(); ++k)
    if (!literal_eq(text[i + k], lit[k])) return 0;
  return lit.size();
}

}  // namespace

std::vector<std::string> split_pieces(std::u32string_view text) {
  static constexpr std::string_view kLiterals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                                   "'ve",             "'m",            "'ll", "'d"};
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 0;
    for (std::string_view lit : kLiterals)
      if ((len = match_literal(text, i, lit)) != 0) break;
    if (len == 0) {
      const char32_t c = text[i];
      if (is_letter(c)) {
        for (len = 1; i + len < text.size() && is_letter(text[i + len]);) ++len;
      } else if (is_number(c)) {
        len = 1;
      } else if (is_other(c)) {
        for (len = 1; i + len < text.size() && is_other(text[i + len]);) ++len;
      }
    }
    if (len == 0) {  // whitespace (or U+0345): not part of any piece
      ++i;
      continue;
    }
    pieces.push_back(utf32_to_utf8(text.substr(i, len)));
    i += len;
  }
  return pieces;
}

}  // namespace safescan::clip
