#include "text/bpe.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <string_view>

#include "text/text_clean.hpp"
#include "safescan/error.hpp"

namespace safescan::clip {

namespace fs = std::filesystem;

namespace {

// The bytes in vocabulary order: bytes_to_unicode() lists the printable ones first
// ('!'..'~', '¡'..'¬', '®'..'ÿ', standing for themselves), then the rest, which stand for
// U+0100, U+0101, ... in byte order.
struct ByteTables {
  std::array<std::uint8_t, 256> order{};   // vocabulary position -> byte
  std::array<char32_t, 256> to_unicode{};  // byte -> code point
  std::array<int, 256> position{};         // byte -> vocabulary position
};

const ByteTables& byte_tables() {
  static const ByteTables tables = [] {
    ByteTables t;
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    int pos = 0;
    for (int b = 0; b < 256; ++b)
      if (printable(b)) t.order[pos++] = static_cast<std::uint8_t>(b), t.to_unicode[b] = static_cast<char32_t>(b);
    int n = 0;
    for (int b = 0; b < 256; ++b)
      if (!printable(b)) t.order[pos++] = static_cast<std::uint8_t>(b), t.to_unicode[b] = static_cast<char32_t>(256 + n++);
    for (int i = 0; i < 256; ++i) t.position[t.order[i]] = i;
    return t;
  }();
  return tables;
}

std::string read_vocab_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(ErrorCode::model_missing, "CLIP vocabulary (BPE merges) file not found", file.string());
  if (fs::is_directory(file, ec))
    throw Error(ErrorCode::model_invalid, "is a directory, not a CLIP vocabulary (BPE merges) file", file.string());
  gzFile gz = gzopen(file.c_str(), "rb");  // reads plain text transparently too
  if (!gz) throw Error(ErrorCode::model_missing, "cannot open CLIP vocabulary file", file.string());
  gzbuffer(gz, 1 << 17);
  std::string text;
  std::string chunk(1 << 17, '\0');
  for (;;) {
    const int n = gzread(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int errnum = 0;
      std::string msg = gzerror(gz, &errnum);
      gzclose_r(gz);
      throw Error(ErrorCode::model_invalid, "corrupt or truncated gzip data (zlib: " + msg + ")", file.string());
    }
    if (n == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(n));
  }
  // Z_BUF_ERROR here: the data ended in the middle of a gzip stream (a truncated download).
  if (const int rc = gzclose_r(gz); rc != Z_OK)
    throw Error(ErrorCode::model_invalid,
                rc == Z_BUF_ERROR ? "truncated gzip data (the file ends in the middle of the stream)"
                                  : "cannot read gzip data (zlib error " + std::to_string(rc) + ")",
                file.string());
  return text;
}

// Python's str.split() on a merges line: runs of ASCII whitespace separate, none kept.
std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < line.size()) {
    while (i < line.size() && ws(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !ws(line[i])) ++i;
    if (i > start) parts.push_back(line.substr(start, i - start));
  }
  return parts;
}

}  // namespace

const std::array<char32_t, 256>& bytes_to_unicode() { return byte_tables().to_unicode; }

