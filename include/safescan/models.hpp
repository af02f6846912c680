// safescan/models.hpp - where models live and which ones safescan knows.
//
// All models are under one directory, $SAFESCAN_HOME/models (SAFESCAN_HOME defaults to
// $XDG_DATA_HOME/safescan, else ~/.local/share/safescan). Each model is a folder named
// after it, holding its files and a `safescan-model.json` manifest (name, kind, format,
// source, sha256 of every file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace safescan {

struct KnownModel {
  std::string_view name;         // e.g. "nsfw-mobilenet-v2"
  std::string_view kind;         // "tfjs", ...
  std::string_view description;  // one line for `models list`
  std::string_view source;       // where it comes from
};

// Models safescan knows by name. The first nsfw entry is the default classifier.
const std::vector<KnownModel>& known_models();
inline constexpr std::string_view kDefaultNsfwModel = "nsfw-mobilenet-v2";

std::filesystem::path safescan_home();
std::filesystem::path models_dir();

struct InstalledModel {
  std::string name;
  std::string kind;    // from the manifest
  std::string format;  // tfjs: layers-model / graph-model
  std::string source;  // e.g. "nsfwjs@4.4.0 MobileNetV2"
  std::filesystem::path path;
  std::map<std::string, std::string> files;  // file name -> sha256 recorded at install
  std::uintmax_t bytes = 0;                  // total size on disk
};

// Models present in models_dir() (folders with a readable manifest), sorted by name.
std::vector<InstalledModel> installed_models();

// Resolves a model name (looked up in models_dir()) or a path to a model folder or
// model.json. Throws Error(model_missing) with a hint on how to install it.
std::filesystem::path resolve_model(std::string_view name_or_path);

// Verifies an installed model's files against the checksums in its manifest. Returns the
// problems found (empty when intact).
std::vector<std::string> verify_model(const InstalledModel& model);

}  // namespace safescan
