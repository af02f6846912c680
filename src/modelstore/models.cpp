// The model store: catalogue, layout under models_dir(), manifests, pull / import / remove.
// See include/safescan/models.hpp and docs/models-manager.md.
#include "safescan/models.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/sha256.hpp"
#include "modelstore/catalogue.hpp"
#include "safescan/error.hpp"

extern char** environ;

namespace safescan {

namespace fs = std::filesystem;

namespace {

// The npm package the nsfwjs models come from and its integrity (data/models.json).
std::string npm_package() { return catalogue_npm_package().package; }
std::string npm_integrity() { return catalogue_npm_package().integrity; }

}  // namespace

std::string model_url(const KnownModel& model, const ModelFile& file) {
  if (const char* base = std::getenv("SAFESCAN_MODEL_URL_BASE"); base && *base) {
    std::string b = base;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b + "/" + model.name + "/" + file.name;
  }
  return file.url;
}

void check_model_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 100 && name.front() != '.' && name.front() != '-' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                           c == '_' || c == '-';
                  });
  if (!ok)
    throw Error(ErrorCode::invalid_argument,
                "invalid model name '" + std::string(name) +
                    "': use letters, digits, '.', '_' and '-' (not first), at most 100 characters");
}

// --- where models live --------------------------------------------------------------------

