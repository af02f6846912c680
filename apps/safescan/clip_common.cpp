#include "clip_common.hpp"

#include <fstream>

#include "safescan/error.hpp"

namespace safescan::cli {

namespace fs = std::filesystem;

std::vector<std::string> read_text_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::unreadable, "cannot open the texts file", file.string());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace safescan::cli
