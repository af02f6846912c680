#include <gtest/gtest.h>

#include "safescan/models.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/runtime.hpp"
#include "testing.hpp"

namespace {

// scripts/setup.sh selects the OpenMP OpenBLAS; the reference BLAS would make every model
// ~40x slower, so a machine set up by our scripts must not end up with it.
TEST(Runtime, UsesAllCoresAndOpenMPOpenBLAS) {
  const auto rt = safescan::configure_runtime();
  EXPECT_GE(rt.threads, 1);
  EXPECT_FALSE(rt.reference_blas) << rt.blas << ": " << rt.warning;
  EXPECT_NE(rt.blas.find("OpenBLAS (OpenMP)"), std::string::npos) << rt.blas;
  EXPECT_TRUE(rt.warning.empty()) << rt.warning;
  EXPECT_EQ(safescan::configure_runtime(1).threads, 1);
  safescan::configure_runtime();
}

// The decisions on these categories are the policy's (tests/core/test_policy.cpp).
TEST(NsfwScores, CategoriesAndTop) {
  safescan::NsfwScores s;
  s.probs = {0.05f, 0.2f, 0.3f, 0.25f, 0.2f};  // drawing hentai neutral porn sexy
  EXPECT_EQ(s.top(), safescan::NsfwClass::neutral);
  EXPECT_FLOAT_EQ(s.sexual(), 0.45f);
  EXPECT_FLOAT_EQ(s.suggestive(), 0.2f);
  s.probs = {0.0f, 0.0f, 0.4f, 0.0f, 0.6f};
  EXPECT_EQ(s.top(), safescan::NsfwClass::sexy);
  EXPECT_FLOAT_EQ(s.suggestive(), 0.6f);
}

TEST(Models, UnknownAndMissingModelsAreClearErrors) {
  try {
    safescan::resolve_model("no-such-model");
    FAIL() << "expected an error";
  } catch (const safescan::Error& e) {
    EXPECT_EQ(e.code(), safescan::ErrorCode::model_missing);
    EXPECT_NE(std::string(e.what()).find("nsfw-mobilenet-v2"), std::string::npos) << "should list the known models: " << e.what();
  }
  EXPECT_THROW(safescan::NsfwClassifier::load("/nonexistent/model/dir"), safescan::Error);
}

TEST(Models, DefaultModelsAreInstalledAndIntact) {
  for (const auto& m : safescan::installed_models()) {
    EXPECT_TRUE(safescan::verify_model(m).empty()) << m.name;
  }
  for (const char* name : {"nsfw-mobilenet-v2", "nsfw-mobilenet-v2-mid", "nsfw-inception-v3"}) {
    EXPECT_NO_THROW(safescan::resolve_model(name)) << name << " is not installed: run scripts/setup.sh";
  }
}

}  // namespace
