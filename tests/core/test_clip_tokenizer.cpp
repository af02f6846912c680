// CLIP's tokenizer (src/models/clip/tokenizer.cpp) against openai/CLIP's SimpleTokenizer.
//
// Expected values come from the reference: ../shared/fixtures/clip-tiny/reference.json, and
// tests/data/clip_tokenizer_cases.jsonl plus the literals below, which were produced once by
// running simple_tokenizer.py's algorithm with Python 3.11 and the `regex` module. Add a case
// by adding a line to the .jsonl file (see docs/tokenizer.md).
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "text/bpe.hpp"
#include "text/html_entities.hpp"
#include "text/text_clean.hpp"
#include "safescan/clip.hpp"
#include "safescan/error.hpp"
#include "golden.hpp"
#include "testing.hpp"

namespace {

namespace fs = std::filesystem;
using safescan::ClipTokenizer;
using safescan::Error;
using safescan::ErrorCode;
using Ids = std::vector<int>;

constexpr const char* kVocabRel = "models/clip/bpe_simple_vocab_16e6.txt.gz";

fs::path vocab_path() { return safescan::testing::shared_dir() / kVocabRel; }

std::string read_gzip(const fs::path& file) {
  gzFile gz = gzopen(file.c_str(), "rb");
  if (!gz) throw std::runtime_error("cannot open " + file.string());
  std::string out, buf(1 << 16, '\0');
  for (int n; (n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()))) > 0;) out.append(buf.data(), n);
  gzclose(gz);
  return out;
}

void write_file(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& file, std::string_view text) {
  gzFile gz = gzopen(file.c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
}

// The tokenizer, loaded once for all tests of the fixture.
class ClipTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (safescan::testing::have_shared(kVocabRel)) tok_ = new ClipTokenizer(ClipTokenizer::load(vocab_path()));
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  void SetUp() override { SAFESCAN_REQUIRE_SHARED(kVocabRel); }
  static const ClipTokenizer& tok() { return *tok_; }

 private:
  static inline ClipTokenizer* tok_ = nullptr;
};

// ---- parity with the reference -----------------------------------------------------

TEST_F(ClipTokenizerTest, MatchesReferenceJsonForEveryText) {
  SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/reference.json");
  const auto& ref = safescan::testing::clip_tiny_reference();
  ASSERT_EQ(ref.at("texts").size(), 10u);
  for (const auto& t : ref.at("texts")) {
    const std::string text = t.at("text");
    SCOPED_TRACE(text);
    EXPECT_EQ(tok().encode(text), t.at("tokens").get<Ids>());
  }
}

TEST_F(ClipTokenizerTest, MatchesCasesFile) {
  const fs::path file = fs::path(SAFESCAN_SOURCE_DIR) / "tests/data/clip_tokenizer_cases.jsonl";
  std::ifstream in(file);
  ASSERT_TRUE(in) << "cannot open " << file;
  std::string line;
  int line_no = 0, cases = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto c = nlohmann::json::parse(line);
    const std::string text = c.at("text");
    SCOPED_TRACE(file.filename().string() + ":" + std::to_string(line_no) + " " + c.value("note", std::string()));
    const int context = c.value("context_length", ClipTokenizer::kContextLength);
    EXPECT_EQ(tok().encode(text, context), c.at("tokens").get<Ids>());
    if (c.contains("decoded")) {
      EXPECT_EQ(tok().decode(tok().bpe(text)), c.at("decoded").get<std::string>());
    }
    ++cases;
  }
  EXPECT_GE(cases, 30);
}

// ---- the cases the tokenizer must get right, spelled out ---------------------------

TEST_F(ClipTokenizerTest, Constants) {
  EXPECT_EQ(tok().start_token(), 49406);
  EXPECT_EQ(tok().end_token(), 49407);
  EXPECT_EQ(tok().vocab_size(), 49408);
  EXPECT_EQ(tok().decode({49406, 49407}), "<|startoftext|><|endoftext|>");
}

TEST_F(ClipTokenizerTest, EmptyAndWhitespaceOnly) {
  EXPECT_EQ(tok().encode(""), (Ids{49406, 49407}));
  EXPECT_EQ(tok().encode(" \t\n "), (Ids{49406, 49407}));
  EXPECT_EQ(tok().encode("\xC2\xA0\xE3\x80\x80"), (Ids{49406, 49407}));  // NBSP, ideographic space
  EXPECT_TRUE(tok().bpe("").empty());
}

