#include "pipeline/detector_set.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/sha256.hpp"
#include "pipeline/clip_detectors.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan::pipeline {

namespace fs = std::filesystem;

namespace {

bool is_nsfw_name(const std::string& n) { return n.starts_with("nsfw"); }
bool is_face_name(const std::string& n) { return n == "faces" || n == "faces-yunet" || n == "faces-hog"; }
bool is_clip_name(const std::string& n) {
  return n == "clip" || std::find(kClipDetectorNames.begin(), kClipDetectorNames.end(), n) != kClipDetectorNames.end();
}

std::string canonical_nsfw(const std::string& n) { return n == "nsfw" ? std::string(kDefaultNsfwModel) : n; }

// The sha256 of every file of a model folder (recorded at install), else computed.
nlohmann::json folder_checksums(const std::string& name, const fs::path& path) {
  nlohmann::json files = nlohmann::json::object();
  if (auto m = find_installed_model(name); m && !m->files.empty()) {
    for (const auto& [f, sha] : m->files) files[f] = sha;
    return files;
  }
  std::error_code ec;
  const fs::path dir = fs::is_directory(path, ec) ? path : path.parent_path();
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) files[e.path().filename().string()] = sha256_file(e.path());
  return files;
}

}  // namespace

struct DetectorSet::Impl {
  std::vector<std::string> names;
  std::vector<NsfwClassifier> nsfw;
  std::vector<InputSegment> nsfw_segments;
  std::optional<ClipModel> clip;
  fs::path clip_file;
  std::string clip_variant;
  InputSegment clip_segment;
  ClipDetectors clip_detectors;
  int embed_dim = 0;
  std::unique_ptr<FaceDetector> faces;
  std::size_t floats = 0;
  float nsfw_threshold = kDefaultNsfwThreshold;
  std::string zeroshot_prompts;
  nlohmann::json config_json;
};

DetectorSet::DetectorSet() : impl_(std::make_unique<Impl>()) {}
DetectorSet::DetectorSet(DetectorSet&&) noexcept = default;
DetectorSet& DetectorSet::operator=(DetectorSet&&) noexcept = default;
DetectorSet::~DetectorSet() = default;

