// One streaming pass over the items into the audit card's tallies (report_stats.hpp).
#include "report/report_stats.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "report/report_text.hpp"
#include "safescan/error.hpp"
#include "safescan/nsfw.hpp"

namespace safescan::report {

namespace fs = std::filesystem;

namespace {

std::string megapixels(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g MP", p / 1e6);
  return buf;
}

template <std::size_t N>
std::size_t bucket(const std::array<double, N>& edges, double v) {
  return static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin());
}

template <std::size_t N, typename F>
std::vector<std::string> bucket_labels(const std::array<double, N>& edges, F fmt) {
  std::vector<std::string> out;
  out.push_back("< " + fmt(edges[0]));
  for (std::size_t i = 1; i < N; ++i) out.push_back(fmt(edges[i - 1]) + " - " + fmt(edges[i]));
  out.push_back(">= " + fmt(edges[N - 1]));
  return out;
}

// meta["a"]["b"] for "a.b"; field names may themselves hold dots ("seg.json"), so at each
// level the longest run of segments naming a key wins.
const nlohmann::json* find_field(const nlohmann::json& meta, std::string_view field) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t dot = field.find('.', start);
    parts.emplace_back(field.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  const nlohmann::json* node = &meta;
  std::size_t i = 0;
  while (i < parts.size()) {
    if (!node->is_object()) return nullptr;
    bool found = false;
    for (std::size_t n = parts.size() - i; n >= 1 && !found; --n) {
      std::string name = parts[i];
      for (std::size_t k = 1; k < n; ++k) name += "." + parts[i + k];
      const auto it = node->find(name);
      if (it != node->end()) node = &*it, i += n, found = true;
    }
    if (!found) return nullptr;
  }
  return node;
}

bool is_raw_nsfw_class(const std::string& detector, const std::string& category) {
  if (!detector.starts_with("nsfw")) return false;
  return std::find(kNsfwClassNames.begin(), kNsfwClassNames.end(), category) != kNsfwClassNames.end();
}

}  // namespace

std::vector<std::string> byte_bucket_labels() { return bucket_labels(kByteEdges, human_bytes); }
std::vector<std::string> pixel_bucket_labels() { return bucket_labels(kPixelEdges, megapixels); }

void check_class_from(std::string_view class_from) {
  if (class_from.empty() || class_from == "folder") return;
  if (class_from.starts_with("meta:") && class_from.size() > 5) return;
  throw Error(ErrorCode::invalid_argument,
              "--class-from must be 'folder' or 'meta:FIELD' (e.g. meta:json.class), not '" + std::string(class_from) + "'");
}

std::string item_class(const ItemResult& item, std::string_view class_from) {
  if (class_from == "folder") {
    if (item.member.empty()) return fs::path(item.path).parent_path().filename().string();
    const bool embedding = item.path.ends_with(".npy") || item.path.ends_with(".NPY");
    const fs::path inner = embedding ? fs::path(item.key) : fs::path(item.member);
    if (inner.has_parent_path()) return inner.parent_path().filename().string();
    return embedding ? std::string() : fs::path(item.path).stem().string();
  }
  if (class_from.starts_with("meta:")) {
    if (item.meta_json.empty()) return {};
    const auto meta = nlohmann::json::parse(item.meta_json, nullptr, false);
    if (meta.is_discarded()) return {};
    const nlohmann::json* v = find_field(meta, class_from.substr(5));
    if (!v || v->is_null()) return {};
    if (v->is_string()) return v->get<std::string>();
    return v->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return {};
}

ReportStats::ReportStats(std::string class_from, int top, std::size_t max_tracked_classes)
    : class_from_(std::move(class_from)), top_(std::max(0, top)), max_tracked_(std::max<std::size_t>(1, max_tracked_classes)) {
  pooled_.name = "(other classes)";
}

std::size_t ReportStats::detector_index(const std::string& name) {
  for (std::size_t i = 0; i < detectors_.size(); ++i)
    if (detectors_[i].name == name) return i;
  detectors_.emplace_back().name = name;
  heaps_.emplace_back();
  for (auto& c : classes_) c.flagged_by.resize(detectors_.size());
  pooled_.flagged_by.resize(detectors_.size());
  return detectors_.size() - 1;
}

std::size_t ReportStats::category_index(const std::string& detector, const std::string& category) {
  auto [it, added] = category_index_.try_emplace({detector, category}, categories_.size());
  if (added) {
    CategoryStats& c = categories_.emplace_back();
    c.detector = detector;
    c.category = category;
  }
  return it->second;
}

void ReportStats::count(std::vector<Counted>& list, std::unordered_map<std::string, std::size_t>& index,
                        const std::string& name, bool error, std::size_t cap, const char* other) {
  auto it = index.find(name);
  if (it == index.end()) {
    const std::string& key = index.size() < cap ? name : std::string(other);
    it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, list.size()).first;
      list.emplace_back().name = key;
    }
  }
  Counted& c = list[it->second];
  ++c.items;
  if (error) ++c.errors;
}

