// safescan tokenize: CLIP BPE tokens of texts, one JSON line per text.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "safescan/clip.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "safescan/error.hpp"

namespace safescan::cli {

namespace {

struct TokenizeOptions {
  std::string vocab;
  std::vector<std::string> texts;
  std::string texts_file;
  int context_length = ClipTokenizer::kContextLength;
};

int run_tokenize(const TokenizeOptions& opt, const GlobalOptions& global) {
  setup_logging(global);
  const ClipTokenizer tok = ClipTokenizer::load(resolve_clip_vocab(opt.vocab));
  std::vector<std::string> texts = opt.texts;
  if (!opt.texts_file.empty()) {
    const auto more = read_text_lines(opt.texts_file);
    texts.insert(texts.end(), more.begin(), more.end());
  }
  for (const auto& text : texts) {
    nlohmann::ordered_json j{{"text", text}, {"tokens", tok.encode(text, opt.context_length)}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_tokenize(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "CLIP tokens of texts (start to end token, no padding), one JSON line each");
  cmd->add_option("--vocab", opt->vocab, "CLIP BPE merges file (bpe_simple_vocab_16e6.txt.gz); default: the installed clip-vocab");
  // One value per --text (as in `embed`, where a greedy vector option swallowed positionals).
  auto* text = cmd->add_option("--text", opt->texts, "A text to tokenize (repeatable: --text A --text B)")->allow_extra_args(false);
  auto* file = cmd->add_option("--texts", opt->texts_file, "A file with one text per line")->check(CLI::ExistingFile);
  cmd->add_option("--context-length", opt->context_length, "Truncate to this many tokens, keeping the end token")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  cmd->footer("Output: {\"text\": ..., \"tokens\": [49406, ..., 49407]} per text.\n\nExamples:\n"
              "  safescan tokenize --vocab bpe_simple_vocab_16e6.txt.gz --text \"a photo of a cat\"\n"
              "  safescan tokenize --texts prompts.txt");
  cmd->callback([opt, text, file, &global, &exit_code] {
    if (text->count() == 0 && file->count() == 0) throw Error(ErrorCode::invalid_argument, "give --text TEXT or --texts FILE");
    exit_code = run_tokenize(*opt, global);
  });
}

}  // namespace safescan::cli
