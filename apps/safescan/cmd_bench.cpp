// safescan bench: how well detectors (and other classifiers' predictions) work on labelled
// data, on benign hard cases and under corruptions; metrics.json, report.md, report.html.
#include <spdlog/spdlog.h>

#include <sstream>

#include "commands.hpp"
#include "common.hpp"
#include "output.hpp"
#include "safescan/bench.hpp"
#include "safescan/corruptions.hpp"
#include "safescan/error.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

namespace {

struct BenchCommand {
  BenchConfig config;
  DetectorFlags detectors;
  PolicyFlags policy;
  std::vector<std::string> predictions, names;
  std::string corruptions, severities = "1,2,3,4,5";
  std::string attacks, epsilons = "1/255,2/255,4/255,8/255";
  std::string out;
  std::uint64_t max_pixels = kDefaultMaxPixels;
  bool no_progress = false;
};

// "8/255" or "0.03".
float parse_epsilon(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() && *end == '/') {
    const char* den = end + 1;
    const double d = std::strtod(den, &end);
    v = d > 0 ? v / d : -1;
  }
  if (end == s.c_str() || *end != '\0' || !(v > 0 && v <= 1))
    throw Error(ErrorCode::invalid_argument, "--epsilons takes values in (0, 1] such as 8/255 or 0.03, not '" + s + "'");
  return static_cast<float>(v);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int run_bench_command(BenchCommand& opt, const GlobalOptions& global) {
  setup_logging(global);
  BenchConfig cfg = opt.config;
  if (opt.out.empty()) throw Error(ErrorCode::invalid_argument, "give the output folder (--out DIR)");
  if (!opt.names.empty() && opt.names.size() != opt.predictions.size())
    throw Error(ErrorCode::invalid_argument, "give one --name per --predictions file (or none)");
  for (std::size_t i = 0; i < opt.predictions.size(); ++i) {
    const std::filesystem::path file = opt.predictions[i];
    cfg.predictions.emplace_back(opt.names.empty() ? file.stem().string() : opt.names[i], file);
  }
  cfg.detectors = opt.detectors.detectors;
  if (cfg.detectors.empty() && cfg.predictions.empty()) cfg.detectors = default_detectors("classify");
  if (!cfg.detectors.empty()) parse_detector_specs(cfg.detectors);  // a mistake is a usage error before anything runs
  cfg.detector_options = opt.detectors.options;
  cfg.policy = opt.policy.policy;
  cfg.threshold = opt.policy.threshold;
  cfg.decode.max_pixels = opt.max_pixels;
  cfg.progress = !opt.no_progress && !global.quiet;
  if (!opt.corruptions.empty()) {
    cfg.corruptions = opt.corruptions == "all" ? std::vector<std::string>(corruption_names().begin(), corruption_names().end())
                                               : split(opt.corruptions);
    for (const auto& c : cfg.corruptions)
      if (std::find(corruption_names().begin(), corruption_names().end(), c) == corruption_names().end())
        throw Error(ErrorCode::invalid_argument, "unknown corruption '" + c + "' (docs/corruptions.md lists them)");
  }
  cfg.severities.clear();
  for (const auto& s : split(opt.severities)) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 5) throw Error(ErrorCode::invalid_argument, "--severities takes numbers 1 to 5, not '" + s + "'");
    cfg.severities.push_back(static_cast<int>(v));
  }
  if (!opt.attacks.empty()) {
    cfg.attacks = opt.attacks == "all" ? std::vector<std::string>{"fgsm", "pgd", "pgd-unsafebench", "square"} : split(opt.attacks);
    for (const auto& a : cfg.attacks)
      if (a != "fgsm" && a != "pgd" && a != "pgd-unsafebench" && a != "square")
        throw Error(ErrorCode::invalid_argument, "unknown attack '" + a + "' (fgsm, pgd, pgd-unsafebench, square or all)");
  }
  cfg.epsilons.clear();
  for (const auto& e : split(opt.epsilons)) cfg.epsilons.push_back(parse_epsilon(e));
  if (cfg.epsilons.empty()) throw Error(ErrorCode::invalid_argument, "--epsilons needs at least one value");
  const RuntimeInfo rt = configure_runtime(global.threads);
  if (!rt.warning.empty()) spdlog::warn("{}", rt.warning);

  const nlohmann::json metrics = run_bench(cfg);
  write_bench_report(metrics, opt.out);
  for (const auto& [name, d] : metrics["detectors"].items()) {
    if (!d.contains("overall")) continue;
    const auto& o = d["overall"];
    auto num = [&](const char* k) { return o.value(k, nlohmann::json()).is_number() ? fmt::format("{:.3f}", o[k].get<double>()) : std::string("-"); };
    spdlog::info("{}: n {} F1 {} AUROC {} AP {} FPR {}", name, o.value("n", 0), num("f1"), num("auroc"), num("average_precision"),
                 num("fpr"));
  }
  spdlog::info("wrote {}/metrics.json, report.md, report.html", opt.out);
  return kExitOk;
}

}  // namespace

