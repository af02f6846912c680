// UnitEnumerator: command-line SOURCE arguments -> a stream of work units.
//
// Memory stays bounded: a directory walk holds one sorted listing (names and types only) per
// open directory level, a list file is read line by line, shard patterns are expanded one
// argument at a time and an .npy is cut into slices from its header alone.
#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <atomic>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <spdlog/spdlog.h>

#include "dataset/source_readers.hpp"
#include "io/tensor_file.hpp"
#include "safescan/image.hpp"
#include "safescan/sources.hpp"

namespace safescan {

namespace fs = std::filesystem;

namespace {

enum class ArgKind { stdin_list, directory, tar, npy, list, file };

// What a regular file (or a symlink to one) holds, judged by its name or, when the name says
// nothing, by its first bytes. An error when it cannot be opened (permission denied...).
struct Probe {
  bool image = false;
  std::optional<Error> error;
};

Probe probe_file(const fs::path& path) {
  if (has_image_extension(path.filename().string())) return {true, std::nullopt};
  // Only regular files are sniffed: opening a FIFO waits for a writer (the walk would hang)
  // and a device may never end.
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {false, Error(ErrorCode::unreadable, std::string("cannot read: ") + std::strerror(errno), path.string())};
  std::array<std::uint8_t, 32> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  return {sniff_format(std::span(head.data(), static_cast<std::size_t>(in.gcount()))) != ImageFormat::unknown, std::nullopt};
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char suffix_char, char c) { return std::tolower(static_cast<unsigned char>(c)) == suffix_char; });
}

bool is_tar_name(std::string_view s) {
  return ends_with_nocase(s, ".tar") || ends_with_nocase(s, ".tar.gz") || ends_with_nocase(s, ".tgz");
}

ArgKind classify(const std::string& arg) {
  if (arg == "-") return ArgKind::stdin_list;
  std::error_code ec;
  const auto st = fs::status(arg, ec);  // follows a symlink named on the command line
  if (fs::is_directory(st)) return ArgKind::directory;
  if (is_tar_name(arg)) return ArgKind::tar;
  if (ends_with_nocase(arg, ".npy")) return ArgKind::npy;
  if ((ends_with_nocase(arg, ".txt") || ends_with_nocase(arg, ".lst") || ends_with_nocase(arg, ".list")) &&
      fs::is_regular_file(st) && !probe_file(arg).image)
    return ArgKind::list;
  return ArgKind::file;
}

// Shard names of a tar / npy argument: the argument itself when it names an existing file
// (so a literal '{' in a file name works), else its brace expansion.
std::vector<std::string> shard_names(const std::string& arg) {
  std::error_code ec;
  if (arg.find('{') == std::string::npos || fs::exists(arg, ec)) return {arg};
  return expand_braces(arg);
}

struct Entry {
  std::string name;
  fs::file_type type = fs::file_type::none;  // from the directory listing (lstat-like)
};

struct Frame {
  fs::path dir;  // as enumerated: the argument joined with the walked names
  std::vector<Entry> entries;
  std::size_t pos = 0;
};

// Lists `dir` sorted by name, hidden entries left out; an error names the directory.
std::optional<Error> list_directory(const fs::path& dir, std::vector<Entry>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    const auto type = it->symlink_status(type_ec).type();
    out.push_back({std::move(name), type_ec ? fs::file_type::none : type});
  }
  if (ec) {
    out.clear();
    return Error(ErrorCode::unreadable, "cannot list directory: " + ec.message(), dir.string());
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return std::nullopt;
}

}  // namespace

struct UnitEnumerator::Impl {
  std::vector<std::string> args;
  SourceOptions options;
  std::size_t next_arg = 0;
  std::size_t next_index = 0;
  std::atomic<std::size_t> items{0};  // read by the progress thread
  std::atomic<bool> done{false};

  enum class State { idle, walk, list, shards } state = State::idle;
  std::string source;  // the argument being enumerated
  // walk
  std::vector<Frame> stack;
  // list
  std::ifstream list_file;
  std::istream* list = nullptr;
  // tar / npy: the expanded names of one argument
  ArgKind shard_kind = ArgKind::tar;
  std::vector<std::string> names;
  std::size_t name_pos = 0;
  std::uint64_t npy_rows = 0, npy_next_row = 0;
  bool npy_open = false;

