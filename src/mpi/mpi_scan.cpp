#include "mpi/mpi_scan.hpp"

// The C API only (OpenMPI's deprecated C++ bindings would need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "scan/scan_internal.hpp"
#include "safescan/error.hpp"
#include "safescan/store.hpp"

namespace safescan {

bool mpi_launched() {
  if (const char* force = std::getenv("SAFESCAN_MPI"); force && *force) return std::string(force) != "0";
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (const char* v = std::getenv(var); v && *v) return true;
  return false;
}

namespace scanning {

namespace {

constexpr int kTagRequest = 1;  // worker -> rank 0: int 0 = "a unit please", 1 = "I am leaving"
constexpr int kTagUnit = 2;     // rank 0 -> worker: a serialized unit, or nothing = no more work

// Rank 0: the local enumeration, shared by this rank's reader and the other ranks.
class CoordinatorFeed final : public WorkFeed {
 public:
  CoordinatorFeed(const ScanConfig& cfg) : local_(cfg.sources, cfg.source_options) {}

  std::optional<WorkUnit> next() override {
    std::lock_guard lock(mu_);
    if (exhausted_ || scan_stop_requested()) return std::nullopt;
    auto unit = local_.next();
    if (!unit) exhausted_ = true;
    return unit;
  }
  std::size_t items_known() const override { return local_.items_known(); }
  bool total_known() const override { return local_.total_known(); }

  // Answers the other ranks until each has been told there is no more work (or has left).
  void serve(int ranks) {
    int remaining = ranks - 1;
    while (remaining > 0) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
      if (!flag) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      int msg = 0;
      MPI_Recv(&msg, 1, MPI_INT, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (msg == 1) {
        --remaining;
        continue;
      }
      std::optional<WorkUnit> unit;
      try {
        unit = next();
      } catch (const std::exception& e) {
        spdlog::error("enumerating the sources failed: {}", e.what());
        std::lock_guard lock(mu_);
        exhausted_ = true;
      }
      const std::string payload = unit ? unit->serialize() : std::string();
      MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_CHAR, st.MPI_SOURCE, kTagUnit, MPI_COMM_WORLD);
      if (!unit) --remaining;
    }
  }

