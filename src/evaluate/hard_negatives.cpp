// Benign hard cases and robustness (bench_internal.hpp): images made from benign photos that
// detectors mistake for nudity (the close-up of a nose in a nine-photo grid), and the labelled
// images corrupted at each severity.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>

#include "core/base64.hpp"
#include "evaluate/bench_internal.hpp"
#include "safescan/corruptions.hpp"
#include "safescan/error.hpp"
#include "safescan/item_bytes.hpp"
#include "safescan/sources.hpp"

namespace safescan::bench {

namespace {

using json = nlohmann::json;

// The rectangle [x, x + w) x [y, y + h) of `img`.
Image crop(const Image& img, int x, int y, int w, int h) {
  Image out;
  out.width = w;
  out.height = h;
  out.format = img.format;
  out.pixels.resize(static_cast<std::size_t>(w) * h * 3);
  for (int r = 0; r < h; ++r)
    std::copy_n(img.pixels.data() + (static_cast<std::size_t>(y + r) * img.width + x) * 3, static_cast<std::size_t>(w) * 3,
                out.pixels.data() + static_cast<std::size_t>(r) * w * 3);
  return out;
}

// Area-averaged resize to w x h (for tiles and previews).
Image resize_area(const Image& img, int w, int h) {
  Image out;
  out.width = w;
  out.height = h;
  out.format = img.format;
  out.pixels.assign(static_cast<std::size_t>(w) * h * 3, 0);
  for (int y = 0; y < h; ++y) {
    const int y0 = y * img.height / h, y1 = std::max(y0 + 1, (y + 1) * img.height / h);
    for (int x = 0; x < w; ++x) {
      const int x0 = x * img.width / w, x1 = std::max(x0 + 1, (x + 1) * img.width / w);
      for (int c = 0; c < 3; ++c) {
        std::uint32_t sum = 0;
        for (int yy = y0; yy < y1; ++yy)
          for (int xx = x0; xx < x1; ++xx) sum += img.pixels[(static_cast<std::size_t>(yy) * img.width + xx) * 3 + c];
        out.pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>((sum + (x1 - x0) * (y1 - y0) / 2) / ((x1 - x0) * (y1 - y0)));
      }
    }
  }
  return out;
}

struct HardNegative {
  std::string key, kind;  // kind: original, closeup-2x, closeup-4x, closeup-8x, grid-3x3, text
  std::shared_ptr<const Image> image;
};

// From each benign photo: the photo itself; close-up crops at three zooms (two each, random
// places); a 3 x 3 grid of close-ups from this photo and others (a "nine-photo post"); the
// photo with a caption band (a screenshot with text).
std::vector<HardNegative> make_hard_negatives(const std::vector<std::pair<std::string, Image>>& photos, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<HardNegative> out;
  auto add = [&](const std::string& key, const std::string& kind, Image img, const std::string& suffix = {}) {
    out.push_back({key + "#" + kind + suffix, kind, std::make_shared<const Image>(std::move(img))});
  };
  for (std::size_t p = 0; p < photos.size(); ++p) {
    const auto& [name, img] = photos[p];
    if (img.width < 64 || img.height < 64) continue;
    add(name, "original", img);
    for (const int zoom : {2, 4, 8}) {
      for (int k = 0; k < 2; ++k) {
        const int side = std::max(32, std::min(img.width, img.height) / zoom);
        std::uniform_int_distribution<int> ux(0, img.width - side), uy(0, img.height - side);
        add(name, "closeup-" + std::to_string(zoom) + "x", crop(img, ux(rng), uy(rng), side, side), "-" + std::to_string(k));
      }
    }
    // Nine close-ups (x4) of this photo and the next ones, tiled 3 x 3 at 96 px each.
    Image grid;
    grid.width = grid.height = 3 * 96;
    grid.format = ImageFormat::png;
    grid.pixels.assign(static_cast<std::size_t>(grid.width) * grid.height * 3, 255);
    for (int t = 0; t < 9; ++t) {
      const Image& src = photos[(p + static_cast<std::size_t>(t)) % photos.size()].second;
      const int side = std::max(16, std::min(src.width, src.height) / 4);
      if (src.width < side || src.height < side) continue;
      std::uniform_int_distribution<int> ux(0, src.width - side), uy(0, src.height - side);
      const Image tile = resize_area(crop(src, ux(rng), uy(rng), side, side), 94, 94);
      for (int y = 0; y < 94; ++y)
        std::copy_n(tile.pixels.data() + static_cast<std::size_t>(y) * 94 * 3, 94 * 3,
                    grid.pixels.data() + ((static_cast<std::size_t>(t / 3) * 96 + 1 + y) * grid.width + (t % 3) * 96 + 1) * 3);
    }
    add(name, "grid-3x3", std::move(grid));
    add(name, "text", corrupt(img, "text_overlay", 3, seed + p));
  }
  return out;
}

}  // namespace

std::vector<ItemResult> score_sources(const DetectorSet& detectors, const Policy& policy, std::vector<SourceItem> items,
                                      const EngineOptions& options, const std::function<void(std::size_t)>& on_done) {
  std::vector<ItemResult> results(items.size());
  run_engine(
      detectors, policy, options,
      [&](Engine& engine) {
        for (std::size_t i = 0; i < items.size(); ++i)
          if (!engine.submit(std::move(items[i]), i)) return;
      },
      [&](std::vector<EngineResult>&& batch) {
        for (auto& r : batch) results[r.tag] = std::move(r.result);
        if (on_done) on_done(batch.size());
      });
  return results;
}

std::vector<ItemResult> score_images(const DetectorSet& detectors, const Policy& policy,
                                     const std::vector<std::shared_ptr<const Image>>& images, const std::vector<std::string>& keys,
                                     const EngineOptions& options, const std::function<void(std::size_t)>& on_done) {
  std::vector<SourceItem> items(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    items[i].key = items[i].path = keys[i];
    items[i].member = "-";
    items[i].pixels = images[i];
  }
  return score_sources(detectors, policy, std::move(items), options, on_done);
}

std::string preview_uri(const Image& image, int side) {
  const double scale = std::min(1.0, static_cast<double>(side) / std::max(image.width, image.height));
  const Image small = scale < 1.0 ? resize_area(image, std::max(1, static_cast<int>(image.width * scale)),
                                                std::max(1, static_cast<int>(image.height * scale)))
                                  : image;
  return "data:image/jpeg;base64," + base64_encode(encode_jpeg(small, 80));
}

void measure_hard_negatives(const BenchConfig& cfg, const DetectorSet& detectors, const Policy& policy,
                            const EngineOptions& options, json& out) {
  // The benign photos, decoded once (they are few: a folder of examples).
  std::vector<std::pair<std::string, Image>> photos;
  UnitEnumerator units({cfg.hard_negatives.string()});
  while (auto unit = units.next())
    read_unit(*unit, [&](SourceItem&& it) {
      if (it.error) {
        spdlog::warn("hard negatives: {} left out: {}", it.key, it.error->what());
        return true;
      }
      try {
        DecodeOptions d = cfg.decode;
        d.min_side_hint = 0;
        Image img = it.member.empty() ? load_image(it.path, d) : decode_image(it.bytes, d, it.path + ":" + it.member);
        photos.emplace_back(it.key, std::move(img));
      } catch (const Error& e) {
        spdlog::warn("hard negatives: {} left out: {}", it.key, e.what());
      }
      return true;
    });
  if (photos.empty()) throw Error(ErrorCode::invalid_argument, "no benign image to make hard negatives from", cfg.hard_negatives.string());
  const std::vector<HardNegative> negatives = make_hard_negatives(photos, static_cast<std::uint64_t>(cfg.hard_negative_seed));
  std::vector<std::shared_ptr<const Image>> images;
  std::vector<std::string> keys;
  for (const auto& n : negatives) {
    images.push_back(n.image);
    keys.push_back(n.key);
  }
  Progress progress("hard negatives", images.size(), cfg.progress);
  const auto results = score_images(detectors, policy, images, keys, options, [&](std::size_t n) { progress.add(n); });

  std::map<std::string, std::int64_t> kinds;
  for (const auto& n : negatives) ++kinds[n.kind];
  json& summary = out["hard_negatives"];
  summary["photos"] = photos.size();
  summary["images"] = negatives.size();
  summary["folder"] = cfg.hard_negatives.string();
  summary["seed"] = cfg.hard_negative_seed;
  for (const auto& [kind, n] : kinds) summary["kinds"][kind] = n;

  for (const auto& d : detectors.detectors()) {
    if (d.annotator) continue;
    // Every hard negative is benign: a false alarm is a decision other than allow for this
    // detector (any of its categories), counted per kind and per category.
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> per_kind;  // kind -> (images, false alarms)
    std::map<std::string, std::int64_t> per_category;
    std::vector<std::pair<float, std::size_t>> worst;  // highest category score of the false alarms
    std::int64_t alarms = 0, scored = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const ItemResult& r = results[i];
      if (!r.ok) continue;
      ++scored;
      const std::string& kind = negatives[i].kind;
      bool alarm = false;
      float top = 0;
      for (const auto& c : r.categories) {
        if (c.detector != d.name) continue;
        top = std::max(top, c.score);
        if (c.decision == Decision::allow) continue;
        alarm = true;
        ++per_category[c.category];
      }
      auto& k = per_kind[kind];
      ++k.first;
      if (alarm) {
        ++k.second;
        ++alarms;
        worst.emplace_back(top, i);
      }
    }
    json h;
    h["images"] = scored;
    h["false_alarms"] = alarms;
    h["fpr"] = scored ? json(static_cast<double>(alarms) / static_cast<double>(scored)) : json();
    for (const auto& [kind, n] : per_kind)
      h["by_kind"][kind] = {{"images", n.first}, {"false_alarms", n.second},
                            {"fpr", n.first ? static_cast<double>(n.second) / static_cast<double>(n.first) : 0.0}};
    for (const auto& [cat, n] : per_category) h["by_category"][cat] = n;
    std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    json examples = json::array();
    for (std::size_t k = 0; k < worst.size() && k < 8; ++k)
      examples.push_back({{"key", negatives[worst[k].second].key},
                          {"kind", negatives[worst[k].second].kind},
                          {"score", worst[k].first},
                          {"preview", preview_uri(*negatives[worst[k].second].image)}});
    h["examples"] = std::move(examples);
    out["detectors"][d.name]["hard_negatives"] = std::move(h);
  }
}

