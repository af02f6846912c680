// The "method" of the audit card: what the runs table says about how the scan was made
// (detectors, settings, models with checksums, versions, dates, hosts and ranks).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "safescan/store.hpp"

namespace safescan::report {

struct ModelRow {
  std::string name, file, sha256;  // one row per file of a model folder
  bool operator==(const ModelRow&) const = default;
};

struct SettingRow {
  std::string name;
  std::vector<std::string> values;  // distinct values over the runs, in run order
};

struct MethodInfo {
  std::vector<RunRecord> runs;
  std::vector<std::string> detectors;  // union over the runs, in order
  std::vector<SettingRow> settings;    // the runs' config keys except detectors and sources
  std::vector<std::string> sources;    // the runs' sources
  std::vector<ModelRow> models;        // distinct, in run order
  std::set<std::string> versions, hosts;
  std::string first_started, last_ended;
  int max_ranks = 1;
};

MethodInfo read_method(const ResultStore& store);

}  // namespace safescan::report
