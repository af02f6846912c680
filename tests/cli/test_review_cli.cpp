// End-to-end tests of `safescan review`: the server runs as a child process on a free port and
// gets raw HTTP requests (so malformed ones can be sent as they are): the API, 4xx answers to
// malformed requests and traversal attempts while the server stays up, decisions persisted in
// the database, undo, tokens when bound beyond loopback, clean stops on SIGTERM / SIGINT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "cli/cli_json.hpp"
#include "cli/safescan_cli.hpp"
#include "safescan/decisions.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::TempDir;

const std::vector<std::string> kImages = {"baboon.jpg", "butterfly.jpg", "fruits.jpg", "home.jpg", "horse.png", "messi5.jpg"};

// `safescan review ARGS...` in the background, standard error to a file; waits for the URL.
class ReviewProcess {
 public:
  ReviewProcess(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv = {SAFESCAN_EXE, "review"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    const int rc = posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
    out_ = out[0];
    log_ = log;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string text;
    std::smatch m;
    static const std::regex url_re(R"((http://\S+:(\d+)/\S*)\n)");
    while (!std::regex_search(text, m, url_re)) {
      pollfd p{out_, POLLIN, 0};
      if (std::chrono::steady_clock::now() > deadline || ::poll(&p, 1, 1000) < 0) break;
      char buf[4096];
      const ssize_t n = p.revents ? ::read(out_, buf, sizeof buf) : 1;
      if (n <= 0) break;  // exited
      if (p.revents) text.append(buf, static_cast<std::size_t>(n));
    }
    if (m.empty()) throw std::runtime_error("no URL from safescan review: " + text + testing::read_all(log));
    url_ = m[1];
    port_ = std::stoi(m[2]);
  }
  ~ReviewProcess() {
    if (pid_ > 0) stop(SIGKILL);
    if (out_ >= 0) ::close(out_);
  }
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  std::string log() const { return testing::read_all(log_); }

  // Sends `sig` and waits (10 s at most, then SIGKILL); the exit status, or -1 if killed.
  int stop(int sig = SIGTERM) {
    ::kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      status = -1;
    }
    pid_ = -1;
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  std::string url_;
  fs::path log_;
};

struct Reply {
  int status = 0;
  std::string head, body;
  json js() const { return json::parse(body, nullptr, false); }
  bool has_header(const std::string& text) const { return head.find(text) != std::string::npos; }
};

// Sends `raw` as it is to 127.0.0.1:port and reads the answer until the server closes.
Reply send_raw(int port, const std::string& raw) {
  Reply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{15, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  for (std::size_t sent = 0; sent < raw.size();) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  // Until the server closes, or the body has its Content-Length (answers to requests httplib
  // cannot parse leave the connection open).
  std::string text;
  char buf[65536];
  static const std::regex length_re(R"(\r\n[Cc]ontent-[Ll]ength: *(\d+)\r\n)");
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    text.append(buf, static_cast<std::size_t>(n));
    const std::size_t end = text.find("\r\n\r\n");
    std::smatch m;
    const std::string head = end == std::string::npos ? "" : text.substr(0, end + 2);
    if (std::regex_search(head, m, length_re) && text.size() >= end + 4 + std::stoul(m[1])) break;
  }
  ::close(fd);
  const std::size_t split = text.find("\r\n\r\n");
  r.head = text.substr(0, split);
  if (split != std::string::npos) r.body = text.substr(split + 4);
  if (text.rfind("HTTP/1.", 0) == 0 && text.size() > 12) r.status = std::stoi(text.substr(9, 3));
  return r;
}

Reply request(int port, const std::string& method, const std::string& target, const std::string& headers = "",
              const std::optional<std::string>& body = std::nullopt) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n" + headers;
  if (body) raw += "Content-Length: " + std::to_string(body->size()) + "\r\n";
  return send_raw(port, raw + "\r\n" + body.value_or(""));
}

Reply get(int port, const std::string& target, const std::string& headers = "") { return request(port, "GET", target, headers); }

Reply post_json(int port, const std::string& target, const std::string& body, const std::string& headers = "") {
  return request(port, "POST", target, "Content-Type: application/json\r\n" + headers, body);
}

using testing::run_safescan;

