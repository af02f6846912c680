// Helpers shared by the tests: where ../shared is, and skipping cleanly without it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace safescan::testing {

// ../shared (override with the SAFESCAN_SHARED environment variable).
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("SAFESCAN_SHARED"); env && *env) return env;
  return SAFESCAN_SHARED_DIR;
}

inline bool have_shared(const std::filesystem::path& rel = {}) {
  std::error_code ec;
  return std::filesystem::exists(shared_dir() / rel, ec);
}

// A fresh, empty directory for one test, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "safescan-test-XXXXXX").string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace safescan::testing

// Skips the current test with a reason when ../shared (or a path inside it) is absent.
#define SAFESCAN_REQUIRE_SHARED(rel)                                                   \
  do {                                                                                 \
    if (!::safescan::testing::have_shared(rel))                                        \
      GTEST_SKIP() << "shared fixtures not found at "                                  \
                   << (::safescan::testing::shared_dir() / (rel)).string()             \
                   << " (set SAFESCAN_SHARED to the ../shared directory to run this test)"; \
  } while (0)
