// The engine and the detector composition in process, with stub backbones and heads (no model
// files, no libtorch): input order, max-delay batching, failures, cancellation, cascades
// running their second stage only where needed, ensembles, and the policy on top.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "image_writers.hpp"
#include "safescan/engine.hpp"
#include "safescan/error.hpp"
#include "safescan/policy.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

using testing::Bytes;

// A backbone whose one feature is an image's mean red value in [0, 1] (scaled by `gain` and
// capped at 1). It records the size of every batch it runs and can be told to fail.
class StubBackbone final : public Backbone {
 public:
  StubBackbone(std::string name, float gain = 1.0f) : name_(std::move(name)), gain_(gain) {}
  const std::string& name() const override { return name_; }
  std::size_t input_floats() const override { return 1; }
  int min_side() const override { return 1; }
  void preprocess(const Image& image, float* out) const override {
    double sum = 0;
    for (std::size_t i = 0; i < image.pixels.size(); i += 3) sum += image.pixels[i];
    out[0] = static_cast<float>(sum / (image.pixels.size() / 3) / 255.0);
  }
  int feature_dim() const override { return 1; }
  std::vector<float> run(const float* inputs, int n) const override {
    {
      std::lock_guard lock(mu_);
      batches_.push_back(n);
    }
    if (fail_) throw std::runtime_error("the stub model failed");
    std::vector<float> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = std::min(1.0f, inputs[i] * gain_);
    return out;
  }
  std::vector<ModelInfo> models() const override { return {{name_, "", "", {}}}; }

  std::vector<int> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }
  int images() const {
    int n = 0;
    for (const int b : batches()) n += b;
    return n;
  }
  void fail(bool f) { fail_ = f; }

 private:
  std::string name_;
  float gain_;
  mutable std::mutex mu_;
  mutable std::vector<int> batches_;
  std::atomic<bool> fail_{false};
};

// Two outputs: "red" (the feature) covering Sexual, and "one_minus" covering Violence.
class StubHead final : public Head {
 public:
  explicit StubHead(std::string backbone) : name_(backbone), backbone_(std::move(backbone)) {}
  const std::string& name() const override { return name_; }
  const std::string& backbone() const override { return backbone_; }
  int feature_dim() const override { return 1; }
  const std::vector<std::string>& outputs() const override { return outputs_; }
  const std::vector<CategoryMap>& categories() const override { return categories_; }
  void score(const float* f, float* out) const override {
    out[0] = f[0];
    out[1] = 1.0f - f[0];
  }
  std::vector<ModelInfo> models() const override { return {}; }

 private:
  std::string name_, backbone_;
  std::vector<std::string> outputs_{"red", "one_minus"};
  std::vector<CategoryMap> categories_{{"Sexual", {0}}, {"Violence", {1}}};
};

struct Stubs {
  std::shared_ptr<StubBackbone> a = std::make_shared<StubBackbone>("a");
  std::shared_ptr<StubBackbone> b = std::make_shared<StubBackbone>("b", 0.5f);  // half the first's score
  DetectorSet compose(const std::string& spec) const {
    DetectorSet::Parts parts;
    parts.backbones = {{"a", a}, {"b", b}};
    parts.heads = {{"a", std::make_shared<StubHead>("a")}, {"b", std::make_shared<StubHead>("b")}};
    return DetectorSet::compose(parse_detector_specs(spec), std::move(parts));
  }
};

// A small PNG whose red channel is `red` everywhere.
Bytes png_with_red(int red) {
  testing::Raster r(4, 4, 3);
  for (std::size_t i = 0; i < r.data.size(); i += 3) {
    r.data[i] = static_cast<std::uint8_t>(red);
    r.data[i + 1] = 10;
    r.data[i + 2] = 20;
  }
  return testing::encode_png(r);
}

SourceItem item(const std::string& key, Bytes bytes) {
  SourceItem it;
  it.key = it.path = key;
  it.member = "m";  // bytes given: not read from disk
  it.bytes = std::move(bytes);
  return it;
}

std::vector<ItemResult> run(const DetectorSet& set, std::vector<SourceItem> items, EngineOptions options,
                            const Policy& policy = Policy::builtin()) {
  std::vector<ItemResult> out;
  run_engine(
      set, policy, options,
      [&](Engine& e) {
        for (auto& it : items)
          if (!e.submit(std::move(it))) break;
      },
      [&](std::vector<EngineResult>&& batch) {
        for (auto& r : batch) out.push_back(std::move(r.result));
      });
  return out;
}

