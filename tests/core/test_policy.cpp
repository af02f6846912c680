// Policies (TOML and JSON), categories, and the --detectors syntax.
#include <gtest/gtest.h>

#include "safescan/detector.hpp"
#include "safescan/error.hpp"
#include "safescan/policy.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

using testing::expect_error;

TEST(Categories, CanonicalNamesInAnySpelling) {
  EXPECT_EQ(canonical_category("sexual"), "Sexual");
  EXPECT_EQ(canonical_category("SELF_HARM"), "Self-harm");
  EXPECT_EQ(canonical_category("illegal-activity"), "Illegal activity");
  EXPECT_EQ(canonical_category("Public and personal health"), "Public and personal health");
  EXPECT_EQ(canonical_category("suggestive"), "Suggestive");
  EXPECT_FALSE(canonical_category("nudity"));
  EXPECT_EQ(kCategories.size(), kUnsafeBenchCategories + 1);
  EXPECT_LT(category_index("Hate"), category_index("Spam"));
  EXPECT_EQ(to_string(Likelihood::very_likely), "VERY_LIKELY");
  EXPECT_EQ(parse_likelihood("possible"), Likelihood::possible);
  EXPECT_EQ(parse_decision("Review"), Decision::review);
  EXPECT_FALSE(parse_decision("delete"));
}

// The built-in policy is the decisions safescan made before policies: block at 0.5, Q16 at 0.9.
TEST(Policy, BuiltInReproducesTheOldDecisions) {
  const Policy p = Policy::builtin();
  EXPECT_EQ(p.source(), "built-in");
  EXPECT_EQ(p.decide("nsfw-mobilenet-v2", "Sexual", 0.5f), Decision::block);
  EXPECT_EQ(p.decide("nsfw-mobilenet-v2", "Sexual", 0.4999f), Decision::allow);
  EXPECT_EQ(p.decide("nsfw-mobilenet-v2", "Suggestive", 0.89f), Decision::block);
  EXPECT_EQ(p.decide("q16", "Violence", 0.89f), Decision::allow);
  EXPECT_EQ(p.decide("q16", "Violence", 0.9f), Decision::block);
  EXPECT_EQ(p.decide("zeroshot", "Spam", 0.5f), Decision::block);
  EXPECT_EQ(p.likelihood("Sexual", 0.0f), Likelihood::very_unlikely);
  EXPECT_EQ(p.likelihood("Sexual", 0.1f), Likelihood::unlikely);
  EXPECT_EQ(p.likelihood("Sexual", 0.3f), Likelihood::possible);
  EXPECT_EQ(p.likelihood("Sexual", 0.5f), Likelihood::likely);
  EXPECT_EQ(p.likelihood("Sexual", 0.8f), Likelihood::very_likely);
}

TEST(Policy, MostSpecificThresholdWins) {
  const char* toml = R"(version = 1
description = "strict for Hate"
[likelihood]
UNLIKELY = 0.05
POSSIBLE = 0.2
LIKELY = 0.4
VERY_LIKELY = 0.6
[categories.default]
block = 0.7
review = 0.4
[categories.hate]
block = 0.3
[categories.Spam.likelihood]
UNLIKELY = 0.5
POSSIBLE = 0.6
LIKELY = 0.7
VERY_LIKELY = 0.9
[detectors.zeroshot]
block = 0.8
[detectors.zeroshot.categories.Hate]
review = 0.1
)";
  const Policy p = Policy::parse(toml, "toml", "strict.toml");
  EXPECT_EQ(p.decide("x", "Violence", 0.69f), Decision::review);
  EXPECT_EQ(p.decide("x", "Violence", 0.7f), Decision::block);
  EXPECT_EQ(p.decide("x", "Hate", 0.3f), Decision::block);         // category beats default
  EXPECT_EQ(p.decide("zeroshot", "Violence", 0.75f), Decision::review);  // detector beats category...
  EXPECT_EQ(p.decide("zeroshot", "Hate", 0.5f), Decision::review);  // ...its own block (0.8) over Hate's 0.3
  EXPECT_EQ(p.decide("zeroshot", "Hate", 0.1f), Decision::review);  // detector x category: review from 0.1
  EXPECT_EQ(p.decide("zeroshot", "Hate", 0.05f), Decision::allow);
  EXPECT_EQ(p.likelihood("Violence", 0.45f), Likelihood::likely);
  EXPECT_EQ(p.likelihood("Spam", 0.45f), Likelihood::very_unlikely);  // its own boundaries
  Policy t = p;
  t.set_block_threshold(0.95f);  // --threshold: every block threshold
  EXPECT_EQ(t.decide("x", "Hate", 0.9f), Decision::review);
  EXPECT_EQ(t.decide("zeroshot", "Violence", 0.95f), Decision::block);

  // The same as JSON gives the same decisions.
  const Policy j = Policy::parse(R"({"version": 1, "categories": {"default": {"block": 0.7, "review": 0.4}, "HATE": {"block": 0.3}},
                                     "detectors": {"zeroshot": {"block": 0.8, "categories": {"hate": {"review": 0.1}}}}})",
                                 "json", "strict.json");
  for (const float s : {0.05f, 0.1f, 0.3f, 0.5f, 0.75f, 0.9f})
    for (const char* d : {"x", "zeroshot"})
      for (const char* c : {"Hate", "Violence"}) EXPECT_EQ(j.decide(d, c, s), p.decide(d, c, s)) << d << " " << c << " " << s;
  // Recorded with runs.
  EXPECT_NE(p.to_json().find("\"Hate\""), std::string::npos) << p.to_json();
}

