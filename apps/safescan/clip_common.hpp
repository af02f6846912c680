// Shared by the CLIP subcommands: the library's CLIP file lookup (src/pipeline/clip_detectors)
// plus reading text files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/clip_detectors.hpp"
#include "safescan/clip.hpp"

namespace safescan::cli {

using pipeline::parse_precision;
using pipeline::resolve_clip_checkpoint;
using pipeline::resolve_clip_vocab;

// One text per line; blank lines skipped; the file's name in errors.
std::vector<std::string> read_text_lines(const std::filesystem::path& file);

}  // namespace safescan::cli