BpeVocab BpeVocab::load(const fs::path& file) {
  const std::string text = read_vocab_file(file);
  const std::string where = file.string();
  if (sanitize_utf8(text) != text)
    throw Error(ErrorCode::model_invalid, "not a CLIP vocabulary file: the text is not valid UTF-8", where);

  // Lines 1..kBpeMerges (line 0 is the "#version" header), as simple_tokenizer.py slices them.
  std::vector<std::string_view> lines;
  lines.reserve(kBpeMerges + 1);
  for (std::size_t pos = 0; lines.size() < kBpeMerges + 1;) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      if (pos < text.size()) lines.push_back(std::string_view(text).substr(pos));  // no final '\n'
      break;
    }
    lines.push_back(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
  }
  const int merges_found = static_cast<int>(lines.size()) - 1;
  if (merges_found < kBpeMerges)
    throw Error(ErrorCode::model_invalid,
                "not CLIP's vocabulary: " + std::to_string(std::max(merges_found, 0)) + " merge lines after the header, " +
                    std::to_string(kBpeMerges) + " needed",
                where);

  // The vocabulary strings, numbered as SimpleTokenizer numbers them.
  const ByteTables& bt = byte_tables();
  std::vector<std::string> vocab;
  vocab.reserve(kVocabSize);
  for (int i = 0; i < 256; ++i) vocab.push_back(utf32_to_utf8(std::u32string(1, bt.to_unicode[bt.order[i]])));
  for (int i = 0; i < 256; ++i) vocab.push_back(vocab[static_cast<std::size_t>(i)] + "</w>");
  std::vector<std::pair<std::string_view, std::string_view>> merge_parts;
  merge_parts.reserve(kBpeMerges);
  for (int r = 0; r < kBpeMerges; ++r) {
    const auto parts = split_ws(lines[static_cast<std::size_t>(r) + 1]);
    if (parts.size() != 2)
      throw Error(ErrorCode::model_invalid,
                  "line " + std::to_string(r + 2) + " is not a merge (two tokens separated by a space)", where);
    merge_parts.emplace_back(parts[0], parts[1]);
    vocab.push_back(std::string(parts[0]).append(parts[1]));
  }
  vocab.emplace_back("<|startoftext|>");
  vocab.emplace_back("<|endoftext|>");

  // encoder = dict(zip(vocab, range(len(vocab)))): a repeated string keeps its last id.
  std::unordered_map<std::string_view, int> encoder;
  encoder.reserve(vocab.size() * 2);
  for (std::size_t id = 0; id < vocab.size(); ++id) encoder.insert_or_assign(vocab[id], static_cast<int>(id));

  BpeVocab v;
  for (int b = 0; b < 256; ++b) v.byte_id_[b] = bt.position[b];
  v.merges_.reserve(kBpeMerges * 2);
  for (int r = 0; r < kBpeMerges; ++r) {
    const auto& [a, b] = merge_parts[static_cast<std::size_t>(r)];
    const auto ia = encoder.find(a), ib = encoder.find(b);
    if (ia == encoder.end() || ib == encoder.end())
      throw Error(ErrorCode::model_invalid,
                  "line " + std::to_string(r + 2) + ": merge part '" + std::string(ia == encoder.end() ? a : b) +
                      "' is neither a byte nor an earlier or later merge",
                  where);
    // bpe_ranks = dict(zip(merges, range(...))): a repeated pair keeps its last rank.
    v.merges_.insert_or_assign(key(ia->second, ib->second),
                               Merge{r, encoder.at(vocab[512 + static_cast<std::size_t>(r)])});
  }

  // What each id decodes to: every character mapped back through byte_decoder.
  std::array<int, 0x144> byte_of{};  // bytes_to_unicode() values are all below U+0144
  byte_of.fill(-1);
  for (int b = 0; b < 256; ++b) byte_of[bt.to_unicode[b]] = b;
  v.token_bytes_.reserve(vocab.size());
  for (std::size_t id = 0; id < vocab.size(); ++id) {
    std::string bytes;
    for (char32_t c : utf8_to_utf32(vocab[id])) {
      if (c >= byte_of.size() || byte_of[c] < 0)
        throw Error(ErrorCode::model_invalid,
                    "line " + std::to_string(static_cast<int>(id) - 512 + 2) + ": token '" + vocab[id] +
                        "' has a character that stands for no byte",
                    where);
      bytes.push_back(static_cast<char>(byte_of[c]));
    }
    v.token_bytes_.push_back(std::move(bytes));
  }
  return v;
}

void BpeVocab::encode_piece(std::string_view piece, std::vector<int>& out) const {
  if (piece.empty()) return;
  std::vector<int> word;
  word.reserve(piece.size());
  for (char c : piece) word.push_back(byte_id_[static_cast<unsigned char>(c)]);
  word.back() += 256;  // the last symbol carries "</w>"

  while (word.size() > 1) {
    // The adjacent pair with the lowest merge rank (min over get_pairs(word)).
    int best_rank = INT_MAX, first = -1, second = -1, merged = -1;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = merges_.find(key(word[i], word[i + 1]));
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        first = word[i];
        second = word[i + 1];
        merged = it->second.merged;
      }
    }
    if (first < 0) break;
    // Merge every occurrence, left to right, without overlaps.
    std::size_t w = 0;
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        word[w++] = merged;
        i += 2;
      } else {
        word[w++] = word[i++];
      }
    }
    word.resize(w);
  }
  out.insert(out.end(), word.begin(), word.end());
}

}  // namespace safescan::clip