void ReportStats::add(const ItemResult& item) {
  ++items;
  if (item.ok) ++ok; else ++failed;
  count(sources_, source_index_, item.source, !item.ok, kMaxSources, "(other sources)");
  if (!item.review.empty()) ++decisions[item.review];

  if (!item.ok) {
    const std::string code = item.error_code.empty() ? "unknown" : item.error_code;
    auto e = std::find_if(errors_.begin(), errors_.end(), [&](const ErrorStats& s) { return s.code == code; });
    if (e == errors_.end()) {
      errors_.emplace_back().code = code;
      e = errors_.end() - 1;
    }
    ++e->count;
    if (e->examples.size() < kErrorExamples) e->examples.push_back(item.error_message);
  } else {
    count(formats_, format_index_, item.format.empty() ? "(unknown)" : item.format, false, kMaxFormats, "(other)");
  }

  if (item.bytes >= 0) {
    const double b = static_cast<double>(item.bytes);
    sizes_.bytes_min = sizes_.bytes_known ? std::min(sizes_.bytes_min, item.bytes) : item.bytes;
    sizes_.bytes_max = std::max(sizes_.bytes_max, item.bytes);
    ++sizes_.bytes_known;
    sizes_.bytes_total += b;
    ++sizes_.bytes_hist[bucket(kByteEdges, b)];
  }
  if (item.ok && item.width > 0 && item.height > 0) {
    const bool first = sizes_.decoded++ == 0;
    sizes_.width_min = first ? item.width : std::min(sizes_.width_min, item.width);
    sizes_.height_min = first ? item.height : std::min(sizes_.height_min, item.height);
    sizes_.width_max = std::max(sizes_.width_max, item.width);
    sizes_.height_max = std::max(sizes_.height_max, item.height);
    const double px = static_cast<double>(item.width) * item.height;
    sizes_.pixels_total += px;
    ++sizes_.pixel_hist[bucket(kPixelEdges, px)];
  }

  // Scores: per category tallies; per detector, whether the item was scored / flagged and its
  // best flagged score (for the top items). The policy's category records decide; stores
  // written before policies (no categories) have their raw scores' flags instead.
  struct Entry {
    const std::string& detector;
    const std::string& name;
    float score;
    bool flagged, category;
  };
  std::vector<Entry> entries;
  for (const ScoreRecord& s : item.scores) entries.push_back({s.detector, s.category, s.score, s.flagged && item.ok, false});
  for (const CategoryRecord& c : item.categories)
    entries.push_back({c.detector, c.category, c.score, c.decision != Decision::allow && item.ok, true});
  const bool decides_by_category = !item.categories.empty();
  has_categories_ = has_categories_ || decides_by_category;
  std::vector<bool> scored(detectors_.size()), flagged_by(detectors_.size());
  std::vector<const Entry*> best(detectors_.size(), nullptr);
  for (const Entry& e : entries) {
    const std::size_t d = detector_index(e.detector);
    if (d >= scored.size()) scored.resize(d + 1), flagged_by.resize(d + 1), best.resize(d + 1, nullptr);
    CategoryStats& c = categories_[category_index(e.detector, e.name)];
    c.is_category = c.is_category || e.category;
    ++c.scored;
    const float v = std::isfinite(e.score) ? e.score : 0.f;
    c.sum += v;
    ++c.hist[static_cast<int>(std::clamp(std::floor(static_cast<double>(v) * kScoreBins), 0.0, kScoreBins - 1.0))];
    scored[d] = true;
    if (!e.flagged) continue;
    ++c.flagged;
    if (e.category != decides_by_category) continue;  // only the deciding records flag the item
    flagged_by[d] = true;
    if (!best[d] || e.score > best[d]->score) best[d] = &e;
  }
  bool any = std::find(flagged_by.begin(), flagged_by.end(), true) != flagged_by.end();
  if (decides_by_category) any = item.flagged();
  if (any) ++flagged;
  const std::string cls = class_from_.empty() ? std::string() : item_class(item, class_from_);
  for (std::size_t d = 0; d < scored.size(); ++d) {
    if (scored[d]) ++detectors_[d].scored;
    if (!flagged_by[d]) continue;
    ++detectors_[d].flagged;
    if (top_ == 0) continue;
    MinHeap& heap = heaps_[d];
    FlaggedItem f{item.id, {}, {}, {}, {}, {}, {}, best[d]->score};
    if (static_cast<int>(heap.size()) >= top_ && !RanksBefore{}(f, heap.top())) continue;
    f.key = item.key;
    f.path = item.path;
    f.member = item.member;
    f.category = best[d]->name;
    f.decision = item.review;
    f.cls = cls;
    f.has_image = item.width > 0 && item.height > 0;
    heap.push(std::move(f));
    if (static_cast<int>(heap.size()) > top_) heap.pop();
  }

  if (item.faces) {
    const std::string name = item.face_detector.empty() ? "faces" : item.face_detector;
    auto f = std::find_if(faces_.begin(), faces_.end(), [&](const FaceStats& s) { return s.detector == name; });
    if (f == faces_.end()) {
      faces_.emplace_back().detector = name;
      f = faces_.end() - 1;
    }
    const int n = static_cast<int>(item.faces->size());
    ++f->scanned;
    if (n > 0) ++f->with_faces;
    f->faces += n;
    f->max_faces = std::max(f->max_faces, n);
    ++f->per_image[std::min(n, kFaceBins - 1)];
  }

  if (!class_from_.empty()) add_class(item, cls, any, flagged_by);
}

