// safescan/models.hpp - where models live, which ones safescan knows, and how they get there.
//
// All models are under one directory, $SAFESCAN_HOME/models (SAFESCAN_HOME defaults to
// $XDG_DATA_HOME/safescan, else ~/.local/share/safescan). Each model is a folder named
// after it, holding its files and a `safescan-model.json` manifest (name, kind, format,
// source, sha256 of every file):
//
//   models/clip-vocab/bpe_simple_vocab_16e6.txt.gz
//   models/clip-vocab/safescan-model.json
//   models/.partial/...            downloads in progress and staging folders (never a model)
//
// Code that needs a model file asks by name and never builds paths itself:
//
//   auto vocab = safescan::model_file("clip-vocab");            // the model's only file
//   auto zip   = safescan::model_file("laion-nsfw-vit-l-14", "clip_autokeras_binary_nsfw.zip");
//
// The catalogue (known_models) lists every model safescan can install, with the published
// URL and sha256 of each file; docs/models-manager.md shows it as a table.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/download.hpp"

namespace safescan {

// One file of a catalogue model.
struct ModelFile {
  std::string name;    // file name inside the model folder, e.g. "ViT-B-32.pt"
  std::string url;     // where `models pull` fetches it (empty: not downloadable by URL)
  std::string sha256;  // published checksum, lower-case hex (empty: unknown)
  std::uint64_t size = 0;  // bytes, 0 when not known in advance
};

struct KnownModel {
  std::string name;         // e.g. "nsfw-mobilenet-v2", "clip-vit-b-32"
  std::string kind;         // "tfjs", "clip", "clip-vocab", "q16-prompts", "laion-nsfw", "laion-violence", "face-detector"
  std::string description;  // one line for `models list`
  std::string source;       // where it comes from (project / package)
  std::string format;       // manifest "format": "torchscript", "npy", "onnx", ...
  std::string license;
  std::string install = "download";  // "download" (files[] by URL) or "npm" (nsfwjs, see docs/models.md)
  std::string note;                  // provenance caveats, shown by `models list` and the docs
  std::vector<ModelFile> files;      // empty for npm models (their files are derived at install)
};

// Models safescan knows by name: the three nsfwjs classifiers first (the first is the
// default classifier), then the downloadable ones.
const std::vector<KnownModel>& known_models();
inline constexpr std::string_view kDefaultNsfwModel = "nsfw-mobilenet-v2";
// nullptr when the name is not in the catalogue.
const KnownModel* find_known_model(std::string_view name);
// Adds a model to the catalogue, or replaces the one with the same name. For tests (point
// a model at a local server) and for programs that ship their own models. Not thread-safe:
// call it before other threads read the catalogue.
void register_model(KnownModel model);

// The URL a catalogue file is fetched from: file.url, unless $SAFESCAN_MODEL_URL_BASE is
// set (a mirror), then "$SAFESCAN_MODEL_URL_BASE/<model name>/<file name>".
std::string model_url(const KnownModel& model, const ModelFile& file);

std::filesystem::path safescan_home();
std::filesystem::path models_dir();

struct InstalledModel {
  std::string name;
  std::string kind;    // from the manifest
  std::string format;  // tfjs: layers-model / graph-model; torchscript, npy, onnx ...
  std::string source;  // e.g. "nsfwjs@4.4.0 MobileNetV2", a URL, "imported from PATH"
  std::filesystem::path path;
  std::map<std::string, std::string> files;  // file name -> sha256 recorded at install
  std::uintmax_t bytes = 0;                  // total size on disk
};

// Models present in models_dir() (folders with a readable manifest), sorted by name.
std::vector<InstalledModel> installed_models();
std::optional<InstalledModel> find_installed_model(std::string_view name);

// Resolves a model name (looked up in models_dir()) or a path to a model folder or
// model.json. Throws Error(model_missing) with a hint on how to install it.
std::filesystem::path resolve_model(std::string_view name_or_path);

// The path of a file of an installed model. With an empty `file`, the model must have
// exactly one file (the usual case: "clip-vocab", "clip-vit-b-32", "yunet" ...). Throws
// Error(model_missing) saying how to install the model (`safescan models pull NAME`).
std::filesystem::path model_file(std::string_view model, std::string_view file = {});

// Verifies an installed model's files against the checksums in its manifest and, for a
// catalogue model, the manifest against the catalogue. Returns the problems found (empty
// when intact).
std::vector<std::string> verify_model(const InstalledModel& model);

// --- installing and removing (the library behind `safescan models ...`) ------------------

struct PullOptions {
  bool force = false;         // download again even when installed and intact
  DownloadOptions download;   // timeouts, retries, progress; checksums come from the catalogue
};

struct PullResult {
  InstalledModel model;
  bool already_installed = false;  // nothing was done
  std::uint64_t downloaded = 0;    // bytes received in this call
};

// Downloads a catalogue model into models_dir()/.partial/<name>/ (resuming what an earlier
// pull left there), verifies every file's sha256, then installs atomically: the old
// install, if any, is replaced only once the new one is complete, and stays untouched when
// anything fails. npm models (nsfwjs) are installed by running `npm pack nsfwjs@4.4.0` and
// scripts/install-nsfwjs-models.cjs when npm, node and the script are available (set
// $SAFESCAN_NSFWJS_INSTALLER to the script's path if it is not found); otherwise the
// Error says to run scripts/setup.sh.
// Throws Error: model_missing (unknown name), network, model_invalid (checksum).
PullResult pull_model(std::string_view name, const PullOptions& options = {});

struct ImportOptions {
  std::string name;  // install under this name; empty: recognise the file by its sha256
};

// Installs a file (or a folder of files) the user already has. A file whose sha256 is in
// the catalogue is installed as that model (the name is optional). With a catalogue name,
// the file must have that model's published sha256, else Error(model_invalid) with the
// expected and the actual digest. Under a name the catalogue does not know, any file or
// folder is installed as a "custom" model with its sha256 recorded.
// Throws invalid_argument when the file is unknown and no name is given.
InstalledModel import_model(const std::filesystem::path& path, const ImportOptions& options = {});

// Removes an installed model (and any partial download of it). Returns the bytes freed.
// Throws Error(model_missing) when it is not installed.
std::uintmax_t remove_model(std::string_view name);

// Checks a model name given by a user: letters, digits, '.', '_' and '-', not starting
// with '.', at most 100 characters. Throws Error(invalid_argument).
void check_model_name(std::string_view name);

}  // namespace safescan
