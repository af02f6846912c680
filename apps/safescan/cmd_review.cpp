// safescan review: the web app in which a person reviews the flagged items of a scan database
// (src/review, docs/review.md). Serves until Ctrl-C / SIGTERM.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "output.hpp"
#include "safescan/error.hpp"
#include "safescan/review.hpp"

namespace safescan::cli {

namespace {

struct ReviewCommand {
  std::string db, bind = "127.0.0.1", token, reviewer, web_dir;
  int port = 8765;
};

std::string default_reviewer() {
  for (const char* var : {"SAFESCAN_REVIEWER", "USER", "LOGNAME"})
    if (const char* v = std::getenv(var); v && *v) return v;
  return "reviewer";
}

int run_review(const ReviewCommand& cmd, const GlobalOptions& global) {
  setup_logging(global);
  if (std::error_code ec; !std::filesystem::is_regular_file(cmd.db, ec))
    throw Error(ErrorCode::invalid_argument, "no such database", cmd.db);
  ReviewOptions opt;
  opt.db = cmd.db;
  opt.bind = cmd.bind;
  opt.port = cmd.port;
  opt.token = cmd.token;
  if (opt.token.empty())
    if (const char* t = std::getenv("SAFESCAN_REVIEW_TOKEN"); t && *t) opt.token = t;
  opt.reviewer = cmd.reviewer.empty() ? default_reviewer() : cmd.reviewer;
  opt.web_dir = cmd.web_dir;

  // SIGINT / SIGTERM are blocked in every thread (the server's threads inherit the mask) and
  // taken by one waiting thread, which stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ReviewServer server(opt);
  server.bind();
  const bool generated = cmd.token.empty() && !server.token().empty() && !std::getenv("SAFESCAN_REVIEW_TOKEN");
  std::cout << "safescan review: " << server.url() << std::endl;
  spdlog::info("reviewing {} as \"{}\"{}; Ctrl-C stops", cmd.db, opt.reviewer,
               generated ? " (access token generated: it is in the URL)" : "");

  std::atomic<bool> done{false};
  std::atomic<int> caught{0};
  std::thread waiter([&] {
    const timespec tick{0, 200'000'000};
    while (!done) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig > 0) {
        caught = sig;
        server.stop();
        return;
      }
    }
  });
  const bool ok = server.run();
  done = true;
  waiter.join();
  if (caught) {
    spdlog::info("stopped");
    return kExitOk;
  }
  return ok ? kExitOk : kExitFailure;
}

}  // namespace

void add_review(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<ReviewCommand>();
  CLI::App* cmd = app.add_subcommand("review", "Review the flagged items of a scan database in a web browser");
  cmd->add_option("db", opt->db, "Scan database (decisions are written into it)")->required();
  cmd->add_option("-p,--port", opt->port, "Port to listen on (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--bind", opt->bind, "Address to listen on; other than loopback, an access token is required")
      ->capture_default_str();
  cmd->add_option("--token", opt->token,
                  "Access token (16+ characters of A-Z a-z 0-9 . _ ~ -; default: $SAFESCAN_REVIEW_TOKEN, or generated "
                  "when --bind is not a loopback address)");
  cmd->add_option("--reviewer", opt->reviewer, "Name recorded with each decision (default: $SAFESCAN_REVIEWER, $USER)");
  cmd->add_option("--web-dir", opt->web_dir, "Folder of the app's files (default: $SAFESCAN_WEB_DIR/review)");
  cmd->footer(
      "Opens nothing by itself: it prints the URL to open. Keys in the app: arrows move, K keep,\n"
      "R remove, S skip, U undo, V reveal. Decisions go into the database at once.\n\nExamples:\n"
      "  safescan review scan.db                                  # http://127.0.0.1:8765/\n"
      "  ssh -L 8765:127.0.0.1:8765 server 'safescan review scan.db'   # from another machine\n"
      "  safescan review scan.db --bind 0.0.0.0 --port 9000        # prints a URL with a token");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_review(*opt, global); });
}

}  // namespace safescan::cli
