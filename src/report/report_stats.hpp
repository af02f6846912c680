// The audit card's tallies: one streaming pass over the items (ReportStats::add per item),
// fixed-size or capped containers only, so memory does not grow with the number of items.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "safescan/store.hpp"

namespace safescan::report {

inline constexpr int kScoreBins = 20;            // on [0, 1]
inline constexpr int kFaceBins = 11;             // 0 .. 9 faces, then "10+"
inline constexpr std::size_t kMaxFormats = 64;   // distinct formats counted, then "other"
inline constexpr std::size_t kMaxSources = 200;  // distinct sources counted, then "(other sources)"
inline constexpr int kErrorExamples = 3;         // messages kept per error code

// Size buckets (upper bounds, exclusive; the last bucket is open).
inline constexpr std::array<double, 7> kByteEdges = {4e3, 16e3, 64e3, 256e3, 1e6, 4e6, 16e6};
inline constexpr std::array<double, 9> kPixelEdges = {0.05e6, 0.1e6, 0.25e6, 0.5e6, 1e6, 2e6, 4e6, 8e6, 16e6};
std::vector<std::string> byte_bucket_labels();
std::vector<std::string> pixel_bucket_labels();

struct CategoryStats {
  std::string detector, category;
  std::int64_t scored = 0, flagged = 0;
  double sum = 0;  // for the mean score
  std::array<std::int64_t, kScoreBins> hist{};
  bool decision = false;  // a category the policy decides on (not a raw output such as a class probability)
  bool is_category = false;  // from the policy's category records (stores of schema 2)
};

struct FlaggedItem {
  std::int64_t id = 0;
  std::string key, path, member, category, decision, cls;
  float score = 0;
  bool has_image = true;  // false for embedding rows (nothing to show)
};

struct DetectorStats {
  std::string name;
  std::int64_t scored = 0, flagged = 0;  // items with a score of it / with a flagged category
  std::vector<FlaggedItem> top;          // filled by finish(): highest score first
};

struct FaceStats {
  std::string detector;  // "yunet", "hog"
  std::int64_t scanned = 0, with_faces = 0, faces = 0;
  int max_faces = 0;
  std::array<std::int64_t, kFaceBins> per_image{};
};

struct ClassStats {
  std::string name;
  std::int64_t items = 0, errors = 0, flagged = 0, with_faces = 0;
  std::vector<std::int64_t> flagged_by;  // per detector, in ReportStats::detectors() order
};

struct ErrorStats {
  std::string code;
  std::int64_t count = 0;
  std::vector<std::string> examples;  // the first messages
};

struct Counted {
  std::string name;
  std::int64_t items = 0, errors = 0;
};

struct SizeStats {
  std::int64_t bytes_known = 0, bytes_min = 0, bytes_max = 0;
  double bytes_total = 0;
  std::array<std::int64_t, kByteEdges.size() + 1> bytes_hist{};
  std::int64_t decoded = 0;  // items with a width and height
  int width_min = 0, width_max = 0, height_min = 0, height_max = 0;
  double pixels_total = 0;
  std::array<std::int64_t, kPixelEdges.size() + 1> pixel_hist{};
};

// The class of an item by `class_from` ("folder", "meta:FIELD"); "" when it has none.
std::string item_class(const ItemResult& item, std::string_view class_from);
// Throws Error(invalid_argument) unless class_from is "", "folder" or "meta:FIELD".
void check_class_from(std::string_view class_from);

class ReportStats {
 public:
  ReportStats(std::string class_from, int top, std::size_t max_tracked_classes);

  void add(const ItemResult& item);
  void finish();  // sorts everything and empties the heaps into DetectorStats::top

  std::int64_t items = 0, ok = 0, failed = 0, flagged = 0;  // flagged: by any detector
  std::map<std::string, std::int64_t> decisions;            // latest review decision -> items

  const std::vector<Counted>& sources() const { return sources_; }  // after finish(): by items
  const std::vector<Counted>& formats() const { return formats_; }
  const std::vector<ErrorStats>& errors() const { return errors_; }  // by count
  const SizeStats& sizes() const { return sizes_; }
  const std::vector<CategoryStats>& categories() const { return categories_; }  // detector, category
  const std::vector<DetectorStats>& detectors() const { return detectors_; }     // first seen order
  const std::vector<FaceStats>& faces() const { return faces_; }
  const std::vector<ClassStats>& classes() const { return classes_; }  // after finish(): by items
  bool has_classes() const { return !class_from_.empty(); }
  // The items of classes first seen after max_tracked_classes distinct ones (items == 0: none).
  const ClassStats& pooled() const { return pooled_; }

 private:
  // Keeps the worst of the kept items on top: "a ranks before b" (higher score, then earlier).
  struct RanksBefore {
    bool operator()(const FlaggedItem& a, const FlaggedItem& b) const {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    }
  };
  using MinHeap = std::priority_queue<FlaggedItem, std::vector<FlaggedItem>, RanksBefore>;
  std::size_t detector_index(const std::string& name);
  std::size_t category_index(const std::string& detector, const std::string& category);
  void count(std::vector<Counted>& list, std::unordered_map<std::string, std::size_t>& index, const std::string& name,
             bool error, std::size_t cap, const char* other);
  void add_class(const ItemResult& item, const std::string& cls, bool item_flagged, const std::vector<bool>& flagged_by);

  std::string class_from_;
  bool has_categories_ = false;  // some item carries the policy's category records
  int top_;
  std::size_t max_tracked_;
  std::vector<Counted> sources_, formats_;
  std::unordered_map<std::string, std::size_t> source_index_, format_index_;
  std::vector<ErrorStats> errors_;
  SizeStats sizes_;
  std::vector<CategoryStats> categories_;
  std::map<std::pair<std::string, std::string>, std::size_t> category_index_;
  std::vector<DetectorStats> detectors_;
  std::vector<MinHeap> heaps_;
  std::vector<FaceStats> faces_;
  std::vector<ClassStats> classes_;
  std::unordered_map<std::string, std::size_t> class_index_;
  ClassStats pooled_;
};

}  // namespace safescan::report
