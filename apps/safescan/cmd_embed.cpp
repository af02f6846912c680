// safescan embed: CLIP embeddings of images or texts, as JSON lines or a float32 .npy.
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "safescan/error.hpp"
#include "safescan/clip.hpp"
#include "safescan/engine.hpp"
#include "safescan/sources.hpp"
#include "safescan/tensors.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

namespace {

struct EmbedOptions {
  DetectorOptions clip;
  int batch = 32;
  std::vector<std::string> paths;
  std::vector<std::string> texts;
  std::string texts_file;
  std::string out;
};

// Rows as JSON lines (as they come: the result row of docs/results.md plus "embedding"), or,
// with --out, one N x D float32 .npy plus FILE.keys.txt (one key per line, same order) at the
// end. D is the model's width, so the .npy is 0 x D (not 0 x 0) when every input failed.
class EmbeddingSink {
 public:
  EmbeddingSink(std::string out, int dim) : out_(std::move(out)), dim_(dim) {}
  void add(const ItemResult& r) {
    if (!r.ok) {
      ++failed_;
      (out_.empty() ? std::cout : std::cerr) << result_json_line(r) << "\n";
      return;
    }
    if (out_.empty()) {
      std::cout << result_json_line(r) << "\n";
      return;
    }
    keys_.push_back(r.key);
    rows_.insert(rows_.end(), r.embedding.begin(), r.embedding.end());
  }
  void add_text(const std::string& text, const float* row) {
    if (out_.empty()) {
      nlohmann::ordered_json j{{"key", text}, {"text", text}, {"embedding", std::vector<float>(row, row + dim_)}};
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    keys_.push_back(text);
    rows_.insert(rows_.end(), row, row + dim_);
  }
  void finish() {
    if (out_.empty()) return;
    write_npy_f32(out_, {static_cast<std::int64_t>(keys_.size()), dim_}, rows_.data());
    std::ofstream keys(out_ + ".keys.txt");
    for (const auto& k : keys_) keys << k << "\n";
    if (!keys) throw Error(ErrorCode::unreadable, "cannot write the keys file", out_ + ".keys.txt");
    spdlog::info("wrote {} x {} embeddings to {} (keys in {}.keys.txt)", keys_.size(), dim_, out_, out_);
  }
  size_t failed() const { return failed_; }

 private:
  std::string out_;
  std::vector<std::string> keys_;
  std::vector<float> rows_;
  std::int64_t dim_ = 0;
  size_t failed_ = 0;
};

int run_embed(const EmbedOptions& opt, const GlobalOptions& global) {
  setup_logging(global);
  const RuntimeInfo rt = configure_runtime(global.threads);
  if (!rt.warning.empty()) spdlog::warn("{}", rt.warning);
  std::vector<std::string> texts = opt.texts;
  if (!opt.texts_file.empty()) {
    const auto more = read_text_lines(opt.texts_file);
    texts.insert(texts.end(), more.begin(), more.end());
  }
  if (texts.empty() && opt.paths.empty()) throw Error(ErrorCode::invalid_argument, "give images or directories, --text TEXT or --texts FILE");
  if (!texts.empty() && !opt.paths.empty()) throw Error(ErrorCode::invalid_argument, "embed either images or texts, not both");

  if (!texts.empty()) {
    const std::string model = opt.clip.clip_model.empty() ? first_installed_clip().value_or("") : opt.clip.clip_model;
    if (model.empty())
      throw Error(ErrorCode::model_missing, "no CLIP model: `safescan models pull clip-vit-b-32 clip-vocab` or --clip-model FILE");
    const ClipModel clip = ClipModel::load(resolve_clip_checkpoint(model), parse_precision(opt.clip.clip_precision));
    const int dim = clip.config().embed_dim;
    EmbeddingSink sink(opt.out, dim);
    const ClipTokenizer tok = ClipTokenizer::load(resolve_clip_vocab(opt.clip.vocab));
    for (size_t start = 0; start < texts.size(); start += opt.batch) {
      const size_t n = std::min<size_t>(opt.batch, texts.size() - start);
      std::vector<std::vector<int>> tokens;
      for (size_t i = 0; i < n; ++i) tokens.push_back(tok.encode(texts[start + i], clip.config().context_length));
      const auto emb = clip.encode_texts(tokens);
      for (size_t i = 0; i < n; ++i) sink.add_text(texts[start + i], emb.data() + i * dim);
    }
    sink.finish();
    return kExitOk;
  }

  // Inputs are listed before the model is loaded, so that an empty folder fails fast.
  UnitEnumerator units(opt.paths);
  std::optional<WorkUnit> unit = units.next();
  if (!unit) throw Error(ErrorCode::invalid_argument, "no images found in the given paths");  // as classify
  const DetectorSet embedder = load_clip_embedder(opt.clip);
  EmbeddingSink sink(opt.out, embedder.embedding_dim());
  EngineOptions eo;
  eo.max_batch = static_cast<std::size_t>(opt.batch);
  eo.ordered = true;
  eo.keep_embeddings = true;
  run_engine(
      embedder, Policy::builtin(), eo,
      [&](Engine& engine) {
        for (bool open = true; unit && open; unit = units.next())
          read_unit(*unit, [&](SourceItem&& item) { return open = engine.submit(std::move(item)); });
      },
      [&](std::vector<EngineResult>&& batch) {
        for (const auto& r : batch) sink.add(r.result);
      });
  sink.finish();
  return sink.failed() ? kExitPartial : kExitOk;
}

}  // namespace

void add_embed(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand("embed", "CLIP embeddings of images or texts (unnormalised, as encode_image / encode_text)");
  cmd->add_option("-m,--model,--clip-model", opt->clip.clip_model,
                  "CLIP checkpoint (.pt, .bin, .safetensors) or installed model name, e.g. clip-vit-b-32 (default: the first installed)");
  cmd->add_option("--vocab", opt->clip.vocab, "CLIP BPE merges file for texts; default: the installed clip-vocab");
  cmd->add_option("--precision,--clip-precision", opt->clip.clip_precision, "fp32, bf16 or int8 (dynamic quantisation of the linear layers)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}))
      ->capture_default_str();
  cmd->add_option("-b,--batch", opt->batch, "Inputs per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("paths", opt->paths,
                  "Images, directories (walked recursively), list files, WebDataset shards; - reads paths from stdin");
  // One value per --text: a vector option would otherwise also swallow the positional
  // arguments after it (`--text "a cat" photo.jpg` embedded "photo.jpg" as a text).
  cmd->add_option("--text", opt->texts, "A text to embed (repeatable: --text A --text B)")->allow_extra_args(false);
  cmd->add_option("--texts", opt->texts_file, "A file with one text per line")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", opt->out, "Write a float32 N x D .npy here, and the inputs to OUT.keys.txt, instead of JSON lines");
  cmd->footer("Output: per image the result row of docs/results.md with \"embedding\": [...] (an error row when it failed);\n"
              "per text {\"key\", \"text\", \"embedding\"}. With --out: FILE.npy (N x D float32) and FILE.keys.txt.\n"
              "Exit status: 0 all embedded, 3 some inputs failed, 2 usage error, 1 could not run.\n\nExamples:\n"
              "  safescan embed --model ViT-B-32.pt photo.jpg\n"
              "  safescan embed --model clip-vit-b-32 --out embeddings.npy dataset/\n"
              "  safescan embed --model ViT-B-32.pt --vocab bpe_simple_vocab_16e6.txt.gz --text \"a photo of a cat\"");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_embed(*opt, global); });
}

}  // namespace safescan::cli
