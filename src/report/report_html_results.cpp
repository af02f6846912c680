// The audit card's HTML sections about results: flagged counts, score histograms, classes,
// faces, the top flagged items (blurred thumbnails) and the known limitations (report_html.hpp).
#include <algorithm>

#include "report/report_html.hpp"

namespace safescan::report {

namespace {

int bar_chart_height(std::size_t bars) { return static_cast<int>(std::max<std::size_t>(200, 28 * bars + 90)); }

void class_table(const ReportContext& ctx, const std::vector<const ClassStats*>& rows, const ClassStats* pooled,
                 std::ostream& out, const char* id) {
  const auto& detectors = ctx.stats.detectors();
  const bool faces = !ctx.stats.faces().empty();
  out << "<table class=\"sortable\" id=\"" << id << "\"><thead><tr>" << th("Class") << th("Items", true)
      << th("Errors", true) << th("Flagged", true) << th("Flagged rate", true);
  for (const auto& d : detectors) out << th(d.name, true);
  if (faces) out << th("With faces", true);
  out << "</tr></thead><tbody>\n";
  auto row = [&](const ClassStats& c) {
    const std::int64_t scored = c.items - c.errors;
    out << "<tr>" << td(c.name) << td_num(c.items) << td_num(c.errors) << td_num(c.flagged) << td_rate(c.flagged, scored);
    for (std::size_t d = 0; d < detectors.size(); ++d) out << td_num(d < c.flagged_by.size() ? c.flagged_by[d] : 0);
    if (faces) out << td_num(c.with_faces);
    out << "</tr>\n";
  };
  for (const auto* c : rows) row(*c);
  if (pooled && pooled->items > 0) row(*pooled);
  out << "</tbody></table>\n";
}

}  // namespace

void html_flags(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  out << "<section id=\"flags\"><h2>Flagged items</h2>\n<p><b>" << thousands(s.flagged) << "</b> of "
      << thousands(s.ok) << " scored items (" << percent(s.flagged, s.ok)
      << ") were flagged by at least one detector.</p>\n";
  if (s.detectors().empty()) {
    out << "<p>No detector scores are stored (a faces-only scan?).</p></section>\n";
    return;
  }
  out << "<table><thead><tr>" << th("Detector") << th("Items scored", true) << th("Items flagged", true)
      << th("Flagged rate", true) << "</tr></thead><tbody>\n";
  for (const auto& d : s.detectors())
    out << "<tr>" << td(d.name) << td_num(d.scored) << td_num(d.flagged) << td_rate(d.flagged, d.scored) << "</tr>\n";
  out << "</tbody></table>\n";
  html_chart(out, specs, "chart-flag-rates", bar_chart_height(ctx.decision_categories.size()));
  out << "<h3>Per detector and category</h3>\n<table><thead><tr>" << th("Detector") << th("Category")
      << th("Scored", true) << th("Flagged", true) << th("Flagged rate", true) << th("Mean score", true)
      << "</tr></thead><tbody>\n";
  for (const auto& c : s.categories()) {
    out << "<tr" << (c.decision ? "" : " class=\"raw\"") << ">" << td(c.detector)
        << td(c.decision ? c.category : c.category + " (class probability)") << td_num(c.scored)
        << (c.decision ? td_num(c.flagged) + td_rate(c.flagged, c.scored) : std::string("<td class=\"num\">-</td><td class=\"num\">-</td>"))
        << "<td class=\"num\">" << fixed(c.scored ? c.sum / static_cast<double>(c.scored) : 0.0, 4) << "</td></tr>\n";
  }
  out << "</tbody></table>\n<p class=\"note\">Grey rows are nsfwjs's raw class probabilities, which the detector "
         "combines into <i>sexual</i> and <i>suggestive</i>; they are not decisions of their own.</p>\n</section>\n";
}

void html_scores(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  out << "<section id=\"scores\"><h2>Score histograms</h2>\n<p class=\"note\">Items per score bin (20 bins on "
         "[0, 1]) for each category a detector decides on; counts on a logarithmic axis, so that the few "
         "high scores stay visible next to the many low ones.</p>\n<div class=\"charts\">\n";
  for (std::size_t d = 0; d < s.detectors().size(); ++d) html_chart(out, specs, histogram_chart_id(d), 300);
  out << "</div>\n";
  const auto labels = score_bin_labels();
  for (const auto& det : s.detectors()) {
    std::vector<const CategoryStats*> cats;
    for (const auto* c : ctx.decision_categories)
      if (c->detector == det.name) cats.push_back(c);
    if (cats.empty()) continue;
    out << "<details><summary>Counts: " << html(det.name) << "</summary>\n<table><thead><tr>" << th("Score");
    for (const auto* c : cats) out << th(c->category, true);
    out << "</tr></thead><tbody>\n";
    for (int b = 0; b < kScoreBins; ++b) {
      out << "<tr>" << td(labels[b]);
      for (const auto* c : cats) out << td_num(c->hist[b]);
      out << "</tr>\n";
    }
    out << "</tbody></table></details>\n";
  }
  out << "</section>\n";
}

void html_classes(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  if (!s.has_classes()) return;
  const std::string& from = ctx.options.class_from;
  out << "<section id=\"classes\"><h2>Classes</h2>\n<p>Class of an item: "
      << (from == "folder" ? std::string("the name of its folder")
                           : "the metadata field <code>" + html(from.substr(5)) + "</code>")
      << ". <b>" << thousands(static_cast<std::int64_t>(s.classes().size())) << "</b> classes"
      << (s.pooled().items > 0 ? " counted (and " + thousands(s.pooled().items) + " items of later classes pooled)" : "")
      << ". Flagged: by at least one detector; the rate is over the class's scored items.</p>\n";
  if (ctx.most_flagged.empty()) {
    out << "<p>No class has a flagged item.</p>\n";
  } else {
    html_chart(out, specs, "chart-classes", bar_chart_height(ctx.most_flagged.size()));
    out << "<h3>Most-flagged classes</h3>\n";
    class_table(ctx, ctx.most_flagged, nullptr, out, "most-flagged-classes");
  }
  out << "<h3>All classes</h3>\n<p class=\"note\">Click a column to sort. "
      << (ctx.classes_capped ? "The " + std::to_string(ctx.class_rows.size()) +
                                   " classes with the most items are shown; classes.csv next to this file has every counted class. "
                             : std::string())
      << "</p>\n<div class=\"scroll\">\n";
  class_table(ctx, ctx.class_rows, &s.pooled(), out, "class-table");
  out << "</div>\n</section>\n";
}

void html_faces(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  if (s.faces().empty()) return;
  out << "<section id=\"faces\"><h2>Faces</h2>\n<table><thead><tr>" << th("Face detector") << th("Images", true)
      << th("With faces", true) << th("Share", true) << th("Faces", true) << th("Mean per image", true)
      << th("Most in one image", true) << "</tr></thead><tbody>\n";
  for (const auto& f : s.faces())
    out << "<tr>" << td(f.detector) << td_num(f.scanned) << td_num(f.with_faces) << td_rate(f.with_faces, f.scanned)
        << td_num(f.faces) << "<td class=\"num\">"
        << fixed(f.scanned ? static_cast<double>(f.faces) / static_cast<double>(f.scanned) : 0.0, 3) << "</td>"
        << td_num(f.max_faces) << "</tr>\n";
  out << "</tbody></table>\n";
  html_chart(out, specs, "chart-faces");
  out << "<p class=\"note\">Images with people in them matter for consent and privacy (GDPR) even when nothing is "
         "flagged; <code>safescan blur</code> can blur the faces.</p>\n</section>\n";
}

void html_top(const ReportContext& ctx, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  out << "<section id=\"top\"><h2>Top flagged items</h2>\n";
  if (ctx.options.top <= 0) {
    out << "<p>Not included (<code>--top 0</code>).</p></section>\n";
    return;
  }
  if (!ctx.options.thumbnails) {
    out << "<p class=\"note\">Written with <code>--no-thumbnails</code>: items are listed without images.</p>\n";
  } else {
    out << "<div class=\"privacy\"><b>Sensitive content.</b> The thumbnails below are the highest-scoring flagged "
           "items and may be explicit or show identifiable people. They are blurred: click one to reveal it, "
           "click again to blur it. <button type=\"button\" class=\"all\" data-reveal=\"1\">Reveal all</button> "
           "<button type=\"button\" class=\"all\" data-reveal=\"0\">Blur all</button></div>\n";
  }
  bool any = false;
  for (const auto& det : s.detectors()) {
    if (det.top.empty()) continue;
    any = true;
    out << "<h3>" << html(det.name) << ": the " << det.top.size() << " highest-scoring of " << thousands(det.flagged)
        << " flagged</h3>\n<div class=\"thumbs\">\n";
    for (std::size_t i = 0; i < det.top.size(); ++i) {
      const FlaggedItem& f = det.top[i];
      out << "<figure class=\"thumb\" data-item=\"" << f.id << "\">";
      const auto t = ctx.thumbs.find(f.id);
      if (t != ctx.thumbs.end() && !t->second.data_uri.empty()) {
        out << "<button type=\"button\" class=\"reveal\" aria-pressed=\"false\" title=\"Click to reveal, click again to blur\">"
            << "<img src=\"" << t->second.data_uri << "\" alt=\"" << html("flagged item " + f.key) << "\"></button>";
      } else {
        const std::string why = t != ctx.thumbs.end() ? t->second.problem : "thumbnails not included";
        out << "<div class=\"placeholder\">no preview<small>" << html(why) << "</small></div>";
      }
      out << "<figcaption><span class=\"score\">#" << i + 1 << " " << html(f.category) << " " << fixed(f.score, 3)
          << "</span><br><span class=\"k\" title=\"" << html(f.key) << "\">" << html(f.key) << "</span>";
      if (!f.cls.empty()) out << "<br>class: " << html(f.cls);
      if (!f.decision.empty()) out << "<br>review: " << html(f.decision);
      out << "</figcaption></figure>\n";
    }
    out << "</div>\n";
  }
  if (!any) out << "<p>No item was flagged.</p>\n";
  out << "</section>\n";
}

void html_limitations(const ReportContext& ctx, std::ostream& out) {
  out << "<section id=\"limitations\"><h2>Known limitations</h2>\n<ul class=\"limits\">\n";
  const bool thumbs = ctx.options.thumbnails && ctx.options.top > 0;
  for (const auto& l : limitations(thumbs, ctx.stats.has_classes(), ctx.classes_capped, ctx.options.max_classes)) out << "<li>" << html(l) << "</li>\n";
  out << "</ul>\n</section>\n";
}

}  // namespace safescan::report
