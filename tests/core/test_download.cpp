// The downloader against a local HTTP server (127.0.0.1, random port, no internet):
// good file, checksum mismatch, a cut connection resumed with Range, a server that
// ignores Range, HTTP errors, retries, a stalled server and the low-speed timeout, redirects.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>

#include "core/sha256.hpp"
#include "safescan/download.hpp"
#include "safescan/error.hpp"
#include "test_download_server.hpp"
#include "testing.hpp"

namespace {

namespace fs = std::filesystem;
using safescan::DownloadOptions;
using safescan::download_file;
using safescan::Error;
using safescan::ErrorCode;
using safescan::testing::TempDir;
using safescan::testing::test_bytes;
using safescan::testing::TestHttpServer;
using Request = TestHttpServer::Request;
using Conn = TestHttpServer::Conn;

using safescan::testing::read_all;
using safescan::testing::write_all;

DownloadOptions quick_options(const std::string& data) {
  DownloadOptions opt;
  opt.expected_sha256 = safescan::sha256_hex(data.data(), data.size());
  opt.progress = safescan::ProgressStyle::none;
  opt.backoff = std::chrono::milliseconds(10);
  opt.max_backoff = std::chrono::milliseconds(50);
  opt.connect_timeout = std::chrono::seconds(5);
  opt.low_speed_timeout = std::chrono::seconds(5);
  opt.max_attempts = 3;
  return opt;
}

const std::string kData = test_bytes(300'000);

TEST(Download, GoodFileIsWrittenAndVerified) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req); });
  TempDir dir;
  const auto r = download_file(server.url("/model.bin"), dir / "model.bin.part", quick_options(kData));
  EXPECT_EQ(read_all(dir / "model.bin.part"), kData);
  EXPECT_EQ(r.bytes, kData.size());
  EXPECT_EQ(r.sha256, safescan::sha256_hex(kData.data(), kData.size()));
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.resumed_from, 0u);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/model.bin");
  EXPECT_EQ(reqs[0].header("range"), "") << "a fresh download asks for the whole file";
  EXPECT_NE(reqs[0].header("user-agent").find("safescan/"), std::string::npos);
}

TEST(Download, ChecksumMismatchDeletesTheFileAndSaysBothDigests) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req); });
  TempDir dir;
  auto opt = quick_options(kData);
  opt.expected_sha256 = std::string(64, 'a');
  try {
    download_file(server.url("/model.bin"), dir / "m.part", opt);
    FAIL() << "expected a checksum error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_invalid);
    const std::string what = e.what();
    EXPECT_NE(what.find(std::string(64, 'a')), std::string::npos) << what;
    EXPECT_NE(what.find(safescan::sha256_hex(kData.data(), kData.size())), std::string::npos) << what;
    EXPECT_NE(what.find(server.url("/model.bin")), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir / "m.part")) << "a file with the wrong checksum must not stay";
}

TEST(Download, ConnectionCutMidFileIsResumedWithRangeOnRetry) {
  const std::size_t half = kData.size() / 2;
  std::atomic<int> n{0};
  TestHttpServer server([&](const Request& req, Conn& c) {
    if (n++ == 0)
      c.send_file(kData, req, false, half);  // promises everything, sends half, closes
    else
      c.send_file(kData, req);
  });
  TempDir dir;
  const auto r = download_file(server.url("/m"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(read_all(dir / "m.part"), kData);
  EXPECT_EQ(r.attempts, 2);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].header("range"), "");
  EXPECT_EQ(reqs[1].header("range"), "bytes=" + std::to_string(half) + "-");
}

