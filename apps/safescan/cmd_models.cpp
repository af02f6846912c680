// safescan models: list and verify installed models.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "safescan/models.hpp"

namespace safescan::cli {

namespace {

int list_models(const std::string& format) {
  const auto installed = installed_models();
  auto find = [&](std::string_view name) -> const InstalledModel* {
    for (const auto& m : installed)
      if (m.name == name) return &m;
    return nullptr;
  };
  if (format == "jsonl") {
    for (const auto& k : known_models()) {
      const InstalledModel* m = find(k.name);
      nlohmann::ordered_json j{{"name", k.name}, {"kind", k.kind}, {"installed", m != nullptr},
                               {"path", m ? m->path.string() : (models_dir() / std::string(k.name)).string()},
                               {"bytes", m ? m->bytes : 0}, {"description", k.description}, {"source", k.source}};
      std::cout << j.dump() << "\n";
    }
    return kExitOk;
  }
  std::printf("models directory: %s\n\n", models_dir().string().c_str());
  std::printf("%-24s %-10s %9s  %s\n", "name", "installed", "size", "description");
  for (const auto& k : known_models()) {
    const InstalledModel* m = find(k.name);
    std::printf("%-24s %-10s %8.1fM  %s\n", std::string(k.name).c_str(), m ? "yes" : "no",
                m ? m->bytes / 1048576.0 : 0.0, std::string(k.description).c_str());
  }
  for (const auto& m : installed) {
    bool known = false;
    for (const auto& k : known_models()) known |= k.name == m.name;
    if (!known) std::printf("%-24s %-10s %8.1fM  %s\n", m.name.c_str(), "yes", m.bytes / 1048576.0, m.source.c_str());
  }
  return kExitOk;
}

int verify_models(const std::vector<std::string>& names) {
  int bad = 0, checked = 0;
  for (const auto& m : installed_models()) {
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
    bool found = false;
    for (const auto& m : installed_models()) found |= m.name == n;
    if (!found) {
      std::printf("%-24s FAILED not installed in %s\n", n.c_str(), models_dir().string().c_str());
      ++bad;
    }
  }
  if (checked == 0 && names.empty()) std::printf("no models installed in %s\n", models_dir().string().c_str());
  return bad ? kExitFailure : kExitOk;
}

}  // namespace

void add_models(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("models", "List and verify the installed models");
  cmd->require_subcommand(1);
  cmd->footer("Models live in $SAFESCAN_HOME/models (default ~/.local/share/safescan/models).\n"
              "scripts/setup.sh installs the nsfwjs models there.\n\n"
              "Examples:\n  safescan models list\n  safescan models verify nsfw-mobilenet-v2");

  auto format = std::make_shared<std::string>("table");
  CLI::App* list = cmd->add_subcommand("list", "Show the known models, whether each is installed, and where");
  list->add_option("-f,--format", *format, "table or jsonl")->check(CLI::IsMember({"table", "jsonl"}))->capture_default_str();
  list->footer("Example:\n  safescan models list --format jsonl");
  list->callback([format, &global, &exit_code] {
    setup_logging(global);
    exit_code = list_models(*format);
  });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* verify = cmd->add_subcommand("verify", "Check installed model files against their recorded sha256");
  verify->add_option("names", *names, "Models to verify (default: all installed)");
  verify->footer("Example:\n  safescan models verify");
  verify->callback([names, &global, &exit_code] {
    setup_logging(global);
    exit_code = verify_models(*names);
  });

  CLI::App* path = cmd->add_subcommand("path", "Print the models directory");
  path->footer("Example:\n  ls \"$(safescan models path)\"");
  path->callback([&exit_code] {
    std::printf("%s\n", models_dir().string().c_str());
    exit_code = kExitOk;
  });
}

}  // namespace safescan::cli