TEST_F(ClipTokenizerTest, HtmlEntities) {
  EXPECT_EQ(tok().encode("&amp; &lt;3 &copy &#39; &#x1F600;"), (Ids{49406, 261, 283, 274, 5811, 262, 7334, 49407}));
  EXPECT_EQ(tok().decode(tok().bpe("&amp; &lt;3 &copy &#39; &#x1F600;")), "& < 3 \xC2\xA9 ' \xF0\x9F\x98\x80 ");
}

TEST_F(ClipTokenizerTest, EmojiAndCjk) {
  const std::string text = "\xF0\x9F\x98\x80 \xE7\x8C\xAB\xE3\x81\xAE\xE5\x86\x99\xE7\x9C\x9F \xF0\x9F\x90\x88";  // 😀 猫の写真 🐈
  EXPECT_EQ(tok().encode(text), (Ids{49406, 7334, 163, 234, 104, 21575, 44653, 33440, 509, 2074, 486, 49407}));
  EXPECT_EQ(tok().decode(tok().bpe(text)), text + " ");
}

TEST_F(ClipTokenizerTest, CapitalIWithDotLowersToIAndCombiningDot) {
  // Python: 'İ'.lower() == 'i\u0307'; the combining dot is not a letter, so it is a piece.
  EXPECT_EQ(tok().encode("\xC4\xB0"), (Ids{49406, 328, 16384, 49407}));
  EXPECT_EQ(tok().encode("\xC4\xB0STANBUL"), (Ids{49406, 328, 16384, 11231, 49407}));
}

TEST_F(ClipTokenizerTest, EachDigitIsAToken) {
  EXPECT_EQ(tok().encode("2024"), (Ids{49406, 273, 271, 273, 275, 49407}));
  EXPECT_EQ(tok().bpe("2024").size(), 4u);
}

TEST_F(ClipTokenizerTest, Contractions) {
  EXPECT_EQ(tok().encode("they're"), (Ids{49406, 889, 982, 49407}));
  EXPECT_EQ(tok().encode("DON'T"), (Ids{49406, 847, 713, 49407}));
  EXPECT_EQ(tok().decode(tok().bpe("DON'T")), "don 't ");
}

TEST_F(ClipTokenizerTest, LongInputIsTruncatedKeepingTheEndToken) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word" + std::to_string(i) + " ";
  const Ids ids = tok().encode(text);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids.front(), 49406);
  EXPECT_EQ(ids.back(), 49407);
  const Ids all = tok().bpe(text);
  ASSERT_GT(all.size(), 76u);
  EXPECT_TRUE(std::equal(ids.begin() + 1, ids.end() - 1, all.begin()));

  EXPECT_EQ(tok().encode(text, 5).size(), 5u);
  EXPECT_EQ(tok().encode(text, 5).back(), 49407);
  EXPECT_EQ(tok().encode("a photo of a cat", 1), (Ids{49407}));  // open_clip's truncation rule
  EXPECT_EQ(tok().encode("a cat", 77), (Ids{49406, 320, 2368, 49407}));  // short input: no padding
  try {
    tok().encode("a cat", 0);
    FAIL() << "no error for context length 0";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
}

TEST_F(ClipTokenizerTest, DecodeRoundTrip) {
  EXPECT_EQ(tok().decode(tok().encode("a photo of a cat")), "<|startoftext|>a photo of a cat <|endoftext|>");
  EXPECT_EQ(tok().decode(tok().encode("Hello, World! It's 3:00pm")),
            "<|startoftext|>hello , world ! it 's 3 : 0 0 pm <|endoftext|>");
  // Decoding the cleaned text's pieces gives them back, each followed by a space.
  const std::string text = "Ünïcödé façade café naïve";
  EXPECT_EQ(tok().decode(tok().bpe(text)), "ünïcödé façade café naïve ");
}

