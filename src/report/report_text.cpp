// Escaping, number formatting and the shared wording of the audit card (report_text.hpp).
#include "report/report_text.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace safescan::report {

std::string clean_utf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n') out += kReplacement; else out += static_cast<char>(c);
      ++i;
      continue;
    }
    int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c > 0xF4) len = 0;
    bool valid = len > 0 && i + len <= s.size();
    for (int k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (valid && len >= 3) {  // no overlong forms, surrogates or code points above U+10FFFF
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) valid = false;
      if (c == 0xED && c1 >= 0xA0) valid = false;
      if (c == 0xF0 && c1 < 0x90) valid = false;
      if (c == 0xF4 && c1 >= 0x90) valid = false;
    }
    if (!valid) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string html(std::string_view s) {
  std::string out;
  for (char c : clean_utf8(s)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string md(std::string_view s) {
  std::string out;
  for (char c : clean_utf8(s)) {
    switch (c) {
      case '\n': case '\t': out += ' '; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

std::string script_json(const nlohmann::json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') out += "\\u003c";  // only inside strings in JSON: same value
    else out += c;
  }
  return out;
}

std::string csv(std::string_view s) {
  const std::string text = clean_utf8(s);
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string percent(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return "-";
  if (part == 0) return "0 %";
  const double p = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  return fixed(p, p < 0.1 ? 3 : p < 10 ? 2 : 1) + " %";
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s", b, units[u]);
  return buf;
}

std::vector<std::string> limitations(bool has_thumbnails, bool has_classes, bool classes_capped, std::size_t max_classes) {
  std::vector<std::string> out = {
      "Flags are detector outputs, not judgements. Every flagged item needs human review "
      "(safescan review), and an unflagged item can still be unsafe. Flagged rates describe what the "
      "detectors reported on this dataset, not the true prevalence of unsafe content.",
      "nsfwjs (MobileNetV2 / InceptionV3) knows five classes only: drawing, hentai, neutral, porn, sexy. "
      "It says nothing about violence, gore, hate symbols, drugs or abuse. It confuses skin-heavy but "
      "harmless images (beach, sport, babies, medical) with sexual content and drawings or anime with "
      "hentai. 'sexual' = porn + hentai and 'suggestive' = sexy, flagged at the run's threshold "
      "(0.5 unless --threshold was given).",
      "The CLIP heads inherit CLIP's biases. Q16 flags 'inappropriate' at p >= 0.9 with prompts tuned on "
      "socio-moral images: it is broad (violence, nudity, offensive gestures ...) and culturally "
      "specific. The LAION NSFW head flags at p > 0.5, the zero-shot categories at 0.5 each. Scores of "
      "different detectors are not calibrated against each other.",
      "Face counts come from YuNet or dlib's HOG detector. HOG misses profiles, turned heads and faces "
      "under about 40 px; YuNet misses faces hidden by helmets or masks and now and then counts a "
      "face-like object. Zero faces does not mean no person is shown.",
      "Items that could not be read or decoded (see Decode errors) were not scored: they are neither "
      "flagged nor cleared.",
      "Bounded summaries: score histograms use 20 fixed bins on [0, 1]; the top flagged items are the "
      "highest-scoring ones per detector, not a sample.",
      "The card describes the database when it was written: items a running or resumed scan adds later "
      "are not in it.",
  };
  if (has_classes) {
    out.push_back("Classes come from folder names or a metadata field: they are as reliable as the dataset's own "
                  "labels. A class with few items has a noisy flagged rate.");
    out.push_back("The per-class tables show at most " + std::to_string(max_classes) +
                  " classes, those with the most items (classes.csv lists every counted class)" +
                  (classes_capped ? "; classes first seen after the counting cap are pooled as '(other classes)'." : "."));
  }
  if (has_thumbnails)
    out.push_back(
        "Privacy: the HTML card (report.html) embeds small thumbnails of the top flagged items, which may be explicit or "
        "show identifiable people. They are blurred until clicked. Share the card only with people "
        "allowed to see the data, or write it with --no-thumbnails.");
  return out;
}

}  // namespace safescan::report
