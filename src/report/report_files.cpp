// The reports' files (report_files.hpp).
#include "report/report_files.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "safescan/error.hpp"

namespace safescan::report {

namespace fs = std::filesystem;

void prepare_out_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::unreadable, "cannot create the output folder" + (ec ? ": " + ec.message() : std::string()), dir.string());
  const fs::path probe = dir / ".safescan-report-probe";
  std::ofstream out(probe, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::unreadable, "cannot write into the output folder", dir.string());
  out.close();
  fs::remove(probe, ec);
}

void write_file(const fs::path& file, const std::function<void(std::ostream&)>& write) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCode::unreadable, "cannot write", tmp.string());
    write(out);
    out.close();
    if (!out) throw Error(ErrorCode::unreadable, "cannot write (disk full?)", tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) throw Error(ErrorCode::unreadable, "cannot write: " + ec.message(), file.string());
}

std::string load_chartjs(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw Error(ErrorCode::unreadable, "cannot read Chart.js", file.string());
  std::string js = text.str();
  if (js.empty()) throw Error(ErrorCode::unreadable, "Chart.js is empty: run scripts/setup.sh again", file.string());
  if (auto p = js.rfind("//# sourceMappingURL="); p != std::string::npos) js.erase(p, js.find('\n', p) - p);
  for (std::size_t p = 0; (p = js.find("</", p)) != std::string::npos;) {
    std::string tag = js.substr(p + 2, 6);
    std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (tag == "script") js.replace(p, 2, "<\\/");
    p += 2;
  }
  return js;
}

}  // namespace safescan::report
