// safescan models: the model manager (list, pull, import, verify, remove, path).
// A thin front over safescan/models.hpp; docs/models-manager.md describes it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "safescan/download.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan::cli {

namespace {

std::string size_text(std::uintmax_t bytes) { return bytes ? format_bytes(bytes) : "-"; }

std::string jsonl(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // paths need not be UTF-8
}

const InstalledModel* find_in(const std::vector<InstalledModel>& installed, std::string_view name) {
  for (const auto& m : installed)
    if (m.name == name) return &m;
  return nullptr;
}

int list_models(const std::string& format, bool long_format) {
  const auto installed = installed_models();
  if (format == "jsonl") {
    for (const auto& k : known_models()) {
      const InstalledModel* m = find_in(installed, k.name);
      nlohmann::ordered_json files = nlohmann::ordered_json::array();
      std::uint64_t download_bytes = 0;
      for (const auto& f : k.files) {
        files.push_back({{"name", f.name}, {"url", model_url(k, f)}, {"sha256", f.sha256}, {"bytes", f.size}});
        download_bytes += f.size;
      }
      nlohmann::ordered_json j{{"name", k.name},
                               {"kind", k.kind},
                               {"installed", m != nullptr},
                               {"path", m ? m->path.string() : (models_dir() / k.name).string()},
                               {"bytes", m ? m->bytes : 0},
                               {"description", k.description},
                               {"source", k.source},
                               {"known", true},
                               {"format", k.format},
                               {"license", k.license},
                               {"install", k.install},
                               {"files", files}};
      if (download_bytes) j["download_bytes"] = download_bytes;
      if (!k.note.empty()) j["note"] = k.note;
      std::cout << jsonl(j) << "\n";
    }
    for (const auto& m : installed) {
      if (find_known_model(m.name)) continue;
      nlohmann::ordered_json files = nlohmann::ordered_json::array();
      for (const auto& [f, sum] : m.files) files.push_back({{"name", f}, {"sha256", sum}});
      std::cout << jsonl({{"name", m.name},
                          {"kind", m.kind},
                          {"installed", true},
                          {"path", m.path.string()},
                          {"bytes", m.bytes},
                          {"description", ""},
                          {"source", m.source},
                          {"known", false},
                          {"format", m.format},
                          {"files", files}})
                << "\n";
    }
    return kExitOk;
  }
  std::printf("models directory: %s\n\n", models_dir().string().c_str());
  std::printf("%-24s %-15s %-9s %10s  %s\n", "name", "kind", "installed", "size", "path");
  for (const auto& k : known_models()) {
    const InstalledModel* m = find_in(installed, k.name);
    std::uint64_t download_bytes = 0;
    for (const auto& f : k.files) download_bytes += f.size;
    // Not installed: the download size when the catalogue knows it.
    const std::string size = m ? size_text(m->bytes) : download_bytes ? "(" + format_bytes(download_bytes) + ")" : "-";
    std::printf("%-24s %-15s %-9s %10s  %s\n", k.name.c_str(), k.kind.c_str(), m ? "yes" : "no", size.c_str(),
                m ? m->path.string().c_str() : "-");
    if (long_format) {
      std::printf("    %s\n    source: %s (%s license)\n", k.description.c_str(), k.source.c_str(), k.license.c_str());
      for (const auto& f : k.files)
        std::printf("    %s  sha256 %s\n      %s\n", f.name.c_str(), f.sha256.c_str(), model_url(k, f).c_str());
      if (!k.note.empty()) std::printf("    note: %s\n", k.note.c_str());
    }
  }
  for (const auto& m : installed) {
    if (find_known_model(m.name)) continue;
    std::printf("%-24s %-15s %-9s %10s  %s\n", m.name.c_str(), m.kind.c_str(), "yes", size_text(m.bytes).c_str(),
                m.path.string().c_str());
    if (long_format) std::printf("    source: %s\n", m.source.c_str());
  }
  if (!long_format) std::printf("\n(size in parentheses: download size)  --long shows descriptions, URLs and checksums\n");
  return kExitOk;
}

int verify_models(const std::vector<std::string>& names) {
  int bad = 0, checked = 0;
  const auto installed = installed_models();
  for (const auto& m : installed) {
    if (!names.empty() && std::find(names.begin(), names.end(), m.name) == names.end()) continue;
    ++checked;
    const auto problems = verify_model(m);
    if (problems.empty()) {
      std::printf("%-24s ok (%zu files)\n", m.name.c_str(), m.files.size());
    } else {
      ++bad;
      for (const auto& p : problems) std::printf("%-24s FAILED %s\n", m.name.c_str(), p.c_str());
    }
  }
  for (const auto& n : names) {
    if (!find_in(installed, n)) {
      std::printf("%-24s FAILED not installed in %s\n", n.c_str(), models_dir().string().c_str());
      ++bad;
    }
  }
  if (checked == 0 && names.empty()) std::printf("no models installed in %s\n", models_dir().string().c_str());
  std::fflush(stdout);
  return bad ? kExitFailure : kExitOk;
}

struct PullArgs {
  std::vector<std::string> names;
  bool force = false;
  std::string progress = "auto";
  int connect_timeout = 20;
  int stall_timeout = 30;
  int retries = 4;
};

int pull_models(const PullArgs& args, const GlobalOptions& global) {
  for (const auto& n : args.names) {
    if (!find_known_model(n)) {
      std::string names;
      for (const auto& k : known_models()) names += (names.empty() ? "" : ", ") + k.name;
      spdlog::error("unknown model '{}' (known: {}); `safescan models import FILE --name NAME` installs a file of your own",
                    n, names);
      return kExitUsage;
    }
  }
  PullOptions opt;
  opt.force = args.force;
  opt.download.connect_timeout = std::chrono::seconds(args.connect_timeout);
  opt.download.low_speed_timeout = std::chrono::seconds(args.stall_timeout);
  opt.download.max_attempts = args.retries + 1;
  opt.download.progress = global.quiet                ? ProgressStyle::none
                          : args.progress == "bar"    ? ProgressStyle::bar
                          : args.progress == "log"    ? ProgressStyle::log
                          : args.progress == "none"   ? ProgressStyle::none
                                                      : ProgressStyle::automatic;
  int failed = 0;
  for (const auto& n : args.names) {
    try {
      const PullResult r = pull_model(n, opt);
      if (r.already_installed)
        std::printf("%s already installed (%s) in %s; --force downloads it again\n", n.c_str(),
                    format_bytes(r.model.bytes).c_str(), r.model.path.string().c_str());
      else
        std::printf("installed %s (%s) in %s\n", n.c_str(), format_bytes(r.model.bytes).c_str(),
                    r.model.path.string().c_str());
      std::fflush(stdout);
    } catch (const Error& e) {
      spdlog::error("{}: {}", n, e.what());
      ++failed;
    }
  }
  return failed ? kExitFailure : kExitOk;
}

int import_file(const std::string& path, const std::string& name) {
  try {
    const InstalledModel m = import_model(path, ImportOptions{name});
    std::printf("installed %s (%s, %zu file%s) in %s\n", m.name.c_str(), format_bytes(m.bytes).c_str(), m.files.size(),
                m.files.size() == 1 ? "" : "s", m.path.string().c_str());
    for (const auto& [f, sum] : m.files) std::printf("  %s  sha256 %s\n", f.c_str(), sum.c_str());
    return kExitOk;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return e.code() == ErrorCode::invalid_argument ? kExitUsage : kExitFailure;
  }
}

int remove_models(const std::vector<std::string>& names) {
  int failed = 0;
  for (const auto& n : names) {
    try {
      const auto bytes = remove_model(n);
      std::printf("removed %s (%s freed)\n", n.c_str(), format_bytes(bytes).c_str());
    } catch (const Error& e) {
      spdlog::error("{}", e.what());
      ++failed;
    }
  }
  return failed ? kExitFailure : kExitOk;
}

}  // namespace

