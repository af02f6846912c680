// What several subcommands share: the detector options (--detectors, the CLIP model, faces),
// the policy options (--policy, --threshold), and reading text files.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "safescan/policy.hpp"
#include "safescan/registry.hpp"

namespace safescan::cli {

struct DetectorFlags {
  std::string detectors;  // --detectors (empty: the command's default)
  DetectorOptions options;
};
// --detectors, --clip-model, --precision, --clip-variant, --prompts, --vocab, --face-model,
// --face-max-side. `default_help` says what the command runs without --detectors.
void add_detector_flags(CLI::App* cmd, DetectorFlags& flags, const std::string& default_help);

struct PolicyFlags {
  std::string policy;              // --policy FILE
  std::optional<float> threshold;  // --threshold T
};
void add_policy_flags(CLI::App* cmd, PolicyFlags& flags);
// The built-in policy or --policy's, with --threshold applied.
Policy load_policy(const PolicyFlags& flags);

// One text per line; blank lines skipped; the file's name in errors.
std::vector<std::string> read_text_lines(const std::filesystem::path& file);

}  // namespace safescan::cli
