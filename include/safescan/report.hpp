// safescan/report.hpp - the dataset audit card of a scan database (docs/report.md).
//
//   auto db = safescan::ResultStore::open("scan.db", safescan::OpenMode::read_only);
//   safescan::ReportOptions opt;
//   opt.out_dir = "card";
//   opt.class_from = "folder";                 // or "meta:json.class", or "" for none
//   safescan::ReportSummary s = safescan::write_report(db, opt);
//   // card/report.html (one self-contained page, charts by Chart.js inlined), card/report.md,
//   // card/classes.csv (when items carry a class)
//
// The items are read in ONE streaming pass (ResultStore::for_each_item) into fixed-size
// tallies, so memory stays bounded whatever the number of items: counts by status, format,
// error code and source, size buckets, per detector/category flagged counts and 20-bin score
// histograms, faces per image, per-class tallies (capped) and the top flagged items per
// detector (bounded heaps). The method section comes from the runs table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "safescan/store.hpp"

namespace safescan {

struct ReportOptions {
  std::filesystem::path out_dir;  // created when missing; report.html, report.md (and classes.csv) written there
  // Where an item's class comes from: "" (none), "folder" (the name of the folder holding the
  // file; for tar members the folder inside the shard, else the shard's name), or
  // "meta:FIELD" (a WebDataset metadata field, dotted for nested JSON: "meta:json.class", "meta:cls").
  std::string class_from;
  int top = 24;         // top flagged items shown per detector (0: none)
  int thumb_side = 160; // longer side of the thumbnails in pixels
  bool thumbnails = true;  // false: the top flagged items are listed without images
  std::string title;       // "" : "Dataset audit card: <database name>"
  std::size_t max_classes = 1000;          // rows of the per-class tables (the classes with the most items)
  std::size_t max_tracked_classes = 100000;  // distinct classes counted exactly; later new ones are pooled
  // Chart.js's folder is found under this web directory (node_modules/chart.js/dist);
  // "" : $SAFESCAN_WEB_DIR, else the source tree's web/ (where scripts/setup.sh installs it).
  std::filesystem::path web_dir;
};

struct ReportSummary {
  std::int64_t items = 0, ok = 0, failed = 0;
  std::int64_t flagged = 0;        // items flagged by at least one detector
  std::size_t classes = 0;         // distinct classes counted (0 without class_from)
  std::size_t thumbnails = 0;      // thumbnails embedded
  std::size_t thumbnail_failures = 0;  // top items shown with a placeholder (unreadable, not an image ...)
  std::filesystem::path html, markdown, classes_csv;  // classes_csv empty when not written
};

// Writes the audit card. Throws Error: unreadable when the output folder cannot be created or
// written, or Chart.js is missing (run scripts/setup.sh); invalid_argument for a bad
// class_from or top / thumb_side out of range. A thumbnail that cannot be made is a
// placeholder in the page, never an error.
ReportSummary write_report(const ResultStore& store, const ReportOptions& options);

// The path of Chart.js's UMD bundle under `web_dir` (resolved as ReportOptions::web_dir is).
// Throws Error(unreadable) naming what was looked for when it is missing.
std::filesystem::path find_chartjs(const std::filesystem::path& web_dir = {});

}  // namespace safescan