float score_of(const ItemResult& r, const std::string& detector, const std::string& output) {
  for (const auto& s : r.scores)
    if (s.detector == detector && s.category == output) return s.score;
  ADD_FAILURE() << "no " << detector << "/" << output << " in " << r.key;
  return -1;
}

TEST(Engine, KeepsInputOrderAndScoresEveryItem) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("a");
  std::vector<SourceItem> items;
  for (int i = 0; i < 100; ++i) items.push_back(item("k" + std::to_string(i), png_with_red(i * 2)));
  EngineOptions o;
  o.max_batch = 7;
  o.workers = 3;
  o.ordered = true;
  const auto results = run(set, std::move(items), o);
  ASSERT_EQ(results.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[static_cast<std::size_t>(i)].key, "k" + std::to_string(i));
    EXPECT_NEAR(score_of(results[static_cast<std::size_t>(i)], "a", "red"), i * 2 / 255.0, 1e-6);
    EXPECT_EQ(results[static_cast<std::size_t>(i)].width, 4);
    EXPECT_EQ(results[static_cast<std::size_t>(i)].format, "png");
    EXPECT_EQ(results[static_cast<std::size_t>(i)].sha256.size(), 64u);
  }
  // Ordered batches are formed in submission order: full batches, the rest last.
  const auto batches = stubs.a->batches();
  ASSERT_EQ(batches.size(), 15u);
  for (std::size_t i = 0; i + 1 < batches.size(); ++i) EXPECT_EQ(batches[i], 7);
  EXPECT_EQ(batches.back(), 2);
}

TEST(Engine, UnorderedSinkStillSeesEveryItemOnce) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("a");
  std::vector<SourceItem> items;
  for (int i = 0; i < 50; ++i) items.push_back(item("k" + std::to_string(i), png_with_red(i)));
  EngineOptions o;
  o.max_batch = 8;
  o.workers = 4;
  auto results = run(set, std::move(items), o);
  std::set<std::string> keys;
  for (const auto& r : results) keys.insert(r.key);
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(results.size(), 50u);
}

// With a max delay, a batch goes to inference when it is full or when its first item has
// waited that long: two bursts of three items make two batches of three.
TEST(Engine, MaxDelayBatching) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("a");
  EngineOptions o;
  o.max_batch = 8;
  o.max_delay = std::chrono::milliseconds(40);
  o.workers = 2;
  std::atomic<int> seen{0};
  run_engine(
      set, Policy::builtin(), o,
      [&](Engine& e) {
        for (int burst = 0; burst < 2; ++burst) {
          for (int i = 0; i < 3; ++i) ASSERT_TRUE(e.submit(item("b" + std::to_string(burst * 3 + i), png_with_red(100))));
          std::this_thread::sleep_for(std::chrono::milliseconds(400));
        }
      },
      [&](std::vector<EngineResult>&& batch) { seen += static_cast<int>(batch.size()); });
  EXPECT_EQ(seen.load(), 6);
  EXPECT_EQ(stubs.a->batches(), (std::vector<int>{3, 3}));

  // Without a delay the batcher waits for a full batch (or the end of the input).
  Stubs again;
  const DetectorSet set2 = again.compose("a");
  EngineOptions full;
  full.max_batch = 8;
  std::vector<SourceItem> items;
  for (int i = 0; i < 6; ++i) items.push_back(item("c" + std::to_string(i), png_with_red(1)));
  run(set2, std::move(items), full);
  EXPECT_EQ(again.a->batches(), (std::vector<int>{6}));
}

