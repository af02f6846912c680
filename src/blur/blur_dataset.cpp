// blur_store / blur_inputs: which images of a scan (or of the inputs) get blurred, where their
// copies go, and the checks that keep the originals safe.
#include <algorithm>
#include <cctype>

#include "blur/blur_internal.hpp"
#include "safescan/error.hpp"
#include "safescan/parallel.hpp"
#include "safescan/sources.hpp"

namespace safescan {

namespace {

using namespace blur_detail;

constexpr std::size_t kFilesPerThread = 32;  // files handed to the threads at once, per thread

void check_job(const BlurJobOptions& job) {
  if (job.out_dir.empty()) throw Error(ErrorCode::invalid_argument, "no output directory (--out)");
  check_blur_options(job.blur);
  if (job.quality < 1 || job.quality > 100)
    throw Error(ErrorCode::invalid_argument, "quality must be in [1, 100], got " + std::to_string(job.quality));
  std::error_code ec;
  if (fs::exists(job.out_dir, ec) && !fs::is_directory(job.out_dir, ec))
    throw Error(ErrorCode::invalid_argument, "the output exists and is not a directory", job.out_dir.string());
}

void make_out_dir(const BlurJobOptions& job) {
  std::error_code ec;
  fs::create_directories(job.out_dir, ec);
  if (ec)
    throw Error(ErrorCode::unreadable, "cannot create the output directory: " + ec.message(), job.out_dir.string());
}

bool is_embedding_row(const ItemResult& it) {
  if (it.member.empty()) return false;
  std::string ext = fs::path(it.path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".npy";
}

// The absolute directory the scan walked to find a file item, when it came from a walk:
// key = source / relative part, path = absolute key.
std::optional<fs::path> walked_root(const ItemResult& it) {
  if (it.source.empty() || it.source == "-" || it.key == it.source) return std::nullopt;
  const fs::path rel = fs::path(it.key).lexically_relative(fs::path(it.source));
  if (rel.empty() || rel == "." || *rel.begin() == "..") return std::nullopt;
  fs::path root(it.path);
  for ([[maybe_unused]] const auto& part : rel) root = root.parent_path();
  return root;
}

bool is_flagged(const ItemResult& it, const BlurJobOptions& job) {
  if (!it.ok) return false;
  if (it.review == "remove") return true;
  for (const ScoreRecord& s : it.scores) {
    if (job.detector && s.detector != *job.detector) continue;
    if (job.category && s.category != *job.category) continue;
    if (job.min_score ? s.score >= *job.min_score : s.flagged) return true;
  }
  return false;
}

ItemPlan plan_for(const ItemResult& it, const BlurJobOptions& job) {
  ItemPlan plan;
  plan.sha256 = it.sha256;
  if (!it.ok) {
    plan.error = "the scan could not read it (" + it.error_code + "): " + it.error_message;
    return plan;
  }
  if (job.what == BlurTarget::flagged) {
    plan.whole = is_flagged(it, job);
    return plan;
  }
  if (it.faces)
    for (const FaceRecord& f : *it.faces) plan.boxes.push_back(FaceBox{f.x, f.y, f.width, f.height, f.confidence});
  plan.detect = job.face_detector != nullptr;
  if (!it.faces && !plan.detect)
    plan.error = "the scan ran no face detector on it (scan with a faces detector, or blur with --detect)";
  return plan;
}

class Runner {
 public:
  Runner(const BlurJobOptions& job, OutputGuard& guard, Reporter& reporter) : ctx_{job, guard, reporter} {}

  void add_file(FileJob&& f) {
    files_.push_back(std::move(f));
    if (files_.size() >= kFilesPerThread * std::max(1u, ctx_.job.threads)) flush();
  }

  void flush() {
    parallel_for(files_.size(), ctx_.job.threads,
                 [&](std::size_t i) { guarded(files_[i].key, [&] { run_file(files_[i], ctx_); }); });
    files_.clear();
  }

  void run_shards(std::vector<ShardJob>& shards) {
    flush();
    parallel_for(shards.size(), ctx_.job.threads,
                 [&](std::size_t i) { guarded(shards[i].source, [&] { run_shard(shards[i], ctx_); }); });
  }

 private:
  // Errors other than safescan::Error (OpenCV's, bad_alloc) fail the item, not the run.
  template <class F>
  void guarded(const std::string& key, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      ctx_.reporter.fail(key, e.what());
    }
  }

  Context ctx_;
  std::vector<FileJob> files_;
};

}  // namespace

BlurSummary blur_store(const ResultStore& store, const BlurJobOptions& job, const BlurEventSink& sink) {
  check_job(job);
  OutputGuard guard(job.out_dir);
  std::size_t ok_items = 0, with_faces = 0;
  store.for_each_item([&](const ItemResult& it) {
    if (is_embedding_row(it) || it.path.empty()) return;
    guard.add_parent(fs::path(it.path).parent_path());
    if (it.member.empty())
      if (auto root = walked_root(it)) guard.add_walked(*root);
    guard.check_not_original(it.member.empty() ? it.key : it.source, it.path);
    if (it.ok) ++ok_items, with_faces += it.faces ? 1 : 0;
  });
  if (job.what == BlurTarget::faces && !job.face_detector && ok_items > 0 && with_faces == 0)
    throw Error(ErrorCode::invalid_argument,
                "the scan ran no face detector: scan with --detectors ...,faces, or blur with --detect",
                store.file().string());
  guard.check_out_dir();
  make_out_dir(job);

  Reporter reporter(sink);
  Runner runner(job, guard, reporter);
  std::map<std::string, ShardJob> shards;
  store.for_each_item([&](const ItemResult& it) {
    if (is_embedding_row(it)) return;
    if (it.member.empty()) return runner.add_file(FileJob{it.key, it.path, plan_for(it, job)});
    ShardJob& s = shards[it.path];
    if (s.path.empty()) s.source = it.source, s.path = it.path;
    s.members[it.member] = plan_for(it, job);
  });
  std::vector<ShardJob> list;
  for (auto& [path, s] : shards) list.push_back(std::move(s));
  runner.run_shards(list);
  return reporter.summary();
}

BlurSummary blur_inputs(const std::vector<std::string>& inputs, const BlurJobOptions& job, const BlurEventSink& sink) {
  check_job(job);
  if (job.what != BlurTarget::faces)
    throw Error(ErrorCode::invalid_argument, "blurring flagged images needs a scan database");
  if (!job.face_detector) throw Error(ErrorCode::invalid_argument, "blurring images without a database needs --detect");
  if (inputs.empty()) throw Error(ErrorCode::invalid_argument, "no input images");
  OutputGuard guard(job.out_dir);
  for (const auto& arg : inputs) {
    std::error_code ec;
    if (arg != "-" && fs::is_directory(arg, ec)) guard.add_walked(arg);
  }
  std::vector<WorkUnit> units;
  UnitEnumerator enumerator(inputs);
  while (auto unit = enumerator.next()) {
    if (unit->kind == SourceKind::files) {
      for (const auto& f : unit->files) {
        guard.add_parent(fs::absolute(f.path).parent_path());
        guard.check_not_original(f.path, fs::absolute(f.path));
      }
    } else {
      guard.add_parent(fs::absolute(unit->shard).parent_path());
      guard.check_not_original(unit->source, unit->shard);
    }
    units.push_back(std::move(*unit));
  }
  guard.check_out_dir();
  make_out_dir(job);

  Reporter reporter(sink);
  Runner runner(job, guard, reporter);
  std::vector<ShardJob> shards;
  for (const WorkUnit& unit : units) {
    if (unit.kind == SourceKind::embeddings) {
      reporter.fail(unit.source, "precomputed embeddings are not images");
    } else if (unit.kind == SourceKind::tar) {
      shards.push_back(ShardJob{unit.source, unit.shard, {}, /*detect_unknown=*/true});
    } else {
      read_unit(unit, [&](SourceItem&& item) {
        FileJob f{item.key, item.path, {}};
        f.plan.detect = true;
        if (item.error) f.plan.error = item.error->what();
        runner.add_file(std::move(f));
        return true;
      });
    }
  }
  runner.run_shards(shards);
  return reporter.summary();
}

}  // namespace safescan
