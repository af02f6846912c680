// The chart data of the audit card and the lists both renderings share (report_context.hpp).
#include <algorithm>

#include "report/report_context.hpp"
#include "report/report_text.hpp"

namespace safescan::report {

namespace {

nlohmann::json chart(std::string id, std::string title, std::string x, std::string y) {
  return {{"id", std::move(id)},   {"title", std::move(title)}, {"labels", nlohmann::json::array()},
          {"datasets", nlohmann::json::array()}, {"x", std::move(x)}, {"y", std::move(y)},
          {"log", false},          {"horizontal", false},       {"percent", false}};
}

template <typename Array>
nlohmann::json series(const std::string& label, const Array& values) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& v : values) data.push_back(v);
  return {{"label", label}, {"data", std::move(data)}};
}

double rate(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

std::vector<std::string> score_bin_labels() {
  std::vector<std::string> out;
  for (int b = 0; b < kScoreBins; ++b)
    out.push_back(fixed(static_cast<double>(b) / kScoreBins, 2) + "-" + fixed(static_cast<double>(b + 1) / kScoreBins, 2));
  return out;
}

std::string histogram_chart_id(std::size_t detector_index) { return "chart-hist-" + std::to_string(detector_index); }

bool has_chart(const nlohmann::json& specs, const std::string& id) {
  return std::any_of(specs.begin(), specs.end(), [&](const nlohmann::json& c) { return c["id"] == id; });
}

void derive_lists(ReportContext& ctx) {
  const auto& classes = ctx.stats.classes();
  for (std::size_t i = 0; i < classes.size() && i < ctx.options.max_classes; ++i) ctx.class_rows.push_back(&classes[i]);
  ctx.classes_capped = classes.size() > ctx.options.max_classes || ctx.stats.pooled().items > 0;
  for (const auto& c : classes)
    if (c.flagged > 0) ctx.most_flagged.push_back(&c);
  std::sort(ctx.most_flagged.begin(), ctx.most_flagged.end(), [](const ClassStats* a, const ClassStats* b) {
    if (a->flagged != b->flagged) return a->flagged > b->flagged;
    const double ra = rate(a->flagged, a->items), rb = rate(b->flagged, b->items);
    return ra != rb ? ra > rb : a->name < b->name;
  });
  if (ctx.most_flagged.size() > kMostFlaggedClasses) ctx.most_flagged.resize(kMostFlaggedClasses);
  for (const auto& c : ctx.stats.categories())
    if (c.decision) ctx.decision_categories.push_back(&c);
}

nlohmann::json chart_specs(const ReportContext& ctx) {
  const ReportStats& s = ctx.stats;
  nlohmann::json out = nlohmann::json::array();

  if (!s.formats().empty()) {
    auto c = chart("chart-formats", "Decoded images by format", "Format", "Images");
    std::vector<std::int64_t> counts;
    for (const auto& f : s.formats()) c["labels"].push_back(f.name), counts.push_back(f.items);
    c["datasets"].push_back(series("images", counts));
    out.push_back(std::move(c));
  }
  if (s.sizes().bytes_known > 0) {
    auto c = chart("chart-bytes", "File sizes", "Encoded size", "Items");
    c["labels"] = byte_bucket_labels();
    c["datasets"].push_back(series("items", s.sizes().bytes_hist));
    out.push_back(std::move(c));
  }
  if (s.sizes().decoded > 0) {
    auto c = chart("chart-pixels", "Image sizes (width x height)", "Megapixels", "Images");
    c["labels"] = pixel_bucket_labels();
    c["datasets"].push_back(series("images", s.sizes().pixel_hist));
    out.push_back(std::move(c));
  }
  if (!ctx.decision_categories.empty()) {
    auto c = chart("chart-flag-rates", "Flagged rate per detector and category", "Detector / category",
                   "Flagged (% of scored items)");
    std::vector<double> rates;
    for (const auto* cat : ctx.decision_categories) {
      c["labels"].push_back(cat->detector + " / " + cat->category);
      rates.push_back(rate(cat->flagged, cat->scored));
    }
    c["datasets"].push_back(series("flagged %", rates));
    c["horizontal"] = true;
    c["percent"] = true;
    out.push_back(std::move(c));
  }
  for (std::size_t d = 0; d < s.detectors().size(); ++d) {
    const std::string& name = s.detectors()[d].name;
    auto c = chart(histogram_chart_id(d), "Score histogram: " + name, "Score", "Items (log scale)");
    c["labels"] = score_bin_labels();
    c["log"] = true;
    for (const auto* cat : ctx.decision_categories)
      if (cat->detector == name) c["datasets"].push_back(series(cat->category, cat->hist));
    if (!c["datasets"].empty()) out.push_back(std::move(c));
  }
  if (!ctx.most_flagged.empty()) {
    auto c = chart("chart-classes", "Most-flagged classes", "Class", "Flagged items");
    std::vector<std::int64_t> flagged;
    for (const auto* cls : ctx.most_flagged) c["labels"].push_back(cls->name), flagged.push_back(cls->flagged);
    c["datasets"].push_back(series("flagged items", flagged));
    c["horizontal"] = true;
    out.push_back(std::move(c));
  }
  if (!s.faces().empty()) {
    auto c = chart("chart-faces", "Faces per image", "Faces found", "Images");
    for (int b = 0; b < kFaceBins; ++b) c["labels"].push_back(b == kFaceBins - 1 ? std::to_string(b) + "+" : std::to_string(b));
    for (const auto& f : s.faces()) c["datasets"].push_back(series(f.detector, f.per_image));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace safescan::report