TEST_F(ClipTokenizerTest, DecodeRepairsPartialUtf8LikePython) {
  // Ids of single bytes (bytes_to_unicode order): 0xF0 = 172, 0x9F = 253, 0x98 = 246,
  // 0xED = 169, 0xA0 = 254, 0x80 = 222. errors='replace': one U+FFFD per maximal subpart.
  EXPECT_EQ(tok().decode({172}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok().decode({172, 253}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok().decode({172, 253, 246, 320}), "\xEF\xBF\xBD" "a ");
  EXPECT_EQ(tok().decode({169, 254, 222}), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: 3 replacements
  // "</w>" spelled with four single-character tokens is also replaced (Python replaces text).
  EXPECT_EQ(tok().decode({27, 14, 86, 29}), " ");
  EXPECT_EQ(tok().decode({283, 270}), "< / ");
}

TEST_F(ClipTokenizerTest, DecodeRejectsUnknownIds) {
  for (int id : {-1, 49408, 1 << 30}) {
    try {
      tok().decode({320, id});
      FAIL() << "no error for id " << id;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(std::to_string(id)), std::string::npos) << e.what();
    }
  }
}

TEST_F(ClipTokenizerTest, SpecialTokensTypedInText) {
  EXPECT_EQ(tok().encode("<|endoftext|>"), (Ids{49406, 49407, 49407}));
  EXPECT_EQ(tok().encode("<|STARTOFTEXT|>"), (Ids{49406, 49406, 49407}));
  // 'ſ' matches 's' under IGNORECASE, so the piece is found, but it is not the cached
  // special token: BPE of its bytes.
  EXPECT_EQ(tok().encode("<|\xC5\xBFtartoftext|>"), (Ids{49406, 27, 91, 129, 123, 2002, 6659, 18169, 91, 285, 49407}));
  EXPECT_EQ(tok().encode("it'\xC5\xBF"), (Ids{49406, 585, 6, 129, 379, 49407}));
}

TEST_F(ClipTokenizerTest, ConcurrentUseGivesTheSameTokens) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 300; ++i) prompts.push_back("a photo of thing number " + std::to_string(i * 7919) + " zq" + std::to_string(i));
  std::vector<Ids> expected;
  for (const auto& p : prompts) expected.push_back(tok().encode(p));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < prompts.size(); ++i) {
        const std::size_t k = (i * 31 + static_cast<std::size_t>(t) * 17) % prompts.size();
        if (tok().encode(prompts[k]) != expected[k]) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Tokenises 10,000 prompts. Timing is printed, not asserted (docs/tokenizer.md has figures).
TEST_F(ClipTokenizerTest, TenThousandPrompts) {
  const char* subjects[] = {"cat", "dog", "weapon", "crowd", "protest", "beach", "kitchen", "car", "forest", "city"};
  const char* templates[] = {"a photo of a {}.", "a blurry photo of the {}", "This image shows a {} at night!",
                             "an illustration of {} #{}", "a close-up of a {}, taken in 2024"};
  std::vector<std::string> prompts;
  for (int i = 0; i < 10000; ++i) {
    std::string t = templates[i % 5];
    t.replace(t.find("{}"), 2, subjects[(i / 5) % 10]);
    if (const auto p = t.find("{}"); p != std::string::npos) t.replace(p, 2, std::to_string(i));
    prompts.push_back(t);
  }
  const auto start = std::chrono::steady_clock::now();
  std::size_t total = 0;
  for (const auto& p : prompts) total += tok().encode(p).size();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ timing   ] 10000 prompts, " << total << " tokens: " << ms << " ms\n";
  RecordProperty("ms_for_10000_prompts", std::to_string(ms));
  EXPECT_EQ(tok().encode(prompts[0]), tok().encode("A photo of a CAT."));
}

// ---- bad vocabulary files ----------------------------------------------------------

void expect_load_error(const fs::path& file, ErrorCode code, const std::string& fragment) {
  try {
    ClipTokenizer::load(file);
    ADD_FAILURE() << "no error loading " << file;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(e.where(), file.string()) << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ClipTokenizerVocab, MissingFile) {
  safescan::testing::TempDir dir;
  expect_load_error(dir / "nope.txt.gz", ErrorCode::model_missing, "not found");
  expect_load_error(dir.path(), ErrorCode::model_invalid, "directory");
}

TEST(ClipTokenizerVocab, TruncatedGzip) {
  SAFESCAN_REQUIRE_SHARED(kVocabRel);
  std::ifstream in(vocab_path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  safescan::testing::TempDir dir;
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 4, std::size_t{100}}) {
    SCOPED_TRACE(keep);
    write_file(dir / "cut.txt.gz", std::string_view(bytes).substr(0, keep));
    expect_load_error(dir / "cut.txt.gz", ErrorCode::model_invalid, "gzip");
  }
  // Damaged in the middle: a CRC or stream error.
  std::string damaged = bytes;
  for (std::size_t i = damaged.size() / 2; i < damaged.size() / 2 + 64; ++i) damaged[i] = static_cast<char>(~damaged[i]);
  write_file(dir / "damaged.txt.gz", damaged);
  expect_load_error(dir / "damaged.txt.gz", ErrorCode::model_invalid, "gzip");
}

