// Runs a program for the end-to-end tests: an argv vector (no shell, so no quoting), an
// optional standard input, extra environment variables, and a timeout. Captures standard
// output, standard error and the exit status separately.
//
//   auto r = safescan::testing::run_command({"/bin/echo", "a b"});
//   // r.exit_code == 0, r.out == "a b\n"
//
// Header-only, POSIX (posix_spawn + poll); no GoogleTest dependency.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace safescan::testing {

struct CommandOptions {
  // Written to the child's standard input, which is then closed. Without it the child's
  // standard input is /dev/null.
  std::optional<std::string> stdin_data;
  // Variables to set (or, with std::nullopt, to remove) on top of this process's environment.
  std::map<std::string, std::optional<std::string>> env;
  // Working directory of the child (empty: this process's).
  std::filesystem::path cwd;
  // Killed with SIGKILL after this long; CommandResult::timed_out is then true.
  std::chrono::milliseconds timeout{60'000};
};

struct CommandResult {
  int exit_code = -1;  // the exit status, or -1 when killed by a signal
  int signal = 0;      // the signal that ended the child, 0 if it exited
  bool timed_out = false;
  std::string out;  // standard output
  std::string err;  // standard error
  double seconds = 0;

  // One line summary for assertion messages: the status and the captured output.
  std::string describe() const {
    std::string s = timed_out ? "timed out" : signal ? "killed by signal " + std::to_string(signal)
                                                     : "exit status " + std::to_string(exit_code);
    return s + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err + "---";
  }
};

namespace detail {

inline void check_posix(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("run_command: ") + what + ": " + std::strerror(rc));
}

inline void check_errno(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string("run_command: ") + what + ": " + std::strerror(errno));
}

// Closes a file descriptor once.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace detail

inline CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {}) {
  using detail::check_errno;
  using detail::check_posix;
  using detail::Fd;
  if (argv.empty()) throw std::invalid_argument("run_command: empty argv");

  // Writing to a child that has already exited must not kill the test with SIGPIPE: ignore
  // it here (write then fails with EPIPE), and restore the default in the child.
  static const bool sigpipe_ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (!options.env.count(key)) env_strings.push_back(kv);
  }
  for (const auto& [key, value] : options.env) {
    if (value) env_strings.push_back(key + "=" + *value);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in_pipe[2] = {-1, -1}, out_pipe[2], err_pipe[2];
  if (options.stdin_data) check_errno(::pipe2(in_pipe, O_CLOEXEC), "pipe");
  check_errno(::pipe2(out_pipe, O_CLOEXEC), "pipe");
  check_errno(::pipe2(err_pipe, O_CLOEXEC), "pipe");
  Fd in_read(in_pipe[0]), in_write(in_pipe[1]);
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  check_posix(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init");
  posix_spawnattr_t attr;
  check_posix(posix_spawnattr_init(&attr), "posix_spawnattr_init");
  struct Cleanup {
    posix_spawn_file_actions_t* a;
    posix_spawnattr_t* t;
    ~Cleanup() {
      posix_spawn_file_actions_destroy(a);
      posix_spawnattr_destroy(t);
    }
  } cleanup{&actions, &attr};

  // dup2 clears FD_CLOEXEC on the target, so only 0, 1 and 2 survive the exec.
  if (options.stdin_data) {
    check_posix(posix_spawn_file_actions_adddup2(&actions, in_read.fd, STDIN_FILENO), "adddup2");
  } else {
    check_posix(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0), "addopen");
  }
  check_posix(posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO), "adddup2");
  check_posix(posix_spawn_file_actions_adddup2(&actions, err_write.fd, STDERR_FILENO), "adddup2");
  if (!options.cwd.empty()) {
    check_posix(posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str()), "addchdir");
  }
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  check_posix(posix_spawnattr_setsigdefault(&attr, &defaults), "setsigdefault");
  check_posix(posix_spawnattr_setsigmask(&attr, &none), "setsigmask");
  check_posix(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), "setflags");

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  check_posix(posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data()),
              ("posix_spawn " + argv[0]).c_str());
  in_read.reset();
  out_write.reset();
  err_write.reset();

  CommandResult result;
  const std::string& input = options.stdin_data ? *options.stdin_data : std::string();
  std::size_t written = 0;
  if (in_write.fd >= 0) {
    ::fcntl(in_write.fd, F_SETFL, ::fcntl(in_write.fd, F_GETFL) | O_NONBLOCK);
    if (input.empty()) in_write.reset();
  }
  const auto deadline = start + options.timeout;
  char buffer[65536];
  while (out_read.fd >= 0 || err_read.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    for (Fd* f : {&out_read, &err_read, &in_write}) {
      if (f->fd < 0) continue;
      fds[n++] = {f->fd, static_cast<short>(f == &in_write ? POLLOUT : POLLIN), 0};
    }
    const int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    check_errno(ready, "poll");
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_write.fd) {
        const ssize_t w = ::write(in_write.fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in_write.reset();  // EPIPE: child gone
        continue;
      }
      Fd& src = fds[i].fd == out_read.fd ? out_read : err_read;
      std::string& dst = &src == &out_read ? result.out : result.err;
      const ssize_t r = ::read(src.fd, buffer, sizeof buffer);
      if (r > 0) {
        dst.append(buffer, static_cast<std::size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        src.reset();
      }
    }
  }
  in_write.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("run_command: waitpid: ") + std::strerror(errno));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace safescan::testing