TEST(Download, APartialFileFromAnEarlierRunIsResumed) {
  const std::size_t half = 123'456;
  std::atomic<int> n{0};
  TestHttpServer server([&](const Request& req, Conn& c) {
    if (n++ == 0)
      c.send_file(kData, req, false, half);
    else
      c.send_file(kData, req);
  });
  TempDir dir;
  auto opt = quick_options(kData);
  opt.max_attempts = 1;  // this "run" gives up after the cut
  try {
    download_file(server.url("/m"), dir / "m.part", opt);
    FAIL() << "expected a network error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find(server.url("/m")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("resumes"), std::string::npos) << e.what();
  }
  ASSERT_EQ(fs::file_size(dir / "m.part"), half) << "the bytes received are kept";
  const auto r = download_file(server.url("/m"), dir / "m.part", opt);  // the next "run"
  EXPECT_EQ(r.resumed_from, half);
  EXPECT_EQ(read_all(dir / "m.part"), kData);
  EXPECT_EQ(server.requests().at(1).header("range"), "bytes=" + std::to_string(half) + "-");
}

TEST(Download, ServerIgnoringRangeRestartsFromZero) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req, /*ignore_range=*/true); });
  TempDir dir;
  write_all(dir / "m.part", std::string(5000, 'x'));  // stale bytes that must not survive
  const auto r = download_file(server.url("/m"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(read_all(dir / "m.part"), kData);
  EXPECT_EQ(r.resumed_from, 5000u);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("range"), "bytes=5000-");
}

TEST(Download, WrongPartialContentFailsTheChecksumAndIsDeleted) {
  // A partial file that does not belong to this resource: the server resumes after it,
  // the result has the right size but the wrong bytes, and the checksum catches it.
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req); });
  TempDir dir;
  write_all(dir / "m.part", std::string(1000, 'x'));
  EXPECT_THROW(download_file(server.url("/m"), dir / "m.part", quick_options(kData)), Error);
  EXPECT_FALSE(fs::exists(dir / "m.part"));
  // ... and the next attempt starts clean.
  download_file(server.url("/m"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(read_all(dir / "m.part"), kData);
}

TEST(Download, CompletePartialIsAcceptedOn416) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req); });
  TempDir dir;
  write_all(dir / "m.part", kData);
  const auto r = download_file(server.url("/m"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(r.bytes, kData.size());
  EXPECT_EQ(server.requests().at(0).header("range"), "bytes=" + std::to_string(kData.size()) + "-");
}

TEST(Download, CompletePartialOfKnownSizeNeedsNoRequest) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req); });
  TempDir dir;
  write_all(dir / "m.part", kData);
  auto opt = quick_options(kData);
  opt.expected_size = kData.size();
  download_file(server.url("/m"), dir / "m.part", opt);
  EXPECT_TRUE(server.requests().empty());
}

TEST(Download, NotFoundNamesTheUrlAndTheStatus) {
  TestHttpServer server([](const Request&, Conn& c) { c.respond(404, "Not Found", "<html>nope</html>"); });
  TempDir dir;
  try {
    download_file(server.url("/missing.bin"), dir / "m.part", quick_options(kData));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    const std::string what = e.what();
    EXPECT_NE(what.find(server.url("/missing.bin")), std::string::npos) << what;
    EXPECT_NE(what.find("404"), std::string::npos) << what;
  }
  EXPECT_EQ(server.requests().size(), 1u) << "a 404 is not retried";
  EXPECT_EQ(fs::exists(dir / "m.part") ? fs::file_size(dir / "m.part") : 0u, 0u) << "an error page is not saved";
}

TEST(Download, ServerErrorsAreRetried) {
  std::atomic<int> n{0};
  TestHttpServer server([&](const Request& req, Conn& c) {
    if (n++ < 2)
      c.respond(503, "Service Unavailable", "busy");
    else
      c.send_file(kData, req);
  });
  TempDir dir;
  const auto r = download_file(server.url("/m"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(read_all(dir / "m.part"), kData);
}

TEST(Download, PersistentServerErrorGivesUpWithTheStatus) {
  TestHttpServer server([](const Request&, Conn& c) { c.respond(500, "Internal Server Error", "boom"); });
  TempDir dir;
  try {
    download_file(server.url("/m"), dir / "m.part", quick_options(kData));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("HTTP 500"), std::string::npos) << what;
    EXPECT_NE(what.find("3 attempts"), std::string::npos) << what;
  }
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(Download, StalledServerHitsTheLowSpeedTimeout) {
  TestHttpServer server([](const Request&, Conn& c) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kData.size()) + "\r\nConnection: close\r\n\r\n");
    c.send(kData.substr(0, 1000));
    c.stall(std::chrono::seconds(10));
  });
  TempDir dir;
  auto opt = quick_options(kData);
  opt.low_speed_timeout = std::chrono::seconds(1);
  opt.max_attempts = 1;
  const auto start = std::chrono::steady_clock::now();
  try {
    download_file(server.url("/slow"), dir / "m.part", opt);
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    const std::string what = e.what();
    EXPECT_NE(what.find("no data for 1 s"), std::string::npos) << what;
    EXPECT_NE(what.find(server.url("/slow")), std::string::npos) << what;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 5.0) << "the low-speed timeout should fire within a few seconds";
  EXPECT_EQ(fs::file_size(dir / "m.part"), 1000u) << "what arrived is kept for a resume";
}

