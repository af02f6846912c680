// The model store: pull (against a local HTTP server), import, remove, verify, lookups and
// the catalogue. SAFESCAN_HOME points at a fresh TempDir in every test; test models are
// registered in the catalogue with URLs on the local server (register_model), or reached
// through SAFESCAN_MODEL_URL_BASE.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"
#include "test_download_server.hpp"
#include "testing.hpp"

namespace {

namespace fs = std::filesystem;
using safescan::Error;
using safescan::ErrorCode;
using safescan::KnownModel;
using safescan::testing::TempDir;
using safescan::testing::test_bytes;
using safescan::testing::TestHttpServer;
using Request = TestHttpServer::Request;
using Conn = TestHttpServer::Conn;

using safescan::testing::read_all;
using safescan::testing::write_all;

std::string sha(const std::string& s) { return safescan::sha256_hex(s.data(), s.size()); }

// Sets an environment variable for the life of the object, then puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const std::string kGood = test_bytes(200'000, 7);
const std::string kBad = test_bytes(200'000, 8);
constexpr const char* kTestModel = "test-weights";

KnownModel test_model(const std::string& url, const std::string& data = kGood) {
  KnownModel m;
  m.name = kTestModel;
  m.kind = "test";
  m.format = "bin";
  m.description = "weights served by the test's HTTP server";
  m.source = "tests/core/test_models_store.cpp";
  m.license = "MIT";
  m.files.push_back({"weights.bin", url, sha(data), data.size()});
  return m;
}

safescan::PullOptions quick_pull() {
  safescan::PullOptions o;
  o.download.progress = safescan::ProgressStyle::none;
  o.download.backoff = std::chrono::milliseconds(10);
  o.download.max_backoff = std::chrono::milliseconds(50);
  o.download.max_attempts = 3;
  o.download.low_speed_timeout = std::chrono::seconds(5);
  return o;
}

class ModelStore : public ::testing::Test {
 protected:
  TempDir home_;
  ScopedEnv home_env_{"SAFESCAN_HOME", home_.path().string()};
  ScopedEnv mirror_env_{"SAFESCAN_MODEL_URL_BASE", std::nullopt};

  fs::path model_dir(const std::string& name = kTestModel) const { return home_ / "models" / name; }
};

// --- pull ---------------------------------------------------------------------------------

TEST_F(ModelStore, PullInstallsTheFileWithAManifest) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kGood, req); });
  safescan::register_model(test_model(server.url("/files/weights.bin")));
  const auto r = safescan::pull_model(kTestModel, quick_pull());
  EXPECT_FALSE(r.already_installed);
  EXPECT_EQ(r.downloaded, kGood.size());
  EXPECT_EQ(r.model.path, model_dir());
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood);

  std::ifstream in(model_dir() / "safescan-model.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["name"], kTestModel);
  EXPECT_EQ(j["kind"], "test");
  EXPECT_EQ(j["format"], "bin");
  EXPECT_EQ(j["source"]["url"], server.url("/files/weights.bin"));
  EXPECT_EQ(j["files"].size(), 1u);
  EXPECT_EQ(j["files"]["weights.bin"], sha(kGood));

  const auto m = safescan::find_installed_model(kTestModel);
  ASSERT_TRUE(m);
  EXPECT_TRUE(safescan::verify_model(*m).empty());
  EXPECT_EQ(safescan::model_file(kTestModel), model_dir() / "weights.bin");
  EXPECT_EQ(safescan::model_file(kTestModel, "weights.bin"), model_dir() / "weights.bin");
  EXPECT_EQ(safescan::resolve_model(kTestModel), model_dir());
  // Nothing left behind but lock files.
  for (const auto& e : fs::directory_iterator(home_ / "models" / ".partial"))
    EXPECT_EQ(e.path().extension(), ".lock") << e.path();
  const auto installed = safescan::installed_models();
  ASSERT_EQ(installed.size(), 1u) << ".partial is never listed as a model";
  EXPECT_EQ(installed[0].name, kTestModel);
}

