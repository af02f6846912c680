// The engine's threads (engine.hpp): decode workers, the batcher and inference, the sink.
#include "safescan/engine.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <new>
#include <thread>

#include "core/sha256.hpp"
#include "engine/bounded_queue.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

struct Task {
  SourceItem item;
  std::uint64_t tag = 0, seq = 0;
};

struct Prepared {
  ItemResult result;
  std::vector<float> input;      // every backbone's input (empty: failed, or an embedding)
  std::vector<float> embedding;  // a precomputed embedding
  std::uint64_t tag = 0, seq = 0;
};

struct Done {
  std::vector<EngineResult> results;
  std::vector<std::uint64_t> seqs;
};

void fail(ItemResult& r, ErrorCode code, const std::string& message) {
  r.ok = false;
  r.error_code = std::string(to_string(code));
  r.error_message = message;
}

// Size of the image as stored, upright (EXIF orientations 5-8 swap the sides).
std::pair<int, int> upright_size(const Image& img) {
  if (img.source_width <= 0 || img.source_height <= 0) return {img.width, img.height};
  if (img.exif_orientation >= 5 && img.exif_orientation <= 8) return {img.source_height, img.source_width};
  return {img.source_width, img.source_height};
}

}  // namespace

struct Engine::Impl {
  const DetectorSet& detectors;
  const Policy& policy;
  EngineOptions options;
  EngineSink sink;
  engine::BoundedQueue<Task> tasks;
  engine::BoundedQueue<Prepared> prepared;
  engine::BoundedQueue<Done> done{2};
  std::atomic<bool> accepting{true};
  std::mutex submit_mu;  // sequence numbers follow the queue's order
  std::uint64_t next_seq = 0;
  // Ordered mode: items wait for the ones before them (for their batch, then for the sink); at
  // most this many are between submit() and the sink, so that one slow item cannot make the
  // waiting rooms grow without bound (each waiting item holds its preprocessed input).
  std::uint64_t max_outstanding = 0;
  std::mutex emitted_mu;
  std::condition_variable emitted_cv;
  std::uint64_t emitted = 0;
  std::vector<std::thread> workers;
  std::thread sink_thread;
  std::exception_ptr sink_error;
  bool joined = false;

  Impl(const DetectorSet& d, const Policy& p, EngineOptions o, EngineSink s)
      : detectors(d),
        policy(p),
        options(std::move(o)),
        sink(std::move(s)),
        tasks(4 * std::max<std::size_t>(1, options.max_batch) + worker_count(options), options.queue_bytes),
        prepared(2 * std::max<std::size_t>(1, options.max_batch) + worker_count(options)) {
    options.max_batch = std::max<std::size_t>(1, options.max_batch);
    options.decode.min_side_hint = detectors.min_side();
    max_outstanding = 6 * options.max_batch + 4 * worker_count(options);
  }

  static unsigned worker_count(const EngineOptions& o) {
    return o.workers > 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
  }

  void start() {
    const unsigned n = worker_count(options);
    auto live = std::make_shared<std::atomic<unsigned>>(n);
    for (unsigned w = 0; w < n; ++w) {
      workers.emplace_back([this, live] {
        while (auto t = tasks.pop()) prepared.push(prepare(std::move(*t)));
        if (--*live == 0) prepared.close();
      });
    }
    sink_thread = std::thread([this] { sink_loop(); });
  }

