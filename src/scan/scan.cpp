// scan(): the whole scan on one process or many; run bookkeeping; stop requests.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>

#include "scan/scan_internal.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_requests{0};
int g_rank = 0, g_ranks = 1;

extern "C" void on_stop_signal(int) { request_scan_stop(); }

}  // namespace

void request_scan_stop() noexcept {
  if (g_stop_requests.fetch_add(1) >= 1) {
    static const char msg[] = "\nsafescan: stopping now; every committed batch is kept, run the same command again to resume\n";
    [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(130);
  }
}

bool scan_stop_requested() noexcept { return g_stop_requests.load() > 0; }

void install_scan_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

namespace scanning {

void set_process_rank(int rank, int ranks) {
  g_rank = rank;
  g_ranks = ranks;
}

RunInfo make_run_info(const ScanConfig& cfg, const nlohmann::json& detectors, const nlohmann::json& models) {
  RunInfo info;
  info.version = SAFESCAN_VERSION;
  info.command = cfg.command_line;
  nlohmann::json c = detectors;
  c["sources"] = cfg.sources;
  c["batch"] = cfg.batch;
  c["threads"] = cfg.threads;
  c["max_pixels"] = cfg.decode.max_pixels;
  if (cfg.threshold) c["threshold"] = *cfg.threshold;
  info.config_json = c.dump();
  info.models_json = models.dump();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  info.host = host;
  info.rank = g_rank;
  info.ranks = g_ranks;
  return info;
}

std::string progress_prefix(const RunInfo& info) {
  return info.ranks > 1 ? "rank " + std::to_string(info.rank) + "/" + std::to_string(info.ranks) + ": " : "";
}

fs::path part_path(const fs::path& db, int rank) { return fs::path(db.string() + ".part" + std::to_string(rank)); }

std::vector<fs::path> existing_parts(const fs::path& db) {
  std::vector<fs::path> parts;
  const fs::path dir = db.has_parent_path() ? db.parent_path() : fs::path(".");
  const std::string prefix = db.filename().string() + ".part";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string rest = name.substr(prefix.size());
    if (!rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
      parts.push_back(e.path());
  }
  std::sort(parts.begin(), parts.end());
  return parts;
}

std::size_t merge_and_remove_parts(const fs::path& db, const std::vector<fs::path>& parts) {
  if (parts.empty()) return 0;
  const std::size_t added = merge_stores(db, parts);
  for (const auto& p : parts)
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      fs::remove(p.string() + suffix, ec);
    }
  return added;
}

}  // namespace scanning

}  // namespace safescan
