// Internals of `safescan blur` shared by blur_item.cpp (one image, one file, one shard) and
// blur_dataset.cpp (walking a scan database or the inputs).
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "safescan/blur.hpp"

namespace safescan::blur_detail {

namespace fs = std::filesystem;

// What to do with one image.
struct ItemPlan {
  std::string sha256;                // the scan's digest of the bytes ("": not checked)
  bool whole = false;                // blur the whole image (flagged)
  std::vector<FaceBox> boxes;        // the boxes the scan stored
  bool detect = false;               // also run the job's face detector
  std::optional<std::string> error;  // fails without being read (the scan failed on it ...)
};

struct ProcessedImage {
  bool changed = false;             // pixels were blurred
  std::vector<std::uint8_t> bytes;  // what to write
  bool reencoded = false;           // bytes differ from the input bytes
  std::string name;                 // the output name (the extension may follow a new container)
  int boxes = 0;                    // boxes blurred
};

// Checks the digest, decodes (EXIF applied), blurs, encodes. `name` is the file or member name
// the output name is derived from; `where` names the image in errors. Throws Error.
ProcessedImage process_image(std::vector<std::uint8_t>&& bytes, const std::string& name, const ItemPlan& plan,
                             const BlurJobOptions& job, const std::string& where);

// Refuses outputs in source directories and over originals; detects two items writing the same
// output file. Thread-safe after set-up.
class OutputGuard {
 public:
  explicit OutputGuard(const fs::path& out_dir);
  const fs::path& out_dir() const { return out_dir_; }  // canonical (weakly)
  // A directory the scan walked: nothing may be written in it or under it.
  void add_walked(const fs::path& dir);
  // The directory of an original file or shard: the output directory must not be it.
  void add_parent(const fs::path& dir);
  // Throws Error(invalid_argument) when out_dir is a source directory or inside a walked one.
  void check_out_dir() const;
  // Before anything is written: throws Error(invalid_argument) when the output for the item
  // keyed `key` (at out_dir / output_relative_path(key)) is the original `original` itself.
  void check_not_original(const std::string& key, const fs::path& original) const;
  // Before writing `out` for `original`: throws Error(invalid_argument) when `out` is the
  // original (or a hard link to it), lies inside a walked directory, or was already written
  // for another item during this run.
  void claim(const fs::path& out, const fs::path& original, const std::string& key);

 private:
  fs::path out_dir_;
  std::set<fs::path> walked_, parents_;
  std::mutex mutex_;
  std::map<fs::path, std::string> claimed_;
};

// Counts and forwards events (one at a time).
class Reporter {
 public:
  explicit Reporter(const BlurEventSink& sink) : sink_(sink) {}
  void report(BlurEvent&& e);
  void fail(const std::string& key, const std::string& why) {
    report(BlurEvent{BlurEvent::Kind::failed, key, {}, 0, why});
  }
  void shard_written() {
    std::lock_guard lock(mutex_);
    ++summary_.shards;
  }
  BlurSummary summary() const { return summary_; }

 private:
  const BlurEventSink& sink_;
  std::mutex mutex_;
  BlurSummary summary_;
};

// Writes `bytes` to `file` through a temporary file in the same directory (renamed at the end),
// creating the directories. Throws Error(unreadable).
void write_file_atomic(const fs::path& file, const std::vector<std::uint8_t>& bytes);

struct Context {
  const BlurJobOptions& job;
  OutputGuard& guard;
  Reporter& reporter;
};

// One file: `path` is the original (absolute), `key` the item's key (mirrored under out_dir).
struct FileJob {
  std::string key, path;
  ItemPlan plan;
};
void run_file(const FileJob& f, Context& ctx);

// One tar shard: `source` is the shard as named to the scan (mirrored under out_dir), `path`
// the original. `members` holds the plan of each image member; with `detect_unknown` an image
// member without a plan is searched for faces, else it fails (the scan did not store it).
struct ShardJob {
  std::string source, path;
  std::map<std::string, ItemPlan> members;
  bool detect_unknown = false;
};
void run_shard(const ShardJob& s, Context& ctx);

}  // namespace safescan::blur_detail
