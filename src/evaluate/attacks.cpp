// Adversarial robustness (bench_internal.hpp): white-box FGSM and PGD through a detector's
// differentiable forward, UnsafeBench's PGD setting, and the query-only Square attack against
// any detector. Every adversarial example is also rounded to 8 bits, encoded as PNG and scored
// again through the normal path. docs/bench.md says what each figure means.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "evaluate/attacks.hpp"
#include "evaluate/bench_internal.hpp"
#include "safescan/error.hpp"
#include "safescan/item_bytes.hpp"
#include "safescan/parallel.hpp"
#include "safescan/registry.hpp"

namespace safescan::bench {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string>& attack_names() {
  static const std::vector<std::string> names = {"fgsm", "pgd", "pgd-unsafebench", "square"};
  return names;
}

namespace {

// One item under attack: which labelled item, its label, the outputs of the head (white-box)
// that make up the category it is judged on, and the clean decision's threshold.
struct Target {
  std::size_t item = 0;
  int label = 0;
  std::string category;  // "" or free text: the detector's highest category
  float threshold = 0.5f;
  float clean_score = 0;
};

bool predicted_unsafe(float score, float threshold) { return score >= threshold; }

}  // namespace

// An image as [0, 1] floats, channel-major (C x H x W).
Planar to_planar(const Image& img) {
  Planar p{img.width, img.height, std::vector<float>(static_cast<std::size_t>(img.width) * img.height * 3)};
  const std::size_t plane = static_cast<std::size_t>(img.width) * img.height;
  for (std::size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) p.v[c * plane + i] = img.pixels[i * 3 + c] / 255.0f;
  return p;
}

// Rounded to 8 bits.
Image to_image(const float* v, int width, int height) {
  Image img;
  img.width = width;
  img.height = height;
  img.format = ImageFormat::png;
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  img.pixels.resize(plane * 3);
  for (std::size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c)
      img.pixels[i * 3 + c] = static_cast<std::uint8_t>(std::lround(std::clamp(v[c * plane + i], 0.0f, 1.0f) * 255.0f));
  return img;
}

namespace {

// Area-averaged downscale so that the shorter side is `side` (no upscaling).
Image shorter_side(const Image& img, int side) {
  const int s = std::min(img.width, img.height);
  if (side <= 0 || s <= side) return img;
  const double k = static_cast<double>(side) / s;
  const int w = std::max(1, static_cast<int>(std::lround(img.width * k))), h = std::max(1, static_cast<int>(std::lround(img.height * k)));
  Image out;
  out.width = w;
  out.height = h;
  out.format = img.format;
  out.pixels.assign(static_cast<std::size_t>(w) * h * 3, 0);
  for (int y = 0; y < h; ++y) {
    const int y0 = static_cast<int>(static_cast<long long>(y) * img.height / h);
    const int y1 = std::max(y0 + 1, static_cast<int>(static_cast<long long>(y + 1) * img.height / h));
    for (int x = 0; x < w; ++x) {
      const int x0 = static_cast<int>(static_cast<long long>(x) * img.width / w);
      const int x1 = std::max(x0 + 1, static_cast<int>(static_cast<long long>(x + 1) * img.width / w));
      for (int c = 0; c < 3; ++c) {
        std::uint64_t sum = 0;
        for (int yy = y0; yy < y1; ++yy)
          for (int xx = x0; xx < x1; ++xx) sum += img.pixels[(static_cast<std::size_t>(yy) * img.width + xx) * 3 + c];
        const std::uint64_t n = static_cast<std::uint64_t>(x1 - x0) * (y1 - y0);
        out.pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] = static_cast<std::uint8_t>((sum + n / 2) / n);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<float> pgd(const WhiteBox& wb, const std::vector<float>& x0, int n, const std::vector<std::vector<int>>& outputs,
                       const std::vector<float>& sign, const PgdSetting& s, std::mt19937_64& rng) {
  const std::size_t per = wb.floats(), plane = per / 3;
  std::vector<float> x = x0, grad(x0.size());
  // As torchattacks computes it: delta = clip(x - x0, -eps, eps); x = clip(x0 + delta, 0, 1).
  auto project = [&](std::size_t at, int c) {
    const float delta = std::clamp(x[at] - x0[at], -s.eps[c], s.eps[c]);
    x[at] = std::clamp(x0[at] + delta, 0.0f, 1.0f);
  };
  if (s.random_start) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        for (std::size_t k = 0; k < plane; ++k) {
          const std::size_t at = i * per + c * plane + k;
          x[at] = std::clamp(x0[at] + s.eps[c] * u(rng), 0.0f, 1.0f);
        }
  }
  for (int t = 0; t < s.steps; ++t) {
    wb.scores(x.data(), n, outputs, sign, grad.data());
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        for (std::size_t k = 0; k < plane; ++k) {
          const std::size_t at = i * per + c * plane + k;
          const float g = grad[at];
          x[at] += s.step[c] * static_cast<float>((g > 0) - (g < 0));
          project(at, c);
        }
  }
  return x;
}

// --- The Square attack (Andriushchenko et al., 2020), L-inf, margin loss ------------------

// The paper's schedule, as torchattacks computes it (int(it / n_queries * 10000) in doubles).
float square_fraction(float p_init, int it, int queries) {
  const int i = static_cast<int>(static_cast<double>(it) / static_cast<double>(std::max(1, queries)) * 10000.0);
  const int halvings = i <= 10 ? 0 : i <= 50 ? 1 : i <= 200 ? 2 : i <= 500 ? 3 : i <= 1000 ? 4 : i <= 2000 ? 5 : i <= 4000 ? 6 : i <= 6000 ? 7 : i <= 8000 ? 8 : 9;
  return p_init / static_cast<float>(1 << halvings);
}

namespace {

// margin > 0 while the item is still classified as its label.
float margin_of(float score, float threshold, int label) { return label ? score - threshold + 1e-9f : threshold - score; }

}  // namespace

SquareOutcome square(const SquareScorer& score, const std::vector<Planar>& x0, const std::vector<int>& labels,
                     const std::vector<float>& thresholds, float eps, int queries, float p_init, std::mt19937_64& rng) {
  const std::size_t n = x0.size();
  SquareOutcome out;
  out.adversarial = x0;
  out.queries.assign(n, 1);
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  std::bernoulli_distribution coin(0.5);
  auto pm = [&] { return coin(rng) ? 1.0f : -1.0f; };
  // Start: vertical stripes of +-eps.
  std::vector<Image> imgs(n);
  for (std::size_t i = 0; i < n; ++i) {
    Planar& a = out.adversarial[i];
    const std::size_t plane = static_cast<std::size_t>(a.width) * a.height;
    for (int c = 0; c < 3; ++c)
      for (int x = 0; x < a.width; ++x) {
        const float d = eps * pm();
        for (int y = 0; y < a.height; ++y) {
          const std::size_t at = c * plane + static_cast<std::size_t>(y) * a.width + x;
          a.v[at] = std::clamp(x0[i].v[at] + d, 0.0f, 1.0f);
        }
      }
    imgs[i] = to_image(a.v.data(), a.width, a.height);
  }
  // Scores see the 8-bit image: what a query-only attacker can submit.
  std::vector<float> best = score(imgs, all), margin(n);
  for (std::size_t i = 0; i < n; ++i) margin[i] = margin_of(best[i], thresholds[i], labels[i]);
  for (int it = 0; it < queries - 1; ++it) {
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < n; ++i)
      if (margin[i] > 0) open.push_back(i);
    if (open.empty()) break;
    const float p = square_fraction(p_init, it, queries);
    std::vector<Image> cand(open.size());
    std::vector<Planar> trial(open.size());
    for (std::size_t k = 0; k < open.size(); ++k) {
      const std::size_t i = open[k];
      const Planar& a = out.adversarial[i];
      const int h = a.height, w = a.width;
      const int s = std::min(std::max(static_cast<int>(std::lround(std::sqrt(p * static_cast<float>(h) * static_cast<float>(w)))), 1),
                             std::min(h, w));
      std::uniform_int_distribution<int> uy(0, std::max(0, h - s - 1)), ux(0, std::max(0, w - s - 1));
      const int vy = uy(rng), vx = ux(rng);
      trial[k] = a;
      const std::size_t plane = static_cast<std::size_t>(w) * h;
      for (int c = 0; c < 3; ++c) {
        const float d = 2.0f * eps * pm();
        for (int y = vy; y < vy + s; ++y)
          for (int x = vx; x < vx + s; ++x) {
            const std::size_t at = c * plane + static_cast<std::size_t>(y) * w + x;
            const float v = std::clamp(a.v[at] + d, x0[i].v[at] - eps, x0[i].v[at] + eps);
            trial[k].v[at] = std::clamp(v, 0.0f, 1.0f);
          }
      }
      cand[k] = to_image(trial[k].v.data(), w, h);
    }
    const std::vector<float> sc = score(cand, open);
    for (std::size_t k = 0; k < open.size(); ++k) {
      const std::size_t i = open[k];
      ++out.queries[i];
      const float m = margin_of(sc[k], thresholds[i], labels[i]);
      if (m < margin[i]) {
        margin[i] = m;
        out.adversarial[i] = std::move(trial[k]);
      }
    }
  }
  return out;
}

namespace {

// Scores images with a one-detector set, as the engine's inference does: the detector's score
// in `category` (or its highest) for each.
class QueryModel {
 public:
  QueryModel(const DetectorSet& set, const Policy& policy, unsigned threads) : set_(set), policy_(policy), threads_(threads) {
    name_ = set.detectors().at(0).name;
  }
  std::vector<float> scores(const std::vector<Image>& images, const std::vector<std::string>& categories) const {
    const std::size_t per = set_.input_floats(), n = images.size();
    std::vector<float> in(per * n);
    parallel_for(n, threads_, [&](std::size_t i) { set_.preprocess(images[i], in.data() + i * per); });
    std::vector<ItemResult> results(n);
    std::vector<DetectorSet::BatchItem> batch(n);
    for (std::size_t i = 0; i < n; ++i) {
      results[i].ok = true;
      batch[i] = {in.data() + i * per, nullptr, &results[i]};
    }
    set_.run_batch(batch, policy_);
    std::vector<float> out(n, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      const auto p = point_of(results[i], name_, categories[i], policy_);
      out[i] = p ? p->score : 0.0f;
    }
    return out;
  }

 private:
  const DetectorSet& set_;
  const Policy& policy_;
  unsigned threads_;
  std::string name_;
};

// --- Bookkeeping -----------------------------------------------------------------------------

std::string eps_key(float eps) {
  const float k = eps * 255.0f;
  if (std::fabs(k - std::round(k)) < 1e-4f) return std::to_string(static_cast<int>(std::lround(k))) + "/255";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", eps);
  return buf;
}

std::string file_safe(std::string s) {
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return s.substr(0, 120);
}

struct Tally {
  std::int64_t n = 0, robust = 0, robust_8bit = 0;
  void add(bool r, bool r8) {
    ++n;
    robust += r;
    robust_8bit += r8;
  }
  json to_json() const {
    auto frac = [&](std::int64_t k) { return n ? json(static_cast<double>(k) / static_cast<double>(n)) : json(); };
    return {{"n", n}, {"robust_accuracy", frac(robust)}, {"robust_accuracy_8bit", frac(robust_8bit)}};
  }
};

class AdversarialWriter {
 public:
  explicit AdversarialWriter(const fs::path& dir) : dir_(dir) {
    if (dir_.empty()) return;
    fs::create_directories(dir_);
    manifest_.open(dir_ / "manifest.csv");
    if (!manifest_) throw Error(ErrorCode::unreadable, "cannot write the manifest of adversarial examples", (dir_ / "manifest.csv").string());
    manifest_ << "file,key,detector,attack,epsilon,label,direction,score_before,score_adversarial,score_8bit\n";
  }
  bool enabled() const { return !dir_.empty(); }
  void add(const std::string& detector, const std::string& attack, const std::string& eps, const LabelledItem& item,
           const std::vector<std::uint8_t>& png, float before, float adversarial, float after) {
    const fs::path rel = fs::path(file_safe(detector)) / file_safe(attack) / file_safe(eps) /
                         (file_safe(item.key) + "-" + std::to_string(counter_++) + ".png");
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream f(dir_ / rel, std::ios::binary);
    f.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    if (!f) throw Error(ErrorCode::unreadable, "cannot write an adversarial example", (dir_ / rel).string());
    auto csv = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    manifest_ << csv(rel.string()) << ',' << csv(item.key) << ',' << csv(detector) << ',' << attack << ',' << eps << ','
              << item.label << ',' << (item.label ? "evasion" : "false_alarm") << ',' << before << ',' << adversarial << ','
              << after << '\n';
  }

 private:
  fs::path dir_;
  std::ofstream manifest_;
  std::size_t counter_ = 0;
};

}  // namespace

void measure_attacks(const BenchConfig& cfg, const DetectorSet& detectors, const Policy& policy, const EngineOptions& options,
                     const std::vector<LabelledItem>& items, const std::vector<ItemResult>& clean, json& out) {
  for (const auto& a : cfg.attacks)
    if (std::find(attack_names().begin(), attack_names().end(), a) == attack_names().end())
      throw Error(ErrorCode::invalid_argument, "unknown attack '" + a + "' (known: fgsm, pgd, pgd-unsafebench, square)");
  for (const float e : cfg.epsilons)
    if (!(e > 0.0f && e <= 1.0f)) throw Error(ErrorCode::invalid_argument, "epsilons are in (0, 1] (pixel units: 8/255 = 0.031)");
  const unsigned threads = options.workers ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  AdversarialWriter writer(cfg.save_adversarial);
  const int batch = std::max(1, std::min(cfg.batch, 16));

  json& summary = out["attacks"];
  summary = {{"attacks", cfg.attacks},       {"epsilons", cfg.epsilons},     {"pgd_steps", cfg.pgd_steps},
             {"unsafebench_epsilon", cfg.unsafebench_epsilon}, {"unsafebench_steps", cfg.unsafebench_steps},
             {"square_queries", cfg.square_queries}, {"square_p_init", cfg.square_p_init},
             {"samples", cfg.attack_samples}, {"seed", cfg.attack_seed}};

  for (const auto& d : detectors.detectors()) {
    if (d.annotator) continue;
    // K items this detector got right, drawn with the seed (as UnsafeBench draws its samples).
    std::vector<Target> targets;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!clean[i].ok) continue;
      const auto p = point_of(clean[i], d.name, items[i].category, policy);
      if (!p || predicted_unsafe(p->score, p->threshold) != (items[i].label == 1)) continue;
      targets.push_back({i, items[i].label, items[i].category, p->threshold, p->score});
    }
    std::mt19937_64 draw(cfg.attack_seed);
    std::shuffle(targets.begin(), targets.end(), draw);
    if (static_cast<int>(targets.size()) > cfg.attack_samples) targets.resize(static_cast<std::size_t>(cfg.attack_samples));
    std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) { return a.item < b.item; });
    json& entry = out["detectors"][d.name]["robustness"]["attacks"];
    entry = json::object();
    entry["samples"] = targets.size();
    if (targets.empty()) continue;

