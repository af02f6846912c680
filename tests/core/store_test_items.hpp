// Shared by the results-store tests: a synthetic dataset of ItemResults, a text form of an
// item for comparing stores, and small raw-SQL helpers.
#pragma once

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "dataset/sqlite.hpp"
#include "safescan/store.hpp"

namespace safescan::testing {

// Item i of a synthetic dataset: every 7th fails (i % 7 == 6), every 3rd ran a face detector
// (finding i % 4 faces), every 5th has WebDataset metadata.
inline ItemResult make_item(int i, int n_scores = 4) {
  ItemResult it;
  it.path = "/data/img" + std::to_string(i) + ".jpg";
  it.key = it.path;
  it.source = "/data";
  if (i % 7 == 6) {
    it.ok = false;
    it.error_code = "corrupt";
    it.error_message = it.path + ": truncated JPEG";
    return it;
  }
  it.bytes = 1000 + i;
  it.width = 640 + i;
  it.height = 480;
  it.format = "jpeg";
  it.sha256 = std::string(64, 'a' + i % 6);
  if (i % 5 == 0) it.meta_json = R"({"caption":"item )" + std::to_string(i) + R"(","n":)" + std::to_string(i) + "}";
  for (int s = 0; s < n_scores; ++s) {
    float score = static_cast<float>((i * 37 + s * 11) % 100) / 100.0f;
    it.scores.push_back({s % 2 ? "q16" : "nsfw", "cat" + std::to_string(s / 2), score, score >= 0.5f});
  }
  // The policy's verdicts: one category per detector, block at 0.5, review from 0.3.
  for (const char* detector : {"nsfw", "q16"}) {
    if (n_scores == 0) break;
    const float score = static_cast<float>((i * 13 + (detector[0] == 'q' ? 40 : 0)) % 100) / 100.0f;
    const Decision d = score >= 0.5f ? Decision::block : score >= 0.3f ? Decision::review : Decision::allow;
    it.categories.push_back({detector, detector[0] == 'q' ? "Violence" : "Sexual", score,
                             score >= 0.5f ? Likelihood::likely : Likelihood::unlikely, d});
    it.decision = std::max(it.decision, d);
  }
  if (i % 3 == 0) {
    it.faces.emplace();
    for (int f = 0; f < i % 4; ++f) it.faces->push_back({1.0f * f, 2.0f * f, 10.5f, 12.25f, 0.9f});
    it.face_detector = "yunet";
  }
  return it;
}

inline std::vector<ItemResult> make_items(int first, int count, int n_scores = 4) {
  std::vector<ItemResult> out;
  for (int i = first; i < first + count; ++i) out.push_back(make_item(i, n_scores));
  return out;
}

// Everything an ItemResult holds except the store's row id: for comparing stores.
inline std::string describe(const ItemResult& it) {
  std::ostringstream s;
  s << it.key << '|' << it.source << '|' << it.path << '|' << it.member << '|' << it.bytes << '|' << it.width << 'x'
    << it.height << '|' << it.format << '|' << it.sha256 << '|' << it.meta_json << '|' << it.ok << '|' << it.error_code
    << '|' << it.error_message << '|' << it.face_detector << '|' << to_string(it.decision) << '|' << it.review << "|scores:";
  auto scores = it.scores;  // the store returns them sorted by (detector, category)
  std::sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) {
    return std::tie(a.detector, a.category) < std::tie(b.detector, b.category);
  });
  for (const auto& sc : scores) s << sc.detector << '/' << sc.category << '=' << sc.score << (sc.flagged ? "!" : "") << ';';
  s << "|categories:";
  for (const auto& c : it.categories)
    s << c.detector << '/' << c.category << '=' << c.score << ',' << to_string(c.likelihood) << ',' << to_string(c.decision) << ';';
  if (it.faces) {
    s << "|faces:";
    for (const auto& f : *it.faces) s << f.x << ',' << f.y << ',' << f.width << ',' << f.height << ',' << f.confidence << ';';
  }
  return s.str();
}

inline std::vector<std::string> describe_all(const ResultStore& db) {
  std::vector<std::string> out;
  db.for_each_item([&](const ItemResult& it) { out.push_back(describe(it)); });
  return out;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline std::string pragma_text(const std::filesystem::path& file, const char* sql) {
  auto db = safescan::sqlite::Database::open(file, SQLITE_OPEN_READONLY);
  auto st = db.prepare(sql);
  return st.step() ? st.text(0) : "";
}

inline std::string query_plan(const std::filesystem::path& file, const std::string& sql) {
  auto db = safescan::sqlite::Database::open(file, SQLITE_OPEN_READONLY);
  auto st = db.prepare("EXPLAIN QUERY PLAN " + sql);
  std::string plan;
  while (st.step()) plan += st.text(3) + ";";
  return plan;
}

inline RunInfo run_info(int rank = 0) {
  RunInfo info;
  info.version = "0.1.0";
  info.command = "safescan scan /data";
  info.config_json = R"({"detectors":["nsfw"]})";
  info.models_json = R"([{"name":"nsfw","sha256":"00ff"}])";
  info.host = "node1";
  info.rank = rank;
  info.ranks = 2;
  return info;
}

}  // namespace safescan::testing