class ReviewCli : public ::testing::Test {
 protected:
  // One scan for the whole suite; each test reviews its own copy of the database.
  static void SetUpTestSuite() {
    if (!testing::have_shared("images")) return;
    suite_ = new TempDir();
    const fs::path images = suite_->path() / "imgs";
    fs::create_directories(images);
    for (const auto& f : kImages) fs::copy_file(testing::shared_dir() / "images" / f, images / f);
    const auto r = run_safescan({"scan", images.string(), "--db", (suite_->path() / "scan.db").string(), "--detectors", "nsfw", "--no-progress"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }
  void SetUp() override {
    SAFESCAN_REQUIRE_SHARED("images");
    for (const char* suffix : {"", "-wal"}) {
      const fs::path from = suite_->path() / (std::string("scan.db") + suffix);
      if (fs::exists(from)) fs::copy_file(from, dir_ / (std::string("scan.db") + suffix));
    }
    db_ = dir_ / "scan.db";
  }
  std::unique_ptr<ReviewProcess> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {db_.string(), "--port", "0", "--reviewer", "tester"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<ReviewProcess>(args, dir_ / ("review" + std::to_string(++starts_) + ".log"));
  }

  static inline TempDir* suite_ = nullptr;
  TempDir dir_;
  fs::path db_;
  int starts_ = 0;
};

TEST_F(ReviewCli, ListsItemsSortedByScoreAndServesImagesById) {
  auto server = start();
  const int port = server->port();
  EXPECT_EQ(server->url(), "http://127.0.0.1:" + std::to_string(port) + "/");
  const json summary = get(port, "/api/summary").js();
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["items"], 6);
  EXPECT_EQ(summary["reviewer"], "tester");
  EXPECT_NE(std::find(summary["detectors"].begin(), summary["detectors"].end(), "nsfw-mobilenet-v2"), summary["detectors"].end());
  const json all = get(port, "/api/items?min_score=0&detector=nsfw-mobilenet-v2").js();
  ASSERT_EQ(all["total"], 6) << all.dump();
  ASSERT_EQ(all["items"].size(), 6u);
  for (std::size_t i = 1; i < 6; ++i) EXPECT_GE(all["items"][i - 1]["score"], all["items"][i]["score"]);
  const json page = get(port, "/api/items?min_score=0&offset=4&limit=10").js();
  EXPECT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["progress"]["flagged"], 6);

  const std::int64_t id = all["items"][0]["id"];
  const Reply thumb = get(port, "/api/thumb/" + std::to_string(id) + "?size=64");
  ASSERT_EQ(thumb.status, 200) << thumb.head;
  EXPECT_TRUE(thumb.has_header("Content-Type: image/jpeg"));
  EXPECT_EQ(thumb.body.substr(0, 2), "\xFF\xD8");
  const Reply image = get(port, "/api/image/" + std::to_string(id));
  ASSERT_EQ(image.status, 200);
  EXPECT_EQ(image.body, testing::read_all(all["items"][0]["key"].get<std::string>()));
  const Reply page_html = get(port, "/");
  EXPECT_EQ(page_html.status, 200);
  EXPECT_NE(page_html.body.find("safescan review"), std::string::npos);
  EXPECT_EQ(server->stop(SIGINT), 0) << server->log();
}