  // The decode worker's job for one item: read, hash, decode, preprocess, annotate.
  Prepared prepare(Task&& task) const {
    Prepared p;
    p.tag = task.tag;
    p.seq = task.seq;
    SourceItem& it = task.item;
    ItemResult& r = p.result;
    r.key = std::move(it.key);
    r.source = std::move(it.source);
    r.path = std::move(it.path);
    r.member = std::move(it.member);
    r.meta_json = std::move(it.meta_json);
    if (it.error) {
      fail(r, it.error->code(), it.error->what());
      return p;
    }
    if (!it.embedding.empty()) {
      p.embedding = std::move(it.embedding);
      return p;
    }
    const std::string where = r.member.empty() ? r.path : r.path + ":" + r.member;
    if (it.pixels) {
      try {
        const Image& img = *it.pixels;
        r.width = img.width;
        r.height = img.height;
        r.format = std::string(to_string(img.format));
        if (!detectors.needs_pixels()) return p;
        p.input.resize(detectors.input_floats());
        detectors.preprocess(img, p.input.data());
        detectors.annotate(img, img.width, img.height, r);
      } catch (const std::exception& e) {
        fail(r, ErrorCode::internal, std::string(e.what()) + " (" + where + ")");
        p.input.clear();
      }
      return p;
    }
    try {
      std::vector<std::uint8_t> bytes =
          it.bytes.empty() && r.member.empty() ? read_file_bytes(r.path, options.decode.max_file_bytes) : std::move(it.bytes);
      r.bytes = static_cast<std::int64_t>(bytes.size());
      r.sha256 = sha256_hex(bytes.data(), bytes.size());
      if (!detectors.needs_pixels()) {
        const ImageInfo info = probe_image(bytes);
        r.width = info.width;
        r.height = info.height;
        r.format = std::string(to_string(info.format));
        return p;
      }
      const Image img = decode_image(bytes, options.decode, where);
      bytes = {};
      const auto [w, h] = upright_size(img);
      r.width = w;
      r.height = h;
      r.format = std::string(to_string(img.format));
      p.input.resize(detectors.input_floats());
      detectors.preprocess(img, p.input.data());
      detectors.annotate(img, w, h, r);
    } catch (const Error& e) {
      fail(r, e.code(), e.what());
      p.input.clear();
    } catch (const std::bad_alloc&) {
      fail(r, ErrorCode::too_large, "out of memory while decoding " + where);
      p.input.clear();
    } catch (const std::exception& e) {
      fail(r, ErrorCode::internal, std::string(e.what()) + " (" + where + ")");
      p.input.clear();
    }
    return p;
  }

  // Runs the batch's detectors; a model failure fails the batch's items, not the run.
  Done infer(std::vector<Prepared>& batch) const {
    std::vector<DetectorSet::BatchItem> items;
    const int dim = detectors.embedding_dim();
    for (auto& p : batch) {
      if (!p.result.ok) continue;
      if (!p.input.empty()) {
        items.push_back({p.input.data(), nullptr, &p.result});
      } else if (!p.embedding.empty()) {
        if (dim == 0) {
          fail(p.result, ErrorCode::invalid_argument, "an embedding, but no selected detector reads CLIP embeddings");
        } else if (static_cast<int>(p.embedding.size()) != dim) {
          fail(p.result, ErrorCode::invalid_argument,
               "embedding has " + std::to_string(p.embedding.size()) + " values, the detectors take " + std::to_string(dim));
        } else {
          items.push_back({nullptr, p.embedding.data(), &p.result});
        }
      }
    }
    try {
      detectors.run_batch(items, policy, options.keep_embeddings);
    } catch (const std::exception& e) {
      for (auto& item : items) {
        item.result->scores.clear();
        item.result->categories.clear();
        item.result->embedding.clear();
        item.result->decision = Decision::allow;
        fail(*item.result, ErrorCode::internal, std::string("inference failed: ") + e.what());
      }
    }
    Done out;
    out.results.reserve(batch.size());
    for (auto& p : batch) {
      out.results.push_back({std::move(p.result), p.tag});
      out.seqs.push_back(p.seq);
    }
    return out;
  }

  void sink_loop() {
    std::map<std::uint64_t, EngineResult> waiting;  // ordered mode: results ahead of their turn
    std::uint64_t next = 0;
    while (auto d = done.pop()) {
      if (sink_error) continue;  // drain, so that inference never blocks on a dead sink
      try {
        if (!options.ordered) {
          sink(std::move(d->results));
          continue;
        }
        for (std::size_t i = 0; i < d->results.size(); ++i) waiting.emplace(d->seqs[i], std::move(d->results[i]));
        std::vector<EngineResult> ready;
        for (auto it = waiting.begin(); it != waiting.end() && it->first == next; it = waiting.erase(it), ++next)
          ready.push_back(std::move(it->second));
        if (ready.empty()) continue;
        sink(std::move(ready));
        {
          std::lock_guard lock(emitted_mu);
          emitted = next;
        }
        emitted_cv.notify_all();
      } catch (...) {
        sink_error = std::current_exception();
        cancel();
      }
    }
  }

  void cancel() {
    accepting = false;
    tasks.close();
    { std::lock_guard lock(emitted_mu); }  // a submit() between its check and its wait sees the change
    emitted_cv.notify_all();
  }
};