TEST(Engine, FailuresAreRowsNeverExceptions) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("a");
  std::vector<SourceItem> items;
  items.push_back(item("good", png_with_red(50)));
  items.push_back(item("garbage", Bytes{'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'}));
  SourceItem unreadable;
  unreadable.key = unreadable.path = "/nonexistent/x.png";  // a file: read by the workers
  items.push_back(std::move(unreadable));
  SourceItem listed;
  listed.key = listed.path = "broken-entry";
  listed.error = Error(ErrorCode::unreadable, "symlink loop", "broken-entry");
  items.push_back(std::move(listed));
  SourceItem embedding;  // no detector reads CLIP embeddings here
  embedding.key = embedding.path = "row0";
  embedding.embedding = {0.1f, 0.2f};
  items.push_back(std::move(embedding));
  EngineOptions o;
  o.ordered = true;
  const auto r = run(set, std::move(items), o);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].error_code, "not_an_image");
  EXPECT_EQ(r[2].error_code, "unreadable");
  EXPECT_NE(r[2].error_message.find("/nonexistent/x.png"), std::string::npos) << r[2].error_message;
  EXPECT_EQ(r[3].error_code, "unreadable");
  EXPECT_NE(r[3].error_message.find("symlink loop"), std::string::npos);
  EXPECT_EQ(r[4].error_code, "invalid_argument");
  for (std::size_t i = 1; i < r.size(); ++i) {
    EXPECT_TRUE(r[i].scores.empty());
    EXPECT_FALSE(r[i].flagged());
  }

  // A model that fails fails its batch's items, and the run goes on.
  stubs.a->fail(true);
  std::vector<SourceItem> more;
  more.push_back(item("x", png_with_red(1)));
  const auto failed = run(set, std::move(more), o);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error_code, "internal");
  EXPECT_NE(failed[0].error_message.find("inference failed: the stub model failed"), std::string::npos);
}

TEST(Engine, CancelStopsIntakeButDeliversWhatWasSubmitted) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("a");
  EngineOptions o;
  o.max_batch = 4;
  o.ordered = true;
  int submitted = 0;
  std::vector<std::string> keys;
  run_engine(
      set, Policy::builtin(), o,
      [&](Engine& e) {
        for (int i = 0; i < 1000; ++i) {
          if (i == 10) e.cancel();
          if (!e.submit(item("k" + std::to_string(i), png_with_red(3)))) break;
          ++submitted;
        }
      },
      [&](std::vector<EngineResult>&& batch) {
        for (auto& r : batch) keys.push_back(r.result.key);
      });
  EXPECT_EQ(submitted, 10);
  ASSERT_EQ(keys.size(), 10u);
  EXPECT_EQ(keys.back(), "k9");

  // A sink that throws cancels the run; the exception reaches the caller.
  EXPECT_THROW(run_engine(
                   set, Policy::builtin(), o,
                   [&](Engine& e) {
                     for (int i = 0; i < 100; ++i)
                       if (!e.submit(item("s" + std::to_string(i), png_with_red(3)))) return;
                   },
                   [&](std::vector<EngineResult>&&) { throw std::runtime_error("disk full"); }),
               std::runtime_error);
}