TEST(Download, RedirectsAreFollowed) {
  TestHttpServer server([](const Request& req, Conn& c) {
    if (req.path == "/old")
      c.respond(302, "Found", "", {"Location: /new/model.bin"});
    else if (req.path == "/new/model.bin")
      c.send_file(kData, req);
    else
      c.respond(404, "Not Found", "");
  });
  TempDir dir;
  const auto r = download_file(server.url("/old"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(read_all(dir / "m.part"), kData);
  EXPECT_EQ(r.effective_url, server.url("/new/model.bin"));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(Download, RedirectToA404NamesTheStatus) {
  TestHttpServer server([](const Request& req, Conn& c) {
    if (req.path == "/old")
      c.respond(301, "Moved Permanently", "", {"Location: /gone"});
    else
      c.respond(404, "Not Found", "");
  });
  TempDir dir;
  try {
    download_file(server.url("/old"), dir / "m.part", quick_options(kData));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("404"), std::string::npos) << what;
    EXPECT_NE(what.find(server.url("/gone")), std::string::npos) << "should name where it was redirected: " << what;
  }
}

TEST(Download, ConnectionRefusedIsANetworkError) {
  int port = 0;
  {
    TestHttpServer server([](const Request&, Conn&) {});
    port = server.port();
  }  // closed: nothing listens there now
  TempDir dir;
  auto opt = quick_options(kData);
  opt.max_attempts = 2;
  try {
    download_file("http://127.0.0.1:" + std::to_string(port) + "/m", dir / "m.part", opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
}

TEST(Download, RangeAnsweredWithAnotherOffsetRestarts) {
  std::atomic<int> n{0};
  TestHttpServer server([&](const Request& req, Conn& c) {
    if (n++ == 0) {  // a broken server: 206 for the wrong part
      const std::string body = kData.substr(10);
      c.send("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-" + std::to_string(kData.size() - 1) + "/" +
             std::to_string(kData.size()) + "\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n\r\n" + body);
    } else {
      c.send_file(kData, req);
    }
  });
  TempDir dir;
  write_all(dir / "m.part", kData.substr(0, 2000));
  const auto r = download_file(server.url("/m"), dir / "m.part", quick_options(kData));
  EXPECT_EQ(read_all(dir / "m.part"), kData);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].header("range"), "") << "after a bad range the download starts again from zero";
  EXPECT_EQ(r.attempts, 2);
}

TEST(Download, ProgressCallbackSeesTheTotal) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kData, req); });
  TempDir dir;
  auto opt = quick_options(kData);
  std::uint64_t last_total = 0;
  opt.on_progress = [&](const safescan::DownloadProgress& p) { last_total = p.total; };
  download_file(server.url("/m"), dir / "m.part", opt);
  EXPECT_TRUE(last_total == 0 || last_total == kData.size()) << last_total;
}

TEST(Download, FormatBytes) {
  EXPECT_EQ(safescan::format_bytes(0), "0 B");
  EXPECT_EQ(safescan::format_bytes(1023), "1023 B");
  EXPECT_EQ(safescan::format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(safescan::format_bytes(353976522), "338 MiB");
}

}  // namespace