void add_bench(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<BenchCommand>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure detectors on labelled data, benign hard cases, corruptions and adversarial attacks (UnsafeBench)");
  cmd->add_option("--manifest", opt->config.manifest, "Labelled data: CSV or JSON Lines with key/path, label, category, source (docs/bench.md)");
  cmd->add_option("--folder", opt->config.folder, "Labelled data as a folder ROOT/{safe,unsafe}/CATEGORY/...");
  add_detector_flags(cmd, opt->detectors, "nsfw-mobilenet-v2 (none when only --predictions are given)");
  add_policy_flags(cmd, opt->policy);
  cmd->add_option("--predictions", opt->predictions, "Another classifier's scores: CSV key,score (repeatable); named after the file's stem");
  cmd->add_option("--name", opt->names, "The name of each --predictions file, in order (repeatable)");
  cmd->add_option("--bootstrap", opt->config.bootstrap, "Bootstrap resamples for the 95% intervals (0: none)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", opt->config.seed, "Seed of the bootstrap and of the samples")->capture_default_str();
  cmd->add_option("--hard-negatives", opt->config.hard_negatives,
                  "A folder of benign photos: close-up crops, 3x3 grids and captioned copies of them are scored as hard negatives");
  cmd->add_option("--corruptions", opt->corruptions, "Comma-separated corruptions to apply (or all; docs/corruptions.md)");
  cmd->add_option("--severities", opt->severities, "Corruption severities, 1-5")->capture_default_str();
  cmd->add_option("--samples", opt->config.robustness_samples, "Labelled items the corruptions are applied to")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--attacks", opt->attacks,
                  "Adversarial attacks: fgsm, pgd, pgd-unsafebench, square (comma-separated, or all; docs/bench.md)");
  cmd->add_option("--epsilons", opt->epsilons, "L-inf budgets in [0,1] pixel units for fgsm, pgd and square")->capture_default_str();
  cmd->add_option("--pgd-steps", opt->config.pgd_steps, "PGD steps (step size 2.5 * epsilon / steps)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--queries", opt->config.square_queries, "Square attack: queries per image")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--attack-samples", opt->config.attack_samples, "Items attacked per detector (drawn among those it got right)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--attack-seed", opt->config.attack_seed, "Seed of the attacked sample and of the attacks' randomness")
      ->capture_default_str();
  cmd->add_option("--save-adversarial", opt->config.save_adversarial,
                  "Keep every adversarial example as PNG under DIR, with DIR/manifest.csv (key, epsilon, scores)");
  cmd->add_option("-b,--batch", opt->config.batch, "Images per inference batch")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--max-pixels", opt->max_pixels, "Refuse images with more pixels than this")->capture_default_str();
  cmd->add_option("-o,--out", opt->out, "Output folder: metrics.json, report.md, report.html")->required();
  cmd->add_flag("--no-progress", opt->no_progress, "No progress bar or progress lines");
  cmd->footer(
      "Unsafe is the positive class; each detector is scored only on the categories it covers; thresholds are the\n"
      "policy's (a predictions file's: 0.5 or --threshold). Metrics as scikit-learn 1.2 defines them (docs/bench.md).\n"
      "Exit status: 0 written, 2 usage error, 1 could not run.\n\nExamples:\n"
      "  safescan bench --manifest labels.csv --predictions gpt4v.csv --out bench/\n"
      "  safescan bench --folder data/ --detectors nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid,nsfw-inception-v3 --out bench/\n"
      "  safescan bench --hard-negatives ~/Pictures --detectors 'nsfw-mobilenet-v2,cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid)' --out hn/\n"
      "  safescan bench --manifest unsafebench/manifest.jsonl --corruptions gaussian_noise,jpeg_compression --out robust/\n"
      "  safescan bench --folder data/ --attacks pgd,square --epsilons 2/255,8/255 --attack-samples 100 --out adv/");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_bench_command(*opt, global); });
}

}  // namespace safescan::cli