  std::size_t files_per_unit() const { return std::max<std::size_t>(1, options.files_per_unit); }

  WorkUnit make_unit(SourceKind kind, std::string unit_source) {
    WorkUnit unit;
    unit.kind = kind;
    unit.source = std::move(unit_source);
    unit.index = next_index++;
    return unit;
  }

  std::optional<WorkUnit> files_unit(std::vector<UnitFile>&& files, const std::string& unit_source) {
    if (files.empty()) return std::nullopt;
    items += files.size();
    WorkUnit unit = make_unit(SourceKind::files, unit_source);
    unit.files = std::move(files);
    return unit;
  }

  std::optional<WorkUnit> next() {
    while (!done) {
      std::optional<WorkUnit> unit;
      const State was = state;
      switch (state) {
        case State::idle: unit = start_next_argument(); break;
        case State::walk: unit = files_unit(walk_chunk(), source); break;
        case State::list: unit = files_unit(list_chunk(), source); break;
        case State::shards: unit = next_shard_unit(); break;
      }
      if (unit) return unit;
      if (was != State::idle) state = State::idle;  // that argument is exhausted
    }
    return std::nullopt;
  }

  std::optional<WorkUnit> start_next_argument() {
    if (next_arg == args.size()) {
      done = true;
      return std::nullopt;
    }
    source = args[next_arg++];
    switch (classify(source)) {
      case ArgKind::stdin_list:
        list = options.stdin_stream ? options.stdin_stream : &std::cin;
        state = State::list;
        break;
      case ArgKind::list:
        list_file = std::ifstream(source);
        if (!list_file) throw Error(ErrorCode::unreadable, "cannot open the list file", source);
        list = &list_file;
        state = State::list;
        break;
      case ArgKind::directory: {
        Frame root{fs::path(source), {}, 0};
        if (auto error = list_directory(root.dir, root.entries)) {
          spdlog::warn("{}", error->what());
          std::vector<UnitFile> files;
          files.push_back({source, std::move(error)});
          return files_unit(std::move(files), source);
        }
        stack.push_back(std::move(root));
        state = State::walk;
        break;
      }
      case ArgKind::tar:
      case ArgKind::npy:
        shard_kind = classify(source);
        names = shard_names(source);
        name_pos = 0;
        npy_open = false;
        state = State::shards;
        break;
      case ArgKind::file: {
        // Consecutive file arguments share units: source "" marks such a chunk.
        std::vector<UnitFile> files;
        files.push_back({source, std::nullopt});
        while (files.size() < files_per_unit() && next_arg < args.size() && classify(args[next_arg]) == ArgKind::file)
          files.push_back({args[next_arg++], std::nullopt});
        return files_unit(std::move(files), "");
      }
    }
    return std::nullopt;
  }

  // Up to files_per_unit files of the walk; empty when the walk is over.
  std::vector<UnitFile> walk_chunk() {
    std::vector<UnitFile> files;
    while (files.size() < files_per_unit() && !stack.empty()) {
      Frame& top = stack.back();
      if (top.pos == top.entries.size()) {
        stack.pop_back();
        continue;
      }
      const Entry entry = std::move(top.entries[top.pos++]);
      const fs::path path = top.dir / entry.name;
      fs::file_type type = entry.type;
      std::error_code ec;
      if (type == fs::file_type::none || type == fs::file_type::unknown) type = fs::symlink_status(path, ec).type();
      // Every entry that cannot be looked at is an error row with its reason, never a silent skip.
      if (type == fs::file_type::not_found || ec) {
        const std::string why = type == fs::file_type::not_found ? "vanished while the folder was walked"
                                                                 : "cannot look at it: " + ec.message();
        files.push_back({path.string(), Error(ErrorCode::unreadable, why, path.string())});
        continue;
      }
      if (type == fs::file_type::directory) {
        Frame frame{path, {}, 0};
        if (auto error = list_directory(path, frame.entries)) {
          spdlog::warn("{}", error->what());
          files.push_back({path.string(), std::move(error)});
        } else {
          stack.push_back(std::move(frame));
        }
        continue;
      }
      if (type == fs::file_type::symlink) {
        const auto target = fs::status(path, ec);
        if (ec == std::errc::too_many_symbolic_link_levels) {
          files.push_back({path.string(), Error(ErrorCode::unreadable, "symlink loop: " + ec.message(), path.string())});
          continue;
        }
        if (ec || target.type() == fs::file_type::not_found) {
          files.push_back({path.string(), Error(ErrorCode::unreadable, "dangling symlink: its target does not exist", path.string())});
          continue;
        }
        if (fs::is_directory(target)) continue;  // symlinked directories are never followed: no loops, no escaping the tree
      }
      Probe probe = probe_file(path);
      if (probe.error) files.push_back({path.string(), std::move(probe.error)});
      else if (probe.image) files.push_back({path.string(), std::nullopt});
    }
    return files;
  }

