// CLIP's byte-level BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) and the merge loop of
// openai/CLIP simple_tokenizer.py, on token ids instead of strings. Torch-free.
//
// Ids, as SimpleTokenizer numbers them: 0..255 the bytes_to_unicode characters, 256..511 the
// same with "</w>", 512 + r the r-th merge joined, then <|startoftext|> and <|endoftext|>.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace safescan::clip {

inline constexpr int kBpeMerges = 49152 - 256 - 2;           // merges read from the file
inline constexpr int kStartOfText = 256 + 256 + kBpeMerges;  // 49406
inline constexpr int kEndOfText = kStartOfText + 1;          // 49407
inline constexpr int kVocabSize = kEndOfText + 1;            // 49408

// bytes_to_unicode(): the printable code point standing for each byte.
const std::array<char32_t, 256>& bytes_to_unicode();

class BpeVocab {
 public:
  // Reads the merges file (gzip or plain text). Throws Error: model_missing when it does not
  // exist, model_invalid (naming the file, and the line where it applies) when it is not
  // readable gzip, not UTF-8, has fewer than kBpeMerges merges, or a merge is not two tokens.
  static BpeVocab load(const std::filesystem::path& file);

  // Appends the ids of one pre-tokenised piece (its UTF-8 bytes; the last symbol carries
  // "</w>"): SimpleTokenizer.bpe without the cache. `piece` must not be empty.
  void encode_piece(std::string_view piece, std::vector<int>& out) const;

  // The bytes a token stands for ("</w>" kept literally), as SimpleTokenizer.decode joins them.
  const std::string& token_bytes(int id) const { return token_bytes_[static_cast<std::size_t>(id)]; }
  int size() const { return static_cast<int>(token_bytes_.size()); }

 private:
  struct Merge {
    int rank;
    int merged;
  };
  static std::uint64_t key(int a, int b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  std::array<int, 256> byte_id_{};                  // id of each byte's character
  std::unordered_map<std::uint64_t, Merge> merges_;  // (left id, right id) -> rank, joined id
  std::vector<std::string> token_bytes_;
};

}  // namespace safescan::clip