TEST_F(ModelStore, PullAgainDoesNothingUnlessForced) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kGood, req); });
  safescan::register_model(test_model(server.url("/w")));
  safescan::pull_model(kTestModel, quick_pull());
  const auto again = safescan::pull_model(kTestModel, quick_pull());
  EXPECT_TRUE(again.already_installed);
  EXPECT_EQ(server.requests().size(), 1u);
  auto force = quick_pull();
  force.force = true;
  EXPECT_FALSE(safescan::pull_model(kTestModel, force).already_installed);
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood);
}

TEST_F(ModelStore, PullWithAWrongChecksumInstallsNothing) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kBad, req); });
  safescan::register_model(test_model(server.url("/w")));
  try {
    safescan::pull_model(kTestModel, quick_pull());
    FAIL() << "expected a checksum error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_invalid);
    EXPECT_NE(std::string(e.what()).find(sha(kGood)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(sha(kBad)), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(model_dir()));
  EXPECT_FALSE(safescan::find_installed_model(kTestModel));
  EXPECT_FALSE(fs::exists(home_ / "models" / ".partial" / kTestModel)) << "the bad download is deleted";
}

TEST_F(ModelStore, FailedPullLeavesThePreviousInstallIntact) {
  std::atomic<int> mode{0};  // 0 good, 1 corrupted, 2 not found
  TestHttpServer server([&](const Request& req, Conn& c) {
    if (mode == 0)
      c.send_file(kGood, req);
    else if (mode == 1)
      c.send_file(kBad, req);
    else
      c.respond(404, "Not Found", "");
  });
  safescan::register_model(test_model(server.url("/w")));
  safescan::pull_model(kTestModel, quick_pull());
  auto force = quick_pull();
  force.force = true;

  mode = 1;
  EXPECT_THROW(safescan::pull_model(kTestModel, force), Error);
  mode = 2;
  try {
    safescan::pull_model(kTestModel, force);
    FAIL() << "expected a 404";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(server.url("/w")), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood);
  const auto m = safescan::find_installed_model(kTestModel);
  ASSERT_TRUE(m);
  EXPECT_TRUE(safescan::verify_model(*m).empty());
}

TEST_F(ModelStore, CutPullResumesOnTheNextPull) {
  const std::size_t cut = 70'000;
  std::atomic<int> n{0};
  TestHttpServer server([&](const Request& req, Conn& c) {
    if (n++ == 0)
      c.send_file(kGood, req, false, cut);
    else
      c.send_file(kGood, req);
  });
  safescan::register_model(test_model(server.url("/w")));
  auto once = quick_pull();
  once.download.max_attempts = 1;
  try {
    safescan::pull_model(kTestModel, once);
    FAIL() << "expected a network error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
  }
  EXPECT_FALSE(fs::exists(model_dir())) << "nothing installed from a partial download";
  std::uintmax_t partial = 0;
  for (const auto& e : fs::directory_iterator(home_ / "models" / ".partial" / kTestModel)) partial += e.file_size();
  EXPECT_EQ(partial, cut);

  const auto r = safescan::pull_model(kTestModel, once);
  EXPECT_EQ(r.downloaded, kGood.size() - cut);
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood);
  EXPECT_EQ(server.requests().at(1).header("range"), "bytes=" + std::to_string(cut) + "-");
}

TEST_F(ModelStore, MirrorBaseUrlReplacesThePublishedUrl) {
  TestHttpServer server([](const Request& req, Conn& c) {
    if (req.path == "/mirror/test-weights/weights.bin")
      c.send_file(kGood, req);
    else
      c.respond(404, "Not Found", "");
  });
  safescan::register_model(test_model("https://example.invalid/never-used/weights.bin"));
  ScopedEnv mirror("SAFESCAN_MODEL_URL_BASE", server.url("/mirror/"));
  safescan::pull_model(kTestModel, quick_pull());
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].path, "/mirror/test-weights/weights.bin");
}

