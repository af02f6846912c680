// The --detectors syntax (detector.hpp): a small recursive-descent parser, and the canonical
// text of a spec.
#include <cctype>
#include <charconv>

#include "safescan/detector.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }

std::string float_text(float v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string quoted_if_needed(const std::string& s) {
  bool plain = !s.empty();
  for (const char c : s)
    if (c == ',' || c == '(' || c == ')' || c == '"' || c == '=' || std::isspace(static_cast<unsigned char>(c))) plain = false;
  if (plain) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::vector<DetectorSpec> all() {
    std::vector<DetectorSpec> out = list();
    skip_space();
    if (pos_ != text_.size()) fail(std::string("unexpected '") + text_[pos_] + "'");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_argument, "--detectors \"" + std::string(text_) + "\": " + what +
                                                 (pos_ >= text_.size() ? " at its end" : " at character " + std::to_string(pos_ + 1)));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  std::string word() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && name_char(text_[pos_])) ++pos_;
    if (pos_ == start) fail("expected a detector name");
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string argument() {
    skip_space();
    std::string out;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        out += text_[pos_++];
      }
      if (pos_ == text_.size()) fail("unterminated quoted argument");
      ++pos_;
      return out;
    }
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ')') out += text_[pos_++];
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    if (out.empty()) fail("expected an argument after ':'");
    return out;
  }
  std::vector<DetectorSpec> list() {
    std::vector<DetectorSpec> out;
    skip_space();
    if (pos_ == text_.size()) fail("no detector named");
    do out.push_back(item());
    while (accept(','));
    return out;
  }
  DetectorSpec item() {
    DetectorSpec spec;
    std::string first = word();
    if (accept('=')) {
      spec.label = first;
      first = word();
    }
    if ((first == "ensemble" || first == "cascade") && accept('(')) {
      if (first == "ensemble") {
        spec.kind = DetectorSpec::Kind::ensemble;
        spec.members = list();
        if (spec.members.size() < 2) fail("an ensemble needs at least two members");
      } else {
        spec.kind = DetectorSpec::Kind::cascade;
        spec.members.push_back(item());
        expect(',');
        spec.members.push_back(item());
        if (accept(',')) {
          skip_space();
          const char* begin = text_.data() + pos_;
          float bound = 0;
          auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), bound);
          if (ec != std::errc() || !(bound >= 0.0f && bound <= 1.0f)) fail("expected a bound in [0, 1]");
          pos_ += static_cast<std::size_t>(end - begin);
          spec.bound = bound;
        }
      }
      expect(')');
      return spec;
    }
    spec.name = first;
    if (accept(':')) spec.argument = argument();
    return spec;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string DetectorSpec::text() const {
  switch (kind) {
    case Kind::name:
      return argument.empty() ? name : name + ":" + quoted_if_needed(argument);
    case Kind::ensemble: {
      std::string out = "ensemble(";
      for (std::size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i].text();
      return out + ")";
    }
    case Kind::cascade:
      return "cascade(" + members.at(0).text() + "," + members.at(1).text() + "," + float_text(bound) + ")";
  }
  return name;
}

std::string DetectorSpec::display_name() const { return label.empty() ? text() : label; }

std::vector<DetectorSpec> parse_detector_specs(std::string_view text) { return Parser(text).all(); }

}  // namespace safescan