DetectorSet DetectorSet::load(const ScanConfig& cfg, const SourceHints& hints) {
  DetectorSet set;
  Impl& d = *set.impl_;
  std::vector<std::string> requested = cfg.detectors;
  const bool explicit_list = !requested.empty();
  if (!explicit_list && hints.embeddings_only) {
    requested = {"clip"};
  } else if (!explicit_list) {
    requested = {std::string(kDefaultNsfwModel), "faces"};
    if (!cfg.clip_model.empty() || first_installed_clip()) requested.push_back("clip");
  }
  std::vector<std::string> clip_names;
  bool all_clip = false;
  for (const auto& raw : requested) {
    if (is_nsfw_name(raw)) {
      const std::string n = canonical_nsfw(raw);
      if (std::find(d.names.begin(), d.names.end(), n) != d.names.end()) continue;
      d.nsfw.push_back(NsfwClassifier::load(n));
      d.names.push_back(n);
    } else if (is_face_name(raw)) {
      if (d.faces) continue;
      FaceDetectorOptions fo;
      fo.model_file = cfg.face_model;
      fo.max_side = cfg.face_max_side;
      const std::string kind = raw == "faces-yunet" ? "yunet" : raw == "faces-hog" ? "hog" : "auto";
      d.faces = make_face_detector(kind, fo);
      d.names.push_back("faces");
    } else if (is_clip_name(raw)) {
      if (raw == "clip") all_clip = true;
      else if (std::find(clip_names.begin(), clip_names.end(), raw) == clip_names.end()) clip_names.push_back(raw);
    } else {
      throw Error(ErrorCode::invalid_argument,
                  "unknown detector '" + raw +
                      "' (nsfw, nsfw-mobilenet-v2, nsfw-mobilenet-v2-mid, nsfw-inception-v3, faces, faces-yunet, faces-hog, "
                      "q16, laion-nsfw, laion-violence, zeroshot, clip)");
    }
  }
  if (all_clip || !clip_names.empty()) {
    std::string model = cfg.clip_model;
    if (model.empty()) model = first_installed_clip().value_or("");
    if (!model.empty()) {
      d.clip_file = resolve_clip_checkpoint(model);
      d.clip.emplace(ClipModel::load(d.clip_file, parse_precision(cfg.clip_precision)));
      d.embed_dim = d.clip->config().embed_dim;
      d.clip_variant = clip_variant_name(d.clip->config());
      if (hints.embeddings_dim && hints.embeddings_dim != d.embed_dim)
        throw Error(ErrorCode::invalid_argument, "the embeddings are " + std::to_string(hints.embeddings_dim) +
                                                     "-wide but the CLIP model " + d.clip_file.string() + " gives " +
                                                     std::to_string(d.embed_dim));
    } else if (hints.embeddings_only && hints.embeddings_dim) {
      d.embed_dim = hints.embeddings_dim;  // heads only: no CLIP model needed for precomputed embeddings
    } else {
      throw Error(ErrorCode::model_missing,
                  "the CLIP detectors need a CLIP model: `safescan models pull clip-vit-b-32 clip-vocab` (or --clip-model FILE)");
    }
    if (!cfg.clip_variant.empty()) d.clip_variant = cfg.clip_variant;
    if (d.clip_variant.empty() && d.embed_dim == 768) d.clip_variant = "ViT-L-14";
    if (d.clip_variant.empty() && d.embed_dim == 512) {
      d.clip_variant = "ViT-B-32";
      spdlog::warn("512-wide embeddings taken as ViT-B-32 (pass --clip-variant ViT-B-16 otherwise)");
    }
    ClipDetectorRequest req;
    if (!all_clip) req.names = clip_names;
    else if (!d.clip) req.names = {"q16", "laion-nsfw", "laion-violence"};
    req.dim = d.embed_dim;
    req.variant = d.clip_variant;
    req.clip = d.clip ? &*d.clip : nullptr;
    req.prompts = cfg.zeroshot_prompts;
    req.vocab = cfg.vocab;
    req.threshold = cfg.threshold;
    try {
      d.clip_detectors = load_clip_detectors(req);
    } catch (const Error& e) {
      if (explicit_list && !all_clip) throw;
      spdlog::warn("CLIP detectors skipped: {}", e.what());
      d.clip.reset();
    }
    for (const auto* det : d.clip_detectors.list) d.names.push_back(det->name());
  }
  if (d.names.empty()) throw Error(ErrorCode::invalid_argument, "no detector selected");
  if (cfg.threshold) d.nsfw_threshold = *cfg.threshold;
  d.zeroshot_prompts = cfg.zeroshot_prompts;

  for (const auto& m : d.nsfw) {
    const std::size_t n = 3ull * m.input_size() * m.input_size();
    d.nsfw_segments.push_back({d.floats, n});
    d.floats += n;
  }
  if (d.clip) {
    d.clip_segment = {d.floats, d.clip->input_floats()};
    d.floats += d.clip->input_floats();
  }
  d.config_json = {{"detectors", d.names}, {"nsfw_threshold", d.nsfw_threshold}};
  if (d.clip) {
    d.config_json["clip_precision"] = std::string(to_string(d.clip->precision()));
    d.config_json["clip_variant"] = d.clip_variant;
  }
  if (d.faces) d.config_json["face_detector"] = d.faces->name();
  return set;
}

const std::vector<std::string>& DetectorSet::names() const { return impl_->names; }
bool DetectorSet::has_image_models() const { return !impl_->nsfw.empty() || impl_->clip || impl_->faces; }
bool DetectorSet::has_embedding_detectors() const { return !impl_->clip_detectors.list.empty(); }
int DetectorSet::embed_dim() const { return impl_->embed_dim; }
std::size_t DetectorSet::floats_per_item() const { return impl_->floats; }

int DetectorSet::min_side_hint() const {
  int side = 0;
  for (const auto& m : impl_->nsfw) side = std::max(side, m.input_size());
  if (impl_->clip) side = std::max(side, impl_->clip->config().image_resolution);
  // Faces are searched at up to face_max_side on the longer side: a decode whose shorter
  // side is >= 224 loses little for typical aspect ratios.
  if (impl_->faces) side = std::max(side, 224);
  return side;
}

