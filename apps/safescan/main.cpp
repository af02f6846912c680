// safescan: find unsafe and offensive images. A thin front over libsafescan.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "safescan/error.hpp"
#include "safescan/runtime.hpp"

int main(int argc, char** argv) {
  safescan::ensure_openmp_wait_policy(argv);
  safescan::keep_large_buffers_in_heap();
  using namespace safescan::cli;
  CLI::App app{"safescan: find unsafe and offensive images, one at a time or by the million."};
  app.footer(
      "Examples:\n"
      "  safescan scan photos/ --db photos.db             # score a dataset into a database (resumable)\n"
      "  safescan export photos.db --format removal-list  # what the detectors flagged\n"
      "  safescan classify photo.jpg                      # nsfwjs MobileNetV2 scores as JSON Lines\n"
      "  safescan classify --format table images/         # every image under a folder, as a table\n"
      "  find . -name '*.jpg' | safescan classify -       # paths from standard input\n"
      "  safescan models list                             # installed models and where they are\n\n"
      "Run `safescan COMMAND --help` for the options of a command.");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("safescan ") + SAFESCAN_VERSION);

  GlobalOptions global;
  app.add_option("--threads", global.threads, "Threads for inference and decoding (default: every core, or $SAFESCAN_THREADS)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", global.quiet, "Only print results and errors");
  app.add_flag("-v,--verbose", global.verbose, "Log more (model details, timings)");

  int exit_code = kExitOk;
  add_scan(app, global, exit_code, argc, argv);
  add_export(app, global, exit_code);
  add_merge(app, global, exit_code);
  add_report(app, global, exit_code);
  add_review(app, global, exit_code);
  add_blur(app, global, exit_code);
  add_bench(app, global, exit_code);
  add_classify(app, global, exit_code);
  add_models(app, global, exit_code);
  add_tokenize(app, global, exit_code);
  add_embed(app, global, exit_code);
  add_version(app, global, exit_code);

  // A first word that is no command is a typo: say so, rather than CLI11's "a subcommand is required".
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--threads") {  // the one global option that takes a value
      ++i;
      continue;
    }
    if (word.empty() || word[0] == '-') continue;
    const auto subs = app.get_subcommands({});
    if (std::none_of(subs.begin(), subs.end(), [&](const CLI::App* sub) { return sub->check_name(word); })) {
      std::string names;
      for (const CLI::App* sub : subs) names += (names.empty() ? "" : ", ") + sub->get_name();
      std::cerr << "safescan: error: unknown command '" << word << "' (commands: " << names << ")\n";
      return kExitUsage;
    }
    break;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the parse error
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const safescan::Error& e) {
    std::cerr << "safescan: error: " << e.what() << "\n";
    return e.code() == safescan::ErrorCode::invalid_argument ? kExitUsage : kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "safescan: error: " << e.what() << "\n";
    return kExitFailure;
  }
  return exit_code;
}
