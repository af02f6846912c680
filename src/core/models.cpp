#include "safescan/models.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace fs = std::filesystem;

const std::vector<KnownModel>& known_models() {
  static const std::vector<KnownModel> models = {
      {"nsfw-mobilenet-v2", "tfjs", "nsfwjs MobileNetV2 (224 px, layers-model): fast default NSFW classifier",
       "npm nsfwjs@4.4.0 dist/models/mobilenet_v2"},
      {"nsfw-mobilenet-v2-mid", "tfjs", "nsfwjs MobileNetV2Mid (224 px, graph-model): wider MobileNetV2",
       "npm nsfwjs@4.4.0 dist/models/mobilenet_v2_mid"},
      {"nsfw-inception-v3", "tfjs", "nsfwjs InceptionV3 (299 px, layers-model): slowest, largest",
       "npm nsfwjs@4.4.0 dist/models/inception_v3"},
  };
  return models;
}

fs::path safescan_home() {
  if (const char* env = std::getenv("SAFESCAN_HOME"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "safescan";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local/share/safescan";
  return fs::current_path() / ".safescan";
}

fs::path models_dir() { return safescan_home() / "models"; }

namespace {

bool read_manifest(const fs::path& dir, InstalledModel& out) {
  std::ifstream in(dir / "safescan-model.json");
  if (!in) return false;
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  out.name = j.value("name", dir.filename().string());
  out.kind = j.value("kind", "");
  out.format = j.value("format", "");
  if (j.contains("source") && j["source"].is_object()) {
    out.source = j["source"].value("package", "") + " " + j["source"].value("model", "");
  }
  if (j.contains("files") && j["files"].is_object()) {
    for (const auto& [file, sum] : j["files"].items()) {
      if (sum.is_string()) out.files[file] = sum.get<std::string>();
    }
  }
  out.path = dir;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) out.bytes += e.file_size(ec);
  }
  return true;
}

std::string install_hint(std::string_view name) {
  return "run scripts/setup.sh to install the nsfwjs models, or pass a path to a TensorFlow.js model folder; "
         "models are looked up in " + (models_dir() / std::string(name)).string() + " (set SAFESCAN_HOME to change)";
}

}  // namespace

std::vector<InstalledModel> installed_models() {
  std::vector<InstalledModel> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(models_dir(), ec)) {
    if (!e.is_directory(ec)) continue;
    InstalledModel m;
    if (read_manifest(e.path(), m)) out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

fs::path resolve_model(std::string_view name_or_path) {
  const fs::path p{std::string(name_or_path)};
  std::error_code ec;
  const bool looks_like_path = name_or_path.find('/') != std::string_view::npos || p.extension() == ".json";
  if (looks_like_path) {
    if (fs::exists(p, ec)) return p;
    throw Error(ErrorCode::model_missing, "no model at this path", p.string());
  }
  const fs::path installed = models_dir() / p;
  if (fs::exists(installed / "model.json", ec)) return installed;
  const auto& known = known_models();
  const bool is_known = std::any_of(known.begin(), known.end(), [&](const KnownModel& k) { return k.name == name_or_path; });
  if (!is_known) {
    std::string names;
    for (const auto& k : known) names += (names.empty() ? "" : ", ") + std::string(k.name);
    throw Error(ErrorCode::model_missing, "unknown model '" + std::string(name_or_path) + "' (known: " + names + ")");
  }
  throw Error(ErrorCode::model_missing, "model '" + std::string(name_or_path) + "' is not installed: " + install_hint(name_or_path));
}

std::vector<std::string> verify_model(const InstalledModel& model) {
  std::vector<std::string> problems;
  if (model.files.empty()) problems.push_back("manifest lists no files");
  for (const auto& [file, expected] : model.files) {
    const fs::path path = model.path / file;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      problems.push_back(file + ": missing");
      continue;
    }
    const std::string actual = sha256_file(path);
    if (actual != expected) problems.push_back(file + ": sha256 " + actual + " != " + expected);
  }
  return problems;
}

}  // namespace safescan
