// The downloader: one URL into one file with resume, retries, timeouts, progress and a
// sha256 check. See include/safescan/download.hpp and docs/models-manager.md.
#include "safescan/download.hpp"

#include <curl/curl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/sha256.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string format_bytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

namespace {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 360000) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error(ErrorCode::internal, "curl_global_init failed");
  });
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// --- progress -----------------------------------------------------------------------------

class ProgressReporter {
 public:
  ProgressReporter(const DownloadOptions& opt, std::string label) : opt_(opt), label_(std::move(label)) {
    style_ = opt.progress;
    if (style_ == ProgressStyle::automatic) style_ = ::isatty(STDERR_FILENO) ? ProgressStyle::bar : ProgressStyle::log;
    start_ = last_log_ = Clock::now();
  }

  void begin_attempt(std::uint64_t bytes) {
    samples_.clear();
    samples_.push_back({Clock::now(), bytes});
    attempt_start_bytes_ = bytes;
  }

  void update(std::uint64_t bytes, std::uint64_t total, bool force = false) {
    const auto now = Clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    samples_.push_back({now, bytes});
    while (samples_.size() > 2 && now - samples_.front().t > std::chrono::seconds(5)) samples_.pop_front();
    const double dt = std::chrono::duration<double>(now - samples_.front().t).count();
    const double speed = dt > 0.2 && bytes >= samples_.front().bytes ? (bytes - samples_.front().bytes) / dt : speed_;
    speed_ = speed;
    if (opt_.on_progress) opt_.on_progress(DownloadProgress{bytes, total, speed});
    if (style_ == ProgressStyle::bar) {
      draw_bar(bytes, total, speed);
    } else if (style_ == ProgressStyle::log && now - last_log_ >= opt_.log_interval) {
      last_log_ = now;
      spdlog::info("{}: {}", label_, summary(bytes, total, speed));
    }
  }

  // Clears the bar before a log message so the two do not mix.
  void interrupt() {
    if (style_ == ProgressStyle::bar && drawn_) {
      std::fprintf(stderr, "\r\x1b[K");
      std::fflush(stderr);
      drawn_ = false;
    }
  }

  void finish(std::uint64_t bytes, bool ok) {
    if (style_ == ProgressStyle::bar && drawn_) {
      std::fprintf(stderr, "\n");
      std::fflush(stderr);
      drawn_ = false;
    }
    if (ok && style_ != ProgressStyle::none) {
      const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
      const std::uint64_t got = bytes - std::min(bytes, first_bytes_);
      spdlog::info("{}: {} downloaded in {:.1f} s ({}/s)", label_, format_bytes(got), secs,
                   format_bytes(secs > 0 ? static_cast<std::uint64_t>(got / secs) : got));
    }
  }

  void set_first_bytes(std::uint64_t b) { first_bytes_ = b; }
  ProgressStyle style() const { return style_; }

 private:
  struct Sample {
    Clock::time_point t;
    std::uint64_t bytes;
  };

  static std::string summary(std::uint64_t bytes, std::uint64_t total, double speed) {
    std::string s = format_bytes(bytes);
    if (total > 0) {
      char pct[16];
      std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * static_cast<double>(bytes) / static_cast<double>(total));
      s += " of " + format_bytes(total) + pct;
    }
    s += ", " + format_bytes(static_cast<std::uint64_t>(speed)) + "/s";
    if (total > bytes && speed > 0) s += ", ETA " + format_duration((total - bytes) / speed);
    return s;
  }

  void draw_bar(std::uint64_t bytes, std::uint64_t total, double speed) {
    int cols = 80;
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) cols = ws.ws_col;
    std::string label = label_.size() > 28 ? label_.substr(0, 27) + "~" : label_;
    std::string right = "  " + format_bytes(bytes);
    if (total > 0) right += "/" + format_bytes(total);
    right += speed > 0 ? "  " + format_bytes(static_cast<std::uint64_t>(speed)) + "/s" : "  --/s";
    if (total > bytes) right += "  ETA " + (speed > 0 ? format_duration((total - bytes) / speed) : std::string("--:--"));
    std::string line = label;
    if (total > 0) {
      const double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total));
      char pct[8];
      std::snprintf(pct, sizeof pct, "%3.0f%%", frac * 100);
      // A fixed allowance for the numbers on the right keeps the bar from changing width.
      const int width = std::max(10, cols - static_cast<int>(label.size()) - 62);
      const int fill = static_cast<int>(frac * width);
      line += " [" + std::string(fill, '#') + std::string(width - fill, '.') + "] " + pct;
    }
    line += right;
    if (static_cast<int>(line.size()) >= cols) line.resize(cols - 1);
    std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  const DownloadOptions& opt_;
  std::string label_;
  ProgressStyle style_;
  Clock::time_point start_, last_log_, last_draw_{};
  std::deque<Sample> samples_;
  std::uint64_t attempt_start_bytes_ = 0, first_bytes_ = 0;
  double speed_ = 0;
  bool drawn_ = false;
};

