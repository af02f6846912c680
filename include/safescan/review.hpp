// safescan/review.hpp - `safescan review`: a small web app (cpp-httplib) in which a person
// reviews the flagged items of a scan database and records keep / remove / skip decisions.
//
//   safescan::ReviewOptions opt;
//   opt.db = "scan.db";
//   safescan::ReviewServer server(opt);   // opens the database, checks the options
//   int port = server.bind();             // listens (port 0: any free port)
//   std::cout << server.url() << "\n";    // with ?token=... when a token is required
//   server.run();                         // until stop() (from another thread / a signal)
//
// docs/review.md has the HTTP API, the keyboard shortcuts and the security model.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace safescan {

struct ReviewOptions {
  std::filesystem::path db;           // an existing scan database (opened read-write)
  std::string bind = "127.0.0.1";     // address to listen on
  int port = 8765;                    // 0: any free port
  std::string token;                  // access token; generated when empty and `bind` is not loopback
  std::string reviewer;               // recorded with every decision (non-empty)
  std::filesystem::path web_dir;      // the static assets (index.html ...); default_review_web_dir() when empty
  std::size_t thumb_cache_bytes = 64u << 20;  // in-memory cache of generated thumbnails
  std::size_t max_body_bytes = 64u << 10;     // larger request bodies get 413
};

// $SAFESCAN_WEB_DIR/review when the variable is set, else the source tree's web/review.
std::filesystem::path default_review_web_dir();

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_address(std::string_view address);

// 32 random bytes as 64 hex digits (from the system's random device).
std::string make_access_token();

class ReviewServer {
 public:
  // Throws Error(invalid_argument) for unusable options (empty reviewer, bad port, a token
  // with characters other than [A-Za-z0-9._~-]) and the errors of opening the database.
  explicit ReviewServer(ReviewOptions options);
  ~ReviewServer();
  ReviewServer(const ReviewServer&) = delete;
  ReviewServer& operator=(const ReviewServer&) = delete;

  // Binds the listening socket; returns the port. Throws Error(unreadable) when it cannot.
  int bind();
  // http://ADDRESS:PORT/ plus ?token=TOKEN when a token is in force. After bind().
  std::string url() const;
  // The token in force ("" when none: loopback without --token).
  const std::string& token() const;
  // Serves requests until stop(). Returns false when the server failed.
  bool run();
  // Thread-safe; run() returns soon after.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan
