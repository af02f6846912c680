// The audit card's HTML page: skeleton, summary, dataset and method sections (report_html.hpp).
#include "report/report_html.hpp"

#include <algorithm>

#include "report/report_assets.hpp"

namespace safescan::report {

namespace {

void card(std::ostream& out, const std::string& value, const std::string& label, bool alert = false) {
  out << "<div class=\"card" << (alert ? " alert" : "") << "\"><div class=\"value\">" << html(value)
      << "</div><div class=\"label\">" << html(label) << "</div></div>\n";
}

std::string joined(const std::set<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out.empty() ? "-" : out;
}

}  // namespace

void html_chart(std::ostream& out, const nlohmann::json& specs, const std::string& id, int height) {
  if (!has_chart(specs, id)) return;
  out << "<figure class=\"chart\"><div class=\"area\" style=\"height:" << height << "px\"><canvas id=\"" << html(id)
      << "\" role=\"img\"></canvas></div></figure>\n";
}

void html_summary(const ReportContext& ctx, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  out << "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\">\n";
  card(out, thousands(s.items), "items in the database");
  card(out, thousands(s.ok), "scored (" + percent(s.ok, s.items) + ")");
  card(out, thousands(s.failed), "failed to read or decode (" + percent(s.failed, s.items) + ")", s.failed > 0);
  card(out, thousands(s.flagged), "flagged by a detector (" + percent(s.flagged, s.ok) + " of scored)", s.flagged > 0);
  for (const auto& f : s.faces())
    card(out, thousands(f.with_faces), "images with faces (" + f.detector + ", " + percent(f.with_faces, f.scanned) + ")");
  if (s.has_classes()) card(out, thousands(static_cast<std::int64_t>(s.classes().size())), "classes");
  card(out, std::to_string(s.detectors().size()), "score detectors");
  std::int64_t reviewed = 0;
  for (const auto& [d, n] : s.decisions) reviewed += n;
  if (reviewed > 0) card(out, thousands(reviewed), "items with a review decision");
  out << "</div>\n<p class=\"note\">Rates of flagged items are over the items each detector scored. "
         "Flags are what the detectors reported and need human review (see Known limitations).</p>\n";
  if (reviewed > 0) {
    out << "<table><thead><tr>" << th("Review decision") << th("Items", true) << "</tr></thead><tbody>\n";
    for (const auto& [d, n] : s.decisions) out << "<tr>" << td(d) << td_num(n) << "</tr>\n";
    out << "</tbody></table>\n";
  }
  out << "</section>\n";
}

void html_dataset(const ReportContext& ctx, const nlohmann::json& specs, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  const SizeStats& z = s.sizes();
  out << "<section id=\"dataset\"><h2>Dataset</h2>\n<h3>Sources</h3>\n";
  out << "<table><thead><tr>" << th("Source (as given to safescan scan)") << th("Items", true) << th("Errors", true)
      << "</tr></thead><tbody>\n";
  for (const auto& c : s.sources()) out << "<tr>" << td(c.name, "key") << td_num(c.items) << td_num(c.errors) << "</tr>\n";
  out << "</tbody></table>\n";

  out << "<h3>Formats and sizes</h3>\n<div class=\"charts\">\n";
  html_chart(out, specs, "chart-formats");
  html_chart(out, specs, "chart-bytes");
  html_chart(out, specs, "chart-pixels");
  out << "</div>\n<table><thead><tr>" << th("Format") << th("Images", true) << th("Share", true) << "</tr></thead><tbody>\n";
  for (const auto& f : s.formats()) out << "<tr>" << td(f.name) << td_num(f.items) << td_rate(f.items, s.ok) << "</tr>\n";
  out << "</tbody></table>\n<table><thead><tr>" << th("Size") << th("Value") << "</tr></thead><tbody>\n";
  if (z.bytes_known > 0) {
    out << "<tr>" << td("Encoded bytes, total") << td(human_bytes(z.bytes_total)) << "</tr>\n"
        << "<tr>" << td("Encoded bytes, mean / min / max")
        << td(human_bytes(z.bytes_total / static_cast<double>(z.bytes_known)) + " / " +
              human_bytes(static_cast<double>(z.bytes_min)) + " / " + human_bytes(static_cast<double>(z.bytes_max)))
        << "</tr>\n";
  }
  if (z.decoded > 0) {
    out << "<tr>" << td("Width, min - max (px)") << td(std::to_string(z.width_min) + " - " + std::to_string(z.width_max))
        << "</tr>\n<tr>" << td("Height, min - max (px)")
        << td(std::to_string(z.height_min) + " - " + std::to_string(z.height_max)) << "</tr>\n<tr>"
        << td("Mean size") << td(fixed(z.pixels_total / static_cast<double>(z.decoded) / 1e6, 2) + " megapixels") << "</tr>\n";
  }
  out << "</tbody></table>\n";

  out << "<h3>Decode errors by reason</h3>\n";
  if (s.errors().empty()) {
    out << "<p>Every item was read and decoded.</p>\n";
  } else {
    out << "<table><thead><tr>" << th("Reason") << th("Items", true) << th("Share of items", true)
        << th("Examples") << "</tr></thead><tbody>\n";
    for (const auto& e : s.errors()) {
      out << "<tr>" << td(e.code) << td_num(e.count) << td_rate(e.count, s.items) << "<td class=\"key\">";
      for (std::size_t i = 0; i < e.examples.size(); ++i) out << (i ? "<br>" : "") << html(e.examples[i]);
      out << "</td></tr>\n";
    }
    out << "</tbody></table>\n<p class=\"note\"><code>safescan export DB --format jsonl</code> lists every failed item "
           "with its reason.</p>\n";
  }
  out << "</section>\n";
}

void html_method(const ReportContext& ctx, std::ostream& out) {
  const MethodInfo& m = ctx.method;
  out << "<section id=\"method\"><h2>Method</h2>\n<dl class=\"facts\">\n"
      << "<dt>Scanned</dt><dd>" << html(m.first_started.empty() ? "-" : m.first_started) << " to "
      << html(m.last_ended.empty() ? "(not finished)" : m.last_ended) << "</dd>\n"
      << "<dt>safescan version</dt><dd>" << html(joined(m.versions)) << " (scan), " << html(ctx.version)
      << " (this card)</dd>\n"
      << "<dt>Hosts</dt><dd>" << html(joined(m.hosts)) << "</dd>\n"
      << "<dt>Runs</dt><dd>" << m.runs.size() << (m.max_ranks > 1 ? ", up to " + std::to_string(m.max_ranks) + " MPI ranks" : "")
      << "</dd>\n<dt>Card written</dt><dd>" << html(ctx.generated) << "</dd>\n</dl>\n";

  out << "<h3>Detectors and settings</h3>\n<table><thead><tr>" << th("Setting") << th("Value")
      << "</tr></thead><tbody>\n";
  std::string detectors;
  for (const auto& d : m.detectors) detectors += (detectors.empty() ? "" : ", ") + d;
  out << "<tr>" << td("detectors") << td(detectors.empty() ? "-" : detectors) << "</tr>\n";
  for (const auto& row : m.settings) {
    std::string values;
    for (const auto& v : row.values) values += (values.empty() ? "" : " | ") + v;
    out << "<tr>" << td(row.name) << td(values) << "</tr>\n";
  }
  out << "</tbody></table>\n<p class=\"note\">Thresholds: nsfwjs detectors flag <i>sexual</i> (porn + hentai) and "
         "<i>suggestive</i> (sexy) at <code>nsfw_threshold</code>; Q16 flags at p &ge; 0.9, LAION NSFW at p &gt; 0.5, "
         "zero-shot categories at 0.5, unless <code>threshold</code> overrode them (docs/detectors.md).</p>\n";

  out << "<h3>Models</h3>\n";
  if (m.models.empty()) {
    out << "<p>The runs recorded no model files.</p>\n";
  } else {
    out << "<table><thead><tr>" << th("Model") << th("File") << th("sha256") << "</tr></thead><tbody>\n";
    for (const auto& r : m.models) out << "<tr>" << td(r.name) << td(r.file, "key") << td(r.sha256.empty() ? "-" : r.sha256, "hash") << "</tr>\n";
    out << "</tbody></table>\n";
  }

  out << "<h3>Runs</h3>\n<table><thead><tr>" << th("Run", true) << th("Started") << th("Ended") << th("Status")
      << th("Version") << th("Host") << th("Rank") << th("Items ok", true) << th("Failed", true) << th("Command")
      << "</tr></thead><tbody>\n";
  for (const RunRecord& r : m.runs) {
    std::string command = r.info.command;
    if (command.size() > 400) command = command.substr(0, 400) + " ...";
    out << "<tr>" << td_num(r.id) << td(r.info.started) << td(r.ended.empty() ? "-" : r.ended) << td(r.status)
        << td(r.info.version) << td(r.info.host)
        << td(std::to_string(r.info.rank) + " / " + std::to_string(r.info.ranks)) << td_num(r.items_ok)
        << td_num(r.items_failed) << td(command, "cmd") << "</tr>\n";
  }
  out << "</tbody></table>\n</section>\n";
}

void write_html(const ReportContext& ctx, const std::string& chartjs, std::ostream& out) {
  const nlohmann::json specs = chart_specs(ctx);
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      // Works offline and asks for nothing: every resource is inline.
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
      << "<meta name=\"generator\" content=\"safescan " << html(ctx.version) << "\">\n"
      << "<title>" << html(ctx.title) << "</title>\n<style>" << page_css() << "</style>\n</head>\n<body>\n";
  out << "<header class=\"top\"><h1>" << html(ctx.title) << "</h1><p class=\"sub\">Dataset audit card of <code>"
      << html(ctx.database) << "</code>, written " << html(ctx.generated) << " by safescan " << html(ctx.version)
      << "</p></header>\n<nav class=\"toc\">";
  const std::pair<const char*, const char*> toc[] = {
      {"summary", "Summary"}, {"dataset", "Dataset"}, {"method", "Method"}, {"flags", "Flagged"},
      {"scores", "Score histograms"}, {"classes", "Classes"}, {"faces", "Faces"}, {"top", "Top flagged"},
      {"limitations", "Known limitations"}};
  for (const auto& [id, name] : toc) {
    if (std::string_view(id) == "classes" && !ctx.stats.has_classes()) continue;
    if (std::string_view(id) == "faces" && ctx.stats.faces().empty()) continue;
    out << "<a href=\"#" << id << "\">" << name << "</a>";
  }
  out << "</nav>\n<main>\n";
  html_summary(ctx, out);
  html_dataset(ctx, specs, out);
  html_method(ctx, out);
  html_flags(ctx, specs, out);
  html_scores(ctx, specs, out);
  html_classes(ctx, specs, out);
  html_faces(ctx, specs, out);
  html_top(ctx, out);
  html_limitations(ctx, out);
  out << "</main>\n<footer>Written by safescan " << html(ctx.version)
      << ". Charts by Chart.js (MIT licence), included in this file.</footer>\n";
  out << "<script>\n" << chartjs << "\n</script>\n";
  out << "<script type=\"application/json\" id=\"report-data\">" << script_json({{"charts", specs}}) << "</script>\n";
  out << "<script>" << page_js() << "</script>\n</body>\n</html>\n";
}

}  // namespace safescan::report
