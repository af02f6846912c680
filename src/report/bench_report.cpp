// write_bench_report: metrics.json, and the same figures for people as report.md and a
// self-contained report.html (Chart.js inlined, the page's own script and style as the
// audit card's, hard-negative examples blurred until clicked). docs/bench.md.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <sstream>

#include "report/report_assets.hpp"
#include "report/report_files.hpp"
#include "report/report_html.hpp"
#include "report/report_text.hpp"
#include "safescan/bench.hpp"
#include "safescan/error.hpp"
#include "safescan/report.hpp"

namespace safescan {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace report;

namespace {

// The metrics of a slice, in table order.
const std::vector<std::pair<const char*, const char*>> kColumns = {
    {"n", "n"},
    {"positives", "unsafe"},
    {"threshold", "threshold"},
    {"accuracy", "accuracy"},
    {"precision", "precision"},
    {"recall", "recall"},
    {"f1", "F1"},
    {"fpr", "FPR"},
    {"auroc", "AUROC"},
    {"average_precision", "AP"},
    {"ece", "ECE"},
    {"best_f1_threshold", "best-F1 thr."},
    {"recall_at_fpr_1", "recall @ FPR 1%"},
    {"recall_at_fpr_5", "recall @ FPR 5%"}};

// j[key], or an empty object / array when absent: a reference that outlives the expression
// (json::value returns a copy, which a range-for over .items() would iterate after its end).
const json& sub(const json& j, const char* key) {
  static const json empty_object = json::object();
  return j.is_object() && j.contains(key) ? j[key] : empty_object;
}
const json& sub_array(const json& j, const char* key) {
  static const json empty_array = json::array();
  return j.is_object() && j.contains(key) && j[key].is_array() ? j[key] : empty_array;
}

std::string value_text(const json& v, bool integer = false) {
  if (v.is_null()) return "-";
  if (integer || v.is_number_integer()) return thousands(v.get<std::int64_t>());
  return fixed(v.get<double>(), 3);
}

// "0.812 [0.790, 0.833]" when the slice has an interval for the metric.
std::string with_interval(const json& m, const char* key) {
  std::string s = value_text(m.value(key, json()));
  if (m.contains("ci95") && m["ci95"].contains(key) && m["ci95"][key].is_array())
    s += " [" + fixed(m["ci95"][key][0].get<double>(), 3) + ", " + fixed(m["ci95"][key][1].get<double>(), 3) + "]";
  return s;
}

json xy_chart(std::string id, std::string title, std::string x, std::string y, double xmin = 0, double xmax = 1, double ymin = 0,
              double ymax = 1) {
  return {{"id", std::move(id)}, {"kind", "xy"}, {"title", std::move(title)}, {"x", std::move(x)}, {"y", std::move(y)},
          {"xmin", xmin}, {"xmax", xmax}, {"ymin", ymin}, {"ymax", ymax}, {"datasets", json::array()}};
}

json points(const json& xs, const json& ys) {
  json p = json::array();
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i) p.push_back({{"x", xs[i]}, {"y", ys[i]}});
  return p;
}

json bar_chart(std::string id, std::string title, std::string x, std::string y) {
  return {{"id", std::move(id)}, {"title", std::move(title)}, {"labels", json::array()}, {"datasets", json::array()},
          {"x", std::move(x)}, {"y", std::move(y)}, {"log", false}, {"horizontal", false}, {"percent", false}};
}

// Every chart of the page, from metrics.json.
json chart_specs(const json& m) {
  json out = json::array();
  const json& dets = sub(m, "detectors");
  auto roc = xy_chart("chart-roc", "ROC (all items each detector is scored on)", "false-positive rate", "true-positive rate");
  auto pr = xy_chart("chart-pr", "Precision-recall", "recall", "precision");
  auto rel = xy_chart("chart-reliability", "Reliability (15 bins)", "mean score", "share unsafe");
  rel["datasets"].push_back({{"label", "perfect calibration"}, {"points", json::array({{{"x", 0}, {"y", 0}}, {{"x", 1}, {"y", 1}}})}, {"dashed", true}});
  for (const auto& [name, d] : dets.items()) {
    if (!d.contains("curves") || d["curves"].is_null() || d["curves"].empty()) continue;
    const json& c = d["curves"];
    roc["datasets"].push_back({{"label", name}, {"points", points(c["roc"]["fpr"], c["roc"]["tpr"])}});
    pr["datasets"].push_back({{"label", name}, {"points", points(c["pr"]["recall"], c["pr"]["precision"])}});
    json rp = json::array();
    for (const auto& b : c["reliability"])
      if (b["n"].get<std::int64_t>() > 0) rp.push_back({{"x", b["mean_score"]}, {"y", b["mean_label"]}});
    rel["datasets"].push_back({{"label", name}, {"points", rp}});
  }
  if (!roc["datasets"].empty()) {
    out.push_back(roc);
    out.push_back(pr);
    out.push_back(rel);
  }
  // F1 per category, one bar per detector.
  std::set<std::string> categories;
  for (const auto& [name, d] : dets.items())
    for (const auto& [cat, _] : sub(d, "by_category").items()) categories.insert(cat);
  if (!categories.empty()) {
    auto f1 = bar_chart("chart-f1-category", "F1 per category (a detector only on the categories it covers)", "category", "F1");
    for (const auto& c : categories) f1["labels"].push_back(c);
    for (const auto& [name, d] : dets.items()) {
      json data = json::array();
      for (const auto& c : categories) {
        const json v = sub(d, "by_category").value(c, json::object()).value("f1", json());
        data.push_back(v.is_null() ? json() : v);
      }
      f1["datasets"].push_back({{"label", name}, {"data", data}});
    }
    out.push_back(f1);
  }
  // Real vs AI-generated (every source): F1 per source.
  std::set<std::string> sources;
  for (const auto& [name, d] : dets.items())
    for (const auto& [src, _] : sub(d, "by_source").items()) sources.insert(src);
  if (sources.size() > 1) {
    auto f1 = bar_chart("chart-f1-source", "F1 per source (e.g. Laion5B real, Lexica AI-generated)", "source", "F1");
    for (const auto& s : sources) f1["labels"].push_back(s);
    for (const auto& [name, d] : dets.items()) {
      json data = json::array();
      for (const auto& s : sources) {
        const json v = sub(d, "by_source").value(s, json::object()).value("f1", json());
        data.push_back(v.is_null() ? json() : v);
      }
      f1["datasets"].push_back({{"label", name}, {"data", data}});
    }
    out.push_back(f1);
  }
  // Hard negatives: false-positive rate per kind.
  if (m.contains("hard_negatives")) {
    auto hn = bar_chart("chart-hard-negatives", "False alarms on benign hard cases, per kind", "kind", "false-positive rate (%)");
    hn["percent"] = true;
    std::vector<std::string> kinds;
    for (const auto& [kind, _] : sub(m["hard_negatives"], "kinds").items()) kinds.push_back(kind);
    for (const auto& k : kinds) hn["labels"].push_back(k);
    for (const auto& [name, d] : dets.items()) {
      if (!d.contains("hard_negatives")) continue;
      json data = json::array();
      for (const auto& k : kinds) data.push_back(100.0 * sub(d["hard_negatives"], "by_kind").value(k, json::object()).value("fpr", 0.0));
      hn["datasets"].push_back({{"label", name}, {"data", data}});
    }
    out.push_back(hn);
  }
  // Robustness: accuracy against severity, one chart per corruption.
  if (m.contains("robustness")) {
    for (const auto& corruption : sub_array(m["robustness"], "corruptions")) {
      const std::string c = corruption.get<std::string>();
      auto chart = xy_chart("chart-robust-" + c, "Accuracy under " + c, "severity", "accuracy", 0, 5, 0, 1);
      for (const auto& [name, d] : dets.items()) {
        if (!d.contains("robustness")) continue;
        json p = json::array();
        if (d.contains("overall") && d["overall"].value("accuracy", json()).is_number())
          p.push_back({{"x", 0}, {"y", d["overall"]["accuracy"]}});
        for (const auto& [sev, e] : sub(sub(d["robustness"], "corruptions"), c.c_str()).items())
          if (e["accuracy"].is_number()) p.push_back({{"x", std::stoi(sev)}, {"y", e["accuracy"]}});
        chart["datasets"].push_back({{"label", name}, {"points", p}});
      }
      out.push_back(chart);
    }
  }
  // Attacks: robust accuracy against epsilon (in 1/255), before and after rounding to 8 bits.
  for (const auto& a : sub_array(sub(m, "attacks"), "attacks")) {
    const std::string attack = a.get<std::string>();
    if (attack == "pgd-unsafebench") continue;  // one epsilon: in the table
    double xmax = 1;
    for (const auto& e : sub_array(m["attacks"], "epsilons")) xmax = std::max(xmax, e.get<double>() * 255.0);
    auto chart = xy_chart("chart-attack-" + attack, "Robust accuracy under " + attack, "epsilon (x 1/255)", "robust accuracy", 0,
                          xmax, 0, 1);
    for (const auto& [name, d] : dets.items()) {
      const json& runs = sub(sub(sub(d, "robustness"), "attacks"), attack.c_str());
      if (runs.empty() || runs.contains("skipped")) continue;
      json p = json::array({{{"x", 0}, {"y", 1}}}), p8 = json::array({{{"x", 0}, {"y", 1}}});
      for (const auto& [key, r] : runs.items()) {
        if (!r.is_object() || !r.value("robust_accuracy", json()).is_number()) continue;
        const double x = r.value("epsilon", 0.0) * 255.0;
        p.push_back({{"x", x}, {"y", r["robust_accuracy"]}});
        if (r.value("robust_accuracy_8bit", json()).is_number()) p8.push_back({{"x", x}, {"y", r["robust_accuracy_8bit"]}});
      }
      auto by_x = [](const json& a, const json& b) { return a["x"].get<double>() < b["x"].get<double>(); };
      std::sort(p.begin(), p.end(), by_x);
      std::sort(p8.begin(), p8.end(), by_x);
      chart["datasets"].push_back({{"label", name}, {"points", p}});
      chart["datasets"].push_back({{"label", name + " (8-bit PNG)"}, {"points", p8}, {"dashed", true}});
    }
    if (!chart["datasets"].empty()) out.push_back(chart);
  }
  return out;
}

// One row per detector x attack x epsilon: (detector, attack, epsilon key, result).
std::vector<std::tuple<std::string, std::string, std::string, const json*>> attack_rows(const json& m) {
  std::vector<std::tuple<std::string, std::string, std::string, const json*>> rows;
  for (const auto& [name, d] : sub(m, "detectors").items())
    for (const auto& [attack, runs] : sub(sub(d, "robustness"), "attacks").items()) {
      if (!runs.is_object()) continue;
      if (runs.contains("skipped")) {
        rows.emplace_back(name, attack, "", &runs);
        continue;
      }
      for (const auto& [key, r] : runs.items()) rows.emplace_back(name, attack, key, &r);
    }
  return rows;
}

// "0.750 (12)" for a direction's robust accuracy and n.
std::string direction_text(const json& r, const char* direction, const char* key) {
  const json& d = sub(r, direction);
  if (d.value("n", 0) == 0) return "-";
  return value_text(d.value(key, json())) + " (" + std::to_string(d.value("n", 0)) + ")";
}

void html_metrics_table(std::ostream& out, const json& rows, const std::string& first_column) {
  out << "<div class=\"scroll\"><table class=\"sortable\"><thead><tr>" << th(first_column);
  for (const auto& [key, label] : kColumns) out << th(label, true);
  out << "</tr></thead><tbody>\n";
  for (const auto& [name, m] : rows.items()) {
    out << "<tr>" << td(name);
    for (const auto& [key, label] : kColumns) {
      const json v = m.value(key, json());
      const std::string text = std::string(key) == "f1" || std::string(key) == "auroc" || std::string(key) == "average_precision"
                                   ? with_interval(m, key)
                                   : value_text(v, std::string(key) == "n" || std::string(key) == "positives");
      out << "<td class=\"num\" data-v=\"" << (v.is_number() ? fixed(v.get<double>(), 8) : "-1") << "\">" << html(text) << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</tbody></table></div>\n";
}

void write_html(const json& m, const std::string& chartjs, std::ostream& out) {
  const json specs = chart_specs(m);
  const json& dets = sub(m, "detectors");
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
         "script-src 'unsafe-inline'\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>safescan bench</title>\n<style>" << page_css() << "</style>\n</head>\n<body>\n";
  out << "<header><h1>safescan bench</h1><p class=\"muted\">" << html(m.value("created", "")) << " &middot; safescan "
      << html(m.value("version", "")) << "</p></header>\n";
  out << "<nav class=\"toc\"><a href=\"#data\">Data</a><a href=\"#effectiveness\">Effectiveness</a>"
         "<a href=\"#categories\">Categories</a><a href=\"#sources\">Real vs AI-generated</a>"
         "<a href=\"#hard-negatives\">Hard negatives</a><a href=\"#robustness\">Robustness</a><a href=\"#method\">Method</a></nav>\n<main>\n";

  out << "<section id=\"data\"><h2>Data</h2>\n";
  if (m.contains("data")) {
    const json& d = m["data"];
    out << "<p>" << thousands(d.value("items", 0)) << " labelled items from <code>" << html(d.value("labels", "")) << "</code>: "
        << thousands(d.value("unsafe", 0)) << " unsafe, " << thousands(d.value("safe", 0)) << " safe; "
        << thousands(d.value("failed", 0)) << " could not be scored (left out).</p>\n";
    out << "<table><thead><tr>" << th("category") << th("items", true) << th("unsafe", true) << "</tr></thead><tbody>\n";
    for (const auto& [c, v] : sub(d, "categories").items())
      out << "<tr>" << td(c) << td_num(v.value("items", 0)) << td_num(v.value("unsafe", 0)) << "</tr>\n";
    out << "</tbody></table>\n<table><thead><tr>" << th("source") << th("items", true) << th("unsafe", true) << "</tr></thead><tbody>\n";
    for (const auto& [s, v] : sub(d, "sources").items())
      out << "<tr>" << td(s) << td_num(v.value("items", 0)) << td_num(v.value("unsafe", 0)) << "</tr>\n";
    out << "</tbody></table>\n";
  } else {
    out << "<p>No labelled data: only benign hard cases were measured.</p>\n";
  }
  out << "</section>\n";

  out << "<section id=\"effectiveness\"><h2>Effectiveness</h2>\n<p>Unsafe is the positive class. Each detector is "
         "scored only on the categories it covers (a predictions file on every item it has a score for). F1, AUROC and AP "
         "show their 95% bootstrap interval.</p>\n";
  json overall = json::object();
  for (const auto& [name, d] : dets.items())
    if (d.contains("overall")) overall[name] = d["overall"];
  if (!overall.empty()) html_metrics_table(out, overall, "detector");
  out << "<div class=\"charts\">\n";
  for (const char* id : {"chart-roc", "chart-pr", "chart-reliability"}) html_chart(out, specs, id, 320);
  out << "</div>\n";
  out << "<table><thead><tr>" << th("detector") << th("kind") << th("covers") << th("images/s", true) << "</tr></thead><tbody>\n";
  for (const auto& [name, d] : dets.items()) {
    const json covers = d.value("covers", json());
    std::string c = covers.is_string() ? covers.get<std::string>() : "";
    if (covers.is_array())
      for (const auto& x : covers) c += (c.empty() ? "" : ", ") + x.get<std::string>();
    out << "<tr>" << td(name) << td(d.value("kind", "")) << td(c)
        << "<td class=\"num\">" << (d.contains("images_per_second") ? fixed(d["images_per_second"].get<double>(), 1) : "-") << "</td></tr>\n";
  }
  out << "</tbody></table>\n</section>\n";

  out << "<section id=\"categories\"><h2>Per category</h2>\n";
  html_chart(out, specs, "chart-f1-category", 320);
  for (const auto& [name, d] : dets.items()) {
    if (sub(d, "by_category").empty()) continue;
    out << "<h3>" << html(name) << "</h3>\n";
    html_metrics_table(out, d["by_category"], "category");
  }
  out << "</section>\n";

  out << "<section id=\"sources\"><h2>Real vs AI-generated</h2>\n";
  html_chart(out, specs, "chart-f1-source", 300);
  for (const auto& [name, d] : dets.items()) {
    if (sub(d, "by_source").empty()) continue;
    out << "<h3>" << html(name) << "</h3>\n";
    html_metrics_table(out, d["by_source"], "source");
  }
  out << "</section>\n";

  out << "<section id=\"hard-negatives\"><h2>Hard negatives</h2>\n";
  if (m.contains("hard_negatives")) {
    const json& h = m["hard_negatives"];
    out << "<p>" << thousands(h.value("images", 0)) << " benign images made from " << thousands(h.value("photos", 0))
        << " photos of <code>" << html(h.value("folder", "")) << "</code>: the photos themselves, close-up crops at 2x, 4x "
        << "and 8x, 3x3 grids of close-ups, captioned copies. Every one is safe: each alarm is a false one.</p>\n";
    html_chart(out, specs, "chart-hard-negatives", 300);
    out << "<table><thead><tr>" << th("detector") << th("images", true) << th("false alarms", true) << th("FPR", true)
        << "</tr></thead><tbody>\n";
    for (const auto& [name, d] : dets.items()) {
      if (!d.contains("hard_negatives")) continue;
      const json& hn = d["hard_negatives"];
      out << "<tr>" << td(name) << td_num(hn.value("images", 0)) << td_num(hn.value("false_alarms", 0))
          << td_rate(hn.value("false_alarms", 0), hn.value("images", 0)) << "</tr>\n";
    }
    out << "</tbody></table>\n<p><button class=\"all\" data-reveal=\"1\">Show all</button> <button class=\"all\" "
           "data-reveal=\"0\">Blur all</button></p>\n<div class=\"thumbs\">\n";
    for (const auto& [name, d] : dets.items()) {
      if (!d.contains("hard_negatives")) continue;
      for (const auto& e : sub_array(d["hard_negatives"], "examples"))
        out << "<figure class=\"thumb\"><button type=\"button\" class=\"reveal\" aria-pressed=\"false\" title=\"Click to "
               "reveal, click again to blur\"><img src=\""
            << html(e.value("preview", "")) << "\" alt=\"" << html("hard negative " + e.value("key", "")) << "\"></button>"
            << "<figcaption><span class=\"score\">" << html(name) << " " << fixed(e.value("score", 0.0), 3) << "</span><br>"
            << html(e.value("kind", "")) << "<br><span class=\"k\">" << html(e.value("key", "")) << "</span></figcaption></figure>\n";
    }
    out << "</div>\n";
  } else {
    out << "<p>Not measured (<code>--hard-negatives DIR</code>).</p>\n";
  }
  out << "</section>\n";

  out << "<section id=\"robustness\"><h2>Robustness</h2>\n";
  if (m.contains("robustness")) {
    out << "<p>" << thousands(m["robustness"].value("samples", 0)) << " labelled items, each corrupted at every severity "
        << "(severity 0: the clean images). Flip rate: the share whose decision changed.</p>\n<div class=\"charts\">\n";
    for (const auto& c : sub_array(m["robustness"], "corruptions"))
      html_chart(out, specs, "chart-robust-" + c.get<std::string>(), 260);
    out << "</div>\n<table><thead><tr>" << th("detector") << th("corruption") << th("severity", true) << th("n", true)
        << th("accuracy", true) << th("flip rate", true) << "</tr></thead><tbody>\n";
    for (const auto& [name, d] : dets.items()) {
      if (!d.contains("robustness")) continue;
      for (const auto& [c, sevs] : sub(d["robustness"], "corruptions").items())
        for (const auto& [sev, e] : sevs.items())
          out << "<tr>" << td(name) << td(c) << "<td class=\"num\">" << html(sev) << "</td>" << td_num(e.value("n", 0))
              << "<td class=\"num\">" << value_text(e.value("accuracy", json())) << "</td><td class=\"num\">"
              << value_text(e.value("flip_rate", json())) << "</td></tr>\n";
    }
    out << "</tbody></table>\n";
  } else {
    out << "<p>Not measured (<code>--corruptions LIST</code>).</p>\n";
  }
  out << "</section>\n";

  out << "<section id=\"attacks\"><h2>Adversarial attacks</h2>\n";
  if (m.contains("attacks")) {
    const json& a = m["attacks"];
    out << "<p>Each detector is attacked on at most " << thousands(a.value("samples", 0))
        << " items it first got right (seed " << html(a.value("seed", json(0)).dump())
        << "): unsafe ones towards safe (evasion), safe ones towards unsafe (false alarm). Robust accuracy: the share "
           "still right after the attack; then again after rounding the example to 8 bits, writing it as PNG and scoring "
           "it through the normal path. FGSM and PGD are white-box (L-inf in [0, 1] pixels at the model's input size; PGD: "
        << html(a.value("pgd_steps", json(10)).dump())
        << " steps of 2.5 &middot; &epsilon; / steps from a random start); pgd-unsafebench is UnsafeBench's setting "
           "(&epsilon; = " << html(a.value("unsafebench_epsilon", json(0.01)).dump()) << " in the model's normalised input space, "
        << html(a.value("unsafebench_steps", json(100)).dump()) << " steps); Square is query-only ("
        << html(a.value("square_queries", json(1000)).dump()) << " queries).</p>\n<div class=\"charts\">\n";
    for (const auto& name : sub_array(a, "attacks"))
      if (name != "pgd-unsafebench") html_chart(out, specs, "chart-attack-" + name.get<std::string>(), 260);
    out << "</div>\n<table><thead><tr>" << th("detector") << th("attack") << th("epsilon") << th("n", true)
        << th("robust accuracy", true) << th("after 8-bit PNG", true) << th("evasion (n)", true) << th("false alarm (n)", true)
        << th("mean queries", true) << th("steps/s", true) << "</tr></thead><tbody>\n";
    for (const auto& [name, attack, key, r] : attack_rows(m)) {
      if (r->contains("skipped")) {
        out << "<tr>" << td(name) << td(attack) << "<td colspan=\"8\" class=\"muted\">" << html((*r)["skipped"].get<std::string>())
            << "</td></tr>\n";
        continue;
      }
      out << "<tr>" << td(name) << td(attack) << td(key) << td_num(r->value("n", 0)) << "<td class=\"num\">"
          << value_text(r->value("robust_accuracy", json())) << "</td><td class=\"num\">"
          << value_text(r->value("robust_accuracy_8bit", json())) << "</td><td class=\"num\">"
          << html(direction_text(*r, "evasion", "robust_accuracy")) << "</td><td class=\"num\">"
          << html(direction_text(*r, "false_alarm", "robust_accuracy")) << "</td><td class=\"num\">"
          << value_text(r->value("mean_queries", json())) << "</td><td class=\"num\">"
          << value_text(r->value("gradient_steps_per_second", json())) << "</td></tr>\n";
    }
    out << "</tbody></table>\n";
  } else {
    out << "<p>Not measured (<code>--attacks fgsm,pgd,pgd-unsafebench,square</code>).</p>\n";
  }
  out << "</section>\n";

  out << "<section id=\"method\"><h2>Method</h2>\n<p>Definitions as scikit-learn 1.2: predicted unsafe when the score "
         "reaches the threshold (a detector's: where the policy stops allowing it; a predictions file's: 0.5 or "
         "<code>--threshold</code>); precision, recall and F1 are 0 when undefined; AP is the step-wise sum over distinct "
         "scores; AUROC the trapezoid over tie-collapsed points; undefined values are shown as -. ECE: 15 equal bins. "
         "Intervals: percentile bootstrap, "
      << html(sub(m, "config").value("bootstrap", json(0)).dump()) << " resamples, seed "
      << html(sub(m, "config").value("seed", json(0)).dump()) << ".</p>\n"
      << "<p class=\"muted\">Charts by Chart.js (MIT licence), included in this file. No request leaves this page.</p></section>\n";
  out << "</main>\n<script type=\"application/json\" id=\"report-data\">" << script_json({{"charts", specs}}) << "</script>\n";
  out << "<script>\n" << chartjs << "\n</script>\n<script>" << page_js() << "</script>\n</body>\n</html>\n";
}

void md_metrics_table(std::ostream& out, const json& rows, const std::string& first_column) {
  out << "| " << first_column;
  for (const auto& [key, label] : kColumns) out << " | " << label;
  out << " |\n|---";
  for (std::size_t i = 0; i < kColumns.size(); ++i) out << "|---:";
  out << "|\n";
  for (const auto& [name, m] : rows.items()) {
    out << "| " << md(name);
    for (const auto& [key, label] : kColumns) {
      const std::string k = key;
      out << " | " << (k == "f1" || k == "auroc" || k == "average_precision" ? with_interval(m, key) : value_text(m.value(key, json()), k == "n" || k == "positives"));
    }
    out << " |\n";
  }
  out << "\n";
}

void write_markdown(const json& m, std::ostream& out) {
  const json& dets = sub(m, "detectors");
  out << "# safescan bench\n\n" << md(m.value("created", "")) << ", safescan " << md(m.value("version", "")) << "\n\n## Data\n\n";
  if (m.contains("data")) {
    const json& d = m["data"];
    out << d.value("items", 0) << " labelled items (`" << md(d.value("labels", "")) << "`): " << d.value("unsafe", 0) << " unsafe, "
        << d.value("safe", 0) << " safe; " << d.value("failed", 0) << " could not be scored.\n\n";
  } else {
    out << "No labelled data.\n\n";
  }
  out << "## Effectiveness\n\nUnsafe is the positive class; each detector only on the categories it covers. F1, AUROC, AP "
         "with 95% bootstrap intervals.\n\n";
  json overall = json::object();
  for (const auto& [name, d] : dets.items())
    if (d.contains("overall")) overall[name] = d["overall"];
  if (!overall.empty()) md_metrics_table(out, overall, "detector");
  out << "## Per category\n\n";
  for (const auto& [name, d] : dets.items())
    if (!sub(d, "by_category").empty()) {
      out << "### " << md(name) << "\n\n";
      md_metrics_table(out, d["by_category"], "category");
    }
  out << "## Real vs AI-generated\n\n";
  for (const auto& [name, d] : dets.items())
    if (!sub(d, "by_source").empty()) {
      out << "### " << md(name) << "\n\n";
      md_metrics_table(out, d["by_source"], "source");
    }
  out << "## Hard negatives\n\n";
  if (m.contains("hard_negatives")) {
    out << m["hard_negatives"].value("images", 0) << " benign images from " << m["hard_negatives"].value("photos", 0)
        << " photos. False-positive rate per kind:\n\n| detector | all";
    std::vector<std::string> kinds;
    for (const auto& [k, _] : sub(m["hard_negatives"], "kinds").items()) kinds.push_back(k);
    for (const auto& k : kinds) out << " | " << md(k);
    out << " |\n|---|---:";
    for (std::size_t i = 0; i < kinds.size(); ++i) out << "|---:";
    out << "|\n";
    for (const auto& [name, d] : dets.items()) {
      if (!d.contains("hard_negatives")) continue;
      const json& h = d["hard_negatives"];
      out << "| " << md(name) << " | " << value_text(h.value("fpr", json())) << " (" << h.value("false_alarms", 0) << "/"
          << h.value("images", 0) << ")";
      for (const auto& k : kinds) {
        const json e = sub(h, "by_kind").value(k, json::object());
        out << " | " << value_text(e.value("fpr", json())) << " (" << e.value("false_alarms", 0) << "/" << e.value("images", 0) << ")";
      }
      out << " |\n";
    }
    out << "\n";
  } else {
    out << "Not measured.\n\n";
  }
  out << "## Robustness\n\n";
  if (m.contains("robustness")) {
    out << "| detector | corruption | severity | n | accuracy | flip rate |\n|---|---|---:|---:|---:|---:|\n";
    for (const auto& [name, d] : dets.items()) {
      if (!d.contains("robustness")) continue;
      for (const auto& [c, sevs] : sub(d["robustness"], "corruptions").items())
        for (const auto& [sev, e] : sevs.items())
          out << "| " << md(name) << " | " << md(c) << " | " << sev << " | " << e.value("n", 0) << " | "
              << value_text(e.value("accuracy", json())) << " | " << value_text(e.value("flip_rate", json())) << " |\n";
    }
    out << "\n";
  } else {
    out << "Not measured.\n\n";
  }
  out << "## Adversarial attacks\n\n";
  if (m.contains("attacks")) {
    out << "Robust accuracy on items each detector first got right; after rounding to 8 bits and re-scoring the PNG "
           "through the normal path; per direction (evasion: unsafe items, false alarm: safe ones).\n\n"
           "| detector | attack | epsilon | n | robust accuracy | after 8-bit PNG | evasion (n) | false alarm (n) | mean queries "
           "| steps/s |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& [name, attack, key, r] : attack_rows(m)) {
      if (r->contains("skipped")) {
        out << "| " << md(name) << " | " << md(attack) << " | skipped: " << md((*r)["skipped"].get<std::string>()) << " |||||||\n";
        continue;
      }
      out << "| " << md(name) << " | " << md(attack) << " | " << md(key) << " | " << r->value("n", 0) << " | "
          << value_text(r->value("robust_accuracy", json())) << " | " << value_text(r->value("robust_accuracy_8bit", json())) << " | "
          << direction_text(*r, "evasion", "robust_accuracy") << " | " << direction_text(*r, "false_alarm", "robust_accuracy") << " | "
          << value_text(r->value("mean_queries", json())) << " | " << value_text(r->value("gradient_steps_per_second", json()))
          << " |\n";
    }
    out << "\n";
  } else {
    out << "Not measured.\n\n";
  }
  out << "## Method\n\nscikit-learn 1.2's definitions (docs/bench.md); thresholds from the policy (a predictions file: 0.5 or "
         "--threshold); undefined values are `-`; ECE with 15 equal bins.\n";
}

}  // namespace

void write_bench_report(const json& metrics, const fs::path& out_dir) {
  const std::string chartjs = load_chartjs(find_chartjs({}));
  prepare_out_dir(out_dir);
  write_file(out_dir / "metrics.json", [&](std::ostream& out) { out << metrics.dump(2, ' ', false, json::error_handler_t::replace) << "\n"; });
  write_file(out_dir / "report.md", [&](std::ostream& out) { write_markdown(metrics, out); });
  write_file(out_dir / "report.html", [&](std::ostream& out) { write_html(metrics, chartjs, out); });
}

}  // namespace safescan