void measure_robustness(const BenchConfig& cfg, const DetectorSet& detectors, const Policy& policy, const EngineOptions& options,
                        const std::vector<LabelledItem>& items, const std::vector<ItemResult>& clean, json& out) {
  // A sample of the items that were scored, chosen with the seed.
  std::vector<std::size_t> sample;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (clean[i].ok) sample.push_back(i);
  std::mt19937_64 rng(cfg.seed);
  std::shuffle(sample.begin(), sample.end(), rng);
  if (static_cast<int>(sample.size()) > cfg.robustness_samples) sample.resize(static_cast<std::size_t>(cfg.robustness_samples));
  std::sort(sample.begin(), sample.end());
  std::vector<std::shared_ptr<const Image>> originals;
  for (const std::size_t i : sample) {
    DecodeOptions d = cfg.decode;
    d.min_side_hint = 0;
    const auto bytes = read_item_bytes(items[i].path, items[i].member);
    originals.push_back(std::make_shared<const Image>(decode_image(bytes, d, items[i].key)));
  }
  for (const auto& name : cfg.corruptions)
    if (std::find(corruption_names().begin(), corruption_names().end(), name) == corruption_names().end())
      throw Error(ErrorCode::invalid_argument, "unknown corruption '" + name + "'");

  Progress progress("robustness", cfg.corruptions.size() * cfg.severities.size() * originals.size(), cfg.progress);
  for (const auto& name : cfg.corruptions) {
    for (const int severity : cfg.severities) {
      std::vector<std::shared_ptr<const Image>> images;
      std::vector<std::string> keys;
      for (std::size_t k = 0; k < originals.size(); ++k) {
        images.push_back(std::make_shared<const Image>(corrupt(*originals[k], name, severity, cfg.seed + k)));
        keys.push_back(items[sample[k]].key + "#" + name + "-" + std::to_string(severity));
      }
      const auto results = score_images(detectors, policy, images, keys, options, [&](std::size_t n) { progress.add(n); });
      for (const auto& d : detectors.detectors()) {
        if (d.annotator) continue;
        std::int64_t n = 0, flips = 0, correct = 0;
        for (std::size_t k = 0; k < sample.size(); ++k) {
          const LabelledItem& it = items[sample[k]];
          const auto before = point_of(clean[sample[k]], d.name, it.category, policy);
          const auto after = results[k].ok ? point_of(results[k], d.name, it.category, policy) : std::nullopt;
          if (!before || !after) continue;
          ++n;
          const bool was = before->score >= before->threshold, is = after->score >= after->threshold;
          flips += was != is;
          correct += static_cast<int>(is) == it.label;
        }
        json& entry = out["detectors"][d.name]["robustness"]["corruptions"][name][std::to_string(severity)];
        entry = {{"n", n},
                 {"flip_rate", n ? json(static_cast<double>(flips) / static_cast<double>(n)) : json()},
                 {"accuracy", n ? json(static_cast<double>(correct) / static_cast<double>(n)) : json()}};
      }
    }
  }
  out["robustness"]["samples"] = originals.size();
  out["robustness"]["corruptions"] = cfg.corruptions;
  out["robustness"]["severities"] = cfg.severities;
}

}  // namespace safescan::bench