// cascade(a, b, 0.5): b runs only on the items where a's score reaches 0.5, and its score is
// the result there; ensemble(a, b) is the mean of both.
TEST(Composition, CascadeRunsItsSecondStageOnlyWhereNeeded) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("cascade(a,b,0.5),both=ensemble(a,b)");
  ASSERT_EQ(set.names(), (std::vector<std::string>{"cascade(a,b,0.5)", "both"}));
  EXPECT_EQ(set.categories(), (std::vector<std::string>{"Violence", "Sexual"}));  // UnsafeBench's order
  std::vector<SourceItem> items;
  const int reds[] = {0, 51, 102, 153, 204, 255};  // a's red: 0, .2, .4, .6, .8, 1
  for (int red : reds) items.push_back(item(std::to_string(red), png_with_red(red)));
  EngineOptions o;
  o.max_batch = 6;
  o.ordered = true;
  const auto r = run(set, std::move(items), o);
  ASSERT_EQ(r.size(), 6u);
  const std::string cascade = "cascade(a,b,0.5)";
  for (std::size_t i = 0; i < r.size(); ++i) {
    SCOPED_TRACE(r[i].key);
    const float red = reds[i] / 255.0f;
    // The cascade's shared categories are Sexual (red) and Violence (1 - red): the second stage
    // runs when either reaches 0.5, i.e. always here except at red in (0.5, 0.5).
    const bool second = std::max(red, 1 - red) >= 0.5f;
    EXPECT_NEAR(score_of(r[i], cascade, "Sexual"), second ? red * 0.5f : red, 1e-6);
    EXPECT_NEAR(score_of(r[i], "both", "Sexual"), (red + red * 0.5f) / 2, 1e-6);
    EXPECT_NEAR(score_of(r[i], "both", "Violence"), ((1 - red) + (1 - red * 0.5f)) / 2, 1e-6);
  }
  // The ensemble needs b on every item anyway: a and b each ran once per item.
  EXPECT_EQ(stubs.a->images(), 6);
  EXPECT_EQ(stubs.b->images(), 6);

  // Alone, a cascade on Sexual only (the second head covering just that) runs b on the items
  // a finds at or above the bound.
  Stubs only;
  DetectorSet::Parts parts;
  parts.backbones = {{"a", only.a}, {"b", only.b}};
  class SexualOnly final : public Head {
   public:
    const std::string& name() const override { return n; }
    const std::string& backbone() const override { return bb; }
    int feature_dim() const override { return 1; }
    const std::vector<std::string>& outputs() const override { return o; }
    const std::vector<CategoryMap>& categories() const override { return c; }
    void score(const float* f, float* out) const override { out[0] = f[0]; }
    std::vector<ModelInfo> models() const override { return {}; }
    std::string n = "s", bb = "a";
    std::vector<std::string> o{"red"};
    std::vector<CategoryMap> c{{"Sexual", {0}}};
  };
  auto first = std::make_shared<SexualOnly>();
  auto second = std::make_shared<SexualOnly>();
  second->bb = "b";
  parts.heads = {{"first", first}, {"second", second}};
  const DetectorSet solo = DetectorSet::compose(parse_detector_specs("cascade(first,second,0.5)"), std::move(parts));
  std::vector<SourceItem> few;
  for (int red : reds) few.push_back(item(std::to_string(red), png_with_red(red)));
  const auto s = run(solo, std::move(few), o);
  EXPECT_EQ(only.a->images(), 6);
  EXPECT_EQ(only.b->images(), 3);  // .6, .8, 1
  EXPECT_NEAR(score_of(s[4], "cascade(first,second,0.5)", "Sexual"), 0.4f, 1e-6);  // .8 confirmed at half
  EXPECT_NEAR(score_of(s[1], "cascade(first,second,0.5)", "Sexual"), 0.2f, 1e-6);  // .2 stands
}

TEST(Composition, PolicyDecidesPerDetectorAndCategory) {
  Stubs stubs;
  const DetectorSet set = stubs.compose("a,b");
  const Policy policy = Policy::parse(R"(version = 1
[categories.default]
block = 0.9
[categories.Violence]
review = 0.5
[detectors.b]
block = 0.3
)",
                                      "toml", "test policy");
  std::vector<SourceItem> items;
  items.push_back(item("red", png_with_red(255)));  // a: Sexual 1 -> block; b: Sexual .5 -> block (0.3)
  items.push_back(item("dark", png_with_red(0)));   // Violence 1 on both: block at 0.9 (default) / 0.3 (b)
  items.push_back(item("mid", png_with_red(102)));  // a: Sexual .4 allow, Violence .6 review; b: Sexual .2, Violence .8 block
  EngineOptions o;
  o.ordered = true;
  const auto r = run(set, std::move(items), o, policy);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].decision, Decision::block);
  EXPECT_EQ(r[1].decision, Decision::block);
  EXPECT_EQ(r[2].decision, Decision::block);  // by b's Violence 0.8 >= 0.3
  const auto summary = summarize_categories(r[2]);
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].category, "Violence");
  EXPECT_NEAR(summary[0].score, 0.8f, 1e-6);  // the highest over detectors
  EXPECT_EQ(summary[0].decision, Decision::block);
  EXPECT_EQ(summary[0].likelihood, Likelihood::very_likely);  // 0.8 >= 0.8
  // a's raw "one_minus" counts towards its Violence, which was only reviewed: flagged.
  for (const auto& s : r[2].scores)
    if (s.detector == "a") EXPECT_EQ(s.flagged, s.category == "one_minus") << s.category;
  // A composed detector that misses a backbone, or an unknown name, is refused when composed.
  DetectorSet::Parts broken;
  broken.heads = {{"a", std::make_shared<StubHead>("a")}};
  testing::expect_error([&] { DetectorSet::compose(parse_detector_specs("a"), std::move(broken)); }, ErrorCode::invalid_argument,
                        "reads backbone 'a', which is not loaded");
  testing::expect_error([&] { stubs.compose("ensemble(a,zzz)"); }, ErrorCode::invalid_argument, "'zzz' is not a head");
}

}  // namespace
}  // namespace safescan
