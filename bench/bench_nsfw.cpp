// Throughput of the nsfwjs classifiers in safescan: images/s at a given batch size, median of
// several timed runs after warm-up, and the process's peak resident memory.
//
//   build/bench/bench_nsfw --model nsfw-mobilenet-v2 --batch 32 --runs 7
//   build/bench/bench_nsfw --model nsfw-mobilenet-v2 --batch 32 --images ../shared/images   # the engine, from files
//
// Prints one JSON line. With --images, each run pushes that many images of the folder
// (cycled) through the engine (read, decode, preprocess on worker threads, batched inference,
// the policy), so the figure is end-to-end from files; without it, the input is a fixed
// preprocessed batch and the figure is model-only.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "safescan/engine.hpp"
#include "safescan/image.hpp"
#include "safescan/nsfw.hpp"
#include "safescan/registry.hpp"
#include "safescan/runtime.hpp"
#include "safescan/sources.hpp"

int main(int argc, char** argv) {
  safescan::ensure_openmp_wait_policy(argv);
  CLI::App app{"nsfwjs model throughput"};
  std::string model = "nsfw-mobilenet-v2", images_dir;
  int batch = 32, runs = 7, warmup = 2, threads = 0, images_per_run = 0;
  app.add_option("--model", model);
  app.add_option("--batch", batch);
  app.add_option("--runs", runs);
  app.add_option("--warmup", warmup);
  app.add_option("--threads", threads);
  app.add_option("--images", images_dir, "decode + preprocess images from this folder in every run");
  app.add_option("--images-per-run", images_per_run, "images per timed run (default: 4 batches)");
  CLI11_PARSE(app, argc, argv);

  const auto rt = safescan::configure_runtime(threads);
  const auto clf = safescan::NsfwClassifier::load(model);
  const size_t per = 3ull * clf.input_size() * clf.input_size();
  if (images_per_run <= 0) images_per_run = batch * 4;

  std::vector<safescan::SourceItem> files;
  if (!images_dir.empty()) {
    safescan::UnitEnumerator units({images_dir});
    while (auto unit = units.next())
      safescan::read_unit(*unit, [&](safescan::SourceItem&& item) {
        if (!item.error) files.push_back(std::move(item));
        return true;
      });
    if (files.empty()) {
      std::cerr << "no images in " << images_dir << "\n";
      return 2;
    }
  }
  std::optional<safescan::DetectorSet> detectors;
  if (!files.empty()) safescan::keep_large_buffers_in_heap();  // the engine, as the safescan command runs it
  if (!files.empty()) detectors = safescan::load_detectors(safescan::parse_detector_specs(model), {});
  safescan::EngineOptions engine_options;
  engine_options.max_batch = static_cast<std::size_t>(batch);
  const safescan::Policy policy = safescan::Policy::builtin();
  std::vector<float> input(per * batch);
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uni(0.f, 1.f);
  for (auto& v : input) v = uni(rng);

  auto one_run = [&] {
    if (detectors) {
      std::size_t scored = 0;
      safescan::run_engine(
          *detectors, policy, engine_options,
          [&](safescan::Engine& engine) {
            for (int i = 0; i < images_per_run; ++i) {
              safescan::SourceItem item = files[static_cast<std::size_t>(i) % files.size()];
              if (!engine.submit(std::move(item))) break;
            }
          },
          [&](std::vector<safescan::EngineResult>&& results) { scored += results.size(); });
      if (scored != static_cast<std::size_t>(images_per_run)) throw std::runtime_error("the engine lost images");
      return;
    }
    for (int done = 0; done < images_per_run; done += batch) clf.run(input.data(), std::min(batch, images_per_run - done));
  };
  for (int i = 0; i < warmup; ++i) one_run();
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    one_run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(images_per_run / s);
  }
  std::sort(rates.begin(), rates.end());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::ordered_json out{{"model", clf.name()},
                             {"batch", batch},
                             {"threads", rt.threads},
                             {"mode", files.empty() ? "model-only" : "files"},
                             {"images_per_run", images_per_run},
                             {"runs", runs},
                             {"median_images_per_s", rates[rates.size() / 2]},
                             {"min_images_per_s", rates.front()},
                             {"max_images_per_s", rates.back()},
                             {"peak_rss_mib", ru.ru_maxrss / 1024.0},
                             {"blas", rt.blas},
                             {"omp_wait_policy", std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : ""},
                             {"gomp_spincount", std::getenv("GOMP_SPINCOUNT") ? std::getenv("GOMP_SPINCOUNT") : ""}};
  std::cout << out.dump() << std::endl;
  return 0;
}
