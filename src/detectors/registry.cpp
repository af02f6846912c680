// The registry: detector names -> the parts they need, loaded once each, composed into a
// DetectorSet. The list below is the only list of detector names.
#include "safescan/registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "core/embedded_data.hpp"
#include "core/sha256.hpp"
#include "detectors/parts.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan {

namespace {

constexpr std::string_view kNsfwDefault = "nsfw-mobilenet-v2";

bool is_nsfwjs(std::string_view name) {
  for (const auto& e : detector_registry())
    if (e.name == name && e.kind == "nsfwjs") return true;
  return false;
}
bool is_clip_head(std::string_view name) {
  for (const auto& e : detector_registry())
    if (e.name == name && e.kind == "clip head") return true;
  return false;
}
bool is_faces(std::string_view name) {
  for (const auto& e : detector_registry())
    if (e.name == name && e.kind == "faces") return true;
  return false;
}

[[noreturn]] void unknown(const DetectorSpec& spec) {
  throw Error(ErrorCode::invalid_argument, "unknown detector '" + spec.name + "' (known: " + detector_names() +
                                               "; and ensemble(...), cascade(...): docs/detectors.md)");
}

struct Expanded {
  std::vector<DetectorSpec> specs;   // aliases resolved
  std::set<std::string> optional;    // texts of specs an alias brought in (skipped when they cannot load)
};

// Resolves aliases in place; `top` allows "clip" (several detectors).
void resolve(DetectorSpec& spec, bool top, Expanded& out) {
  if (spec.kind != DetectorSpec::Kind::name) {
    for (auto& m : spec.members) resolve(m, false, out);
    return;
  }
  if (spec.name == "nsfw" && spec.argument.empty()) spec.name = std::string(kNsfwDefault);
  if (spec.name == "clip") {
    if (!top || !spec.argument.empty())
      throw Error(ErrorCode::invalid_argument,
                  "'clip' stands for every installed CLIP head and cannot be composed or given an argument; name the heads "
                  "(q16, laion-nsfw, laion-violence, zeroshot), and the CLIP model with --clip-model");
    return;
  }
  if (is_nsfwjs(spec.name) && !spec.argument.empty())
    throw Error(ErrorCode::invalid_argument, spec.name + " takes no argument (nsfw:DIR loads a model folder)");
  if (spec.name == "nsfw" || is_nsfwjs(spec.name) || is_clip_head(spec.name) || is_faces(spec.name)) return;
  unknown(spec);
}

Expanded expand(std::vector<DetectorSpec> specs) {
  Expanded out;
  for (auto& spec : specs) {
    resolve(spec, true, out);
    if (spec.kind == DetectorSpec::Kind::name && spec.name == "clip") {
      for (const char* head : {"q16", "laion-nsfw", "laion-violence", "zeroshot"}) {
        DetectorSpec s;
        s.name = head;
        out.optional.insert(s.text());
        out.specs.push_back(std::move(s));
      }
      continue;
    }
    out.specs.push_back(std::move(spec));
  }
  return out;
}

void collect_leaves(const DetectorSpec& spec, std::vector<const DetectorSpec*>& out) {
  if (spec.kind == DetectorSpec::Kind::name) {
    out.push_back(&spec);
    return;
  }
  for (const auto& m : spec.members) collect_leaves(m, out);
}

// The CLIP side of a load: the model (or precomputed embeddings), the variant, the heads.
struct ClipSide {
  std::shared_ptr<const ClipModel> model;
  std::filesystem::path file;
  int dim = 0;
  std::string variant;
};

ClipSide load_clip(const DetectorOptions& o, bool need_text_encoder) {
  ClipSide c;
  const bool precomputed = o.embeddings_dim > 0;
  std::string name = o.clip_model;
  if (name.empty() && (!precomputed || need_text_encoder)) name = first_installed_clip().value_or("");
  if (!name.empty()) {
    c.file = resolve_clip_checkpoint(name);
    c.model = std::make_shared<const ClipModel>(ClipModel::load(c.file, parse_precision(o.clip_precision)));
    c.dim = c.model->config().embed_dim;
    if (const ClipVariant* v = infer_clip_variant(c.model->config())) c.variant = std::string(v->name);
    if (precomputed && o.embeddings_dim != c.dim)
      throw Error(ErrorCode::invalid_argument, "the embeddings are " + std::to_string(o.embeddings_dim) +
                                                   "-wide but the CLIP model " + c.file.string() + " gives " +
                                                   std::to_string(c.dim));
  } else if (precomputed) {
    c.dim = o.embeddings_dim;  // heads only: no CLIP model needed for precomputed embeddings
  } else {
    throw Error(ErrorCode::model_missing,
                "the CLIP detectors need a CLIP model: `safescan models pull clip-vit-b-32 clip-vocab` (or --clip-model FILE)");
  }
  if (!o.clip_variant.empty()) {
    const ClipVariant* v = find_clip_variant(o.clip_variant);
    if (!v) throw Error(ErrorCode::invalid_argument, "unknown CLIP variant '" + o.clip_variant + "' (" + clip_variant_names() + ")");
    c.variant = std::string(v->name);
  }
  // Otherwise the heads infer it from the width where it is unambiguous (768: ViT-L-14); for
  // 512-wide embeddings (ViT-B-32 or ViT-B-16) a head with per-variant files (Q16) asks for
  // --clip-variant rather than guess.
  return c;
}

std::shared_ptr<const Head> make_clip_part(const DetectorSpec& spec, const ClipSide& clip, const DetectorOptions& o) {
  const std::string label = spec.text();
  if (spec.name == "zeroshot") {
    if (!clip.model)
      throw Error(ErrorCode::invalid_argument,
                  "the zero-shot detector needs the CLIP text encoder: pass --clip-model (precomputed embeddings alone "
                  "cannot embed its prompts)");
    const std::string file = !spec.argument.empty() ? spec.argument : o.prompts;
    auto prompts = load_zeroshot_prompts(file);
    const ClipTokenizer tok = ClipTokenizer::load(resolve_clip_vocab(o.vocab));
    const ClipModel* model = clip.model.get();
    auto encode = [&](const std::vector<std::string>& texts) {
      std::vector<std::vector<int>> tokens;
      for (const auto& t : texts) tokens.push_back(tok.encode(t, model->config().context_length));
      return model->encode_texts(tokens);
    };
    auto head = std::make_shared<ZeroShotHead>(std::move(prompts), encode, clip.dim, label);
    const std::string_view text = file.empty() ? embedded::text("zeroshot_prompts.json") : std::string_view();
    head->set_models({{"zeroshot", file.empty() ? "built-in:data/zeroshot_prompts.json" : file,
                       file.empty() ? sha256_hex(text.data(), text.size()) : sha256_file(file), {}}});
    return head;
  }
  ClipHeadOptions ho;
  ho.clip_variant = clip.variant;
  return make_clip_head(spec.name, clip.dim, ho, spec.argument);
}

}  // namespace

