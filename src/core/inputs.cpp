#include "safescan/inputs.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>

#include "safescan/image.hpp"

namespace safescan {

namespace fs = std::filesystem;

bool is_candidate_image(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::array<std::string_view, 9> kExtensions = {".jpg", ".jpeg", ".png", ".webp", ".gif",
                                                              ".bmp", ".tif",  ".tiff", ".jfif"};
  if (std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end()) return true;
  // Only regular files are sniffed: opening a FIFO waits for a writer (the walk would hang)
  // and a device may never end. Special files with an image extension are still kept
  // above, so that they yield an "unreadable" result rather than vanish.
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::array<std::uint8_t, 32> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  return sniff_format(std::span(head.data(), static_cast<size_t>(in.gcount()))) != ImageFormat::unknown;
}

namespace {

void walk(const fs::path& dir, std::vector<InputPath>& out) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
  if (ec) {
    out.push_back({dir, Error(ErrorCode::unreadable, "cannot list directory: " + ec.message(), dir.string())});
    return;
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
  for (const auto& e : entries) {
    const auto name = e.path().filename().string();
    if (!name.empty() && name[0] == '.') continue;
    std::error_code sec;
    const bool is_link = e.is_symlink(sec);
    if (!is_link && e.is_directory(sec)) {
      walk(e.path(), out);
    } else if (is_link && fs::is_directory(e.path(), sec)) {
      continue;  // symlinked directories are not followed: no loops, no escaping the tree
    } else if (is_candidate_image(e.path())) {
      out.push_back({e.path(), std::nullopt});
    }
  }
}

void add_arg(const std::string& arg, std::vector<InputPath>& out) {
  std::error_code ec;
  const fs::path p(arg);
  if (fs::is_directory(p, ec)) {
    walk(p, out);
  } else {
    out.push_back({p, std::nullopt});
  }
}

}  // namespace

std::vector<InputPath> expand_inputs(const std::vector<std::string>& args, std::istream& stdin_stream) {
  std::vector<InputPath> out;
  for (const auto& arg : args) {
    if (arg == "-") {
      std::string line;
      while (std::getline(stdin_stream, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) add_arg(line, out);
      }
    } else {
      add_arg(arg, out);
    }
  }
  return out;
}

}  // namespace safescan