TEST_F(ReviewCli, MalformedRequestsGet4xxAndTheServerStaysUp) {
  auto server = start();
  const int port = server->port();
  const std::string big(1 << 20, 'x');
  struct Case {
    std::string what;
    Reply reply;
    int expected;  // 0: any 4xx
  };
  const std::vector<Case> cases = {
      {"bad JSON", post_json(port, "/api/decisions", "{\"item_id\": 1,"), 400},
      {"JSON array", post_json(port, "/api/decisions", "[1, 2]"), 400},
      {"bad decision", post_json(port, "/api/decisions", R"({"item_id": 1, "decision": "delete"})"), 400},
      {"string id", post_json(port, "/api/decisions", R"({"item_id": "1", "decision": "keep"})"), 400},
      {"fractional id", post_json(port, "/api/decisions", R"({"item_id": 1.5, "decision": "keep"})"), 400},
      {"huge id", post_json(port, "/api/decisions", R"({"item_id": 1e300, "decision": "keep"})"), 400},
      {"negative id", post_json(port, "/api/decisions", R"({"item_id": -3, "decision": "keep"})"), 400},
      {"unknown field", post_json(port, "/api/decisions", R"({"item_id": 1, "decision": "keep", "x": 1})"), 400},
      {"unknown item", post_json(port, "/api/decisions", R"({"item_id": 999999, "decision": "keep"})"), 404},
      {"form body", request(port, "POST", "/api/decisions", "Content-Type: application/x-www-form-urlencoded\r\n", "item_id=1"), 415},
      {"oversized body", post_json(port, "/api/decisions", big), 413},
      {"bad enum", get(port, "/api/items?decision=maybe"), 400},
      {"negative limit", get(port, "/api/items?limit=-1"), 400},
      {"huge limit", get(port, "/api/items?limit=99999999999999999999"), 400},
      {"text offset", get(port, "/api/items?offset=ten"), 400},
      {"score above 1", get(port, "/api/items?min_score=1.5"), 400},
      {"NaN score", get(port, "/api/items?min_score=nan"), 400},
      {"unknown parameter", get(port, "/api/items?sort=path"), 400},
      {"repeated parameter", get(port, "/api/items?limit=1&limit=2"), 400},
      {"unknown thumb", get(port, "/api/thumb/999999"), 404},
      {"zero id", get(port, "/api/thumb/0"), 400},
      {"huge thumb", get(port, "/api/thumb/1?size=100000"), 400},
      {"traversal", get(port, "/../../etc/passwd"), 404},
      {"encoded traversal", get(port, "/%2e%2e/%2e%2e/etc/passwd"), 404},
      {"thumb traversal", get(port, "/api/thumb/../../x"), 0},
      {"encoded thumb traversal", get(port, "/api/image/..%2f..%2f..%2fetc%2fpasswd"), 0},
      {"absolute path", get(port, "/etc/passwd"), 404},
      {"double slash", get(port, "//etc/passwd"), 404},
      {"asset traversal", get(port, "/app.js/../../../../etc/passwd"), 404},
      {"NUL in path", get(port, "/index.html%00.png"), 404},
      {"absolute URI", get(port, "http://127.0.0.1/../etc/passwd"), 0},
      {"unknown route", get(port, "/api/nothing"), 404},
      {"DELETE", request(port, "DELETE", "/api/items"), 405},
      {"GET undo", get(port, "/api/undo"), 405},
      {"PUT decisions", request(port, "PUT", "/api/decisions", "Content-Type: application/json\r\n", "{}"), 405},
      {"POST summary", post_json(port, "/api/summary", "{}"), 405},
      {"unknown method", request(port, "BREW", "/api/summary"), 0},
      {"garbage request line", send_raw(port, "GARBAGE\r\n\r\n"), 400},
      {"long URI", get(port, "/api/items?detector=" + std::string(20000, 'a')), 0},
      {"foreign Host", send_raw(port, "GET /api/summary HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"), 403},
      {"no Host", send_raw(port, "GET /api/summary HTTP/1.0\r\n\r\n"), 403},
      {"cross-origin POST", post_json(port, "/api/undo", "{}", "Origin: http://evil.example\r\n"), 403},
      {"nothing to undo", post_json(port, "/api/undo", "{}"), 409},
  };
  for (const auto& c : cases) {
    if (c.expected) {
      EXPECT_EQ(c.reply.status, c.expected) << c.what << "\n" << c.reply.head << "\n" << c.reply.body.substr(0, 300);
    }
    EXPECT_GE(c.reply.status, 400) << c.what;
    EXPECT_LT(c.reply.status, 500) << c.what << "\n" << c.reply.body.substr(0, 300);
    EXPECT_EQ(c.reply.body.find("root:"), std::string::npos) << c.what;
    EXPECT_EQ(get(port, "/api/summary").status, 200) << "after " << c.what;
  }
  // Answers carry a JSON error.
  EXPECT_TRUE(cases[0].reply.js().contains("error"));
  EXPECT_TRUE(cases[10].reply.js().contains("error"));
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST_F(ReviewCli, DecisionsArePersistedAndUndoable) {
  auto server = start();
  const int port = server->port();
  const json items = get(port, "/api/items?min_score=0").js()["items"];
  ASSERT_EQ(items.size(), 6u);
  const std::int64_t a = items[0]["id"], b = items[1]["id"], c = items[2]["id"];
  auto decide = [&](std::int64_t id, const std::string& d) {
    return post_json(port, "/api/decisions", json{{"item_id", id}, {"decision", d}, {"note", "n"}}.dump());
  };
  const Reply r = decide(a, "remove");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.js()["decision"]["reviewer"], "tester");
  EXPECT_EQ(decide(b, "keep").status, 201);
  EXPECT_EQ(decide(c, "skip").status, 201);
  const json undone = post_json(port, "/api/undo", "{}").js();
  EXPECT_EQ(undone["undone"]["item_id"], c);
  EXPECT_TRUE(undone["decision"].is_null());
  EXPECT_EQ(get(port, "/api/items?min_score=0&decision=undecided").js()["total"], 4);
  EXPECT_EQ(get(port, "/api/items?min_score=0&decision=remove").js()["items"][0]["id"], a);
  const json progress = get(port, "/api/progress?min_score=0").js();
  EXPECT_EQ(progress["reviewed"], 2);
  EXPECT_EQ(progress["keep"], 1);
  EXPECT_EQ(server->stop(), 0) << server->log();

  // In the database: reviewer, UTC time, note; the skip is gone.
  auto log = DecisionStore::open(db_);
  const auto removed = log.latest(a);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->decision, "remove");
  EXPECT_EQ(removed->reviewer, "tester");
  EXPECT_EQ(removed->note, "n");
  EXPECT_TRUE(std::regex_match(removed->decided_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << removed->decided_at;
  EXPECT_FALSE(log.latest(c));
  // The export applies them: removed in, kept out, whatever the scores.
  const auto list = testing::lines_of(run_safescan({"export", db_.string(), "--format", "removal-list", "--min-score", "0"}).out);
  EXPECT_EQ(list.size(), 5u);
  EXPECT_NE(std::find(list.begin(), list.end(), items[0]["key"].get<std::string>()), list.end());
  EXPECT_EQ(std::find(list.begin(), list.end(), items[1]["key"].get<std::string>()), list.end());

  // A new server: the decisions are shown, the removal list agrees, and undo does not reach
  // the previous session.
  server = start();
  EXPECT_EQ(get(server->port(), "/api/items?min_score=0").js()["items"][0]["decision"]["decision"], "remove");
  const Reply served = get(server->port(), "/api/removal-list?min_score=0");
  EXPECT_TRUE(served.has_header("Content-Type: text/plain"));
  EXPECT_EQ(testing::lines_of(served.body), list);
  EXPECT_EQ(post_json(server->port(), "/api/undo", "{}").status, 409);
  EXPECT_EQ(server->stop(), 0);
}

TEST_F(ReviewCli, BindingBeyondLoopbackRequiresAToken) {
  auto server = start({"--bind", "0.0.0.0"});
  const int port = server->port();
  std::smatch m;
  const std::string url = server->url();
  ASSERT_TRUE(std::regex_search(url, m, std::regex("\\?token=([0-9a-f]{64})$"))) << url;
  const std::string token = m[1];
  EXPECT_EQ(get(port, "/api/summary").status, 401);
  EXPECT_EQ(get(port, "/").status, 401);
  EXPECT_EQ(get(port, "/api/thumb/1").status, 401);
  EXPECT_EQ(post_json(port, "/api/decisions", R"({"item_id": 1, "decision": "remove"})").status, 401);
  EXPECT_EQ(get(port, "/api/summary?token=" + std::string(64, '0')).status, 403);
  EXPECT_EQ(get(port, "/api/summary", "Authorization: Bearer wrong-token-wrong-token\r\n").status, 403);
  EXPECT_EQ(get(port, "/api/summary", "Authorization: Bearer " + token + "\r\n").status, 200);
  // Behind a reverse proxy: any Host and Origin, the token decides.
  EXPECT_EQ(send_raw(port, "POST /api/undo HTTP/1.1\r\nHost: review.example.org\r\nOrigin: https://review.example.org\r\n"
                           "Authorization: Bearer " + token + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\n{}").status, 409);
  const Reply page = get(port, "/?token=" + token);
  EXPECT_EQ(page.status, 200);
  const std::string cookie = "safescan_review_token_" + std::to_string(port) + "=" + token;
  EXPECT_TRUE(page.has_header("Set-Cookie: " + cookie + "; Path=/; HttpOnly; SameSite=Strict")) << page.head;
  EXPECT_EQ(get(port, "/api/summary", "Cookie: other=1; " + cookie + "\r\n").status, 200);
  EXPECT_EQ(get(port, "/api/summary", "Cookie: safescan_review_token_1=" + token + "\r\n").status, 401);
  EXPECT_EQ(server->stop(), 0) << server->log();
  // Nothing was decided without the token.
  EXPECT_EQ(DecisionStore::open(db_).last_id(), 0);

  // A token given on loopback is required too; a weak one is refused.
  server = start({"--token", "abcdefghijklmnop0123"});
  EXPECT_EQ(get(server->port(), "/api/summary").status, 401);
  EXPECT_EQ(get(server->port(), "/api/summary?token=abcdefghijklmnop0123").status, 200);
  EXPECT_EQ(server->stop(), 0);
  EXPECT_EQ(run_safescan({"review", db_.string(), "--port", "0", "--token", "short"}).exit_code, 2);
}

TEST_F(ReviewCli, RefusesWhatIsNotADatabase) {
  testing::write_all(dir_ / "notes.txt", "not a database\n");
  EXPECT_EQ(run_safescan({"review", (dir_ / "notes.txt").string(), "--port", "0"}).exit_code, 2);
  EXPECT_EQ(run_safescan({"review", (dir_ / "missing.db").string(), "--port", "0"}).exit_code, 2);
  EXPECT_EQ(run_safescan({"review", db_.string(), "--port", "70000"}).exit_code, 2);
}

}  // namespace
}  // namespace safescan