const std::vector<RegistryEntry>& detector_registry() {
  static const std::vector<RegistryEntry> entries = {
      {"nsfw-mobilenet-v2", "nsfwjs", "", "Sexual, Suggestive", "nsfwjs MobileNetV2 (224 px): the fast default"},
      {"nsfw-mobilenet-v2-mid", "nsfwjs", "", "Sexual, Suggestive", "nsfwjs MobileNetV2Mid (224 px): wider"},
      {"nsfw-inception-v3", "nsfwjs", "", "Sexual, Suggestive", "nsfwjs InceptionV3 (299 px): slowest"},
      {"nsfw", "alias", "a TensorFlow.js model folder", "Sexual, Suggestive",
       "nsfw-mobilenet-v2; nsfw:DIR loads any tfjs classifier with nsfwjs's five outputs"},
      {"q16", "clip head", "a prompts file (.p)", "UnsafeBench's categories but Sexual and Spam", "Q16's learned prompts (inappropriate)"},
      {"laion-nsfw", "clip head", "a SavedModel .zip or folder", "Sexual", "LAION's CLIP-based NSFW detector"},
      {"laion-violence", "clip head", "a 2 x D prompts .npy", "Violence", "LAION's violence prompts"},
      {"zeroshot", "clip head", "a prompt file (.json)", "the 11 UnsafeBench categories", "zero-shot CLIP prompt ensembles"},
      {"clip", "alias", "", "as its heads", "every CLIP head whose files are installed: q16, laion-nsfw, laion-violence, zeroshot"},
      {"faces", "faces", "", "", "face boxes: YuNet when installed, else dlib's HOG"},
      {"faces-yunet", "faces", "a YuNet .onnx", "", "YuNet (OpenCV dnn)"},
      {"faces-hog", "faces", "", "", "dlib's HOG frontal-face detector"},
  };
  return entries;
}

