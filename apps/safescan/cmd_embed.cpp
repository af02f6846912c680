// safescan embed: CLIP embeddings of images or texts, as JSON lines or a float32 .npy.
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "batches.hpp"
#include "clip_common.hpp"
#include "commands.hpp"
#include "io/tensor_file.hpp"
#include "output.hpp"
#include "safescan/error.hpp"
#include "safescan/inputs.hpp"
#include "safescan/runtime.hpp"

namespace safescan::cli {

namespace {

struct EmbedOptions {
  std::string model;
  std::string vocab;
  std::string precision = "fp32";
  int batch = 32;
  std::vector<std::string> paths;
  std::vector<std::string> texts;
  std::string texts_file;
  std::string out;
};

// Collects rows and writes them either as JSON lines (as they come) or, with --out, as one
// N x D float32 .npy plus FILE.keys.txt (one input per line, same order) at the end. D is
// the model's width, so the .npy is 0 x D (not 0 x 0) when every input failed.
class EmbeddingSink {
 public:
  EmbeddingSink(std::string out, int dim) : out_(std::move(out)), dim_(dim) {}
  void add(const std::string& key, const float* row, int dim) {
    if (out_.empty()) {
      nlohmann::ordered_json j{{"input", key}, {"embedding", std::vector<float>(row, row + dim)}};
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    keys_.push_back(key);
    rows_.insert(rows_.end(), row, row + dim);
  }
  void error(const std::string& key, const Error& e) {
    ++failed_;
    nlohmann::ordered_json j{{"input", key}, {"error", {{"code", std::string(to_string(e.code()))}, {"message", e.message()}}}};
    (out_.empty() ? std::cout : std::cerr) << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  void finish() {
    if (out_.empty()) return;
    io::write_npy_f32(out_, {static_cast<std::int64_t>(keys_.size()), dim_}, rows_.data());
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
  // Inputs are listed before the model is loaded, so that an empty folder fails fast.
  const auto inputs = texts.empty() ? expand_inputs(opt.paths, std::cin) : std::vector<InputPath>{};
  if (texts.empty() && inputs.empty()) throw Error(ErrorCode::invalid_argument, "no images found in the given paths");  // as classify

  const ClipModel clip = ClipModel::load(resolve_clip_checkpoint(opt.model), parse_precision(opt.precision));
  const int dim = clip.config().embed_dim;
  EmbeddingSink sink(opt.out, dim);

  if (!texts.empty()) {
    const ClipTokenizer tok = ClipTokenizer::load(resolve_clip_vocab(opt.vocab));
    for (size_t start = 0; start < texts.size(); start += opt.batch) {
      const size_t n = std::min<size_t>(opt.batch, texts.size() - start);
      std::vector<std::vector<int>> tokens;
      for (size_t i = 0; i < n; ++i) tokens.push_back(tok.encode(texts[start + i], clip.config().context_length));
      const auto emb = clip.encode_texts(tokens);
      for (size_t i = 0; i < n; ++i) sink.add(texts[start + i], emb.data() + i * dim, dim);
    }
    sink.finish();
    return kExitOk;
  }

  std::vector<float> emb;
  for_each_batch(
      inputs, opt.batch, static_cast<unsigned>(rt.threads), clip.input_floats(), DecodeOptions{},
      [&](const Image& img, float* out) { clip.preprocess(img, out); },
      [&](const float* tensor, int n) { emb = clip.encode_images(tensor, n); },
      [&](const BatchItem& it) {
        if (it.error) {
          sink.error(it.path, *it.error);
        } else {
          sink.add(it.path, emb.data() + static_cast<size_t>(it.row) * dim, dim);
        }
      });
  sink.finish();
  return sink.failed() ? kExitPartial : kExitOk;
}

}  // namespace

void add_embed(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand("embed", "CLIP embeddings of images or texts (unnormalised, as encode_image / encode_text)");
  cmd->add_option("-m,--model", opt->model, "CLIP checkpoint (.pt, .bin, .safetensors) or installed model name, e.g. clip-vit-b-32")
      ->required();
  cmd->add_option("--vocab", opt->vocab, "CLIP BPE merges file for texts; default: the installed clip-vocab");
  cmd->add_option("--precision", opt->precision, "fp32, bf16 or int8 (dynamic quantisation of the linear layers)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}))
      ->capture_default_str();
  cmd->add_option("-b,--batch", opt->batch, "Inputs per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("paths", opt->paths, "Images or directories (walked recursively); - reads paths from stdin");
  // One value per --text: a vector option would otherwise also swallow the positional
  // arguments after it (`--text "a cat" photo.jpg` embedded "photo.jpg" as a text).
  cmd->add_option("--text", opt->texts, "A text to embed (repeatable: --text A --text B)")->allow_extra_args(false);
  cmd->add_option("--texts", opt->texts_file, "A file with one text per line")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", opt->out, "Write a float32 N x D .npy here, and the inputs to OUT.keys.txt, instead of JSON lines");
  cmd->footer("Output: {\"input\": ..., \"embedding\": [...]} per input, or {\"input\": ..., \"error\": {...}}.\n"
              "Exit status: 0 all embedded, 3 some inputs failed, 2 usage error, 1 could not run.\n\nExamples:\n"
              "  safescan embed --model ViT-B-32.pt photo.jpg\n"
              "  safescan embed --model clip-vit-b-32 --out embeddings.npy dataset/\n"
              "  safescan embed --model ViT-B-32.pt --vocab bpe_simple_vocab_16e6.txt.gz --text \"a photo of a cat\"");
  cmd->callback([opt, &global, &exit_code] { exit_code = run_embed(*opt, global); });
}

}  // namespace safescan::cli