  std::vector<UnitFile> list_chunk() {
    std::vector<UnitFile> files;
    std::string line;
    while (files.size() < files_per_unit() && std::getline(*list, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      files.push_back({line, std::nullopt});
    }
    if (files.empty() && list == &list_file) list_file.close();
    return files;
  }

  std::optional<WorkUnit> next_shard_unit() {
    if (shard_kind == ArgKind::tar) {
      if (name_pos == names.size()) return std::nullopt;
      const std::string& name = names[name_pos++];
      WorkUnit unit = make_unit(SourceKind::tar, name);
      unit.shard = detail::absolute_normal(name);
      return unit;
    }
    while (true) {
      if (!npy_open) {
        if (name_pos == names.size()) return std::nullopt;
        open_npy(names[name_pos]);
      }
      const std::string& name = names[name_pos];
      // An empty or unreadable file still gets one unit (reading it yields its error).
      if (npy_next_row < npy_rows || (npy_next_row == 0 && npy_rows == 0)) {
        const std::uint64_t per_unit = std::max<std::size_t>(1, options.rows_per_unit);
        const std::uint64_t count = std::min(per_unit, npy_rows - npy_next_row);
        WorkUnit unit = make_unit(SourceKind::embeddings, name);
        unit.shard = detail::absolute_normal(name);
        unit.first_row = static_cast<std::size_t>(npy_next_row);
        unit.row_count = static_cast<std::size_t>(count);
        items += static_cast<std::size_t>(count);
        npy_next_row += count;
        if (count == 0) npy_next_row = 1;  // the one unit of an empty file is out
        return unit;
      }
      npy_open = false;
      ++name_pos;
    }
  }

  void open_npy(const std::string& name) {
    npy_open = true;
    npy_rows = npy_next_row = 0;
    try {
      npy_rows = detail::read_npy_layout(name).rows;
    } catch (const Error& e) {
      spdlog::warn("{}", e.what());
      return;
    }
    const fs::path keys = detail::keys_file_for(name);
    if (const auto lines = detail::count_key_lines(keys); !lines) {
      spdlog::info("{}: no keys file {}; rows are keyed by their number", name, keys.string());
    } else if (*lines != npy_rows) {
      spdlog::warn("{}: the keys file {} has {} lines for {} rows; rows are keyed by their number instead", name,
                   keys.string(), *lines, npy_rows);
    }
  }
};

SourceHints source_hints(const std::vector<std::string>& args) {
  SourceHints h;
  h.embeddings_only = !args.empty();
  for (const auto& a : args) {
    if (classify(a) != ArgKind::npy) {
      h.embeddings_only = false;
      continue;
    }
    if (h.embeddings_dim) continue;
    // The width of an N x D (or D) .npy, from its header (0 when it cannot be read: reading the
    // source then reports why).
    for (const std::string& name : shard_names(a)) {
      try {
        const io::NpyHeader header = io::read_npy_header(name);
        h.embeddings_dim = header.shape.empty() ? 0 : static_cast<int>(header.shape.back());
      } catch (const Error&) {
      }
      break;
    }
  }
  return h;
}

UnitEnumerator::UnitEnumerator(std::vector<std::string> args, SourceOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->args = std::move(args);
  impl_->options = options;
}
UnitEnumerator::UnitEnumerator(UnitEnumerator&&) noexcept = default;
UnitEnumerator& UnitEnumerator::operator=(UnitEnumerator&&) noexcept = default;
UnitEnumerator::~UnitEnumerator() = default;

std::optional<WorkUnit> UnitEnumerator::next() { return impl_->next(); }
std::size_t UnitEnumerator::items_so_far() const { return impl_->items; }
bool UnitEnumerator::finished() const { return impl_->done; }

}  // namespace safescan
