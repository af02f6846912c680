// safescan/scan.hpp - the scan engine: every image of a dataset scored by the chosen
// detectors, results in a SQLite store, resumable, on one process or many (MPI).
//
//   safescan::ScanConfig cfg;
//   cfg.sources = {"photos/", "shards/{00000..00009}.tar"};
//   cfg.db = "scan.db";
//   safescan::ScanStats s = safescan::scan(cfg);     // MPI-aware: see scan() below
//
// Stages, joined by bounded queues (docs/ARCHITECTURE.md): one reader thread (work units,
// tar members, resume filter) -> decode workers (read, hash, decode at reduced size,
// preprocess for every backbone, faces) -> inference on batches (each backbone once per
// image, every detector sharing its output) -> one writer thread (one transaction per batch).
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
#include "safescan/sources.hpp"

namespace safescan {

struct ScanConfig {
  std::vector<std::string> sources;  // SOURCE arguments (sources.hpp)
  std::filesystem::path db;          // results store
  // Detector names (docs/scan.md): nsfw (= nsfw-mobilenet-v2), nsfw-mobilenet-v2,
  // nsfw-mobilenet-v2-mid, nsfw-inception-v3, faces (= YuNet when installed, else HOG),
  // faces-yunet, faces-hog, q16, laion-nsfw, laion-violence, zeroshot, clip (= every CLIP
  // detector whose files are installed). Empty: the default set (nsfw-mobilenet-v2, faces,
  // and the CLIP detectors when a CLIP model is installed).
  std::vector<std::string> detectors;
  int batch = 32;
  int threads = 0;        // decode workers (0: one per core)
  int model_threads = 0;  // libtorch threads (0: one per core)
  std::string clip_model;          // CLIP name or checkpoint; empty: the first installed
  std::string clip_precision = "fp32";
  std::string clip_variant;        // ViT-B-32 / ViT-B-16 / ViT-L-14 when not inferable (512-wide .npy)
  std::string zeroshot_prompts;    // empty: data/zeroshot_prompts.json
  std::string vocab;               // empty: the installed clip-vocab
  std::optional<float> threshold;  // overrides every detector's default threshold
  std::string face_model;          // YuNet .onnx (empty: the installed "yunet")
  int face_max_side = 640;
  DecodeOptions decode;            // min_side_hint is set by the engine
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
