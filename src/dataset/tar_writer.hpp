// Writing tar shards (libarchive): copying a shard member by member, in order, with the
// chance to replace or drop each regular file on the way. Used by `safescan blur` to write a
// new WebDataset shard with the same keys and metadata as the original.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "safescan/error.hpp"

namespace safescan::detail {

struct TarMemberEdit {
  enum class Action { keep, replace, drop } action = Action::keep;
  std::string name;                 // replace: the new member name ("" keeps the old one)
  std::vector<std::uint8_t> bytes;  // replace: the new data
};

struct TarRewriteHooks {
  // Whether a regular file is handed to `edit` (others are copied as they are). nullptr: none.
  // Each member is held in memory while it is copied.
  std::function<bool(const std::string& name)> wants;
  // Decides what becomes of a member `wants` chose, given its bytes.
  std::function<TarMemberEdit(const std::string& name, const std::vector<std::uint8_t>& bytes)> edit;
};

// The compression a shard name asks for, from its extension: .gz/.tgz gzip, .bz2/.tbz2 bzip2,
// .xz/.txz xz, .zst/.tzst zstd; none otherwise.
enum class TarCompression { none, gzip, bzip2, xz, zstd };
TarCompression tar_compression_for(const std::filesystem::path& file);

// Reads the tar `src` (any compression the scan reads) and writes `dst` (POSIX ustar, pax
// headers only for what ustar cannot hold; compression from dst's name) with the same members
// in the same order and the same headers (mode, owner, times), each regular file kept,
// replaced or dropped as `hooks` say. Directories and links are copied as headers.
// Returns nullopt when `src` was read to its end; otherwise the Error (corrupt, unreadable)
// that stopped the reading, `dst` then holding the members before it (a valid tar).
// Throws Error(unreadable) when `dst` cannot be written; `edit` may throw too (then `dst` is
// left incomplete: write to a temporary name).
std::optional<Error> rewrite_tar(const std::filesystem::path& src, const std::filesystem::path& dst,
                                 const TarRewriteHooks& hooks);

}  // namespace safescan::detail
