// Pieces of the audit card's HTML page: small cell / figure helpers and one function per
// section (report_html.cpp: page, summary, dataset, method; report_html_results.cpp: flags,
// scores, classes, faces, top items, limitations). All text goes through html().
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "report/report_context.hpp"
#include "report/report_text.hpp"

namespace safescan::report {

inline std::string td(std::string_view text, std::string_view cls = {}) {
  return cls.empty() ? "<td>" + html(text) + "</td>" : "<td class=\"" + std::string(cls) + "\">" + html(text) + "</td>";
}
inline std::string td_num(std::int64_t n) {
  return "<td class=\"num\" data-v=\"" + std::to_string(n) + "\">" + thousands(n) + "</td>";
}
inline std::string td_rate(std::int64_t part, std::int64_t whole) {
  const double r = whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  return "<td class=\"num\" data-v=\"" + fixed(r, 8) + "\">" + percent(part, whole) + "</td>";
}
inline std::string th(std::string_view text, bool num = false) {
  return num ? "<th class=\"num\">" + html(text) + "</th>" : "<th>" + html(text) + "</th>";
}

// <figure class="chart"> with the canvas of chart `id` (nothing when the chart has no data).
// `height` in px: taller for horizontal charts with many bars.
void html_chart(std::ostream& out, const nlohmann::json& specs, const std::string& id, int height = 280);

void html_summary(const ReportContext& ctx, std::ostream& out);
void html_dataset(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out);
void html_method(const ReportContext& ctx, std::ostream& out);
void html_flags(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out);
void html_scores(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out);
void html_classes(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out);
void html_faces(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out);
void html_top(const ReportContext& ctx, std::ostream& out);
void html_limitations(const ReportContext& ctx, std::ostream& out);

}  // namespace safescan::report
