// The Markdown twin of the audit card (report.md): the same numbers as the HTML page, as
// tables; no images (the top flagged items are listed by key and score), and the per-class
// CSV (classes.csv).
#include <algorithm>

#include "report/report_context.hpp"
#include "report/report_text.hpp"

namespace safescan::report {

namespace {

// A GitHub-flavoured Markdown table; `right[i]` right-aligns column i (numbers).
struct Table {
  std::ostream& out;
  Table(std::ostream& o, const std::vector<std::string>& head, const std::vector<bool>& right = {}) : out(o) {
    out << "\n|";
    for (const auto& h : head) out << ' ' << md(h) << " |";
    out << "\n|";
    for (std::size_t i = 0; i < head.size(); ++i) out << (i < right.size() && right[i] ? " ---: |" : " --- |");
    out << '\n';
  }
  // Cells are Markdown already (escape text with md()).
  void row(const std::vector<std::string>& cells) {
    out << '|';
    for (const auto& c : cells) out << ' ' << c << " |";
    out << '\n';
  }
  ~Table() { out << '\n'; }
};

std::string n(std::int64_t v) { return thousands(v); }

void classes_md(const ReportContext& ctx, const std::vector<const ClassStats*>& rows, const ClassStats* pooled,
                std::ostream& out) {
  const auto& detectors = ctx.stats.detectors();
  const bool faces = !ctx.stats.faces().empty();
  std::vector<std::string> head = {"Class", "Items", "Errors", "Flagged", "Flagged rate"};
  for (const auto& d : detectors) head.push_back(d.name);
  if (faces) head.push_back("With faces");
  std::vector<bool> right(head.size(), true);
  right[0] = false;
  Table t(out, head, right);
  auto row = [&](const ClassStats& c) {
    std::vector<std::string> cells = {md(c.name), n(c.items), n(c.errors), n(c.flagged), percent(c.flagged, c.items - c.errors)};
    for (std::size_t d = 0; d < detectors.size(); ++d) cells.push_back(n(d < c.flagged_by.size() ? c.flagged_by[d] : 0));
    if (faces) cells.push_back(n(c.with_faces));
    t.row(cells);
  };
  for (const auto* c : rows) row(*c);
  if (pooled && pooled->items > 0) row(*pooled);
}

void dataset_md(const ReportContext& ctx, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  const SizeStats& z = s.sizes();
  out << "## Dataset\n\n### Sources\n";
  {
    Table t(out, {"Source", "Items", "Errors"}, {false, true, true});
    for (const auto& c : s.sources()) t.row({md(c.name), n(c.items), n(c.errors)});
  }
  out << "### Formats\n";
  {
    Table t(out, {"Format", "Images", "Share"}, {false, true, true});
    for (const auto& f : s.formats()) t.row({md(f.name), n(f.items), percent(f.items, s.ok)});
  }
  out << "### Sizes\n";
  {
    Table t(out, {"Size", "Value"});
    if (z.bytes_known > 0) {
      t.row({"Encoded bytes, total", human_bytes(z.bytes_total)});
      t.row({"Encoded bytes, mean / min / max", human_bytes(z.bytes_total / static_cast<double>(z.bytes_known)) + " / " +
                                                    human_bytes(static_cast<double>(z.bytes_min)) + " / " +
                                                    human_bytes(static_cast<double>(z.bytes_max))});
    }
    if (z.decoded > 0) {
      t.row({"Width, min - max (px)", std::to_string(z.width_min) + " - " + std::to_string(z.width_max)});
      t.row({"Height, min - max (px)", std::to_string(z.height_min) + " - " + std::to_string(z.height_max)});
      t.row({"Mean size", fixed(z.pixels_total / static_cast<double>(z.decoded) / 1e6, 2) + " megapixels"});
    }
  }
  {
    Table t(out, {"Encoded size", "Items"}, {false, true});
    const auto labels = byte_bucket_labels();
    for (std::size_t i = 0; i < labels.size(); ++i) t.row({md(labels[i]), n(z.bytes_hist[i])});
  }
  {
    Table t(out, {"Megapixels", "Images"}, {false, true});
    const auto labels = pixel_bucket_labels();
    for (std::size_t i = 0; i < labels.size(); ++i) t.row({md(labels[i]), n(z.pixel_hist[i])});
  }
  out << "### Decode errors by reason\n";
  if (s.errors().empty()) {
    out << "\nEvery item was read and decoded.\n\n";
  } else {
    Table t(out, {"Reason", "Items", "Share of items", "Example"}, {false, true, true, false});
    for (const auto& e : s.errors()) t.row({md(e.code), n(e.count), percent(e.count, s.items), md(e.examples.empty() ? "" : e.examples[0])});
  }
}

void method_md(const ReportContext& ctx, std::ostream& out) {
  const MethodInfo& m = ctx.method;
  auto joined = [](const auto& values, const char* sep) {
    std::string s;
    for (const auto& v : values) s += (s.empty() ? "" : sep) + v;
    return s.empty() ? std::string("-") : s;
  };
  out << "## Method\n\n"
      << "- Scanned: " << md(m.first_started.empty() ? "-" : m.first_started) << " to "
      << md(m.last_ended.empty() ? "(not finished)" : m.last_ended) << "\n"
      << "- safescan version: " << md(joined(m.versions, ", ")) << " (scan), " << md(ctx.version) << " (this card)\n"
      << "- Hosts: " << md(joined(m.hosts, ", ")) << "\n- Runs: " << m.runs.size()
      << (m.max_ranks > 1 ? ", up to " + std::to_string(m.max_ranks) + " MPI ranks" : "") << "\n\n### Detectors and settings\n";
  {
    Table t(out, {"Setting", "Value"});
    t.row({"detectors", md(joined(m.detectors, ", "))});
    for (const auto& r : m.settings) t.row({md(r.name), md(joined(r.values, " | "))});
  }
  out << "### Models\n";
  if (m.models.empty()) {
    out << "\nThe runs recorded no model files.\n\n";
  } else {
    Table t(out, {"Model", "File", "sha256"});
    for (const auto& r : m.models) t.row({md(r.name), md(r.file), md(r.sha256.empty() ? "-" : r.sha256)});
  }
  out << "### Runs\n";
  Table t(out, {"Run", "Started", "Ended", "Status", "Version", "Host", "Rank", "Items ok", "Failed", "Command"},
          {true, false, false, false, false, false, false, true, true, false});
  for (const auto& r : m.runs) {
    std::string command = r.info.command.size() > 400 ? r.info.command.substr(0, 400) + " ..." : r.info.command;
    t.row({std::to_string(r.id), md(r.info.started), md(r.ended.empty() ? "-" : r.ended), md(r.status), md(r.info.version),
           md(r.info.host), std::to_string(r.info.rank) + " / " + std::to_string(r.info.ranks), n(r.items_ok),
           n(r.items_failed), md(command)});
  }
}

void results_md(const ReportContext& ctx, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  out << "## Flagged items\n\n**" << n(s.flagged) << "** of " << n(s.ok) << " scored items (" << percent(s.flagged, s.ok)
      << ") were flagged by at least one detector.\n";
  {
    Table t(out, {"Detector", "Items scored", "Items flagged", "Flagged rate"}, {false, true, true, true});
    for (const auto& d : s.detectors()) t.row({md(d.name), n(d.scored), n(d.flagged), percent(d.flagged, d.scored)});
  }
  {
    Table t(out, {"Detector", "Category", "Scored", "Flagged", "Flagged rate", "Mean score"}, {false, false, true, true, true, true});
    for (const auto& c : s.categories())
      t.row({md(c.detector), md(c.decision ? c.category : c.category + " (class probability)"), n(c.scored),
             c.decision ? n(c.flagged) : "-", c.decision ? percent(c.flagged, c.scored) : "-",
             fixed(c.scored ? c.sum / static_cast<double>(c.scored) : 0.0, 4)});
  }
  out << "## Score histograms\n\nItems per score bin (20 bins on [0, 1]) for each category a detector decides on.\n";
  const auto labels = score_bin_labels();
  for (const auto& det : s.detectors()) {
    std::vector<const CategoryStats*> cats;
    for (const auto* c : ctx.decision_categories)
      if (c->detector == det.name) cats.push_back(c);
    if (cats.empty()) continue;
    out << "\n### " << md(det.name) << "\n";
    std::vector<std::string> head = {"Score"};
    for (const auto* c : cats) head.push_back(c->category);
    std::vector<bool> right(head.size(), true);
    right[0] = false;
    Table t(out, head, right);
    for (int b = 0; b < kScoreBins; ++b) {
      std::vector<std::string> cells = {labels[b]};
      for (const auto* c : cats) cells.push_back(n(c->hist[b]));
      t.row(cells);
    }
  }
  if (s.has_classes()) {
    const std::string& from = ctx.options.class_from;
    out << "## Classes\n\nClass of an item: " << (from == "folder" ? "the name of its folder" : "the metadata field `" + from.substr(5) + "`")
        << ". " << n(static_cast<std::int64_t>(s.classes().size())) << " classes"
        << (s.pooled().items > 0 ? " counted (and " + n(s.pooled().items) + " items of later classes pooled)" : "") << ".\n";
    if (!ctx.most_flagged.empty()) {
      out << "\n### Most-flagged classes\n";
      classes_md(ctx, ctx.most_flagged, nullptr, out);
    }
    out << "### All classes\n" << (ctx.classes_capped ? "\nThe classes with the most items; classes.csv has every counted class.\n" : "");
    classes_md(ctx, ctx.class_rows, &s.pooled(), out);
  }
  if (!s.faces().empty()) {
    out << "## Faces\n";
    {
      Table t(out, {"Face detector", "Images", "With faces", "Share", "Faces", "Mean per image", "Most in one image"},
              {false, true, true, true, true, true, true});
      for (const auto& f : s.faces())
        t.row({md(f.detector), n(f.scanned), n(f.with_faces), percent(f.with_faces, f.scanned), n(f.faces),
               fixed(f.scanned ? static_cast<double>(f.faces) / static_cast<double>(f.scanned) : 0.0, 3), n(f.max_faces)});
    }
    std::vector<std::string> head = {"Faces per image"};
    for (const auto& f : s.faces()) head.push_back(f.detector);
    Table t(out, head, std::vector<bool>(head.size(), true));
    for (int b = 0; b < kFaceBins; ++b) {
      std::vector<std::string> cells = {b == kFaceBins - 1 ? std::to_string(b) + "+" : std::to_string(b)};
      for (const auto& f : s.faces()) cells.push_back(n(f.per_image[b]));
      t.row(cells);
    }
  }
}

}  // namespace

void write_markdown(const ReportContext& ctx, std::ostream& out) {
  const ReportStats& s = ctx.stats;
  out << "# " << md(ctx.title) << "\n\nDataset audit card of " << md(ctx.database) << ", written "
      << ctx.generated << " by safescan " << ctx.version
      << ". The HTML twin (report.html) has the same numbers with charts and thumbnails.\n\n## Summary\n";
  {
    Table t(out, {"", "Items", "Share"}, {false, true, true});
    t.row({"Items in the database", n(s.items), ""});
    t.row({"Scored", n(s.ok), percent(s.ok, s.items)});
    t.row({"Failed to read or decode", n(s.failed), percent(s.failed, s.items)});
    t.row({"Flagged by a detector (of scored)", n(s.flagged), percent(s.flagged, s.ok)});
    for (const auto& f : s.faces()) t.row({"Images with faces (" + md(f.detector) + ")", n(f.with_faces), percent(f.with_faces, f.scanned)});
    if (s.has_classes()) t.row({"Classes", n(static_cast<std::int64_t>(s.classes().size())), ""});
    for (const auto& [d, count] : s.decisions) t.row({"Review decision: " + md(d), n(count), percent(count, s.items)});
  }
  dataset_md(ctx, out);
  method_md(ctx, out);
  results_md(ctx, out);
  out << "## Top flagged items\n\nThe highest-scoring flagged items per detector, by key"
      << (ctx.options.thumbnails ? " (no images here: the HTML card shows them as blurred thumbnails).\n" : ".\n");
  for (const auto& det : s.detectors()) {
    if (det.top.empty()) continue;
    out << "\n### " << md(det.name) << ": the " << det.top.size() << " highest-scoring of " << n(det.flagged) << " flagged\n";
    Table t(out, {"#", "Score", "Category", "Key", "Class", "Review"}, {true, true, false, false, false, false});
    for (std::size_t i = 0; i < det.top.size(); ++i) {
      const FlaggedItem& f = det.top[i];
      t.row({std::to_string(i + 1), fixed(f.score, 3), md(f.category), md(f.key), md(f.cls), md(f.decision)});
    }
  }
  if (ctx.options.top <= 0) out << "\nNot included (`--top 0`).\n";
  out << "\n## Known limitations\n\n";
  for (const auto& l : limitations(ctx.options.thumbnails && ctx.options.top > 0, ctx.stats.has_classes(), ctx.classes_capped, ctx.options.max_classes))
    out << "- " << md(l) << "\n";
}

void write_classes_csv(const ReportContext& ctx, std::ostream& out) {
  const auto& detectors = ctx.stats.detectors();
  out << "class,items,errors,flagged,flagged_rate";
  for (const auto& d : detectors) out << ',' << csv("flagged_" + d.name);
  out << ",with_faces\n";
  auto row = [&](const ClassStats& c) {
    const std::int64_t scored = c.items - c.errors;
    out << csv(c.name) << ',' << c.items << ',' << c.errors << ',' << c.flagged << ','
        << (scored > 0 ? fixed(static_cast<double>(c.flagged) / static_cast<double>(scored), 6) : "");
    for (std::size_t d = 0; d < detectors.size(); ++d) out << ',' << (d < c.flagged_by.size() ? c.flagged_by[d] : 0);
    out << ',' << c.with_faces << '\n';
  };
  for (const auto& c : ctx.stats.classes()) row(c);
  if (ctx.stats.pooled().items > 0) row(ctx.stats.pooled());
}

}  // namespace safescan::report