TEST_F(ModelStore, PullOfAnUnknownModelListsTheKnownOnes) {
  try {
    safescan::pull_model("no-such-model", quick_pull());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_missing);
    EXPECT_NE(std::string(e.what()).find("clip-vit-b-32"), std::string::npos) << e.what();
  }
}

TEST_F(ModelStore, NpmModelPullExplainsSetupWhenNpmIsMissing) {
  ScopedEnv path("PATH", "/nonexistent");
  try {
    safescan::pull_model("nsfw-mobilenet-v2", quick_pull());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("scripts/setup.sh"), std::string::npos) << what;
    EXPECT_NE(what.find("nsfwjs@4.4.0"), std::string::npos) << what;
    EXPECT_NE(what.find("npm"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(model_dir("nsfw-mobilenet-v2")));
}

// --- import -------------------------------------------------------------------------------

TEST_F(ModelStore, ImportRecognisesACatalogueFileByItsChecksum) {
  safescan::register_model(test_model("http://127.0.0.1:1/unused"));
  TempDir downloads;
  write_all(downloads / "my-copy.bin", kGood);
  const auto m = safescan::import_model(downloads / "my-copy.bin");
  EXPECT_EQ(m.name, kTestModel);
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood) << "installed under the catalogue's file name";
  EXPECT_TRUE(fs::exists(downloads / "my-copy.bin")) << "import copies, the user's file stays";
  std::ifstream in(model_dir() / "safescan-model.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["kind"], "test");
  EXPECT_EQ(j["files"]["weights.bin"], sha(kGood));
  EXPECT_EQ(j["source"]["imported_from"], fs::absolute(downloads / "my-copy.bin").string());
  EXPECT_TRUE(safescan::verify_model(*safescan::find_installed_model(kTestModel)).empty());
}

TEST_F(ModelStore, ImportUnderACatalogueNameChecksTheHash) {
  TestHttpServer server([](const Request& req, Conn& c) { c.send_file(kGood, req); });
  safescan::register_model(test_model(server.url("/w")));
  TempDir downloads;
  write_all(downloads / "weights.bin", kBad);
  try {
    safescan::import_model(downloads / "weights.bin", {kTestModel});
    FAIL() << "expected a checksum error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_invalid);
    EXPECT_NE(std::string(e.what()).find("expected " + sha(kGood)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("got " + sha(kBad)), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(model_dir())) << "nothing installed";

  // With a previous install, a rejected import leaves it as it was.
  safescan::pull_model(kTestModel, quick_pull());
  EXPECT_THROW(safescan::import_model(downloads / "weights.bin", {kTestModel}), Error);
  EXPECT_EQ(read_all(model_dir() / "weights.bin"), kGood);

  // The right file under the right name is fine.
  write_all(downloads / "right.bin", kGood);
  EXPECT_EQ(safescan::import_model(downloads / "right.bin", {kTestModel}).name, kTestModel);
}

TEST_F(ModelStore, ImportOfAFileNamedLikeACatalogueFileButDifferentIsRejected) {
  safescan::register_model(test_model("http://127.0.0.1:1/unused"));
  TempDir downloads;
  write_all(downloads / "weights.bin", kBad);
  try {
    safescan::import_model(downloads / "weights.bin");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_invalid);
    EXPECT_NE(std::string(e.what()).find(sha(kBad)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(sha(kGood)), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(model_dir()));
}

TEST_F(ModelStore, ImportOfAnUnknownFileNeedsAName) {
  TempDir downloads;
  const std::string data = test_bytes(5000, 99);
  write_all(downloads / "head.npy", data);
  try {
    safescan::import_model(downloads / "head.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("--name"), std::string::npos) << e.what();
  }
  const auto m = safescan::import_model(downloads / "head.npy", {"my-head"});
  EXPECT_EQ(m.name, "my-head");
  EXPECT_EQ(m.kind, "custom");
  EXPECT_EQ(m.format, "npy");
  ASSERT_EQ(m.files.size(), 1u);
  EXPECT_EQ(m.files.at("head.npy"), sha(data));
  EXPECT_EQ(safescan::model_file("my-head"), model_dir("my-head") / "head.npy");
  EXPECT_TRUE(safescan::verify_model(m).empty());
}

TEST_F(ModelStore, ImportAFolderUnderAName) {
  TempDir folder;
  write_all(folder / "model.json", "{}");
  write_all(folder / "group1-shard1of1.bin", test_bytes(1000, 3));
  EXPECT_THROW(safescan::import_model(folder.path()), Error) << "a folder needs a name";
  const auto m = safescan::import_model(folder.path(), {"my-tfjs"});
  EXPECT_EQ(m.files.size(), 2u);
  EXPECT_EQ(m.format, "tfjs");
  EXPECT_EQ(safescan::resolve_model("my-tfjs"), model_dir("my-tfjs"));
  EXPECT_THROW(safescan::model_file("my-tfjs"), Error) << "two files: the caller must say which";
  EXPECT_EQ(safescan::model_file("my-tfjs", "model.json"), model_dir("my-tfjs") / "model.json");
}

TEST_F(ModelStore, ImportRejectsBadNamesAndMissingFiles) {
  TempDir downloads;
  write_all(downloads / "x.bin", "x");
  for (const char* bad : {"../evil", "a/b", ".hidden", "-x"}) {
    try {
      safescan::import_model(downloads / "x.bin", {bad});
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << bad;
    }
  }
  try {
    safescan::import_model(downloads / "missing.bin", {"x"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unreadable);
  }
}

// --- remove, verify, lookups ----------------------------------------------------------------

TEST_F(ModelStore, RemoveDeletesTheModelAndItsPartialDownloads) {
  TempDir downloads;
  write_all(downloads / "a.bin", test_bytes(4096, 5));
  safescan::import_model(downloads / "a.bin", {"to-remove"});
  fs::create_directories(home_ / "models" / ".partial" / "to-remove");
  write_all(home_ / "models" / ".partial" / "to-remove" / "x.part", "partial");
  EXPECT_GE(safescan::remove_model("to-remove"), 4096u);
  EXPECT_FALSE(fs::exists(model_dir("to-remove")));
  EXPECT_FALSE(fs::exists(home_ / "models" / ".partial" / "to-remove"));
  EXPECT_FALSE(safescan::find_installed_model("to-remove"));
  try {
    safescan::remove_model("to-remove");
    FAIL() << "removing twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_missing);
  }
  EXPECT_THROW(safescan::remove_model("../models"), Error);
  EXPECT_TRUE(fs::exists(home_ / "models"));
}

TEST_F(ModelStore, VerifyFindsADamagedFile) {
  TempDir downloads;
  write_all(downloads / "a.bin", test_bytes(4096, 5));
  const auto m = safescan::import_model(downloads / "a.bin", {"damaged"});
  write_all(model_dir("damaged") / "a.bin", test_bytes(4096, 6));
  const auto problems = safescan::verify_model(m);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("a.bin"), std::string::npos) << problems[0];
}

TEST_F(ModelStore, ModelFileSaysHowToInstallAMissingModel) {
  try {
    safescan::model_file("clip-vocab");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_missing);
    EXPECT_NE(std::string(e.what()).find("safescan models pull clip-vocab"), std::string::npos) << e.what();
  }
  try {
    safescan::model_file("no-such-model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::model_missing);
    EXPECT_NE(std::string(e.what()).find("unknown model"), std::string::npos) << e.what();
  }
  try {
    safescan::resolve_model("nsfw-mobilenet-v2");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("setup.sh"), std::string::npos) << e.what();
  }
}

// --- the catalogue ------------------------------------------------------------------------

TEST(ModelCatalogue, HasTheModelsSafescanNeeds) {
  std::set<std::string> names;
  for (const auto& k : safescan::known_models()) {
    EXPECT_TRUE(names.insert(k.name).second) << "duplicate " << k.name;
    EXPECT_NO_THROW(safescan::check_model_name(k.name));
    EXPECT_FALSE(k.kind.empty()) << k.name;
    EXPECT_FALSE(k.description.empty()) << k.name;
    if (k.kind == "test") continue;  // registered by the store tests
    if (k.install == "npm") {
      EXPECT_TRUE(k.files.empty()) << k.name;
      continue;
    }
    EXPECT_EQ(k.install, "download") << k.name;
    ASSERT_FALSE(k.files.empty()) << k.name;
    for (const auto& f : k.files) {
      EXPECT_EQ(f.url.rfind("https://", 0), 0u) << f.url;
      EXPECT_EQ(f.sha256.size(), 64u) << k.name;
      EXPECT_EQ(f.sha256.find_first_not_of("0123456789abcdef"), std::string::npos) << k.name;
      if (k.kind == "clip") {
        EXPECT_NE(f.url.find("/" + f.sha256 + "/"), std::string::npos) << "OpenAI's URL carries the sha256";
      }
    }
  }
  EXPECT_EQ(safescan::known_models().front().name, safescan::kDefaultNsfwModel);
  for (const char* n : {"nsfw-mobilenet-v2", "nsfw-mobilenet-v2-mid", "nsfw-inception-v3", "clip-vit-b-32",
                        "clip-vit-b-16", "clip-vit-l-14", "clip-vocab", "q16-vit-b-16", "q16-vit-b-32", "q16-vit-l-14",
                        "laion-nsfw-vit-b-32", "laion-nsfw-vit-l-14", "laion-violence-vit-b-32",
                        "laion-violence-vit-l-14", "yunet"})
    EXPECT_TRUE(safescan::find_known_model(n)) << n;
}

// The catalogue's checksums were taken from ../shared/models; they must stay in step.
TEST(ModelCatalogue, ChecksumsMatchTheSharedCopies) {
  SAFESCAN_REQUIRE_SHARED("models");
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"clip-vocab", "models/clip/bpe_simple_vocab_16e6.txt.gz"},
      {"q16-vit-b-16", "models/q16/ViT-B-16.prompts.p"},
      {"q16-vit-b-32", "models/q16/ViT-B-32.prompts.p"},
      {"q16-vit-l-14", "models/q16/ViT-L-14.prompts.p"},
      {"laion-nsfw-vit-b-32", "models/laion/clip_autokeras_nsfw_b32.zip"},
      {"laion-nsfw-vit-l-14", "models/laion/clip_autokeras_binary_nsfw.zip"},
      {"laion-violence-vit-b-32", "models/laion/violence_detection_vit_b_32.npy"},
      {"laion-violence-vit-l-14", "models/laion/violence_detection_vit_l_14.npy"},
      {"yunet", "models/faces/face_detection_yunet.onnx"},
  };
  for (const auto& [name, rel] : pairs) {
    const fs::path p = safescan::testing::shared_dir() / rel;
    if (!fs::exists(p)) continue;
    const KnownModel* k = safescan::find_known_model(name);
    ASSERT_TRUE(k) << name;
    EXPECT_EQ(k->files.at(0).sha256, safescan::sha256_file(p)) << name;
    EXPECT_EQ(k->files.at(0).size, fs::file_size(p)) << name;
  }
}

TEST_F(ModelStore, ImportOfASharedModelFileIsRecognised) {
  SAFESCAN_REQUIRE_SHARED("models/q16/ViT-B-32.prompts.p");
  const auto m = safescan::import_model(safescan::testing::shared_dir() / "models/q16/ViT-B-32.prompts.p");
  EXPECT_EQ(m.name, "q16-vit-b-32");
  EXPECT_EQ(m.kind, "q16-prompts");
  EXPECT_EQ(safescan::model_file("q16-vit-b-32"), model_dir("q16-vit-b-32") / "prompts.p");
  EXPECT_TRUE(safescan::verify_model(m).empty());
}

}  // namespace
