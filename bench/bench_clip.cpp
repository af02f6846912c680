// CLIP throughput with randomly initialised weights of OpenAI's shapes (speed does not depend
// on the values): image embeddings/s at a batch size, text prompts/s, peak resident memory.
//
//   build/bench/bench_clip --variant ViT-B-32 --batch 32 --precision fp32
//   build/bench/bench_clip --variant ViT-L-14 --batch 1 --precision bf16 --texts 64
//
// Prints one JSON line. Compare with bench/clip_reference.py (the reference architecture in
// PyTorch) run side by side; docs/PERFORMANCE.md has the figures.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <cmath>
#include <optional>
#include <random>

#include "safescan/clip.hpp"
#include "safescan/runtime.hpp"

namespace {

template <typename Fn>
double median_rate(int runs, int warmup, int items, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    rates.push_back(items / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  safescan::ensure_openmp_wait_policy(argv);
  CLI::App app{"CLIP encoder throughput (random weights of the real shapes)"};
  std::string variant = "ViT-B-32", precision = "fp32";
  int batch = 32, runs = 5, warmup = 1, texts = 32, text_tokens = 12, threads = 0;
  app.add_option("--variant", variant, "ViT-B-32, ViT-B-16, ViT-L-14");
  app.add_option("--precision", precision, "fp32, bf16, int8");
  app.add_option("--batch", batch, "images per encode_images call");
  app.add_option("--texts", texts, "prompts per encode_texts call (0: skip)");
  app.add_option("--text-tokens", text_tokens, "tokens per prompt, start and end included");
  app.add_option("--runs", runs);
  app.add_option("--warmup", warmup);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);

  const auto rt = safescan::configure_runtime(threads);
  const auto p = precision == "bf16" ? safescan::ClipPrecision::bf16
                 : precision == "int8" ? safescan::ClipPrecision::int8
                                       : safescan::ClipPrecision::fp32;
  const auto config = safescan::ClipModel::openai_config(variant);
  const auto clip = safescan::ClipModel::with_random_weights(config, p);

  std::vector<float> pixels(clip.input_floats() * batch);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (auto& v : pixels) v = normal(rng);
  const double images_per_s = median_rate(runs, warmup, batch, [&] { clip.encode_images(pixels.data(), batch); });

  double texts_per_s = 0;
  std::vector<std::vector<int>> prompts;
  for (int i = 0; i < texts; ++i) {
    std::vector<int> t{49406};
    for (int k = 0; k < text_tokens - 2; ++k) t.push_back(400 + (i * 7 + k * 13) % 40000);
    t.push_back(49407);
    prompts.push_back(t);
  }
  if (texts > 0) texts_per_s = median_rate(runs, warmup, texts, [&] { clip.encode_texts(prompts); });

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);  // before the comparison model below is built

  // Agreement of the reduced precision with fp32 on the same random weights and inputs.
  double min_cos = 1.0;
  if (p != safescan::ClipPrecision::fp32) {
    const auto fp32 = safescan::ClipModel::with_random_weights(config);
    const int n = std::min(batch, 4);
    const auto a = clip.encode_images(pixels.data(), n), b = fp32.encode_images(pixels.data(), n);
    const int d = config.embed_dim;
    for (int i = 0; i < n; ++i) {
      double ab = 0, aa = 0, bb = 0;
      for (int k = 0; k < d; ++k) ab += a[i * d + k] * b[i * d + k], aa += a[i * d + k] * a[i * d + k], bb += b[i * d + k] * b[i * d + k];
      min_cos = std::min(min_cos, ab / std::sqrt(aa * bb));
    }
  }
  nlohmann::ordered_json out{{"impl", "safescan"},     {"variant", variant},       {"precision", precision},
                             {"batch", batch},         {"threads", rt.threads},    {"images_per_s", images_per_s},
                             {"texts", texts},         {"text_tokens", text_tokens}, {"texts_per_s", texts_per_s},
                             {"min_cosine_to_fp32", min_cos}, {"peak_rss_mib", ru.ru_maxrss / 1024.0}};
  std::cout << out.dump() << std::endl;
}
