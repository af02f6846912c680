// A tiny HTTP/1.1 server for the downloader tests: POSIX sockets, 127.0.0.1, a free port
// chosen by the kernel, one thread, one connection at a time ("Connection: close").
// Each test gives it a handler that writes whatever raw response the case needs: a good
// file, a 206 for a range, half a file then a cut, a stall, a redirect, an error.
//
//   TestHttpServer server([&](const TestHttpServer::Request& req, TestHttpServer::Conn& c) {
//     c.send_file(data, req);  // honours Range
//   });
//   download_file(server.url("/file.bin"), dest);
//   server.requests()[0].header("range");  // what the client asked for
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace safescan::testing {

class TestHttpServer {
 public:
  struct Request {
    std::string method, path;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string header(const std::string& name) const {
      const auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    }
  };

  class Conn {
   public:
    explicit Conn(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}
    bool send(const std::string& s) {
      std::size_t off = 0;
      while (off < s.size()) {
        const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
      }
      return true;
    }
    // Sends nothing until the client goes away, the server stops, or `limit` passes.
    void stall(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
      const auto end = std::chrono::steady_clock::now() + limit;
      while (!stop_ && std::chrono::steady_clock::now() < end) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
          char buf[256];
          if (::recv(fd_, buf, sizeof buf, 0) <= 0) return;  // the client closed the connection
        }
      }
    }
    // A complete response with a status line and headers.
    void respond(int status, const std::string& reason, const std::string& body,
                 const std::vector<std::string>& extra_headers = {}) {
      std::string h = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
      for (const auto& x : extra_headers) h += x + "\r\n";
      h += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
      send(h + body);
    }
    // Serves `data` honouring "Range: bytes=N-" (206), unless ignore_range (then always 200).
    // With cut_after, sends only that many body bytes and closes (the headers promise all).
    void send_file(const std::string& data, const Request& req, bool ignore_range = false,
                   std::size_t cut_after = std::string::npos) {
      std::size_t start = 0;
      const std::string range = req.header("range");
      if (!ignore_range && range.rfind("bytes=", 0) == 0) start = std::stoull(range.substr(6));
      if (start > 0 && start >= data.size()) {
        respond(416, "Range Not Satisfiable", "", {"Content-Range: bytes */" + std::to_string(data.size())});
        return;
      }
      const std::string body = data.substr(start);
      std::string h;
      if (start > 0 || (!ignore_range && !range.empty())) {
        h = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(start) + "-" +
            std::to_string(data.size() - 1) + "/" + std::to_string(data.size()) + "\r\n";
      } else {
        h = "HTTP/1.1 200 OK\r\n";
      }
      h += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
      send(h + body.substr(0, std::min(cut_after, body.size())));
    }

   private:
    int fd_;
    const std::atomic<bool>& stop_;
  };

  using Handler = std::function<void(const Request&, Conn&)>;

  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket failed");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // any free port
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("bind/listen on 127.0.0.1 failed");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }

  ~TestHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base() + path; }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Request req;
      if (read_request(fd, req)) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          requests_.push_back(req);
        }
        Conn conn(fd, stop_);
        handler_(req, conn);
      }
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
    }
  }

  bool read_request(int fd, Request& req) {
    std::string buf;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (buf.find("\r\n\r\n") == std::string::npos) {
      if (stop_ || std::chrono::steady_clock::now() > end) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    std::size_t pos = buf.find("\r\n");
    const std::string first = buf.substr(0, pos);
    const auto sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    while (true) {
      const std::size_t next = buf.find("\r\n", pos + 2);
      if (next == std::string::npos || next == pos + 2) break;
      const std::string line = buf.substr(pos + 2, next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers[name] = value;
      }
      pos = next;
    }
    return true;
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

// Deterministic pseudo-random bytes (so a test file is not all zeros).
inline std::string test_bytes(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u ^ seed;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

}  // namespace safescan::testing