void add_models(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("models", "Install, list, verify and remove models");
  cmd->require_subcommand(1);
  cmd->footer(
      "Models live in $SAFESCAN_HOME/models/<name>/ (default ~/.local/share/safescan/models), each with a\n"
      "safescan-model.json manifest (source, sha256 of every file). scripts/setup.sh installs the nsfwjs\n"
      "models; `models pull` downloads the others (CLIP, Q16, LAION heads, YuNet) and checks their sha256.\n"
      "Exit status: 0 ok, 1 failure, 2 usage error. See docs/models-manager.md.\n\n"
      "Examples:\n"
      "  safescan models list\n"
      "  safescan models pull clip-vit-b-32 clip-vocab q16-vit-b-32\n"
      "  safescan models import ~/Downloads/ViT-B-32.pt\n"
      "  safescan models verify\n"
      "  safescan models remove clip-vit-l-14");

  auto format = std::make_shared<std::string>("table");
  auto long_format = std::make_shared<bool>(false);
  CLI::App* list = cmd->add_subcommand("list", "Show the known models and the installed ones: status, size, path");
  list->add_option("-f,--format", *format, "table or jsonl")->check(CLI::IsMember({"table", "jsonl"}))->capture_default_str();
  list->add_flag("-l,--long", *long_format, "Table: add descriptions, URLs, checksums and provenance notes");
  list->footer(
      "jsonl: one object per model with name, kind, installed, path, bytes, description, source, known,\n"
      "format, license, install (download or npm), files [{name, url, sha256, bytes}], note.\n\n"
      "Examples:\n  safescan models list\n  safescan models list --long\n  safescan models list --format jsonl");
  list->callback([format, long_format, &global, &exit_code] {
    setup_logging(global);
    exit_code = list_models(*format, *long_format);
  });

  auto pull = std::make_shared<PullArgs>();
  CLI::App* pull_cmd = cmd->add_subcommand("pull", "Download models from their published URLs and verify their sha256");
  pull_cmd->add_option("names", pull->names, "Models to install (see `safescan models list`)")->required();
  pull_cmd->add_flag("--force", pull->force, "Download again even when installed and intact");
  pull_cmd->add_option("--progress", pull->progress, "auto (a bar on a terminal, log lines otherwise), bar, log or none")
      ->check(CLI::IsMember({"auto", "bar", "log", "none"}))
      ->capture_default_str();
  pull_cmd->add_option("--connect-timeout", pull->connect_timeout, "Seconds to wait for a connection")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  pull_cmd->add_option("--stall-timeout", pull->stall_timeout, "Seconds without any byte before a transfer is retried")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  pull_cmd->add_option("--retries", pull->retries, "Retries after a transient failure (connection cut, timeout, HTTP 5xx)")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  pull_cmd->footer(
      "Downloads go to <models>/.partial/<name>/ and resume from there (HTTP Range) after a cut, in this\n"
      "run (retries with backoff) or the next. Each file's sha256 must match the catalogue; the model is\n"
      "then moved into place in one step, so a failed pull leaves the previous install as it was.\n"
      "nsfwjs models come from npm: pull runs `npm pack nsfwjs@4.4.0` and scripts/install-nsfwjs-models.cjs\n"
      "(as scripts/setup.sh does) when npm and node are there.\n"
      "$SAFESCAN_MODEL_URL_BASE=URL fetches <URL>/<name>/<file> instead of the published URLs (a mirror).\n\n"
      "Examples:\n"
      "  safescan models pull clip-vit-b-32 clip-vocab\n"
      "  safescan models pull --force yunet\n"
      "  SAFESCAN_MODEL_URL_BASE=http://mirror.local/safescan safescan models pull q16-vit-l-14");
  pull_cmd->callback([pull, &global, &exit_code] {
    setup_logging(global);
    exit_code = pull_models(*pull, global);
  });

  auto import_path = std::make_shared<std::string>();
  auto import_name = std::make_shared<std::string>();
  CLI::App* import = cmd->add_subcommand("import", "Install a model file (or folder) you already have");
  import->add_option("path", *import_path, "The file (or a folder of files, with --name)")->required();
  import->add_option("-n,--name", *import_name, "Install under this name (default: recognised by its sha256)");
  import->footer(
      "A file the catalogue knows (by sha256) is installed under its model's name; with --name NAME of a\n"
      "catalogue model the file must have that model's published sha256. Any other file or folder needs\n"
      "--name and is installed as a custom model with its sha256 recorded. The file is copied.\n\n"
      "Examples:\n"
      "  safescan models import ~/.cache/clip/ViT-B-32.pt                 # becomes clip-vit-b-32\n"
      "  safescan models import prompts.p --name q16-vit-l-14\n"
      "  safescan models import my_head.npy --name my-violence-head");
  import->callback([import_path, import_name, &global, &exit_code] {
    setup_logging(global);
    exit_code = import_file(*import_path, *import_name);
  });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* verify = cmd->add_subcommand("verify", "Check installed model files against their recorded sha256");
  verify->add_option("names", *names, "Models to verify (default: all installed)");
  verify->footer("Examples:\n  safescan models verify\n  safescan models verify clip-vit-b-32 clip-vocab");
  verify->callback([names, &global, &exit_code] {
    setup_logging(global);
    exit_code = verify_models(*names);
  });

  auto remove_names = std::make_shared<std::vector<std::string>>();
  CLI::App* remove = cmd->add_subcommand("remove", "Delete installed models (and their partial downloads)");
  remove->add_option("names", *remove_names, "Models to remove")->required();
  remove->footer("Example:\n  safescan models remove clip-vit-l-14");
  remove->callback([remove_names, &global, &exit_code] {
    setup_logging(global);
    exit_code = remove_models(*remove_names);
  });

  auto path_name = std::make_shared<std::string>();
  CLI::App* path = cmd->add_subcommand("path", "Print the models directory, or an installed model's folder");
  path->add_option("name", *path_name, "An installed model");
  path->footer("Examples:\n  ls \"$(safescan models path)\"\n  safescan models path clip-vocab");
  path->callback([path_name, &global, &exit_code] {
    if (path_name->empty()) {
      std::printf("%s\n", models_dir().string().c_str());
      exit_code = kExitOk;
      return;
    }
    setup_logging(global);
    if (auto m = find_installed_model(*path_name)) {
      std::printf("%s\n", m->path.string().c_str());
      exit_code = kExitOk;
    } else {
      spdlog::error("model '{}' is not installed in {}", *path_name, models_dir().string());
      exit_code = kExitFailure;
    }
  });
}

}  // namespace safescan::cli
