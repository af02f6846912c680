// safescan scan: every image of a dataset scored into a SQLite database, resumable, on one
// process or many (mpirun / srun).
#include <spdlog/spdlog.h>


#include "commands.hpp"
#include "common.hpp"
#include "output.hpp"
#include "safescan/error.hpp"
#include "safescan/scan.hpp"

namespace safescan::cli {

namespace {

struct ScanOptions {
  ScanConfig config;
  std::string db;
  DetectorFlags detectors;
  PolicyFlags policy;
  std::uint64_t max_pixels = kDefaultMaxPixels;
  bool no_progress = false;
};

std::string joined_command(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

int run_scan_command(ScanOptions& opt, const GlobalOptions& global, const std::string& command) {
  setup_logging(global);
  ScanConfig cfg = opt.config;
  cfg.db = opt.db;
  cfg.detectors = opt.detectors.detectors;
  cfg.detector_options = opt.detectors.options;
  cfg.policy = opt.policy.policy;
  cfg.threshold = opt.policy.threshold;
  if (!cfg.detectors.empty()) parse_detector_specs(cfg.detectors);  // a mistake is a usage error before anything starts
  cfg.decode.max_pixels = opt.max_pixels;
  cfg.progress = !opt.no_progress && !global.quiet;
  cfg.command_line = command;
  if (cfg.model_threads == 0) cfg.model_threads = global.threads;
  install_scan_signal_handlers();
  const ScanStats s = scan(cfg);
  const std::size_t failed = s.failed + s.skipped_failed;
  if (s.rank != 0) return failed ? kExitPartial : kExitOk;  // rank 0 speaks for the run
  spdlog::info("{} items scored, {} failed, {} already in {} ({} complete units skipped) in {:.1f} s{}", s.ok, s.failed,
               s.skipped, cfg.db.string(), s.units_skipped, s.seconds,
               s.ranks > 1 ? " on " + std::to_string(s.ranks) + " ranks" : "");
  if (s.interrupted) {
    spdlog::warn("interrupted: every finished batch is saved in {}; run the same command again to resume", cfg.db.string());
    return 130;
  }
  if (failed)
    spdlog::warn("{} items failed{}: `safescan export {} --format jsonl` lists them with the reason", failed,
                 s.skipped_failed ? " (" + std::to_string(s.skipped_failed) + " in earlier runs)" : "", cfg.db.string());
  return failed ? kExitPartial : kExitOk;
}

}  // namespace

void add_scan(CLI::App& app, const GlobalOptions& global, int& exit_code, int argc, char** argv) {
  auto opt = std::make_shared<ScanOptions>();
  CLI::App* cmd = app.add_subcommand("scan", "Score every image of a dataset into a SQLite database (resumable; MPI-aware)");
  cmd->add_option("sources", opt->config.sources,
                  "Directories, list files (- for stdin), WebDataset shards (data/{00000..00099}.tar), embeddings (.npy)")
      ->required();
  cmd->add_option("--db", opt->db, "Results database (created, or resumed when it exists)")->required();
  add_detector_flags(cmd, opt->detectors,
                     "nsfw-mobilenet-v2,faces, plus the CLIP heads when a CLIP model is installed (only those for .npy sources)");
  add_policy_flags(cmd, opt->policy);
  cmd->add_option("-b,--batch", opt->config.batch, "Images per inference batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("-j,--threads", opt->config.threads, "Decode workers (default: one per core)")->check(CLI::Range(0, 1024));
  cmd->add_option("--model-threads", opt->config.model_threads, "Threads for the models (default: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--max-pixels", opt->max_pixels, "Refuse images with more pixels than this")->capture_default_str();
  cmd->add_option("--files-per-unit", opt->config.source_options.files_per_unit, "Files per work unit (MPI sharing, resume)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--progress-interval", opt->config.progress_interval_ms, "Milliseconds between progress updates");
  cmd->add_flag("--no-progress", opt->no_progress, "No progress bar or progress lines");
  cmd->footer(
      "Running the same command again resumes: items already in the database are skipped.\n"
      "Ctrl-C finishes the batch in flight, commits and exits (status 130).\n"
      "Exit status: 0 every item scored, 3 some items failed, 2 usage error, 1 could not run.\n\nExamples:\n"
      "  safescan scan photos/ --db photos.db\n"
      "  safescan scan 'shards/{00000..00099}.tar' --db laion.db --detectors nsfw,faces\n"
      "  safescan scan photos/ --db photos.db --detectors 'cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid),faces'\n"
      "  find /data -name '*.jpg' | safescan scan - --db data.db\n"
      "  mpirun -n 8 safescan scan 'shards/{00000..00999}.tar' --db big.db   # parts merged at the end\n"
      "  safescan export photos.db --format removal-list > remove.txt");
  const std::string command = joined_command(argc, argv);
  cmd->callback([opt, &global, &exit_code, command] { exit_code = run_scan_command(*opt, global, command); });
}

}  // namespace safescan::cli
