// safescan/scan.hpp - the scan engine: every image of a dataset scored by the chosen
// detectors, results in a SQLite store, resumable, on one process or many (MPI).
//
//   safescan::ScanConfig cfg;
//   cfg.sources = {"photos/", "shards/{00000..00009}.tar"};
//   cfg.db = "scan.db";
//   safescan::ScanStats s = safescan::scan(cfg);     // MPI-aware: see scan() below
//
// The scan is the engine (engine.hpp) with the store at its ends: a reader thread submits the
// work units' items (skipping those a resumed scan already has), and the sink writes each
// batch in one transaction and marks the units whose items are all stored.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "safescan/image.hpp"
#include "safescan/registry.hpp"
#include "safescan/sources.hpp"

namespace safescan {

struct ScanConfig {
  std::vector<std::string> sources;  // SOURCE arguments (sources.hpp)
  std::filesystem::path db;          // results store
  // --detectors (detector.hpp's syntax, registry.hpp's names). Empty: default_detectors("scan"):
  // nsfw-mobilenet-v2 and faces, plus the CLIP heads when a CLIP model is installed (the CLIP
  // heads alone when every source is a .npy of embeddings).
  std::string detectors;
  DetectorOptions detector_options;  // CLIP model, precision, variant, prompts, vocab, faces
  std::string policy;                // policy file (empty: the built-in policy)
  std::optional<float> threshold;    // --threshold: every block threshold
  int batch = 32;
  int threads = 0;        // decode workers (0: one per core)
  int model_threads = 0;  // libtorch threads (0: one per core)
  DecodeOptions decode;            // min_side_hint is set from the detectors
  SourceOptions source_options;
  std::string command_line;        // recorded in the runs table
  int progress_interval_ms = 0;    // 0: bar on a terminal every 250 ms, else a log line every 5 s
  bool progress = true;
};

struct ScanStats {
  std::size_t ok = 0, failed = 0;  // items written by this run
  std::size_t skipped = 0;         // items already in the store (resume)
  std::size_t skipped_failed = 0;  // of those (and of skipped units), the ones stored as errors
  std::size_t units_skipped = 0;   // whole units already complete
  double seconds = 0;
  bool interrupted = false;        // stopped by SIGINT/SIGTERM (request_scan_stop)
  int rank = 0, ranks = 1;         // under MPI: this process; counts are summed on rank 0
};

// Where the work units come from: the local enumerator, or another MPI rank.
class WorkFeed {
 public:
  virtual ~WorkFeed() = default;
  virtual std::optional<WorkUnit> next() = 0;  // nullopt: no more work
  virtual std::size_t items_known() const { return 0; }  // enumerated so far
  virtual bool total_known() const { return false; }     // items_known() is the total
};

// Runs the pipeline in this process: units from `feed`, results written to `write_db`;
// items already in `filter_db` (or in write_db when filter_db is empty) are skipped.
ScanStats run_scan(const ScanConfig& config, WorkFeed& feed, const std::filesystem::path& write_db,
                   const std::filesystem::path& filter_db = {});

// The whole scan: under mpirun/srun (detected from the environment, see mpi_launched()) the
// ranks share the units and their database parts are merged into config.db at the end;
// otherwise a single-process run_scan over the local enumeration. Stats are summed over ranks.
ScanStats scan(const ScanConfig& config);

// True when this process was started by an MPI launcher (mpirun / mpiexec / srun with PMI).
bool mpi_launched();

// Asks a running scan to stop after its in-flight batch (what SIGINT/SIGTERM handlers call;
// async-signal-safe). A second request exits at once (the store stays consistent).
void request_scan_stop() noexcept;
bool scan_stop_requested() noexcept;
// Installs SIGINT/SIGTERM handlers that call request_scan_stop().
void install_scan_signal_handlers();

}  // namespace safescan
