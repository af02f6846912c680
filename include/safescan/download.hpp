// safescan/download.hpp - fetch one URL into one file, robustly (libcurl).
//
//   safescan::DownloadOptions opt;
//   opt.expected_sha256 = "40d36571...";
//   auto r = safescan::download_file(url, "/models/.partial/clip-vit-b-32/ViT-B-32.pt.part", opt);
//
// What it does for you:
// - Resume: when `dest` already holds bytes (an earlier attempt or run was cut), it asks
//   for the rest with `Range: bytes=N-`. A server that answers 200 (ignoring the range)
//   or a 206 for another offset makes it start again from zero; a 416 (the partial file
//   is already as long as the resource, or longer) is checked against the checksum.
// - Retries with exponential backoff for transient failures: connection refused or cut,
//   timeouts, HTTP 408/429/5xx. Each retry resumes from what is already on disk.
// - Timeouts: a connect timeout, and a low-speed timeout (no bytes for N seconds is an
//   error, then retried), never a limit on the total time of a large file.
// - Redirects are followed (http and https only).
// - sha256 verification at the end: a mismatch deletes `dest` and throws an Error naming
//   the URL, the expected and the actual digest.
// - Progress on stderr: a bar (bytes, percent, speed, ETA) on a terminal, a log line every
//   few seconds otherwise.
//
// Errors are safescan::Error: ErrorCode::network for anything the transfer did (HTTP
// status, connection, timeout: the message names the URL and the status or curl's
// reason), model_invalid for a checksum mismatch, unreadable for a local file problem.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace safescan {

enum class ProgressStyle {
  automatic,  // bar when stderr is a terminal, log lines otherwise
  bar,
  log,
  none,
};

struct DownloadProgress {
  std::uint64_t bytes = 0;  // bytes of the file on disk so far (resumed bytes included)
  std::uint64_t total = 0;  // size of the whole file, 0 when unknown
  double bytes_per_second = 0;
};

struct DownloadOptions {
  std::string expected_sha256;  // lower-case hex; empty: not checked
  std::uint64_t expected_size = 0;  // 0: unknown (only used for progress before the server says)
  std::chrono::seconds connect_timeout{20};
  std::chrono::seconds low_speed_timeout{30};  // no bytes at all for this long -> error (retried)
  int max_attempts = 5;                        // 1 = no retry
  std::chrono::milliseconds backoff{1000};     // wait before the 2nd attempt; doubles, capped at max_backoff
  std::chrono::milliseconds max_backoff{30'000};
  ProgressStyle progress = ProgressStyle::automatic;
  std::chrono::seconds log_interval{10};  // ProgressStyle::log: one line this often
  std::string label;                      // shown in progress lines (default: the file name of the URL)
  // Called from the transfer loop (about 10 times a second); may be empty.
  std::function<void(const DownloadProgress&)> on_progress;
};

struct DownloadResult {
  std::string sha256;          // of the complete file
  std::uint64_t bytes = 0;     // size of the complete file
  std::uint64_t resumed_from = 0;  // bytes already on disk that the first request resumed from
  int attempts = 0;            // requests made (1 when all went well at once)
  std::string effective_url;   // after redirects
};

// Downloads `url` into `dest` (its parent folder must exist), resuming from the bytes
// `dest` already holds. On success `dest` is the complete, verified file. On a network
// failure `dest` keeps what was received, so a later call resumes; on a checksum
// mismatch it is deleted.
DownloadResult download_file(const std::string& url, const std::filesystem::path& dest,
                             const DownloadOptions& options = {});

// "1.5 MiB", "230 B": sizes for humans.
std::string format_bytes(std::uint64_t bytes);

}  // namespace safescan
