// Everything the HTML page and the Markdown twin are written from: the tallies, the method,
// the thumbnails and the few derived lists both show, so that the two carry the same numbers.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report_method.hpp"
#include "report/report_stats.hpp"
#include "safescan/report.hpp"

namespace safescan::report {

struct Thumb {
  std::string data_uri;  // "data:image/jpeg;base64,..." ; empty: a placeholder is shown
  std::string problem;   // why there is no image (unreadable, not an image, embedding row ...)
};

struct ReportContext {
  ReportContext(const ReportStats& s, const MethodInfo& m, const ReportOptions& o) : stats(s), method(m), options(o) {}
  const ReportStats& stats;
  const MethodInfo& method;
  const ReportOptions& options;
  std::string title, database, generated, version;
  std::map<std::int64_t, Thumb> thumbs;         // by item id (top flagged items)
  std::vector<const ClassStats*> class_rows;    // per-class table: the classes with the most items
  std::vector<const ClassStats*> most_flagged;  // by flagged items, then rate
  std::vector<const CategoryStats*> decision_categories;  // what the flag charts / histograms show
  bool classes_capped = false;                  // the class table lost rows (max_classes)
};

inline constexpr std::size_t kMostFlaggedClasses = 20;

// Fills class_rows, most_flagged and decision_categories from the stats.
void derive_lists(ReportContext& ctx);

void write_html(const ReportContext& ctx, const std::string& chartjs, std::ostream& out);
void write_markdown(const ReportContext& ctx, std::ostream& out);
void write_classes_csv(const ReportContext& ctx, std::ostream& out);

// The charts (one per canvas id), built from the stats; the page's script turns each into a
// Chart.js bar chart. A JSON array of {id, title, labels, datasets [{label, data}], x, y
// (axis titles), log, horizontal, percent}. Charts without data are left out.
nlohmann::json chart_specs(const ReportContext& ctx);
bool has_chart(const nlohmann::json& specs, const std::string& id);
std::string histogram_chart_id(std::size_t detector_index);

// The score bin labels: "0.00-0.05" ...
std::vector<std::string> score_bin_labels();

}  // namespace safescan::report
