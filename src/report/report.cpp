// write_report: one pass over the store, thumbnails of the top flagged items, then the HTML
// page, its Markdown twin and the per-class CSV (safescan/report.hpp, docs/report.md).
#include "safescan/report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"
#include "report/report_context.hpp"
#include "report/report_files.hpp"
#include "report/report_method.hpp"
#include "report/report_stats.hpp"
#include "report/report_text.hpp"
#include "safescan/error.hpp"
#include "safescan/item_bytes.hpp"

#ifndef SAFESCAN_WEB_DIR
#define SAFESCAN_WEB_DIR ""
#endif

namespace safescan {

namespace fs = std::filesystem;
using namespace report;

namespace {

constexpr std::uint64_t kMaxThumbnailSource = 256ull << 20;  // bytes read for one thumbnail at most

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void check_options(const ReportOptions& o) {
  check_class_from(o.class_from);
  if (o.out_dir.empty()) throw Error(ErrorCode::invalid_argument, "no output folder given (--out DIR)");
  if (o.top < 0 || o.top > 1000) throw Error(ErrorCode::invalid_argument, "--top must be in [0, 1000]");
  if (o.thumb_side < 16 || o.thumb_side > 1024) throw Error(ErrorCode::invalid_argument, "the thumbnail side must be in [16, 1024]");
  if (o.max_classes == 0) throw Error(ErrorCode::invalid_argument, "max_classes must be at least 1");
}

Thumb make_thumb(const FlaggedItem& f, const ReportOptions& o) {
  if (!f.has_image) return {"", "no image (an embedding row, or the image was not decoded)"};
  try {
    const auto bytes = read_item_bytes(f.path, f.member, kMaxThumbnailSource);
    const auto jpeg = make_thumbnail_jpeg(bytes, o.thumb_side, 80);
    return {"data:image/jpeg;base64," + base64_encode(jpeg), ""};
  } catch (const Error& e) {
    return {"", std::string(to_string(e.code())) + ": " + e.message()};
  } catch (const std::exception& e) {
    return {"", e.what()};
  }
}

}  // namespace

fs::path find_chartjs(const fs::path& web_dir) {
  fs::path dir = web_dir;
  if (dir.empty()) {
    const char* env = std::getenv("SAFESCAN_WEB_DIR");
    dir = env && *env ? fs::path(env) : fs::path(SAFESCAN_WEB_DIR);
  }
  const fs::path dist = dir / "node_modules" / "chart.js" / "dist";
  for (const char* name : {"chart.umd.min.js", "chart.umd.js"}) {
    std::error_code ec;
    if (fs::is_regular_file(dist / name, ec)) return dist / name;
  }
  throw Error(ErrorCode::unreadable,
              "Chart.js is missing (looked for " + (dist / "chart.umd.min.js").string() +
                  "): run scripts/setup.sh, which installs it with npm ci in web/, or set SAFESCAN_WEB_DIR to a "
                  "folder holding node_modules/chart.js");
}

ReportSummary write_report(const ResultStore& store, const ReportOptions& options) {
  check_options(options);
  const std::string chartjs = load_chartjs(find_chartjs(options.web_dir));
  prepare_out_dir(options.out_dir);

  const MethodInfo method = read_method(store);
  ReportStats stats(options.class_from, options.top, options.max_tracked_classes);
  store.for_each_item([&](const ItemResult& item) { stats.add(item); });
  stats.finish();

  ReportContext ctx{stats, method, options};
  std::error_code ec;
  const fs::path db_file = fs::absolute(store.file(), ec);
  ctx.database = (ec ? store.file() : db_file).lexically_normal().string();
  ctx.title = options.title.empty() ? "Dataset audit card: " + store.file().filename().string() : options.title;
  ctx.generated = now_utc();
  ctx.version = SAFESCAN_VERSION;
  derive_lists(ctx);

  ReportSummary summary;
  for (const auto& det : stats.detectors())
    for (const FlaggedItem& f : det.top) {
      if (!options.thumbnails || ctx.thumbs.count(f.id)) continue;
      const Thumb& t = ctx.thumbs[f.id] = make_thumb(f, options);
      if (t.data_uri.empty()) ++summary.thumbnail_failures; else ++summary.thumbnails;
    }

  summary.html = options.out_dir / "report.html";
  summary.markdown = options.out_dir / "report.md";
  write_file(summary.html, [&](std::ostream& out) { write_html(ctx, chartjs, out); });
  write_file(summary.markdown, [&](std::ostream& out) { write_markdown(ctx, out); });
  if (stats.has_classes()) {
    summary.classes_csv = options.out_dir / "classes.csv";
    write_file(summary.classes_csv, [&](std::ostream& out) { write_classes_csv(ctx, out); });
  }
  summary.items = stats.items;
  summary.ok = stats.ok;
  summary.failed = stats.failed;
  summary.flagged = stats.flagged;
  summary.classes = stats.classes().size();
  return summary;
}

}  // namespace safescan