void ReportStats::add_class(const ItemResult& item, const std::string& cls, bool item_flagged,
                            const std::vector<bool>& flagged_by) {
  const std::string name = cls.empty() ? "(no class)" : cls;
  ClassStats* c = nullptr;
  if (auto it = class_index_.find(name); it != class_index_.end()) {
    c = &classes_[it->second];
  } else if (classes_.size() < max_tracked_) {
    class_index_.emplace(name, classes_.size());
    classes_.emplace_back().name = name;
    classes_.back().flagged_by.resize(detectors_.size());
    c = &classes_.back();
  } else {
    c = &pooled_;
  }
  ++c->items;
  if (!item.ok) ++c->errors;
  if (item_flagged) ++c->flagged;
  if (item.faces && !item.faces->empty()) ++c->with_faces;
  if (c->flagged_by.size() < detectors_.size()) c->flagged_by.resize(detectors_.size());
  for (std::size_t d = 0; d < flagged_by.size(); ++d)
    if (flagged_by[d]) ++c->flagged_by[d];
}

void ReportStats::finish() {
  auto by_items = [](const Counted& a, const Counted& b) { return a.items != b.items ? a.items > b.items : a.name < b.name; };
  std::sort(sources_.begin(), sources_.end(), by_items);
  std::sort(formats_.begin(), formats_.end(), by_items);
  std::sort(errors_.begin(), errors_.end(),
            [](const ErrorStats& a, const ErrorStats& b) { return a.count != b.count ? a.count > b.count : a.code < b.code; });
  for (auto& c : categories_)
    c.decision = has_categories_ ? c.is_category : c.flagged > 0 || !is_raw_nsfw_class(c.detector, c.category);
  std::sort(categories_.begin(), categories_.end(), [](const CategoryStats& a, const CategoryStats& b) {
    return a.detector != b.detector ? a.detector < b.detector : a.category < b.category;
  });
  for (std::size_t d = 0; d < detectors_.size(); ++d) {
    auto& top = detectors_[d].top;
    top.clear();
    for (MinHeap& heap = heaps_[d]; !heap.empty(); heap.pop()) top.push_back(heap.top());
    std::reverse(top.begin(), top.end());
  }
  for (auto& c : classes_) c.flagged_by.resize(detectors_.size());
  pooled_.flagged_by.resize(detectors_.size());
  std::sort(classes_.begin(), classes_.end(), [](const ClassStats& a, const ClassStats& b) {
    return a.items != b.items ? a.items > b.items : a.name < b.name;
  });
  class_index_.clear();
}

}  // namespace safescan::report