    // The detector alone, to score candidates and the rounded examples without the others.
    const DetectorSet single = load_detectors(parse_detector_specs(d.spec), cfg.detector_options);
    const QueryModel query(single, policy, threads);
    const auto leaf = single.leaf(single.detectors().at(0).name);
    std::optional<WhiteBox> wb;
    if (leaf && leaf->backbone->differentiable()) wb.emplace(*leaf->backbone, *leaf->head);

    // The decoded items, once.
    std::vector<Image> originals(targets.size());
    parallel_for(targets.size(), threads, [&](std::size_t k) {
      const LabelledItem& it = items[targets[k].item];
      DecodeOptions dec = cfg.decode;
      dec.min_side_hint = 0;
      originals[k] = decode_image(read_item_bytes(it.path, it.member), dec, it.key);
    });

    std::size_t runs = 0;
    for (const std::string& attack : cfg.attacks) runs += attack == "pgd-unsafebench" ? 1 : cfg.epsilons.size();
    Progress progress("attacks on " + d.name, runs * targets.size(), cfg.progress);
    for (const std::string& attack : cfg.attacks) {
      const bool white = attack != "square";
      if (white && !wb) {
        entry[attack] = {{"skipped", "white-box attacks need one head on a backbone with gradients (nsfwjs, CLIP fp32/bf16); "
                                     "use square for ensembles, cascades and precomputed embeddings"}};
        continue;
      }
      std::vector<float> eps_list = cfg.epsilons;
      if (attack == "pgd-unsafebench") eps_list = {cfg.unsafebench_epsilon};
      json& per_attack = entry[attack];
      for (const float eps : eps_list) {
        const auto t0 = std::chrono::steady_clock::now();
        Tally all, evasion, false_alarm;
        std::int64_t gradient_steps = 0, queries = 0;
        std::string key = attack == "pgd-unsafebench" ? eps_key(eps) + " (normalised)" : eps_key(eps);
        std::mt19937_64 rng(cfg.attack_seed ^ std::hash<std::string>{}(d.name + attack + key));
        for (std::size_t b0 = 0; b0 < targets.size(); b0 += static_cast<std::size_t>(batch)) {
          const std::size_t nb = std::min<std::size_t>(static_cast<std::size_t>(batch), targets.size() - b0);
          std::vector<Planar> adv(nb);
          std::vector<float> adv_scores(nb);
          if (white) {
            const std::size_t per = wb->floats();
            std::vector<float> x0(per * nb);
            std::vector<std::vector<int>> outs(nb);
            std::vector<float> sign(nb);
            for (std::size_t k = 0; k < nb; ++k) {
              const Target& t = targets[b0 + k];
              const auto px = wb->pixels(originals[b0 + k]);
              std::copy(px.begin(), px.end(), x0.begin() + static_cast<std::ptrdiff_t>(k * per));
              outs[k] = wb->outputs_of(t.category, clean[t.item], d.name);
              sign[k] = t.label ? -1.0f : 1.0f;
            }
            PgdSetting s;
            if (attack == "fgsm") {
              s.eps = s.step = {eps, eps, eps};
              s.steps = 1;
              s.random_start = false;
            } else if (attack == "pgd") {
              s.eps = {eps, eps, eps};
              const float step = 2.5f * eps / static_cast<float>(std::max(1, cfg.pgd_steps));
              s.step = {step, step, step};
              s.steps = cfg.pgd_steps;
            } else {  // UnsafeBench: epsilon and step in the normalised input space
              for (int c = 0; c < 3; ++c) {
                s.eps[c] = eps * wb->stdev()[c];
                s.step[c] = (0.01f / 0.3f) * s.eps[c];
              }
              s.steps = cfg.unsafebench_steps;
            }
            const std::vector<float> x = pgd(*wb, x0, static_cast<int>(nb), outs, sign, s, rng);
            gradient_steps += static_cast<std::int64_t>(nb) * s.steps;
            adv_scores = wb->scores(x.data(), static_cast<int>(nb), outs, sign, nullptr);
            for (std::size_t k = 0; k < nb; ++k)
              adv[k] = {wb->side(), wb->side(), std::vector<float>(x.begin() + static_cast<std::ptrdiff_t>(k * per),
                                                                   x.begin() + static_cast<std::ptrdiff_t>((k + 1) * per))};
          } else {
            // The image at the detector's resolution (shorter side = its largest input side).
            std::vector<Planar> x0(nb);
            std::vector<Target> tb(targets.begin() + static_cast<std::ptrdiff_t>(b0),
                                   targets.begin() + static_cast<std::ptrdiff_t>(b0 + nb));
            for (std::size_t k = 0; k < nb; ++k) x0[k] = to_planar(shorter_side(originals[b0 + k], std::max(single.min_side(), 32)));
            std::vector<int> labels(nb);
            std::vector<float> thresholds(nb);
            std::vector<std::string> cats(nb);
            for (std::size_t k = 0; k < nb; ++k) labels[k] = tb[k].label, thresholds[k] = tb[k].threshold, cats[k] = tb[k].category;
            const SquareScorer scorer = [&](const std::vector<Image>& imgs, const std::vector<std::size_t>& which) {
              std::vector<std::string> c(which.size());
              for (std::size_t k = 0; k < which.size(); ++k) c[k] = cats[which[k]];
              return query.scores(imgs, c);
            };
            SquareOutcome so = square(scorer, x0, labels, thresholds, eps, cfg.square_queries, cfg.square_p_init, rng);
            for (std::size_t k = 0; k < nb; ++k) queries += so.queries[k];
            adv = std::move(so.adversarial);
            std::vector<Image> imgs(nb);
            for (std::size_t k = 0; k < nb; ++k) imgs[k] = to_image(adv[k].v.data(), adv[k].width, adv[k].height);
            adv_scores = query.scores(imgs, cats);
          }
          // Rounded to 8 bits, as PNG, through the normal path.
          std::vector<std::vector<std::uint8_t>> pngs(nb);
          parallel_for(nb, threads, [&](std::size_t k) { pngs[k] = encode_png(to_image(adv[k].v.data(), adv[k].width, adv[k].height)); });
          std::vector<SourceItem> sources(nb);
          for (std::size_t k = 0; k < nb; ++k) {
            sources[k].key = items[targets[b0 + k].item].key + "#" + attack + "-" + key;
            sources[k].path = sources[k].key;
            sources[k].member = "-";
            sources[k].bytes = std::move(pngs[k]);
          }
          std::vector<std::vector<std::uint8_t>> kept;
          if (writer.enabled())
            for (const auto& s : sources) kept.push_back(s.bytes);
          const std::vector<ItemResult> rescored = score_sources(single, policy, std::move(sources), options);
          for (std::size_t k = 0; k < nb; ++k) {
            const Target& t = targets[b0 + k];
            const auto after = rescored[k].ok ? point_of(rescored[k], single.detectors().at(0).name, t.category, policy) : std::nullopt;
            const bool robust = predicted_unsafe(adv_scores[k], t.threshold) == (t.label == 1);
            const bool robust8 = after && predicted_unsafe(after->score, t.threshold) == (t.label == 1);
            all.add(robust, robust8);
            (t.label ? evasion : false_alarm).add(robust, robust8);
            if (writer.enabled())
              writer.add(d.name, attack, key, items[t.item], kept[k], t.clean_score, adv_scores[k], after ? after->score : NAN);
          }
          progress.add(nb);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        json r = all.to_json();
        r["epsilon"] = eps;
        r["evasion"] = evasion.to_json();
        r["false_alarm"] = false_alarm.to_json();
        r["seconds"] = seconds;
        if (gradient_steps) r["gradient_steps_per_second"] = static_cast<double>(gradient_steps) / seconds;
        if (queries) r["mean_queries"] = static_cast<double>(queries) / static_cast<double>(targets.size());
        per_attack[key] = std::move(r);
        spdlog::info("{} {} eps {}: robust accuracy {:.3f} ({:.3f} after rounding to 8 bits), {:.1f} s", d.name, attack, key,
                     all.n ? static_cast<double>(all.robust) / all.n : 0.0, all.n ? static_cast<double>(all.robust_8bit) / all.n : 0.0,
                     seconds);
      }
    }
  }
}

}  // namespace safescan::bench