TEST(ClipTokenizerVocab, TooFewMergesOrNotMerges) {
  safescan::testing::TempDir dir;
  write_gzip(dir / "small.txt.gz", "#version: 0.2\ni n\nt h\n");
  expect_load_error(dir / "small.txt.gz", ErrorCode::model_invalid, "2 merge lines");
  write_file(dir / "empty.txt", "");
  expect_load_error(dir / "empty.txt", ErrorCode::model_invalid, "0 merge lines");
  write_file(dir / "binary.bin", std::string("\x89PNG\r\n\x1a\n\xff\xfe\x00\x01", 12));
  expect_load_error(dir / "binary.bin", ErrorCode::model_invalid, "UTF-8");

  SAFESCAN_REQUIRE_SHARED(kVocabRel);
  std::string text = read_gzip(vocab_path());
  // Keep the header and all merges but the last.
  std::size_t pos = 0;
  for (int i = 0; i < safescan::clip::kBpeMerges; ++i) pos = text.find('\n', pos) + 1;
  write_gzip(dir / "short.txt.gz", text.substr(0, pos - 1));
  expect_load_error(dir / "short.txt.gz", ErrorCode::model_invalid, "48893 merge lines");
  // A line that is not two tokens.
  std::string broken = text;
  broken.insert(broken.find('\n', broken.find('\n') + 1), " extra");
  write_gzip(dir / "broken.txt.gz", broken);
  expect_load_error(dir / "broken.txt.gz", ErrorCode::model_invalid, "line 2 ");
}

TEST(ClipTokenizerVocab, PlainTextFileGivesTheSameTokens) {
  SAFESCAN_REQUIRE_SHARED(kVocabRel);
  safescan::testing::TempDir dir;
  write_file(dir / "bpe.txt", read_gzip(vocab_path()));
  auto plain = ClipTokenizer::load(dir / "bpe.txt");
  const auto gz = ClipTokenizer::load(vocab_path());
  for (const char* text : {"a photo of a cat", "Ünïcödé façade café naïve", "hello world, it's 3:00pm"})
    EXPECT_EQ(plain.encode(text), gz.encode(text)) << text;
  ClipTokenizer moved = std::move(plain);
  EXPECT_EQ(moved.encode("a cat"), (Ids{49406, 320, 2368, 49407}));
}

// ---- the pieces: clean-up and splitting, against Python -------------------------------

using safescan::clip::utf32_to_utf8;
using safescan::clip::utf8_to_utf32;

std::string unescape(std::string_view s) { return utf32_to_utf8(safescan::clip::html_unescape(utf8_to_utf32(s))); }

TEST(ClipTextClean, HtmlUnescapeMatchesPython) {
  // Expected values: Python 3.11's html.unescape.
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"&amp;", "&"},
      {"&amp", "&"},
      {"&AMP;", "&"},
      {"&ampx", "&x"},
      {"&notit;", "\xC2\xAC" "it;"},
      {"&notin;", "\xE2\x88\x89"},
      {"&#39;", "'"},
      {"&#x27;", "'"},
      {"&#X41;", "A"},
      {"&#65", "A"},
      {"&#0;", "\xEF\xBF\xBD"},
      {"&#13;", "\r"},
      {"&#128;", "\xE2\x82\xAC"},
      {"&#x81;", "\xC2\x81"},
      {"&#x9F;", "\xC5\xB8"},
      {"&#1;", ""},
      {"&#xB;", ""},
      {"&#xD800;", "\xEF\xBF\xBD"},
      {"&#x110000;", "\xEF\xBF\xBD"},
      {"&#99999999999999999999;", "\xEF\xBF\xBD"},
      {"&#xFFFE;", ""},
      {"&#x10FFFF;", ""},
      {"&#xFDD0;", ""},
      {"&#", "&#"},
      {"&#x;", "&#x;"},
      {"&#xg;", "&#xg;"},
      {"& amp;", "& amp;"},
      {"&&amp;", "&&"},
      {"&;", "&;"},
      {"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"},
      {"&frac12;&frac12", "\xC2\xBD\xC2\xBD"},
      {"&CounterClockwiseContourIntegral;", "\xE2\x88\xB3"},
      {"&NotNestedGreaterGreater;", "\xE2\xAA\xA2\xCC\xB8"},
      {"&ltxx", "<xx"},
      {"&lt\xC3\xA9", "<\xC3\xA9"},
      {"&\xC3\xA9;", "&\xC3\xA9;"},
      {"&amp;amp;", "&amp;"},
      {"x&y", "x&y"},
      {"&lt\r;", "<\r;"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(unescape(in), out) << in;
}

