// safescan/engine.hpp - the one engine under classify, embed, scan, bench and serve:
//
//   source --submit()--> decode workers (N) --> batcher {max batch, max delay} --> inference
//          (read, hash, decode at reduced size,   (a timed queue pop)          (each backbone
//           preprocess, annotate)                                              once per item)
//          --> sink (one thread: in submission order when `ordered`, else as batches finish)
//
// Stages are joined by bounded queues (items and bytes): a fast stage waits for a slow one,
// memory stays flat. A failure on one item is that item's error result, never an exception;
// a model failure fails the items of its batch. Cancelling stops intake; what was submitted
// still reaches the sink.
//
//   safescan::run_engine(detectors, policy, options,
//       [&](safescan::Engine& e) { for (auto& item : items) if (!e.submit(std::move(item))) break; },
//       [&](std::vector<safescan::EngineResult>&& batch) { for (auto& r : batch) print(r.result); });
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "safescan/detector.hpp"
#include "safescan/image.hpp"
#include "safescan/policy.hpp"
#include "safescan/result.hpp"
#include "safescan/sources.hpp"

namespace safescan {

struct EngineOptions {
  // The batcher: a batch goes to inference when it holds max_batch items, or max_delay after
  // its first item arrived (a negative delay waits for a full batch or the end of the input:
  // what a scan wants; a server trades a few milliseconds for throughput).
  std::size_t max_batch = 32;
  std::chrono::microseconds max_delay{-1};
  unsigned workers = 0;                    // decode threads (0: one per core)
  std::size_t queue_bytes = 256u << 20;    // encoded bytes (tar members, uploads) waiting for a worker
  DecodeOptions decode;                    // min_side_hint is set from the detectors
  bool ordered = false;                    // the sink sees results in submission order
  bool keep_embeddings = false;            // copy the CLIP features into each result (embed)
};

struct EngineResult {
  ItemResult result;
  std::uint64_t tag = 0;  // what the source passed to submit()
};
using EngineSink = std::function<void(std::vector<EngineResult>&& batch)>;

class Engine {
 public:
  // Starts the decode workers and the sink thread. The detectors and the policy must outlive it.
  Engine(const DetectorSet& detectors, const Policy& policy, EngineOptions options, EngineSink sink);
  ~Engine();  // cancels and joins whatever still runs
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Any thread. Files (empty `bytes`, no `member`) are read by the workers; `bytes` are used
  // as given; an `embedding` goes straight to the heads; an `error` becomes an error result.
  // Blocks while the queues are full. False when the engine no longer takes items (cancelled,
  // closed, or its sink failed).
  bool submit(SourceItem&& item, std::uint64_t tag = 0);
  // No more items will be submitted.
  void close();
  // Stop taking items (submit() returns false); everything submitted still reaches the sink.
  void cancel();
  // Runs inference until the input is closed and drained. Call once, on the thread that should
  // own the models' thread pools (the main thread for the commands).
  void run_inference();
  // Waits for the workers and the sink; rethrows the sink's exception, if any.
  void join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The usual shape: `produce` runs on its own thread and submits; inference runs on the
// calling thread; returns when everything reached the sink. Rethrows an exception of
// `produce` or of the sink (a failing sink cancels the rest).
void run_engine(const DetectorSet& detectors, const Policy& policy, const EngineOptions& options,
                const std::function<void(Engine&)>& produce, EngineSink sink);

}  // namespace safescan