Engine::Engine(const DetectorSet& detectors, const Policy& policy, EngineOptions options, EngineSink sink)
    : impl_(std::make_unique<Impl>(detectors, policy, std::move(options), std::move(sink))) {
  impl_->start();
}

Engine::~Engine() {
  if (!impl_->joined) {
    impl_->cancel();
    // Drain what is left without inference, so that every thread can end.
    while (impl_->prepared.pop()) {
    }
    impl_->done.close();
    for (auto& t : impl_->workers) t.join();
    if (impl_->sink_thread.joinable()) impl_->sink_thread.join();
  }
}

bool Engine::submit(SourceItem&& item, std::uint64_t tag) {
  if (!impl_->accepting) return false;
  const std::size_t bytes = item.bytes.size() + item.embedding.size() * sizeof(float);
  std::lock_guard lock(impl_->submit_mu);
  const std::uint64_t seq = impl_->next_seq;
  if (impl_->options.ordered) {
    std::unique_lock wait(impl_->emitted_mu);
    impl_->emitted_cv.wait(wait, [&] { return !impl_->accepting || seq - impl_->emitted < impl_->max_outstanding; });
    if (!impl_->accepting) return false;
  }
  if (!impl_->tasks.push(Task{std::move(item), tag, seq}, bytes)) return false;
  ++impl_->next_seq;
  return true;
}

void Engine::close() { impl_->tasks.close(); }

void Engine::cancel() { impl_->cancel(); }

void Engine::run_inference() {
  Impl& d = *impl_;
  const bool timed = d.options.max_delay.count() >= 0;
  // Ordered mode batches in submission order (items that are ready early wait here): the same
  // inputs then always meet the models in the same batches, so their scores are the same
  // bits in every run and every command.
  std::map<std::uint64_t, Prepared> ahead;
  std::uint64_t next = 0;
  std::vector<Prepared> batch;
  auto take_ready = [&] {
    while (batch.size() < d.options.max_batch && !ahead.empty() && ahead.begin()->first == next) {
      batch.push_back(std::move(ahead.begin()->second));
      ahead.erase(ahead.begin());
      ++next;
    }
  };
  bool open = true;
  while (open || !ahead.empty()) {
    batch.clear();
    std::chrono::steady_clock::time_point deadline{};
    while (batch.size() < d.options.max_batch) {
      if (d.options.ordered) take_ready();
      if (batch.size() >= d.options.max_batch) break;
      if (!open) {
        // The input ended: whatever waits is next in line (there is no gap once every item arrived).
        while (batch.size() < d.options.max_batch && !ahead.empty()) {
          batch.push_back(std::move(ahead.begin()->second));
          ahead.erase(ahead.begin());
        }
        break;
      }
      std::optional<Prepared> p;
      if (batch.empty() || !timed) {
        p = d.prepared.pop();
      } else {
        p = d.prepared.pop_until(deadline);
        if (!p && !d.prepared.closed_and_empty()) break;  // the batch waited long enough
      }
      if (!p) {
        open = false;
        continue;
      }
      const bool first = batch.empty() && ahead.empty();
      if (d.options.ordered) ahead.emplace(p->seq, std::move(*p));
      else batch.push_back(std::move(*p));
      if (first && timed) deadline = std::chrono::steady_clock::now() + d.options.max_delay;
    }
    if (!batch.empty()) d.done.push(d.infer(batch));
  }
  d.done.close();
}

void Engine::join() {
  Impl& d = *impl_;
  if (d.joined) return;
  for (auto& t : d.workers) t.join();
  d.sink_thread.join();
  d.joined = true;
  if (d.sink_error) std::rethrow_exception(d.sink_error);
}

void run_engine(const DetectorSet& detectors, const Policy& policy, const EngineOptions& options,
                const std::function<void(Engine&)>& produce, EngineSink sink) {
  Engine engine(detectors, policy, options, std::move(sink));
  std::exception_ptr producer_error;
  std::thread producer([&] {
    try {
      produce(engine);
    } catch (...) {
      producer_error = std::current_exception();
    }
    engine.close();
  });
  engine.run_inference();
  producer.join();
  engine.join();
  if (producer_error) std::rethrow_exception(producer_error);
}

}  // namespace safescan