// --- one request --------------------------------------------------------------------------

struct Transfer {
  FILE* file = nullptr;
  std::uint64_t offset = 0;   // bytes on disk when the request was sent (what we asked to skip)
  std::uint64_t on_disk = 0;  // bytes on disk now
  ProgressReporter* progress = nullptr;
  std::uint64_t expected_size = 0;

  // The response being received (reset at every status line: redirects, 100-continue).
  long status = 0;
  std::string reason;
  std::optional<std::uint64_t> content_length;
  std::optional<std::uint64_t> range_start, range_total;
  std::optional<long> retry_after;
  bool decided = false;     // the first body byte has been seen
  bool discard = false;     // an error response: keep a little of the body, write nothing
  bool restarted = false;   // the server ignored our range: started again from zero
  bool bad_range = false;   // 206 for an offset we did not ask for
  std::string error_body;
  std::string write_error;
  // Stall detection (curl's own low-speed limit averages over several seconds, so a stall
  // right after some data would be noticed late): any header or body byte is activity.
  Clock::time_point last_activity = Clock::now();
  std::chrono::seconds stall_timeout{30};
  bool stalled = false;
  bool connected = false;  // before that, the connect timeout applies
  CURL* curl = nullptr;

  std::uint64_t total() const {
    if (range_total) return *range_total;
    if (status == 200 && content_length) return *content_length;
    if (status == 206 && content_length) return offset + *content_length;
    return expected_size;
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_activity = Clock::now();
  const std::string_view line(data, size * n);
  if (starts_with_nocase(line, "HTTP/")) {
    t->status = 0;
    t->reason.clear();
    t->content_length.reset();
    t->range_start.reset();
    t->range_total.reset();
    t->retry_after.reset();
    // "HTTP/1.1 404 Not Found"
    const auto sp = line.find(' ');
    if (sp != std::string_view::npos) {
      const std::string rest = trim(line.substr(sp + 1));
      t->status = std::strtol(rest.c_str(), nullptr, 10);
      const auto sp2 = rest.find(' ');
      if (sp2 != std::string::npos) t->reason = rest.substr(sp2 + 1);
    }
  } else if (starts_with_nocase(line, "content-length:")) {
    t->content_length = parse_u64(trim(line.substr(15)));
  } else if (starts_with_nocase(line, "content-range:")) {
    // "bytes 100-999/1000" or "bytes */1000"
    std::string v = trim(line.substr(14));
    if (starts_with_nocase(v, "bytes")) v = trim(std::string_view(v).substr(5));
    const auto slash = v.find('/');
    if (slash != std::string::npos) {
      t->range_total = parse_u64(v.substr(slash + 1));
      const std::string range = v.substr(0, slash);
      const auto dash = range.find('-');
      if (dash != std::string::npos) t->range_start = parse_u64(range.substr(0, dash));
    }
  } else if (starts_with_nocase(line, "retry-after:")) {
    if (auto s = parse_u64(trim(line.substr(12)))) t->retry_after = static_cast<long>(std::min<std::uint64_t>(*s, 3600));
  }
  return size * n;
}

bool truncate_to_zero(Transfer* t) {
  if (std::fflush(t->file) != 0 || ::ftruncate(::fileno(t->file), 0) != 0) {
    t->write_error = std::strerror(errno);
    return false;
  }
  t->offset = t->on_disk = 0;
  return true;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  t->last_activity = Clock::now();
  if (!t->decided) {
    t->decided = true;
    if (t->status < 200 || t->status >= 300) {
      t->discard = true;
    } else if (t->status == 206) {
      const std::uint64_t start = t->range_start.value_or(0);
      if (start != t->offset) {
        if (start != 0) {
          t->bad_range = true;  // some other part of the file: start over on the next attempt
          return 0;
        }
        if (!truncate_to_zero(t)) return 0;
        t->restarted = true;
      }
    } else if (t->offset > 0) {  // 200 (or another 2xx): the whole file, from byte 0
      if (!truncate_to_zero(t)) return 0;
      t->restarted = true;
      t->progress->interrupt();
      spdlog::warn("the server ignored the range request (HTTP {} instead of 206): downloading again from the start",
                   t->status);
    }
  }
  if (t->discard) {
    if (t->error_body.size() < 512) t->error_body.append(data, std::min<size_t>(len, 512 - t->error_body.size()));
    return len;
  }
  if (std::fwrite(data, 1, len, t->file) != len) {
    t->write_error = std::strerror(errno);
    return 0;
  }
  t->on_disk += len;
  t->progress->update(t->on_disk, t->total());
  return len;
}

int on_xferinfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->decided && !t->discard) t->progress->update(t->on_disk, t->total());
  if (!t->connected) {
    curl_off_t connect_us = 0;
    if (curl_easy_getinfo(t->curl, CURLINFO_CONNECT_TIME_T, &connect_us) != CURLE_OK || connect_us <= 0) return 0;
    t->connected = true;
    t->last_activity = Clock::now();
  }
  if (Clock::now() - t->last_activity > t->stall_timeout) {
    t->stalled = true;
    return 1;  // abort the transfer: CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

bool transient_http(long status) {
  return status == 408 || status == 425 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

bool transient_curl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

std::uint64_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  const auto s = fs::file_size(p, ec);
  return ec ? 0 : s;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// What one attempt ended with.
struct Outcome {
  bool complete = false;
  bool retry = false;            // worth another attempt
  bool restart_from_zero = false;  // delete the partial file first
  std::optional<long> retry_after;
  std::string message;  // why it failed
};

Outcome attempt(const std::string& url, const fs::path& dest, const DownloadOptions& opt, ProgressReporter& progress,
                DownloadResult& result) {
  Outcome out;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) throw Error(ErrorCode::internal, "curl_easy_init failed");

  Transfer t;
  t.progress = &progress;
  t.expected_size = opt.expected_size;
  t.stall_timeout = std::max(std::chrono::seconds(1), opt.low_speed_timeout);
  t.file = std::fopen(dest.c_str(), "ab");
  if (!t.file) throw Error(ErrorCode::unreadable, std::string("cannot write the download: ") + std::strerror(errno), dest.string());
  t.offset = t.on_disk = file_size_or_zero(dest);
  progress.begin_attempt(t.offset);
  t.last_activity = Clock::now();

  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string range = std::to_string(t.offset) + "-";
  const std::string agent = std::string("safescan/") + SAFESCAN_VERSION;
  CURL* c = curl.get();
  t.curl = c;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::chrono::milliseconds(opt.connect_timeout).count()));
  if (t.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  const std::uint64_t asked_from = t.offset;
  const CURLcode rc = curl_easy_perform(c);
  // A 200 with an empty body never reaches on_body: the restart still applies.
  if (rc == CURLE_OK && !t.decided && t.status >= 200 && t.status < 300 && t.status != 206 && t.offset > 0) {
    truncate_to_zero(&t);
  }
  const bool flushed = std::fflush(t.file) == 0 && ::fsync(::fileno(t.file)) == 0;
  std::fclose(t.file);
  if (!flushed && t.write_error.empty()) t.write_error = std::strerror(errno);

  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) result.effective_url = effective;
  const std::string via = effective && url != effective ? " (redirected to " + std::string(effective) + ")" : "";

  if (!t.write_error.empty()) {
    throw Error(ErrorCode::unreadable, "cannot write the download: " + t.write_error, dest.string());
  }
  if (t.bad_range) {
    out.retry = out.restart_from_zero = true;
    out.message = "the server answered a range request for byte " + std::to_string(asked_from) + " with bytes from " +
                  std::to_string(t.range_start.value_or(0)) + via;
    return out;
  }
  if (t.status == 416 && asked_from > 0) {
    // Our partial file is as long as the resource or longer: complete, or stale.
    if (t.range_total && *t.range_total == asked_from) {
      out.complete = true;
      return out;
    }
    out.retry = out.restart_from_zero = true;
    out.message = "HTTP 416: the partial file (" + format_bytes(asked_from) + ") does not fit the resource" + via;
    return out;
  }
  if (t.status >= 300 || (rc == CURLE_OK && t.status < 200)) {
    out.retry = transient_http(t.status);
    out.retry_after = t.retry_after;
    out.message = "HTTP " + std::to_string(t.status) + (t.reason.empty() ? "" : " " + t.reason) + via;
    return out;
  }
  if (rc != CURLE_OK) {
    out.retry = transient_curl(rc) || t.stalled;
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (t.stalled)
      why = "no data for " + std::to_string(t.stall_timeout.count()) + " s (stall timeout)";
    else if (rc == CURLE_OPERATION_TIMEDOUT)
      why = "timed out (" + why + ")";
    if (t.on_disk > 0 && t.decided) why += " after " + format_bytes(t.on_disk) + (t.total() ? " of " + format_bytes(t.total()) : "");
    out.message = why + via;
    return out;
  }
  if (t.total() > 0 && t.on_disk != t.total() && (t.range_total || t.content_length)) {
    out.retry = true;
    out.message = "the server sent " + format_bytes(t.on_disk) + " of " + format_bytes(t.total()) + via;
    return out;
  }
  out.complete = true;
  return out;
}

}  // namespace

