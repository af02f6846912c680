// safescan report: the dataset audit card of a scan database (one self-contained HTML page
// with charts and blurred thumbnails, and its Markdown twin). docs/report.md.
#include <spdlog/spdlog.h>

#include <chrono>

#include "commands.hpp"
#include "output.hpp"
#include "safescan/error.hpp"
#include "safescan/report.hpp"
#include "safescan/store.hpp"

namespace safescan::cli {

namespace {

struct ReportCommand {
  std::string db, out, class_from, title;
  int top = 24, thumb_size = 160;
  bool no_thumbnails = false;
};

int run_report(const ReportCommand& opt, const GlobalOptions& global) {
  setup_logging(global);
  if (std::error_code ec; !std::filesystem::exists(opt.db, ec))
    throw Error(ErrorCode::invalid_argument, "no such database", opt.db);
  const auto start = std::chrono::steady_clock::now();
  const ResultStore store = ResultStore::open(opt.db, OpenMode::read_only);
  ReportOptions ro;
  ro.out_dir = opt.out;
  ro.class_from = opt.class_from;
  ro.top = opt.top;
  ro.thumb_side = opt.thumb_size;
  ro.thumbnails = !opt.no_thumbnails;
  ro.title = opt.title;
  const ReportSummary s = write_report(store, ro);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("{} items ({} failed), {} flagged{}; {} thumbnails{} in {:.1f} s", s.items, s.failed, s.flagged,
               ro.class_from.empty() ? std::string() : ", " + std::to_string(s.classes) + " classes", s.thumbnails,
               s.thumbnail_failures ? " (" + std::to_string(s.thumbnail_failures) + " shown as placeholders)" : std::string(),
               seconds);
  spdlog::info("wrote {} and {}{}", s.html.string(), s.markdown.string(),
               s.classes_csv.empty() ? std::string() : " and " + s.classes_csv.string());
  return kExitOk;
}

}  // namespace

void add_report(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<ReportCommand>();
  CLI::App* cmd = app.add_subcommand("report", "Write a dataset audit card (HTML with charts + Markdown) from a scan database");
  cmd->add_option("db", opt->db, "Scan database (written by safescan scan)")->required();
  cmd->add_option("-o,--out", opt->out, "Folder to write report.html, report.md (and classes.csv) into; created when missing")
      ->required();
  cmd->add_option("--class-from", opt->class_from,
                  "Class of each item, for the per-class table: 'folder' (the folder holding the image) or "
                  "'meta:FIELD' (a WebDataset metadata field, dotted for nested JSON: meta:json.class, meta:cls)");
  cmd->add_option("--top", opt->top, "Top flagged items shown per detector (0: none)")->check(CLI::Range(0, 1000));
  cmd->add_option("--thumb-size", opt->thumb_size, "Longer side of the thumbnails in pixels")->check(CLI::Range(16, 1024));
  cmd->add_flag("--no-thumbnails", opt->no_thumbnails, "List the top flagged items by key only: no images of the data in the card");
  cmd->add_option("--title", opt->title, "Title of the card (default: 'Dataset audit card: <database name>')");
  cmd->footer(
      "The HTML page is one file that works offline (Chart.js, the data and the thumbnails are inside it).\n"
      "The thumbnails of flagged items are blurred until clicked; the page contains them: share it with care.\n\n"
      "Examples:\n"
      "  safescan report scan.db --out card/                          # card/report.html, card/report.md\n"
      "  safescan report imagenet.db --out card/ --class-from folder  # per-class flagged rates (Q16 on ImageNet)\n"
      "  safescan report laion.db --out card/ --class-from meta:json.class --top 48\n"
      "  safescan report scan.db --out public-card/ --no-thumbnails --title 'Photos 2024: audit'");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_report(*opt, global); });
}

}  // namespace safescan::cli