fs::path safescan_home() {
  if (const char* env = std::getenv("SAFESCAN_HOME"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "safescan";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local/share/safescan";
  return fs::current_path() / ".safescan";
}

fs::path models_dir() { return safescan_home() / "models"; }

namespace {

constexpr const char* kManifest = "safescan-model.json";

fs::path partial_root() { return models_dir() / ".partial"; }

bool valid_name(std::string_view name) {
  try {
    check_model_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool read_manifest(const fs::path& dir, InstalledModel& out) {
  std::ifstream in(dir / kManifest);
  if (!in) return false;
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto str = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
  };
  out.name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : dir.filename().string();
  out.kind = str(j, "kind");
  out.format = str(j, "format");
  if (j.contains("source") && j["source"].is_object()) {
    const auto& s = j["source"];
    if (!str(s, "package").empty())
      out.source = str(s, "package") + " " + str(s, "model");
    else if (!str(s, "url").empty())
      out.source = str(s, "url");
    else if (!str(s, "imported_from").empty())
      out.source = "imported from " + str(s, "imported_from");
    else
      out.source = str(s, "project");
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

std::string known_names() {
  std::string names;
  for (const auto& k : known_models()) names += (names.empty() ? "" : ", ") + k.name;
  return names;
}

std::string install_hint(std::string_view name) {
  const std::string where = "models are looked up in " + (models_dir() / std::string(name)).string() +
                            " (set SAFESCAN_HOME to change)";
  const KnownModel* k = find_known_model(name);
  if (k && k->install == "npm") {
    return "run scripts/setup.sh to install the nsfwjs models (or `safescan models pull " + std::string(name) +
           "`), or pass a path to a TensorFlow.js model folder; " + where;
  }
  return "run `safescan models pull " + std::string(name) +
         "` (or `safescan models import FILE` for a copy you already have); " + where;
}

// An exclusive lock per model name, so two safescan processes never install the same
// model at once (the second waits).
class ModelLock {
 public:
  explicit ModelLock(std::string_view name) {
    std::error_code ec;
    fs::create_directories(partial_root(), ec);
    const fs::path path = partial_root() / (std::string(name) + ".lock");
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(ErrorCode::unreadable, std::string("cannot create a lock file: ") + std::strerror(errno), path.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      spdlog::info("waiting for another safescan that is installing {}", name);
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~ModelLock() { ::close(fd_); }
  ModelLock(const ModelLock&) = delete;
  ModelLock& operator=(const ModelLock&) = delete;

 private:
  int fd_ = -1;
};

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void write_manifest(const fs::path& dir, const nlohmann::ordered_json& manifest) {
  const fs::path path = dir / kManifest;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  out.close();
  if (!out) throw Error(ErrorCode::unreadable, "cannot write the manifest", path.string());
}

// A folder under .partial that is removed again unless it was committed.
class Staging {
 public:
  explicit Staging(std::string_view name) {
    path_ = partial_root() / (std::string(name) + ".staging-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove_all(path_, ec);
    fs::create_directories(path_);
  }
  ~Staging() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

// Puts a complete staging folder in place of models_dir()/<name>. The previous install
// disappears only once the new one is there; if the swap fails it is put back.
InstalledModel commit_install(const std::string& name, Staging& staging) {
  const fs::path target = models_dir() / name;
  const fs::path old = partial_root() / (name + ".old-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(old, ec);
  const bool had = fs::exists(fs::symlink_status(target, ec));
  if (had) {
    fs::rename(target, old, ec);
    if (ec) throw Error(ErrorCode::unreadable, "cannot move the previous install aside: " + ec.message(), target.string());
  }
  fs::rename(staging.path(), target, ec);
  if (ec) {
    std::error_code ec2;
    if (had) fs::rename(old, target, ec2);
    throw Error(ErrorCode::unreadable, "cannot install the model: " + ec.message(), target.string());
  }
  staging.release();
  fsync_dir(models_dir());
  fs::remove_all(old, ec);
  InstalledModel m;
  if (!read_manifest(target, m)) throw Error(ErrorCode::internal, "installed model has no readable manifest", target.string());
  return m;
}

nlohmann::ordered_json base_manifest(const std::string& name, const std::string& kind, const std::string& format) {
  nlohmann::ordered_json j;
  j["name"] = name;
  j["kind"] = kind;
  j["format"] = format;
  return j;
}

// A cheap check that an install matches the catalogue: every file recorded with the
// published sha256 and present with the published size. `models verify` rehashes.
bool looks_intact(const InstalledModel& m, const KnownModel& k) {
  if (k.files.empty()) return false;
  for (const auto& f : k.files) {
    const auto it = m.files.find(f.name);
    if (it == m.files.end() || (!f.sha256.empty() && it->second != f.sha256)) return false;
    std::error_code ec;
    const auto size = fs::file_size(m.path / f.name, ec);
    if (ec || (f.size && size != f.size)) return false;
  }
  return true;
}

// --- running npm and node (nsfwjs) ---------------------------------------------------------

std::optional<fs::path> find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string_view rest = path;
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::optional<fs::path> find_nsfwjs_installer() {
  std::error_code ec;
  if (const char* env = std::getenv("SAFESCAN_NSFWJS_INSTALLER"); env && *env) {
    if (fs::is_regular_file(env, ec)) return fs::path(env);
    return std::nullopt;
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const fs::path dir = exe.parent_path();
  for (const fs::path& root : {dir / "..", dir / "../..", dir / "../share/safescan"}) {
    const fs::path script = root / "scripts" / "install-nsfwjs-models.cjs";
    if (fs::is_regular_file(script, ec)) return fs::weakly_canonical(script, ec);
  }
  return std::nullopt;
}

// Runs a program (no shell), its standard output sent to our standard error so that
// safescan's own output stays clean. Returns the exit status.
int run_program(const std::vector<std::string>& args, const fs::path& cwd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error(ErrorCode::unreadable, std::string("cannot run ") + args[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string sha512_integrity(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::unreadable, "cannot open file", file.string());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string b64(4 * ((len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), md, static_cast<int>(len));
  b64.resize(static_cast<std::size_t>(n));
  return "sha512-" + b64;
}

std::string npm_help(std::string_view name) {
  return std::string(name) + " comes from the npm package " + npm_package() +
         ": scripts/setup.sh installs it (npm pack " + npm_package() +
         ", integrity check, then node scripts/install-nsfwjs-models.cjs PACKAGE_DIR " + models_dir().string() + ")";
}

void install_nsfwjs(std::string_view name) {
  const auto installer = find_nsfwjs_installer();
  const auto npm = find_in_path("npm");
  const auto node = find_in_path("node");
  if (!installer || !npm || !node) {
    std::string missing;
    if (!npm) missing += " npm";
    if (!node) missing += " node";
    if (!installer) missing += " scripts/install-nsfwjs-models.cjs (set SAFESCAN_NSFWJS_INSTALLER to its path)";
    throw Error(ErrorCode::model_missing, npm_help(name) + "; cannot run it from here, not found:" + missing);
  }
  spdlog::info("{}", npm_help(name));
  std::string templ = (fs::temp_directory_path() / "safescan-nsfwjs-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw Error(ErrorCode::unreadable, std::string("mkdtemp: ") + std::strerror(errno));
  const fs::path work = templ;
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{work};
  spdlog::info("fetching {} from the npm registry", npm_package());
  if (run_program({npm->string(), "pack", "--silent", npm_package()}, work) != 0)
    throw Error(ErrorCode::network, std::string("npm pack ") + npm_package() + " failed (see npm's message above)");
  const fs::path tgz = work / "nsfwjs-4.4.0.tgz";
  const std::string got = sha512_integrity(tgz);
  if (got != npm_integrity())
    throw Error(ErrorCode::model_invalid,
                std::string("integrity mismatch: expected ") + npm_integrity() + ", got " + got, tgz.string());
  if (run_program({"tar", "-xzf", tgz.string(), "-C", work.string()}, work) != 0)
    throw Error(ErrorCode::model_invalid, "cannot unpack the npm package", tgz.string());
  fs::create_directories(models_dir());
  if (run_program({node->string(), installer->string(), (work / "package").string(), models_dir().string()}, work) != 0)
    throw Error(ErrorCode::model_invalid, "the nsfwjs installer failed (see its message above)", installer->string());
}

}  // namespace

// --- installed models ---------------------------------------------------------------------

std::vector<InstalledModel> installed_models() {
  std::vector<InstalledModel> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(models_dir(), ec)) {
    if (!e.is_directory(ec) || e.path().filename().string().front() == '.') continue;
    InstalledModel m;
    if (read_manifest(e.path(), m)) out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<InstalledModel> find_installed_model(std::string_view name) {
  if (!valid_name(name)) return std::nullopt;
  InstalledModel m;
  if (!read_manifest(models_dir() / std::string(name), m)) return std::nullopt;
  return m;
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
  if (fs::exists(installed / "model.json", ec) || fs::exists(installed / kManifest, ec)) return installed;
  if (!find_known_model(name_or_path)) {
    throw Error(ErrorCode::model_missing,
                "unknown model '" + std::string(name_or_path) + "' (known: " + known_names() + ")");
  }
  throw Error(ErrorCode::model_missing,
              "model '" + std::string(name_or_path) + "' is not installed: " + install_hint(name_or_path));
}

fs::path model_file(std::string_view model, std::string_view file) {
  check_model_name(model);
  const auto m = find_installed_model(model);
  if (!m) {
    if (!find_known_model(model))
      throw Error(ErrorCode::model_missing, "unknown model '" + std::string(model) + "' (known: " + known_names() +
                                                "); nothing is installed under " + (models_dir() / std::string(model)).string());
    throw Error(ErrorCode::model_missing, "model '" + std::string(model) + "' is not installed: " + install_hint(model));
  }
  std::string name(file);
  if (name.empty()) {
    if (m->files.size() == 1) {
      name = m->files.begin()->first;
    } else {
      std::string list;
      for (const auto& [f, _] : m->files) list += (list.empty() ? "" : ", ") + f;
      throw Error(ErrorCode::invalid_argument, "model '" + std::string(model) + "' has " +
                                                   std::to_string(m->files.size()) + " files (" + list +
                                                   "): say which one", m->path.string());
    }
  }
  const fs::path path = m->path / name;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    std::string list;
    for (const auto& [f, _] : m->files) list += (list.empty() ? "" : ", ") + f;
    throw Error(ErrorCode::model_missing,
                "model '" + std::string(model) + "' has no file '" + name + "' (its files: " + list +
                    "); `safescan models verify " + std::string(model) + "` checks the install",
                path.string());
  }
  return path;
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
  if (const KnownModel* k = find_known_model(model.name)) {
    for (const auto& f : k->files) {
      const auto it = model.files.find(f.name);
      if (it == model.files.end())
        problems.push_back(f.name + ": not installed (`safescan models pull " + model.name + "` fetches it)");
      else if (!f.sha256.empty() && it->second != f.sha256)
        problems.push_back(f.name + ": recorded sha256 " + it->second + " is not the published " + f.sha256);
    }
  }
  return problems;
}

// --- pull -----------------------------------------------------------------------------------

PullResult pull_model(std::string_view name, const PullOptions& options) {
  const KnownModel* known = find_known_model(name);
  if (!known) {
    throw Error(ErrorCode::model_missing,
                "unknown model '" + std::string(name) + "' (known: " + known_names() +
                    "); `safescan models import FILE --name NAME` installs a file of your own");
  }
  const KnownModel k = *known;  // a copy: register_model may not run meanwhile, but be safe
  PullResult result;

  if (k.install == "npm") {
    if (!options.force) {
      if (auto m = find_installed_model(k.name); m && m->source.rfind(npm_package(), 0) == 0 && verify_model(*m).empty()) {
        result.model = *m;
        result.already_installed = true;
        return result;
      }
    }
    ModelLock lock(k.name);
    install_nsfwjs(k.name);
    auto m = find_installed_model(k.name);
    if (!m) throw Error(ErrorCode::model_missing, "the nsfwjs installer did not install " + k.name, models_dir().string());
    result.model = *m;
    return result;
  }
  if (k.files.empty()) throw Error(ErrorCode::model_missing, "the catalogue has no files for '" + k.name + "'");

  ModelLock lock(k.name);
  if (!options.force) {
    if (auto m = find_installed_model(k.name); m && looks_intact(*m, k)) {
      result.model = *m;
      result.already_installed = true;
      return result;
    }
  }

  const fs::path partial_dir = partial_root() / k.name;
  fs::create_directories(partial_dir);
  struct Got {
    fs::path part;
    std::string sha256, url;
  };
  std::vector<Got> got;
  for (const auto& f : k.files) {
    const std::string url = model_url(k, f);
    if (url.empty())
      throw Error(ErrorCode::model_missing, "no download URL for " + k.name + "/" + f.name +
                                                ": `safescan models import FILE --name " + k.name + "` installs a copy you have");
    const fs::path part =
        partial_dir / (f.name + (f.sha256.empty() ? std::string() : "." + f.sha256.substr(0, 16)) + ".part");
    DownloadOptions d = options.download;
    d.expected_sha256 = f.sha256;
    d.expected_size = f.size;
    if (d.label.empty()) d.label = k.files.size() == 1 ? k.name : k.name + "/" + f.name;
    spdlog::info("{}: downloading {}", k.name, url);
    DownloadResult r;
    try {
      r = download_file(url, part, d);
    } catch (const Error&) {
      std::error_code ec;
      fs::remove(partial_dir, ec);  // only when empty: nothing to resume from
      throw;
    }
    result.downloaded += r.bytes - std::min(r.bytes, r.resumed_from);
    got.push_back({part, r.sha256, url});
  }

  Staging staging(k.name);
  auto manifest = base_manifest(k.name, k.kind, k.format);
  nlohmann::ordered_json source;
  source["project"] = k.source;
  if (got.size() == 1) {
    source["url"] = got[0].url;
  } else {
    for (std::size_t i = 0; i < got.size(); ++i) source["urls"][k.files[i].name] = got[i].url;
  }
  source["license"] = k.license;
  manifest["source"] = source;
  for (std::size_t i = 0; i < got.size(); ++i) {
    fs::rename(got[i].part, staging.path() / k.files[i].name);
    manifest["files"][k.files[i].name] = got[i].sha256;
  }
  manifest["installed"] = {{"by", "safescan models pull"}, {"at", now_iso8601()}};
  write_manifest(staging.path(), manifest);
  result.model = commit_install(k.name, staging);
  std::error_code ec;
  fs::remove_all(partial_dir, ec);
  return result;
}

// --- import ---------------------------------------------------------------------------------

InstalledModel import_model(const fs::path& path, const ImportOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::unreadable, "no such file or folder", path.string());
  struct Entry {
    fs::path src;
    std::string dest;  // file name in the model folder
    std::string sha256;
  };
  std::vector<Entry> entries;
  const bool folder = fs::is_directory(path, ec);
  if (folder) {
    if (options.name.empty())
      throw Error(ErrorCode::invalid_argument, "importing a folder needs --name NAME", path.string());
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file(ec) && e.path().filename() != kManifest) entries.push_back({e.path(), e.path().filename().string(), {}});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.dest < b.dest; });
    if (entries.empty()) throw Error(ErrorCode::unreadable, "the folder has no files", path.string());
  } else if (fs::is_regular_file(path, ec)) {
    entries.push_back({path, path.filename().string(), {}});
  } else {
    throw Error(ErrorCode::unreadable, "not a regular file or folder", path.string());
  }
  for (auto& e : entries) e.sha256 = sha256_file(e.src);

  std::string name = options.name;
  const KnownModel* known = nullptr;
  if (name.empty()) {
    const Entry& e = entries[0];
    for (const auto& k : known_models()) {
      for (const auto& f : k.files) {
        if (!f.sha256.empty() && f.sha256 == e.sha256) {
          known = &k;
          name = k.name;
          entries[0].dest = f.name;
        }
      }
    }
    if (!known) {
      for (const auto& k : known_models())
        for (const auto& f : k.files)
          if (f.name == e.dest && !f.sha256.empty())
            throw Error(ErrorCode::model_invalid,
                        "named like " + k.name + "'s " + f.name + " but its sha256 " + e.sha256 +
                            " is not the published " + f.sha256 + " (a damaged or different file?)",
                        e.src.string());
      throw Error(ErrorCode::invalid_argument,
                  "not a file the catalogue knows (sha256 " + e.sha256 +
                      "): pass --name NAME to install it as a model of your own",
                  e.src.string());
    }
  } else {
    check_model_name(name);
    known = find_known_model(name);
    if (known && !known->files.empty()) {
      for (auto& e : entries) {
        const ModelFile* match = nullptr;
        for (const auto& f : known->files)
          if (!f.sha256.empty() && f.sha256 == e.sha256) match = &f;
        if (match) {
          e.dest = match->name;
          continue;
        }
        const ModelFile* expected = nullptr;
        for (const auto& f : known->files)
          if (f.name == e.dest) expected = &f;
        if (!expected && known->files.size() == 1) expected = &known->files[0];
        if (expected)
          throw Error(ErrorCode::model_invalid,
                      "sha256 mismatch for " + name + "'s " + expected->name + ": expected " + expected->sha256 +
                          ", got " + e.sha256 + "; nothing was installed",
                      e.src.string());
        std::string list;
        for (const auto& f : known->files) list += (list.empty() ? "" : ", ") + f.name;
        throw Error(ErrorCode::model_invalid, "not one of " + name + "'s files (" + list + ")", e.src.string());
      }
    } else if (known) {
      spdlog::warn("{}: the catalogue has no checksums for this model; installing the files as they are", name);
    }
  }

  ModelLock lock(name);
  Staging staging(name);
  auto manifest = base_manifest(name, known ? known->kind : "custom",
                                known ? known->format
                                      : folder ? (fs::exists(path / "model.json", ec) ? "tfjs" : "folder")
                                               : entries[0].src.extension().string().substr(
                                                     entries[0].src.extension().empty() ? 0 : 1));
  nlohmann::ordered_json source;
  source["imported_from"] = fs::absolute(path, ec).string();
  if (known) {
    source["project"] = known->source;
    source["license"] = known->license;
  }
  manifest["source"] = source;
  nlohmann::ordered_json files = nlohmann::ordered_json::object();

  // Other files of a multi-file catalogue model that are installed and intact stay.
  if (known && known->files.size() > 1) {
    if (auto installed = find_installed_model(name)) {
      for (const auto& f : known->files) {
        const bool importing = std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.dest == f.name; });
        const auto it = installed->files.find(f.name);
        if (importing || it == installed->files.end() || it->second != f.sha256) continue;
        if (sha256_file(installed->path / f.name) != f.sha256) continue;
        fs::copy_file(installed->path / f.name, staging.path() / f.name, fs::copy_options::overwrite_existing);
        files[f.name] = f.sha256;
      }
    }
  }
  for (const auto& e : entries) {
    const fs::path dest = staging.path() / e.dest;
    fs::copy_file(e.src, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error(ErrorCode::unreadable, "cannot copy: " + ec.message(), e.src.string());
    fs::permissions(dest, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                    fs::perm_options::replace, ec);
    const std::string copied = sha256_file(dest);
    if (copied != e.sha256)
      throw Error(ErrorCode::unreadable, "the file changed while it was being copied (sha256 " + e.sha256 + ", then " +
                                             copied + ")", e.src.string());
    files[e.dest] = e.sha256;
  }
  manifest["files"] = files;
  manifest["installed"] = {{"by", "safescan models import"}, {"at", now_iso8601()}};
  write_manifest(staging.path(), manifest);
  return commit_install(name, staging);
}

// --- remove ---------------------------------------------------------------------------------

std::uintmax_t remove_model(std::string_view name) {
  check_model_name(name);
  const fs::path target = models_dir() / std::string(name);
  std::error_code ec;
  if (!fs::is_directory(target, ec))
    throw Error(ErrorCode::model_missing, "model '" + std::string(name) + "' is not installed", target.string());
  ModelLock lock(name);
  std::uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(target, ec))
    if (e.is_regular_file(ec)) bytes += e.file_size(ec);
  // Renamed away first, so the model disappears at once even if deleting takes a while.
  const fs::path gone = partial_root() / (std::string(name) + ".removed-" + std::to_string(::getpid()));
  fs::remove_all(gone, ec);
  fs::rename(target, gone, ec);
  if (ec) throw Error(ErrorCode::unreadable, "cannot remove: " + ec.message(), target.string());
  fs::remove_all(gone, ec);
  fs::remove_all(partial_root() / std::string(name), ec);  // partial downloads
  return bytes;
}

}  // namespace safescan
