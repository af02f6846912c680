// Files of the reports (the audit card, the benchmark report): the output folder, atomic
// writes, Chart.js ready to inline.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace safescan::report {

// Creates `dir` when missing and checks that it can be written into (Error(unreadable)).
void prepare_out_dir(const std::filesystem::path& dir);
// Writes `file` through a temporary next to it, so that a failed write leaves no half file.
void write_file(const std::filesystem::path& file, const std::function<void(std::ostream&)>& write);
// Chart.js's bundle (find_chartjs), ready to sit in a <script> element: no source map comment
// (nothing to fetch), and no "</script".
std::string load_chartjs(const std::filesystem::path& file);

}  // namespace safescan::report
