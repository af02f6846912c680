// Shared by the CLIP subcommands: locating the checkpoint and the vocabulary, reading prompt
// files, parsing --precision.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "safescan/clip.hpp"

namespace safescan::cli {

// A checkpoint path, or an installed model name (e.g. clip-vit-b-32) resolved in the models
// directory. Throws Error(model_missing) with a hint (`safescan models pull NAME`).
std::filesystem::path resolve_clip_checkpoint(const std::string& name_or_path);
// --vocab when given, else the installed clip-vocab model.
std::filesystem::path resolve_clip_vocab(const std::string& vocab_option);
// One text per line; blank lines skipped; the file's name in errors.
std::vector<std::string> read_text_lines(const std::filesystem::path& file);
ClipPrecision parse_precision(const std::string& name);

}  // namespace safescan::cli