DownloadResult download_file(const std::string& url, const fs::path& dest, const DownloadOptions& opt) {
  global_init();
  DownloadResult result;
  std::string label = opt.label;
  if (label.empty()) {
    const auto slash = url.find_last_of('/');
    label = slash == std::string::npos ? url : url.substr(slash + 1);
  }
  ProgressReporter progress(opt, label);

  auto delete_partial = [&] {
    std::error_code ec;
    fs::remove(dest, ec);
  };

  // A partial file already as long as the expected size needs no request when it verifies;
  // a longer one is stale.
  if (opt.expected_size > 0) {
    const auto have = file_size_or_zero(dest);
    if (have > opt.expected_size) delete_partial();
  }

  result.resumed_from = file_size_or_zero(dest);
  progress.set_first_bytes(result.resumed_from);
  if (result.resumed_from > 0) {
    spdlog::info("{}: resuming from {} already downloaded", label, format_bytes(result.resumed_from));
  }
  const int max_attempts = std::max(1, opt.max_attempts);
  auto backoff = opt.backoff;
  Outcome last;
  bool complete = false;
  bool checked_existing = false;
  for (int attempt_no = 1; attempt_no <= max_attempts; ++attempt_no) {
    if (!checked_existing && opt.expected_size > 0 && !opt.expected_sha256.empty() &&
        file_size_or_zero(dest) == opt.expected_size) {
      checked_existing = true;
      if (sha256_file(dest) == opt.expected_sha256) {
        complete = true;
        break;
      }
      delete_partial();
    }
    ++result.attempts;
    last = attempt(url, dest, opt, progress, result);
    if (last.complete) {
      complete = true;
      break;
    }
    if (last.restart_from_zero) delete_partial();
    if (!last.retry || attempt_no == max_attempts) break;
    auto wait = backoff;
    if (last.retry_after) wait = std::max(wait, std::chrono::milliseconds(*last.retry_after * 1000));
    wait = std::min(wait, opt.max_backoff);
    progress.interrupt();
    spdlog::warn("{}: {}; retrying in {:.1f} s (attempt {} of {})", url, last.message, wait.count() / 1000.0,
                 attempt_no + 1, max_attempts);
    std::this_thread::sleep_for(wait);
    backoff = std::min(backoff * 2, opt.max_backoff);
  }
  result.bytes = file_size_or_zero(dest);
  if (complete && progress.style() == ProgressStyle::bar) progress.update(result.bytes, result.bytes, /*force=*/true);
  progress.finish(result.bytes, complete);
  if (!complete) {
    std::string msg = "download failed: " + last.message;
    if (result.attempts > 1) msg += " (after " + std::to_string(result.attempts) + " attempts)";
    if (last.retry && result.bytes > 0)
      msg += "; " + format_bytes(result.bytes) + " kept in " + dest.string() + ", the next attempt resumes from there";
    throw Error(ErrorCode::network, msg, url);
  }
  result.sha256 = sha256_file(dest);
  if (!opt.expected_sha256.empty() && result.sha256 != opt.expected_sha256) {
    delete_partial();
    throw Error(ErrorCode::model_invalid,
                "checksum mismatch: expected sha256 " + opt.expected_sha256 + ", got " + result.sha256 + " (" +
                    format_bytes(result.bytes) + "); the downloaded file was deleted",
                url);
  }
  return result;
}

}  // namespace safescan
