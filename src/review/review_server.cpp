// ReviewServer: cpp-httplib set up for the review app, with access control in front of every
// route (review_routes.cpp). docs/review.md describes the security model.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "review/review_state.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

using httplib::Request;
using httplib::Response;
using review::HttpError;

// Cookies are not told apart by port: the name carries it, so two servers on one host each
// keep their own.
std::string cookie_name(int port) { return "safescan_review_token_" + std::to_string(port); }
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const char* reason(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "an access token is required";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "request body too large";
    case 414: return "request URI too long";
    case 415: return "unsupported media type";
    default: return status >= 500 ? "internal error" : "request refused";
  }
}

bool valid_token(std::string_view t) {
  if (t.size() < 16 || t.size() > 256) return false;
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '~' && c != '-') return false;
  return true;
}

bool is_wildcard(std::string_view address) { return address == "0.0.0.0" || address == "::" || address == "[::]"; }

}  // namespace

std::filesystem::path default_review_web_dir() {
  if (const char* env = std::getenv("SAFESCAN_WEB_DIR"); env && *env) return std::filesystem::path(env) / "review";
  return std::filesystem::path(SAFESCAN_WEB_DIR) / "review";
}

bool is_loopback_address(std::string_view address) {
  if (address == "localhost") return true;
  std::string a(address);
  if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string make_access_token() {
  unsigned char bytes[32];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::internal, "cannot read random bytes for the access token");
    }
    got += static_cast<std::size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  return token;
}

struct ReviewServer::Impl {
  std::unique_ptr<review::State> state;
  int port = 0;
  httplib::Server http;

  void check_access(const Request& req, Response& res) const;
  void handle(const Request& req, Response& res);
};

void ReviewServer::Impl::check_access(const Request& req, Response& res) const {
  const std::string& token = state->token;
  if (token.empty()) {
    // No token (loopback only): whoever can connect is trusted, so refuse what a web page of
    // another origin could send. A Host that is not this machine means DNS rebinding;
    // browsers send Origin with cross-origin POSTs (there is no CORS, and the routes want
    // JSON bodies, which forms cannot send without a preflight).
    if (!review::is_loopback_host(req.get_header_value("Host")))
      throw HttpError(403, "the Host header must name this machine (localhost, 127.0.0.1 or [::1])");
    if (req.method != "GET" && req.method != "HEAD") {
      const std::string origin = req.get_header_value("Origin");
      if (!origin.empty() && origin != "http://" + req.get_header_value("Host"))
        throw HttpError(403, "cross-origin request refused");
    }
    return;
  }
  // With a token (also behind a reverse proxy, whatever Host and Origin say): another site
  // has neither the token nor the cookie (SameSite=Strict).
  std::string given;
  bool from_query = false;
  if (const std::string auth = req.get_header_value("Authorization"); auth.rfind("Bearer ", 0) == 0) {
    given = auth.substr(7);
  } else if (req.has_param("token")) {
    given = req.get_param_value("token");
    from_query = true;
  } else {
    given = review::cookie_value(req.get_header_value("Cookie"), cookie_name(port));
  }
  if (given.empty()) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"safescan review\"");
    throw HttpError(401, "an access token is required: open the URL `safescan review` printed");
  }
  if (!review::same_token(given, token)) throw HttpError(403, "wrong access token");
  if (from_query) res.set_header("Set-Cookie", cookie_name(port) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
}

void ReviewServer::Impl::handle(const Request& req, Response& res) {
  try {
    check_access(req, res);
    review::route(*state, req, res);
  } catch (const HttpError& e) {
    review::send_error(res, e.status, e.what());
  } catch (const Error& e) {
    const int status = e.code() == ErrorCode::invalid_argument ? 400 : e.code() == ErrorCode::unreadable ? 503 : 500;
    spdlog::warn("{} {}: {}", req.method, req.path, e.what());
    review::send_error(res, status, e.what());
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    review::send_error(res, 500, "internal error");
  }
}

ReviewServer::ReviewServer(ReviewOptions opt) : impl_(std::make_unique<Impl>()) {
  if (opt.reviewer.empty() || opt.reviewer.size() > 100)
    throw Error(ErrorCode::invalid_argument, "the reviewer name must have 1 to 100 characters");
  for (unsigned char c : opt.reviewer)
    if (c < 0x20 || c == 0x7f) throw Error(ErrorCode::invalid_argument, "the reviewer name has control characters");
  if (opt.port < 0 || opt.port > 65535) throw Error(ErrorCode::invalid_argument, "the port must be between 0 and 65535");
  if (!opt.token.empty() && !valid_token(opt.token))
    throw Error(ErrorCode::invalid_argument, "the access token must have 16 to 256 characters among A-Z a-z 0-9 . _ ~ -");
  if (opt.web_dir.empty()) opt.web_dir = default_review_web_dir();
  if (std::error_code ec; !std::filesystem::is_regular_file(opt.web_dir / "index.html", ec))
    spdlog::warn("the review app's files are not in {} (set SAFESCAN_WEB_DIR to the web/ folder)", opt.web_dir.string());
  Impl& d = *impl_;
  std::string token = opt.token;
  if (token.empty() && !is_loopback_address(opt.bind)) token = make_access_token();
  const std::size_t max_body = opt.max_body_bytes;
  d.state = std::make_unique<review::State>(std::move(opt), std::move(token));

  auto& http = d.http;
  // SO_REUSEADDR only (httplib's default adds SO_REUSEPORT, which would let another process
  // bind the same port).
  http.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_payload_max_length(max_body);
  http.set_keep_alive_timeout(2);
  http.set_read_timeout(10);
  http.set_write_timeout(30);
  http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Frame-Options", "DENY"},
                            {"Cache-Control", "no-store"},
                            {"Content-Security-Policy", kCsp}});
  auto handler = [this](const Request& req, Response& res) { impl_->handle(req, res); };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Patch(".*", handler);
  http.Delete(".*", handler);
  http.Options(".*", handler);
  // Answers httplib itself produces (unparsable requests, 413, 414, unknown methods) get a
  // JSON body too.
  http.set_error_handler([](const Request&, Response& res) {
    if (res.body.empty()) review::send_error(res, res.status, reason(res.status));
  });
  http.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    review::send_error(res, 500, "internal error");
  });
  http.set_logger([](const Request& req, const Response& res) {
    spdlog::debug("{} {} {}", req.method, req.path.substr(0, 200), res.status);
  });
}

ReviewServer::~ReviewServer() = default;

int ReviewServer::bind() {
  Impl& d = *impl_;
  const auto& opt = d.state->opt;
  std::string host = opt.bind;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = opt.port;
  if (port == 0) port = d.http.bind_to_any_port(host);
  else if (!d.http.bind_to_port(host, port)) port = -1;
  if (port <= 0)
    throw Error(ErrorCode::unreadable, "cannot listen on " + opt.bind + " port " + std::to_string(opt.port) +
                                           " (in use, or not an address of this machine)");
  d.port = port;
  return port;
}

std::string ReviewServer::url() const {
  const Impl& d = *impl_;
  std::string host = d.state->opt.bind;
  if (is_wildcard(host)) {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
  } else if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";
  }
  std::string url = "http://" + host + ":" + std::to_string(d.port) + "/";
  if (!d.state->token.empty()) url += "?token=" + d.state->token;
  return url;
}

const std::string& ReviewServer::token() const { return impl_->state->token; }

bool ReviewServer::run() { return impl_->http.listen_after_bind(); }

void ReviewServer::stop() { impl_->http.stop(); }

}  // namespace safescan