TEST(Policy, BadFilesSayWhatAndWhere) {
  auto bad = [](const char* text, const char* format, const char* needle) {
    SCOPED_TRACE(text);
    expect_error([&] { Policy::parse(text, format, "p"); }, ErrorCode::invalid_argument, needle);
  };
  bad("version = 1\n[categories\n", "toml", "not valid TOML");
  bad("{", "json", "not valid JSON");
  bad("version = 3\n", "toml", "policy version 1");
  bad("[categories.Nudity]\nblock = 0.5\n", "toml", "unknown category 'Nudity'");
  bad("[categories.default]\nblock = 1.5\n", "toml", "categories.default.block: expected a number in [0, 1]");
  bad("[categories.default]\nblock = \"high\"\n", "toml", "expected a number");
  bad("[categories.default]\nflag = 0.5\n", "toml", "categories.default.flag: unknown key");
  bad("thresholds = 0.5\n", "toml", "thresholds: unknown key");
  bad("[likelihood]\nUNLIKELY = 0.2\n", "toml", "needs all four boundaries");
  bad("[likelihood]\nUNLIKELY = 0.2\nPOSSIBLE = 0.2\nLIKELY = 0.3\nVERY_LIKELY = 0.4\n", "toml", "POSSIBLE must be above UNLIKELY");
  bad("[likelihood]\nVERY_UNLIKELY = 0.0\n", "toml", "unknown level");
  bad("[detectors.q16.categories.Gore]\nblock = 0.5\n", "toml", "unknown category 'Gore'");
  const testing::TempDir dir;
  expect_error([&] { Policy::load(dir / "missing.toml"); }, ErrorCode::unreadable, "cannot read the policy file");
  testing::write_all(dir / "p.json", R"({"version": 1, "categories": {"default": {"review": 0.2}}})");
  EXPECT_EQ(Policy::load(dir / "p.json").decide("x", "Spam", 0.25f), Decision::review);
  EXPECT_EQ(Policy::load(dir / "p.json").source(), (dir / "p.json").string());
}

TEST(Policy, ApplyFillsLevelsAndTheItemDecision) {
  ItemResult r;
  r.categories = {{"a", "Sexual", 0.2f, Likelihood::very_unlikely, Decision::allow},
                  {"q16", "Hate", 0.95f, Likelihood::very_unlikely, Decision::allow}};
  Policy::builtin().apply(r);
  EXPECT_EQ(r.categories[0].likelihood, Likelihood::unlikely);
  EXPECT_EQ(r.categories[0].decision, Decision::allow);
  EXPECT_EQ(r.categories[1].decision, Decision::block);
  EXPECT_EQ(r.decision, Decision::block);
  EXPECT_TRUE(r.flagged());
  r.ok = false;  // a failed item is never flagged
  Policy::builtin().apply(r);
  EXPECT_EQ(r.decision, Decision::allow);
  EXPECT_FALSE(r.flagged());
}

TEST(DetectorSpec, ParsesNamesArgumentsLabelsAndCompositions) {
  const auto specs = parse_detector_specs(
      " nsfw-mobilenet-v2 , q16:dir/prompts.p,faces,  confirmed = cascade(nsfw-mobilenet-v2, nsfw-mobilenet-v2-mid , 0.25),"
      "ensemble(q16,laion-nsfw,zeroshot:\"my prompts, v2.json\")");
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[0].text(), "nsfw-mobilenet-v2");
  EXPECT_EQ(specs[1].name, "q16");
  EXPECT_EQ(specs[1].argument, "dir/prompts.p");
  EXPECT_EQ(specs[1].display_name(), "q16:dir/prompts.p");
  EXPECT_EQ(specs[3].kind, DetectorSpec::Kind::cascade);
  EXPECT_EQ(specs[3].label, "confirmed");
  EXPECT_EQ(specs[3].display_name(), "confirmed");
  EXPECT_FLOAT_EQ(specs[3].bound, 0.25f);
  EXPECT_EQ(specs[3].text(), "cascade(nsfw-mobilenet-v2,nsfw-mobilenet-v2-mid,0.25)");
  EXPECT_EQ(specs[4].kind, DetectorSpec::Kind::ensemble);
  ASSERT_EQ(specs[4].members.size(), 3u);
  EXPECT_EQ(specs[4].members[2].argument, "my prompts, v2.json");
  // The canonical text parses back to the same spec.
  for (const auto& s : specs) EXPECT_EQ(parse_detector_specs(s.text())[0].text(), s.text());
  EXPECT_EQ(parse_detector_specs("cascade(a,b)")[0].text(), "cascade(a,b,0.5)");  // the default bound
  EXPECT_EQ(parse_detector_specs("cascade(ensemble(a,b),cascade(c,d,0.1),0.7)")[0].members[1].text(), "cascade(c,d,0.1)");
}

TEST(DetectorSpec, MistakesNameTheCharacter) {
  auto bad = [](const char* text, const char* needle) {
    SCOPED_TRACE(text);
    expect_error([&] { parse_detector_specs(text); }, ErrorCode::invalid_argument, needle);
  };
  bad("", "no detector named");
  bad("a,,b", "expected a detector name at character 3");
  bad("ensemble(a)", "at least two members");
  bad("cascade(a)", "expected ','");
  bad("cascade(a,b,2)", "a bound in [0, 1]");
  bad("cascade(a,b,x)", "a bound in [0, 1]");
  bad("ensemble(a,b", "expected ')' at its end");
  bad("a)", "unexpected ')'");
  bad("q16:", "expected an argument after ':'");
  bad("q16:\"unterminated", "unterminated quoted argument");
  bad("/abs/path", "expected a detector name at character 1");
}

}  // namespace
}  // namespace safescan
