// safescan/sources.hpp - where a scan's images come from: directories, list files, WebDataset
// tar shards and precomputed CLIP embeddings, cut into work units.
//
//   safescan::UnitEnumerator units({"photos/", "shards/{00000..00009}.tar"}, {});
//   while (auto unit = units.next())
//     safescan::read_unit(*unit, [](safescan::SourceItem&& item) { ...; return true; });
//
// A work unit is what one process takes at a time: one tar shard, one .npy of embeddings
// (or a slice of it), or a chunk of consecutive files. Under MPI the ranks share units; a
// resumed scan can skip a tar shard whose unit is complete without reading it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/error.hpp"
#include "safescan/image.hpp"

namespace safescan {

enum class SourceKind {
  files,       // files from a directory walk, a list file, stdin, or named on the command line
  tar,         // one WebDataset tar shard
  embeddings,  // rows of an N x D float32 .npy (with FILE.npy.keys.txt)
};

std::string_view to_string(SourceKind kind) noexcept;

struct UnitFile {
  std::string path;            // as enumerated: the argument joined with the walked names
  std::optional<Error> error;  // set when the entry could not be listed (unreadable directory...)
};

struct WorkUnit {
  SourceKind kind = SourceKind::files;
  std::string source;           // the command-line argument this unit came from (after brace expansion for shards)
  std::vector<UnitFile> files;  // files: the files of this chunk, in walk order
  std::string shard;            // tar / embeddings: the file
  std::size_t first_row = 0;    // embeddings: rows [first_row, first_row + row_count)
  std::size_t row_count = 0;
  std::size_t index = 0;        // position of this unit in the enumeration (0, 1, 2 ...)

  // Stable identifier, the same in every run over the same arguments:
  // "tar:<absolute shard path>", "npy:<absolute path>:<first_row>", "files:<source>:<index>".
  std::string id() const;

  // Round-trips through a byte string (for MPI messages). deserialize throws
  // Error(invalid_argument) on malformed input.
  std::string serialize() const;
  static WorkUnit deserialize(std::string_view bytes);
};

struct SourceOptions {
  std::size_t files_per_unit = 256;       // chunk size for file sources
  std::size_t rows_per_unit = 65536;      // chunk size for embeddings
  std::istream* stdin_stream = nullptr;   // for "-" (nullptr: std::cin)
};

// What a command-line SOURCE argument is:
//  - "-": a list read from standard input, one path per line;
//  - a directory: walked recursively in sorted order (per directory); hidden entries
//    (".name") skipped, symlinked directories not followed (no loops), files kept when
//    is_candidate_image() says so; an unreadable subdirectory becomes one UnitFile with an
//    error (the walk goes on);
//  - "*.tar" (any case), possibly with brace ranges "{00000..00099}" or lists "{a,b}", expanded
//    in order with zero padding kept: one unit per shard (a missing shard is still a unit, its
//    reading yields an error item);
//  - "*.npy": embeddings, keys from "<file>.npy.keys.txt" (row numbers when absent or when the
//    line count differs, with a warning on the log);
//  - "*.txt" / "*.lst" / "*.list" that is not an image: a list file, one path per line (blank
//    lines and lines starting with '#' ignored; relative paths are relative to the current
//    directory);
//  - anything else (an image file, a missing path): one file, which yields a result or an error.
// Throws Error(invalid_argument) for a malformed brace expression.
std::vector<std::string> expand_braces(std::string_view pattern);

// What the arguments hold, known before any item is read (for choosing default detectors).
struct SourceHints {
  bool embeddings_only = false;  // every argument is a .npy of embeddings
  int embeddings_dim = 0;        // the width of the first .npy (from its header; 0: none or unreadable)
};
SourceHints source_hints(const std::vector<std::string>& args);

// Streams work units from the arguments, in argument order, without holding more than one
// directory listing per open directory level in memory (a walk of millions of files stays
// small). Not thread-safe: call from one thread.
class UnitEnumerator {
 public:
  UnitEnumerator(std::vector<std::string> args, SourceOptions options = {});
  UnitEnumerator(UnitEnumerator&&) noexcept;
  UnitEnumerator& operator=(UnitEnumerator&&) noexcept;
  ~UnitEnumerator();

  // The next unit, or nullopt at the end. Errors in listing become UnitFile errors; only a
  // malformed argument (bad braces, unreadable list file) throws Error.
  std::optional<WorkUnit> next();

  // Number of items enumerated so far (files, or embedding rows; tar members are not known
  // until read), and whether the enumeration has ended (then it is the total, tar aside).
  std::size_t items_so_far() const;  // thread-safe
  bool finished() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One item of a unit, ready for decoding (or, for embeddings, for the CLIP heads).
struct SourceItem {
  std::string key;     // files: the path as enumerated; tar: member name without extension
                       // (the WebDataset key); embeddings: the line of the keys file
  std::string source;  // WorkUnit::source
  std::string path;    // files: absolute, lexically normal path; tar / embeddings: absolute shard path
  std::string member;  // tar: the member name ("0001.jpg"); embeddings: the row number; files: ""
  // tar: the member's bytes (files are read by the caller, on its worker threads, so that
  // reading happens in parallel). Empty for files and embeddings.
  std::vector<std::uint8_t> bytes;
  // tar: sibling members with the same key other than images (".txt", ".json", ".cls" ...),
  // as one JSON object text: {"json": <parsed object, or the text when it does not parse>,
  // "txt": "<text>", ...} keyed by extension. Empty string when there are none.
  std::string meta_json;
  std::vector<float> embedding;  // embeddings: the row (D floats)
  // Pixels already decoded (the benchmark's perturbed images, video frames): used as they are,
  // nothing is read or decoded. Not set by the source readers.
  std::shared_ptr<const Image> pixels;
  std::optional<Error> error;    // set when the item cannot be read (missing file in a list,
                                 // corrupt or truncated tar: one error item naming the shard and
                                 // the offset, after the members read before the damage)
};

// Reads the items of a unit in order and hands each to `sink`; stops early when `sink`
// returns false. A tar member is an image when its extension is one of jpg jpeg png webp gif
// bmp tif tiff (any case). Directories, links and other non-regular members are ignored.
// Never throws for bad data: errors become SourceItems with `error` set.
void read_unit(const WorkUnit& unit, const std::function<bool(SourceItem&&)>& sink);

}  // namespace safescan
