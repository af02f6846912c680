// The command line's contract as data: tests/cli/contract.jsonl holds one case per line,
// {"name", "args", "exit", "stdout"/"stderr" (a fragment each must contain), "stdout_empty",
// "files" (written into a fresh directory first), "absent" (paths that must not exist after)}.
// Placeholders in args: {tmp} (that directory), {image} (a shared test photo), {clip_tiny}
// (the tiny CLIP fixture), {vocab} (CLIP's vocabulary). Adding a case is adding a line.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/safescan_cli.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Case {
  std::string name;
  json spec;
};

// Test names and failure messages show the case's name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::ifstream in(fs::path(SAFESCAN_SOURCE_DIR) / "tests/cli/contract.jsonl");
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("name") || !j.contains("args") || !j.contains("exit"))
      throw std::runtime_error("tests/cli/contract.jsonl line " + std::to_string(line_no) + " is not a case: " + line);
    cases.push_back({j["name"].get<std::string>(), std::move(j)});
  }
  return cases;
}

std::string substitute(std::string s, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values)
    for (std::size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

class CliContract : public ::testing::TestWithParam<Case> {};

TEST_P(CliContract, ExitCodeAndMessage) {
  const json& c = GetParam().spec;
  const testing::TempDir tmp;
  const std::map<std::string, std::string> values = {
      {"{tmp}", tmp.path().string()},
      {"{image}", testing::shared_image("kodim01.png").string()},
      {"{clip_tiny}", testing::shared_path("fixtures/clip-tiny/clip.safetensors").string()},
      {"{vocab}", testing::shared_path("models/clip/bpe_simple_vocab_16e6.txt.gz").string()}};
  std::vector<std::string> args;
  for (const auto& a : c["args"]) {
    const std::string arg = a.get<std::string>();
    if (arg.find("{clip_tiny}") != std::string::npos) SAFESCAN_REQUIRE_SHARED("fixtures/clip-tiny/clip.safetensors");
    args.push_back(substitute(arg, values));
  }
  if (c.contains("files"))
    for (const auto& [name, text] : c["files"].items()) testing::write_all(tmp / name, text.get<std::string>());

  const auto r = testing::run_safescan(args);
  EXPECT_EQ(r.exit_code, c["exit"].get<int>()) << r.describe();
  if (c.contains("stderr")) EXPECT_NE(r.err.find(c["stderr"].get<std::string>()), std::string::npos) << r.describe();
  if (c.contains("stdout")) EXPECT_NE(r.out.find(c["stdout"].get<std::string>()), std::string::npos) << r.describe();
  if (c.value("stdout_empty", false)) EXPECT_EQ(r.out, "") << r.describe();
  if (c.contains("absent"))
    for (const auto& p : c["absent"]) EXPECT_FALSE(fs::exists(substitute(p.get<std::string>(), values))) << p;
}

INSTANTIATE_TEST_SUITE_P(Cases, CliContract, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace safescan
