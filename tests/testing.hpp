// Helpers shared by the tests: where ../shared is, and skipping cleanly without it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "safescan/error.hpp"

namespace safescan::testing {

// ../shared (override with the SAFESCAN_SHARED environment variable).
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("SAFESCAN_SHARED"); env && *env) return env;
  return SAFESCAN_SHARED_DIR;
}

// A path inside ../shared: shared_path("images/kodim01.png"), shared_path("fixtures/clip-tiny").
inline std::filesystem::path shared_path(const std::filesystem::path& rel) { return shared_dir() / rel; }
// One of the test photos in ../shared/images.
inline std::filesystem::path shared_image(const std::string& name) { return shared_dir() / "images" / name; }

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

// Whole-file helpers.
inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_all(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

// Runs `f`, expecting a safescan::Error with `code` whose text contains `needle`.
template <class F>
void expect_error(F&& f, ErrorCode code, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace safescan::testing

// Skips the current test with a reason when ../shared (or a path inside it) is absent.
#define SAFESCAN_REQUIRE_SHARED(rel)                                                   \
  do {                                                                                 \
    if (!::safescan::testing::have_shared(rel))                                        \
      GTEST_SKIP() << "shared fixtures not found at "                                  \
                   << (::safescan::testing::shared_dir() / (rel)).string()             \
                   << " (set SAFESCAN_SHARED to the ../shared directory to run this test)"; \
  } while (0)