void DetectorSet::preprocess(const Image& image, float* out) const {
  const Impl& d = *impl_;
  for (std::size_t i = 0; i < d.nsfw.size(); ++i) d.nsfw[i].preprocess(image, out + d.nsfw_segments[i].offset);
  if (d.clip) d.clip->preprocess(image, out + d.clip_segment.offset);
}

void DetectorSet::detect_faces(const Image& image, int full_width, int full_height, ItemRecord& record) const {
  if (!impl_->faces) return;
  const float sx = image.width > 0 ? static_cast<float>(full_width) / image.width : 1.f;
  const float sy = image.height > 0 ? static_cast<float>(full_height) / image.height : 1.f;
  std::vector<FaceRecord> faces;
  for (const FaceBox& b : impl_->faces->detect(image))
    faces.push_back({b.x * sx, b.y * sy, b.width * sx, b.height * sy, b.confidence});
  record.faces = std::move(faces);
  record.face_detector = impl_->faces->name();
}

namespace {

void append_nsfw(const NsfwScores& s, const std::string& name, float threshold, ItemRecord& rec) {
  for (std::size_t c = 0; c < kNsfwClassNames.size(); ++c)
    rec.scores.push_back({name, std::string(kNsfwClassNames[c]), s.probs[c], false});
  rec.scores.push_back({name, "sexual", s.sexual(), s.sexual() >= threshold});
  rec.scores.push_back({name, "suggestive", s.suggestive(), s.suggestive() >= threshold});
}

void append_detector(const DetectorResult& r, ItemRecord& rec) {
  for (const auto& c : r.categories) rec.scores.push_back({r.detector, c.category, c.score, c.flagged});
}

}  // namespace

void DetectorSet::run_batch(const std::vector<const float*>& inputs, const std::vector<ItemRecord*>& records) const {
  const Impl& d = *impl_;
  const int n = static_cast<int>(inputs.size());
  if (n == 0) return;
  std::vector<float> packed;
  auto pack = [&](const InputSegment& seg) {
    packed.resize(seg.size * n);
    for (int i = 0; i < n; ++i) std::copy_n(inputs[i] + seg.offset, seg.size, packed.data() + seg.size * i);
    return static_cast<const float*>(packed.data());
  };
  for (std::size_t m = 0; m < d.nsfw.size(); ++m) {
    const auto scores = d.nsfw[m].run(pack(d.nsfw_segments[m]), n);
    for (int i = 0; i < n; ++i) append_nsfw(scores[i], d.nsfw[m].name(), d.nsfw_threshold, *records[i]);
  }
  if (d.clip && !d.clip_detectors.list.empty()) {
    const auto emb = d.clip->encode_images(pack(d.clip_segment), n);
    for (int i = 0; i < n; ++i) score_embedding(emb.data() + static_cast<std::size_t>(i) * d.embed_dim, *records[i]);
  }
}

void DetectorSet::score_embedding(const float* embedding, ItemRecord& record) const {
  for (const auto* det : impl_->clip_detectors.list) append_detector(det->score(embedding), record);
}

nlohmann::json DetectorSet::describe_config() const { return impl_->config_json; }

nlohmann::json DetectorSet::describe_models() const {
  const Impl& d = *impl_;
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : d.nsfw)
    models.push_back({{"name", m.name()}, {"path", m.path().string()}, {"files", folder_checksums(m.name(), m.path())}});
  if (d.clip) models.push_back({{"name", "clip"}, {"path", d.clip_file.string()}, {"sha256", sha256_file(d.clip_file)}});
  for (const auto* det : d.clip_detectors.list) {
    nlohmann::json m = {{"name", det->name()}, {"embed_dim", det->embed_dim()}};
    try {
      DetectorOptions where;
      where.clip_model = d.clip_variant;
      fs::path file = det->name() == "zeroshot"
                          ? fs::path(d.zeroshot_prompts)
                          : detector_model_file(det->name(), det->embed_dim(), where);
      m["path"] = file.string();
      if (fs::is_regular_file(file)) m["sha256"] = sha256_file(file);
    } catch (const Error&) {
    }
    models.push_back(m);
  }
  if (d.faces)
    models.push_back({{"name", d.faces->name()}, {"path", d.faces->model_file().string()}, {"sha256", d.faces->model_sha256()}});
  return models;
}

}  // namespace safescan::pipeline