 private:
  std::mutex mu_;
  LocalFeed local_;
  bool exhausted_ = false;
};

// Ranks > 0: units come from rank 0, one request at a time.
class RemoteFeed final : public WorkFeed {
 public:
  std::optional<WorkUnit> next() override {
    if (done_) return std::nullopt;
    if (scan_stop_requested()) {
      leave();
      return std::nullopt;
    }
    int msg = 0;
    MPI_Send(&msg, 1, MPI_INT, 0, kTagRequest, MPI_COMM_WORLD);
    MPI_Status st;
    MPI_Probe(0, kTagUnit, MPI_COMM_WORLD, &st);
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    std::string payload(static_cast<std::size_t>(n), '\0');
    MPI_Recv(payload.data(), n, MPI_CHAR, 0, kTagUnit, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (n == 0) {
      done_ = true;
      return std::nullopt;
    }
    return WorkUnit::deserialize(payload);
  }
  // Tells rank 0 this rank takes no more units (after an interruption or a failure).
  void leave() {
    if (done_) return;
    int msg = 1;
    MPI_Send(&msg, 1, MPI_INT, 0, kTagRequest, MPI_COMM_WORLD);
    done_ = true;
  }

 private:
  bool done_ = false;
};

}  // namespace

ScanStats run_mpi_scan(const ScanConfig& cfg) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  set_process_rank(rank, ranks);
  if (provided < MPI_THREAD_SERIALIZED) {
    if (rank == 0) spdlog::error("this MPI library does not support MPI_THREAD_SERIALIZED");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  // Rank 0 folds in parts left by an interrupted run and checks the sources before anyone
  // starts, so that a bad argument stops every rank with one message.
  std::unique_ptr<CoordinatorFeed> coordinator;
  std::string setup_error;
  if (rank == 0) {
    try {
      if (auto parts = existing_parts(cfg.db); !parts.empty()) {
        const std::size_t n = merge_and_remove_parts(cfg.db, parts);
        spdlog::info("merged {} items from {} database parts of an earlier run", n, parts.size());
      }
      ResultStore::open(cfg.db, OpenMode::create);
      coordinator = std::make_unique<CoordinatorFeed>(cfg);
    } catch (const std::exception& e) {
      setup_error = e.what();
    }
  }
  int setup_ok = setup_error.empty() ? 1 : 0;
  MPI_Bcast(&setup_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!setup_ok) {
    MPI_Finalize();
    throw Error(ErrorCode::invalid_argument, rank == 0 ? setup_error : "rank 0 could not start the scan");
  }

  ScanStats stats;
  std::string failure;
  std::thread server;
  if (rank == 0) server = std::thread([&] { coordinator->serve(ranks); });
  RemoteFeed remote;
  WorkFeed& feed = rank == 0 ? static_cast<WorkFeed&>(*coordinator) : remote;
  try {
    stats = run_scan(cfg, feed, part_path(cfg.db, rank), cfg.db);
  } catch (const std::exception& e) {
    failure = e.what();
    spdlog::error("rank {}: {}", rank, failure);
  }
  if (rank == 0) server.join();
  else remote.leave();

  // Sum the ranks' counts on rank 0, then merge the parts.
  unsigned long long mine[6] = {stats.ok, stats.failed, stats.skipped, stats.units_skipped, stats.skipped_failed,
                                static_cast<unsigned long long>(stats.interrupted) | (failure.empty() ? 0ull : 2ull)};
  unsigned long long sum[6] = {};
  MPI_Reduce(mine, sum, 5, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(mine + 5, sum + 5, 1, MPI_UNSIGNED_LONG_LONG, MPI_BOR, 0, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    stats.ok = sum[0];
    stats.failed = sum[1];
    stats.skipped = sum[2];
    stats.units_skipped = sum[3];
    stats.skipped_failed = sum[4];
    stats.interrupted = (sum[5] & 1) != 0;
    try {
      const auto parts = existing_parts(cfg.db);
      const std::size_t n = merge_and_remove_parts(cfg.db, parts);
      spdlog::info("merged {} items from {} ranks into {}", n, parts.size(), cfg.db.string());
    } catch (const std::exception& e) {
      if (failure.empty()) failure = std::string("merging the database parts failed (run `safescan merge`): ") + e.what();
    }
    if (failure.empty() && (sum[5] & 2)) failure = "a rank failed (see its message above)";
  }
  stats.rank = rank;
  stats.ranks = ranks;
  MPI_Finalize();
  if (!failure.empty()) throw Error(ErrorCode::internal, failure);
  return stats;
}

}  // namespace scanning

// The MPI-aware entry point: the only place a scan decides between one process and many.
static void check_sources(const std::vector<std::string>& sources) {
  if (sources.empty()) throw Error(ErrorCode::invalid_argument, "no source to scan");
  for (const auto& s : sources)
    if (s.find('{') != std::string::npos) expand_braces(s);  // throws on a malformed pattern
}

ScanStats scan(const ScanConfig& config) {
  check_sources(config.sources);
  if (mpi_launched()) return scanning::run_mpi_scan(config);
  // Parts left by an interrupted MPI run hold results too: fold them in before resuming.
  if (auto parts = scanning::existing_parts(config.db); !parts.empty()) {
    const std::size_t n = scanning::merge_and_remove_parts(config.db, parts);
    spdlog::info("merged {} items from {} database parts of an earlier MPI run", n, parts.size());
  }
  scanning::LocalFeed feed(config.sources, config.source_options);
  return run_scan(config, feed, config.db, config.db);
}

}  // namespace safescan
