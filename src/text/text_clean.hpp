// The text half of CLIP's tokenizer (openai/CLIP simple_tokenizer.py): clean-up and splitting
// into pieces, with Python's exact semantics. Torch-free; Unicode properties from ICU.
//
//   clean_text(s)  = whitespace_clean(basic_clean(s)).lower()      [minus ftfy.fix_text]
//   basic_clean(s) = html.unescape(html.unescape(s)).strip()
//   split_pieces   = regex.findall(<the pre-tokenisation pattern>, cleaned, IGNORECASE)
//
// Text is handled as code points (std::u32string) so that lengths and classes are Python's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace safescan::clip {

// UTF-8 -> code points. Ill-formed sequences become U+FFFD, one per maximal subpart (what
// Python's bytes.decode("utf-8", errors="replace") does).
std::u32string utf8_to_utf32(std::string_view utf8);
std::string utf32_to_utf8(std::u32string_view text);
// Replaces ill-formed UTF-8 with U+FFFD as above; valid input is returned unchanged.
std::string sanitize_utf8(std::string_view bytes);

// Python's html.unescape (Python 3.11): named references from the full HTML5 table, with and
// without ';' (longest-prefix rule for the latter), decimal and hex references with the
// HTML5 replacement rules (C1 remapping, U+FFFD for 0/surrogates/out of range, removal of
// non-characters and most controls).
std::u32string html_unescape(std::u32string_view text);

// Python's str.isspace (White_Space plus U+001C..U+001F) and the `regex` module's \s in
// Unicode mode (White_Space only).
bool is_python_space(char32_t c);
bool is_regex_space(char32_t c);

// str.strip(): removes is_python_space characters at both ends.
std::u32string python_strip(std::u32string_view text);
// simple_tokenizer.whitespace_clean: regex.sub(r'\s+', ' ', text).strip().
std::u32string whitespace_clean(std::u32string_view text);
// str.lower(): full Unicode lower-case mapping (İ -> i + U+0307, final sigma in context).
std::u32string python_lower(std::u32string_view text);

// The whole clean-up SimpleTokenizer.encode applies before splitting, except ftfy.fix_text
// (see docs/tokenizer.md): lower(whitespace_clean(strip(unescape(unescape(text)))))
std::u32string clean_text(std::string_view utf8);

// regex.findall over the cleaned text with CLIP's pattern (case-insensitive):
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// Each piece is returned as UTF-8.
std::vector<std::string> split_pieces(std::u32string_view cleaned);

}  // namespace safescan::clip
