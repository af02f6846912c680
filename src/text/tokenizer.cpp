// ClipTokenizer: openai/CLIP's SimpleTokenizer (clip/simple_tokenizer.py) in C++.
// Clean-up and splitting: text_clean.cpp; merges: bpe.cpp; this file: the cache and the
// public interface. What differs from the reference (ftfy) is in docs/tokenizer.md.
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "text/bpe.hpp"
#include "text/text_clean.hpp"
#include "safescan/clip.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {
// The BPE cache is cleared when it reaches this many pieces, so that a long-running server
// fed arbitrary text keeps bounded memory (SimpleTokenizer's cache grows without end; the
// results are the same either way).
constexpr std::size_t kMaxCachedPieces = 1 << 18;
}  // namespace

struct ClipTokenizer::Impl {
  explicit Impl(clip::BpeVocab v) : vocab(std::move(v)) {}
  clip::BpeVocab vocab;
  mutable std::shared_mutex mutex;
  mutable std::unordered_map<std::string, std::vector<int>> cache;

  void append_piece(const std::string& piece, std::vector<int>& out) const {
    // SimpleTokenizer seeds its cache with the two special tokens: typed in the text (after
    // lower-casing) they become those ids, not BPE of their characters.
    if (piece == "<|startoftext|>") return out.push_back(clip::kStartOfText);
    if (piece == "<|endoftext|>") return out.push_back(clip::kEndOfText);
    {
      std::shared_lock lock(mutex);
      if (const auto it = cache.find(piece); it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int> ids;
    vocab.encode_piece(piece, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::unique_lock lock(mutex);
    if (cache.size() >= kMaxCachedPieces) cache.clear();
    cache.emplace(piece, std::move(ids));
  }
};

ClipTokenizer::ClipTokenizer() = default;
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::load(const std::filesystem::path& vocab_file) {
  ClipTokenizer tok;
  tok.impl_ = std::make_unique<Impl>(clip::BpeVocab::load(vocab_file));
  return tok;
}

std::vector<int> ClipTokenizer::bpe(std::string_view text) const {
  std::vector<int> ids;
  for (const std::string& piece : clip::split_pieces(clip::clean_text(text))) impl_->append_piece(piece, ids);
  return ids;
}

std::vector<int> ClipTokenizer::encode(std::string_view text, int context_length) const {
  if (context_length < 1)
    throw Error(ErrorCode::invalid_argument,
                "context length must be at least 1 (got " + std::to_string(context_length) + ")");
  std::vector<int> ids{clip::kStartOfText};
  for (const std::string& piece : clip::split_pieces(clip::clean_text(text))) impl_->append_piece(piece, ids);
  ids.push_back(clip::kEndOfText);
  if (ids.size() > static_cast<std::size_t>(context_length)) {
    ids.resize(static_cast<std::size_t>(context_length));
    ids.back() = clip::kEndOfText;
  }
  return ids;
}

std::string ClipTokenizer::decode(const std::vector<int>& tokens) const {
  std::string bytes;
  for (int id : tokens) {
    if (id < 0 || id >= impl_->vocab.size())
      throw Error(ErrorCode::invalid_argument, "token id " + std::to_string(id) + " is not in CLIP's vocabulary (0.." +
                                                   std::to_string(impl_->vocab.size() - 1) + ")");
    bytes += impl_->vocab.token_bytes(id);
  }
  // .decode('utf-8', errors='replace').replace('</w>', ' '): "</w>" is ASCII, so replacing
  // it before the UTF-8 repair gives the same text.
  std::string text;
  text.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    if (bytes.compare(i, 4, "</w>") == 0) {
      text.push_back(' ');
      i += 4;
    } else {
      text.push_back(bytes[i++]);
    }
  }
  return clip::sanitize_utf8(text);
}

int ClipTokenizer::start_token() const { return clip::kStartOfText; }
int ClipTokenizer::end_token() const { return clip::kEndOfText; }
int ClipTokenizer::vocab_size() const { return impl_->vocab.size(); }

}  // namespace safescan
