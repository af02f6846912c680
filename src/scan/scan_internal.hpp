// Pieces shared by the single-process and the MPI scan.
#pragma once

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "safescan/detector.hpp"
#include "safescan/policy.hpp"
#include "safescan/scan.hpp"
#include "safescan/store.hpp"

namespace safescan::scanning {

// The detectors, the policy and their description for the runs table.
struct LoadedScan {
  DetectorSet detectors;
  Policy policy;
  nlohmann::json config;  // detectors, spec, policy, precision
};
LoadedScan load_scan_detectors(const ScanConfig& config);

// The runs-table record of this process's run (version, command, config, models, host, rank).
RunInfo make_run_info(const ScanConfig& config, const nlohmann::json& detectors, const nlohmann::json& models);
// "" for a single process, "rank R/N: " under MPI.
std::string progress_prefix(const RunInfo& info);

// This process's rank and world size (0 / 1 without MPI); set by the MPI scan.
void set_process_rank(int rank, int ranks);

// Database parts of an MPI scan: "<db>.part<rank>"; existing ones (left by an interrupted
// run) are found by listing the directory.
std::filesystem::path part_path(const std::filesystem::path& db, int rank);
std::vector<std::filesystem::path> existing_parts(const std::filesystem::path& db);
// Merges the parts into `db` and deletes them (with their -wal/-shm files). Returns new items.
std::size_t merge_and_remove_parts(const std::filesystem::path& db, const std::vector<std::filesystem::path>& parts);

// Units from the local enumeration of the sources.
class LocalFeed final : public WorkFeed {
 public:
  LocalFeed(const std::vector<std::string>& sources, const SourceOptions& options) : units_(sources, options) {}
  std::optional<WorkUnit> next() override {
    auto unit = units_.next();
    if (unit && unit->kind == SourceKind::tar) has_tar_ = true;
    return unit;
  }
  // Read by the progress thread while the reader enumerates (UnitEnumerator keeps these atomic).
  std::size_t items_known() const override { return units_.items_so_far(); }
  bool total_known() const override { return units_.finished() && !has_tar_; }

 private:
  UnitEnumerator units_;
  std::atomic<bool> has_tar_{false};
};

}  // namespace safescan::scanning
