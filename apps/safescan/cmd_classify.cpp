// safescan classify: scores for images (or precomputed embeddings), one result per input, in
// input order: the engine with standard output at its end.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "output.hpp"
#include "safescan/engine.hpp"
#include "safescan/error.hpp"
#include "safescan/runtime.hpp"
#include "safescan/sources.hpp"

namespace safescan::cli {

namespace {

struct ClassifyCommand {
  DetectorFlags detectors;
  PolicyFlags policy;
  std::string format = "auto";
  int batch = 32;  // as scan: the same batches, so the same bits
  std::uint64_t max_pixels = kDefaultMaxPixels;
  std::vector<std::string> paths;
  std::vector<std::string> embeddings;
};

// Results as JSON Lines (the schema of docs/results.md), or a table for people.
class Printer {
 public:
  Printer(bool table, std::vector<std::string> categories) : table_(table), categories_(std::move(categories)) {
    if (!table_) return;
    std::printf("%-40s %-8s", "key", "decision");
    for (const auto& c : categories_) std::printf(" %10.10s", c.c_str());
    std::printf("  faces\n");
  }
  void print(const ItemResult& r) {
    if (!table_) {
      std::cout << result_json_line(r) << "\n";
    } else if (!r.ok) {
      std::printf("%-40s ERROR %s: %s\n", r.key.c_str(), r.error_code.c_str(), r.error_message.c_str());
    } else {
      std::printf("%-40s %-8s", r.key.c_str(), std::string(to_string(r.decision)).c_str());
      const auto summary = summarize_categories(r);
      for (const auto& c : categories_) {
        const auto it = std::find_if(summary.begin(), summary.end(), [&](const CategorySummary& s) { return s.category == c; });
        if (it == summary.end()) std::printf(" %10s", "-");
        else std::printf(" %10.4f", static_cast<double>(it->score));
      }
      if (r.faces) std::printf("  %zu", r.faces->size());
      std::printf("\n");
    }
    std::cout.flush();
  }

 private:
  bool table_;
  std::vector<std::string> categories_;
};

int run_classify(ClassifyCommand& opt, const GlobalOptions& global) {
  setup_logging(global);
  const RuntimeInfo rt = configure_runtime(global.threads);
  if (!rt.warning.empty()) spdlog::warn("{}", rt.warning);

  // Arguments and inputs are checked before any model is loaded, so that mistakes fail fast.
  std::vector<std::string> sources = opt.paths;
  sources.insert(sources.end(), opt.embeddings.begin(), opt.embeddings.end());
  if (sources.empty()) throw Error(ErrorCode::invalid_argument, "give image files, directories, list files, shards or .npy embeddings to classify");
  const SourceHints hints = source_hints(sources);
  if (hints.embeddings_only) opt.detectors.options.embeddings_dim = hints.embeddings_dim;
  const std::string spec = opt.detectors.detectors.empty() ? default_detectors("classify", hints.embeddings_only) : opt.detectors.detectors;
  const auto specs = parse_detector_specs(spec);
  const Policy policy = load_policy(opt.policy);
  UnitEnumerator units(sources);
  std::optional<WorkUnit> unit = units.next();
  if (!unit) throw Error(ErrorCode::invalid_argument, "no images found in the given paths");

  const auto t0 = std::chrono::steady_clock::now();
  const DetectorSet detectors = load_detectors(specs, opt.detectors.options);
  spdlog::debug("detectors: {}", spec);

  const bool table = opt.format == "table" || (opt.format == "auto" && isatty(STDOUT_FILENO));
  Printer printer(table, detectors.categories());
  EngineOptions eo;
  eo.max_batch = static_cast<std::size_t>(opt.batch);
  eo.ordered = true;
  eo.decode.max_pixels = opt.max_pixels;
  std::size_t total = 0, failed = 0;
  run_engine(
      detectors, policy, eo,
      [&](Engine& engine) {
        for (bool open = true; unit && open; unit = units.next())
          read_unit(*unit, [&](SourceItem&& item) { return open = engine.submit(std::move(item)); });
      },
      [&](std::vector<EngineResult>&& batch) {
        for (const auto& r : batch) {
          ++total;
          if (!r.result.ok) ++failed;
          printer.print(r.result);
        }
      });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!global.quiet) {
    spdlog::info("classified {} of {} inputs with {} in {:.2f} s ({:.1f} images/s){}", total - failed, total, spec, secs,
                 total / secs, failed ? fmt::format(", {} failed", failed) : std::string());
  }
  return failed ? kExitPartial : kExitOk;
}

}  // namespace

void add_classify(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<ClassifyCommand>();
  CLI::App* cmd = app.add_subcommand("classify", "Score images with the chosen detectors (one result per input, in input order)");
  cmd->add_option("paths", opt->paths,
                  "Images, directories (walked recursively), list files, WebDataset shards, .npy embeddings; - reads paths "
                  "from stdin");
  add_detector_flags(cmd, opt->detectors, "nsfw-mobilenet-v2 (the CLIP heads for .npy embeddings)");
  add_policy_flags(cmd, opt->policy);
  cmd->add_option("-f,--format", opt->format, "jsonl, table, or auto (table on a terminal, jsonl otherwise)")
      ->check(CLI::IsMember({"auto", "jsonl", "table"}))
      ->capture_default_str();
  cmd->add_option("--embeddings", opt->embeddings, "Precomputed CLIP image embeddings (N x D .npy, keys in FILE.keys.txt): the same as naming the file")
      ->check(CLI::ExistingFile);
  cmd->add_option("-b,--batch", opt->batch, "Images per inference batch")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--max-pixels", opt->max_pixels, "Refuse images with more pixels than this (checked from the header)")
      ->capture_default_str();
  cmd->footer(
      "Output (--format jsonl), one JSON object per input, in input order (docs/results.md):\n"
      "  {\"key\", \"source\", \"path\", \"member\", \"status\", \"bytes\", \"sha256\", \"width\", \"height\", \"format\",\n"
      "   \"scores\": {detector: {output: score}}, \"categories\": {category: score}, \"likelihood\": {category: LEVEL},\n"
      "   \"decision\": allow|review|block, \"flagged\", [\"faces\", \"face_count\"], [\"error\": {\"code\", \"message\"}]}\n"
      "the same row as `safescan export DB --format jsonl` after a scan.\n"
      "Exit status: 0 all classified, 3 some inputs failed, 2 usage error, 1 could not run (e.g. model missing).\n\n"
      "Examples:\n"
      "  safescan classify photo.jpg\n"
      "  safescan classify --detectors nsfw-inception-v3 --format table ~/Pictures\n"
      "  find data -name '*.webp' | safescan classify --threshold 0.7 - > scores.jsonl\n"
      "  safescan classify --detectors 'cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid)' photos/\n"
      "  safescan classify --detectors 'ensemble(nsfw-mobilenet-v2,nsfw-inception-v3),faces' 'shards/{000..009}.tar'\n"
      "  safescan classify --clip-model clip-vit-b-32 --detectors q16,laion-nsfw,zeroshot photos/\n"
      "  safescan classify --clip-variant ViT-B-32 --detectors q16 embeddings.npy");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_classify(*opt, global); });
}

}  // namespace safescan::cli