std::string detector_names() {
  std::string out;
  for (const auto& e : detector_registry()) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

std::string default_detectors(std::string_view command, bool embeddings_only) {
  if (embeddings_only) return "clip";
  if (command == "scan") return std::string(kNsfwDefault) + ",faces" + (first_installed_clip() ? ",clip" : "");
  return std::string(kNsfwDefault);
}

DetectorSet load_detectors(const std::vector<DetectorSpec>& requested, const DetectorOptions& o) {
  Expanded ex = expand(requested);
  std::vector<const DetectorSpec*> leaves;
  for (const auto& s : ex.specs) collect_leaves(s, leaves);

  DetectorSet::Parts parts;
  std::set<std::string> failed;  // optional specs that could not load
  bool wants_clip = false, wants_zeroshot = false;
  for (const DetectorSpec* leaf : leaves) {
    if (is_clip_head(leaf->name)) wants_clip = true;
    if (leaf->name == "zeroshot") wants_zeroshot = true;
  }
  std::optional<ClipSide> clip;
  if (wants_clip) {
    const bool all_optional = std::all_of(leaves.begin(), leaves.end(), [&](const DetectorSpec* l) {
      return !is_clip_head(l->name) || ex.optional.count(l->text());
    });
    try {
      clip = load_clip(o, wants_zeroshot && o.embeddings_dim == 0);
    } catch (const Error& e) {
      if (!all_optional) throw;
      spdlog::warn("CLIP detectors skipped: {}", e.what());
    }
    if (clip) parts.backbones[std::string(kClipBackbone)] =
        clip->model ? detectors::clip_backbone(clip->model, clip->file) : detectors::precomputed_clip(clip->dim);
  }
  for (const DetectorSpec* leaf : leaves) {
    const std::string text = leaf->text();
    if (parts.heads.count(text) || parts.annotators.count(text) || failed.count(text)) continue;
    try {
      if (leaf->name == "nsfw" || is_nsfwjs(leaf->name)) {
        const std::string model = leaf->name == "nsfw" ? leaf->argument : leaf->name;
        parts.backbones[text] = detectors::nsfw_backbone(model, text);
        parts.heads[text] = detectors::nsfw_head(text);
      } else if (is_clip_head(leaf->name)) {
        if (!clip) throw Error(ErrorCode::model_missing, "no CLIP model");
        parts.heads[text] = make_clip_part(*leaf, *clip, o);
      } else {
        FaceDetectorOptions fo;
        fo.model_file = !leaf->argument.empty() ? leaf->argument : o.face_model;
        fo.max_side = o.face_max_side;
        const std::string kind = leaf->name == "faces-yunet" ? "yunet" : leaf->name == "faces-hog" ? "hog" : "auto";
        parts.annotators[text] = detectors::face_annotator(kind, fo);
      }
    } catch (const Error& e) {
      if (!ex.optional.count(text)) throw;
      if (clip) spdlog::warn("detector {} skipped: {}", text, e.what());
      failed.insert(text);
    }
  }
  std::vector<DetectorSpec> kept;
  for (auto& s : ex.specs)
    if (!failed.count(s.text())) kept.push_back(std::move(s));
  if (kept.empty() && !failed.empty())
    throw Error(ErrorCode::model_missing,
                "no CLIP detector could be loaded; install their files with e.g. `safescan models pull q16-vit-b-32 "
                "laion-nsfw-vit-b-32 laion-violence-vit-b-32 clip-vocab`");
  // A CLIP backbone no kept head reads is not run (nor preprocessed for).
  const bool clip_read = std::any_of(parts.heads.begin(), parts.heads.end(),
                                     [](const auto& h) { return h.second->backbone() == kClipBackbone; });
  if (!clip_read) parts.backbones.erase(std::string(kClipBackbone));
  return DetectorSet::compose(kept, std::move(parts));
}

DetectorSet load_clip_embedder(const DetectorOptions& o) {
  DetectorOptions opt = o;
  ClipSide clip = load_clip(opt, true);
  if (!clip.model) throw Error(ErrorCode::model_missing, "embedding images needs a CLIP model (--clip-model)");
  DetectorSet::Parts parts;
  parts.backbones[std::string(kClipBackbone)] = detectors::clip_backbone(clip.model, clip.file);
  return DetectorSet::compose({}, std::move(parts));
}

}  // namespace safescan
