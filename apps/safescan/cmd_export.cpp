// safescan export / safescan merge: reading a scan database back out, and folding database
// parts (an MPI run's, or separate scans') into one.
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "output.hpp"
#include "safescan/error.hpp"
#include "safescan/policy.hpp"
#include "safescan/store.hpp"

namespace safescan::cli {

namespace {

struct ExportCommand {
  std::string db, format, out;
  std::string detector, category;
  std::optional<float> min_score;
  PolicyFlags policy;
};

int run_export(const ExportCommand& opt, const GlobalOptions& global) {
  setup_logging(global);
  const ExportFormat format = parse_export_format(opt.format);
  if (std::error_code ec; !std::filesystem::exists(opt.db, ec))
    throw Error(ErrorCode::invalid_argument, "no such database", opt.db);
  const ResultStore store = ResultStore::open(opt.db, OpenMode::read_only);
  ExportOptions eo;
  if (!opt.detector.empty()) eo.detector = opt.detector;
  if (!opt.category.empty()) eo.category = opt.category;
  eo.min_score = opt.min_score;
  std::optional<Policy> policy;
  if (!opt.policy.policy.empty() || opt.policy.threshold) {
    policy = load_policy(opt.policy);
    eo.policy = &*policy;
  }
  if (opt.out.empty() || opt.out == "-") {
    export_results(store, format, eo, std::cout);
    std::cout.flush();
    if (!std::cout) throw Error(ErrorCode::unreadable, "cannot write to standard output");
    return kExitOk;
  }
  std::ofstream out(opt.out, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::unreadable, "cannot write the export", opt.out);
  export_results(store, format, eo, out);
  out.close();
  if (!out) throw Error(ErrorCode::unreadable, "cannot write the export", opt.out);
  spdlog::info("wrote {}", opt.out);
  return kExitOk;
}

struct MergeCommand {
  std::string out;
  std::vector<std::string> parts;
};

int run_merge(const MergeCommand& opt, const GlobalOptions& global) {
  setup_logging(global);
  std::vector<std::filesystem::path> parts;
  for (const auto& p : opt.parts) {
    if (std::error_code ec; !std::filesystem::is_regular_file(p, ec)) throw Error(ErrorCode::invalid_argument, "no such database", p);
    parts.emplace_back(p);
  }
  const std::size_t added = merge_stores(opt.out, parts);
  spdlog::info("merged {} new items from {} databases into {}", added, parts.size(), opt.out);
  return kExitOk;
}

}  // namespace

void add_export(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<ExportCommand>();
  CLI::App* cmd = app.add_subcommand("export", "Write a scan database's results as CSV, JSON Lines, Q16's CSV or a removal list");
  cmd->add_option("db", opt->db, "Scan database")->required();
  cmd->add_option("-f,--format", opt->format, "csv, jsonl, q16 (Q16's inappropriate_images.csv), removal-list")
      ->required()
      ->check(CLI::IsMember({"csv", "jsonl", "q16", "removal-list"}));
  cmd->add_option("--detector", opt->detector, "Only this detector's scores decide what is flagged");
  cmd->add_option("--category", opt->category, "Only this category's scores decide what is flagged");
  cmd->add_option("--min-score", opt->min_score, "Flagged when a selected score is at least this (instead of the scan's decisions)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("-o,--out", opt->out, "Write to this file instead of standard output");
  add_policy_flags(cmd, opt->policy);
  cmd->footer(
      "Flagged: by the policy's decisions at scan time (or again with --policy / --threshold from the stored\n"
      "category scores), or by --min-score; a reviewer's decision (remove / keep) overrides both in the removal\n"
      "list. --format jsonl writes the rows of `safescan classify` (docs/results.md).\n\nExamples:\n"
      "  safescan export scan.db --format jsonl > results.jsonl\n"
      "  safescan export scan.db --format removal-list --detector nsfw-mobilenet-v2 --category Sexual --min-score 0.8\n"
      "  safescan export scan.db --format removal-list --policy strict.toml\n"
      "  safescan export scan.db --format q16 -o inappropriate_images.csv");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_export(*opt, global); });
}

void add_merge(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<MergeCommand>();
  CLI::App* cmd = app.add_subcommand("merge", "Merge scan databases (e.g. the parts of an MPI run) into one");
  cmd->add_option("out", opt->out, "Database to merge into (created when missing)")->required();
  cmd->add_option("parts", opt->parts, "Databases to merge; items already in OUT are kept as they are")->required();
  cmd->footer("Example:\n  safescan merge scan.db scan.db.part0 scan.db.part1");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_merge(*opt, global); });
}

}  // namespace safescan::cli