TEST(ClipTextClean, EntityTableIsPythonsHtml5Table) {
  const auto table = safescan::clip::html5_entities();
  EXPECT_EQ(table.size(), 2231u);
  EXPECT_TRUE(std::is_sorted(table.begin(), table.end(), [](const auto& a, const auto& b) { return a.name < b.name; }));
  EXPECT_EQ(std::adjacent_find(table.begin(), table.end(), [](const auto& a, const auto& b) { return a.name == b.name; }),
            table.end());
  ASSERT_NE(safescan::clip::find_html5_entity("copy"), nullptr);  // legacy name without ';'
  EXPECT_EQ(safescan::clip::find_html5_entity("copy")->value, "\xC2\xA9");
  EXPECT_EQ(safescan::clip::find_html5_entity("zwnj;")->value, "\xE2\x80\x8C");
  EXPECT_EQ(safescan::clip::find_html5_entity("zwnj"), nullptr);
  EXPECT_EQ(safescan::clip::find_html5_entity("AElig")->value, "\xC3\x86");
}

TEST(ClipTextClean, LowerIsPythonsStrLower) {
  auto lower = [](std::string_view s) { return utf32_to_utf8(safescan::clip::python_lower(utf8_to_utf32(s))); };
  EXPECT_EQ(lower("\xC4\xB0"), "i\xCC\x87");                                    // İ -> i + U+0307
  EXPECT_EQ(lower("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3 \xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3."),  // ΟΔΟΣ ΟΔΟΣ.
            "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82 \xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82.");    // final sigmas
  EXPECT_EQ(lower("\xE1\xBA\x9E"), "\xC3\x9F");                                 // ẞ -> ß
  EXPECT_EQ(lower("\xC7\x85"), "\xC7\x86");                                     // ǅ -> ǆ
  EXPECT_EQ(lower("ABC xyz 123"), "abc xyz 123");
}

TEST(ClipTextClean, WhitespaceFollowsPythonAndRegex) {
  // str.strip() removes U+001C..U+001F, the regex module's \s does not match them.
  const auto cleaned = safescan::clip::clean_text(" \x1c a\x1c\xE2\x80\x83" "b \x1f");
  EXPECT_EQ(utf32_to_utf8(cleaned), "a\x1c b");
  const auto pieces = safescan::clip::split_pieces(cleaned);
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "\x1c", "b"}));
}

TEST(ClipTextClean, SplitMatchesTheRegexModule) {
  auto split = [](std::string_view s) { return safescan::clip::split_pieces(utf8_to_utf32(s)); };
  using V = std::vector<std::string>;
  EXPECT_EQ(split("a\xCD\x85" "b"), (V{"a", "b"}));  // U+0345 matches no alternative under IGNORECASE
  EXPECT_EQ(split("it'\xC5\xBF <|\xC5\xBFtartoftext|>"), (V{"it", "'\xC5\xBF", "<|\xC5\xBFtartoftext|>"}));
  EXPECT_EQ(split("1234"), (V{"1", "2", "3", "4"}));
  EXPECT_EQ(split("'''s"), (V{"'''", "s"}));
  EXPECT_EQ(split("a's"), (V{"a", "'s"}));
  EXPECT_EQ(split("\xC3\xA9'll"), (V{"\xC3\xA9", "'ll"}));
  EXPECT_EQ(split("hello!!<|endoftext|>"), (V{"hello", "!!<|", "endoftext", "|>"}));
}

TEST(ClipTextClean, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(safescan::clip::sanitize_utf8("a\xF0\x9F" "b\xED\xA0\x80\xEF\xBF\xBD"),
            "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(safescan::clip::sanitize_utf8("plain \xE2\x82\xAC"), "plain \xE2\x82\xAC");
  EXPECT_EQ(safescan::clip::bytes_to_unicode()[' '], U'\u0120');
  EXPECT_EQ(safescan::clip::bytes_to_unicode()['a'], U'a');
}

}  // namespace
