// safescan/inputs.hpp - turning command-line paths into the list of images to process.
#pragma once

#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "safescan/error.hpp"

namespace safescan {

struct InputPath {
  std::filesystem::path path;
  // Set when the entry could not even be listed (an unreadable directory, ...).
  std::optional<Error> error;
};

// True when a file inside a walked directory should be treated as an image: its extension
// is an image one (.jpg .jpeg .png .webp .gif .bmp .tif .tiff, any case), or its first
// bytes are an image signature whatever its name.
bool is_candidate_image(const std::filesystem::path& path);

// Expands command-line arguments, keeping their order:
//  - a file (or anything that is not a directory, even a missing path) is taken as is, so
//    that it yields a result or an error;
//  - a directory is walked recursively in sorted order; hidden entries (".name") are skipped,
//    symlinked directories are not followed (no loops), and only candidate images are kept;
//  - "-" reads one path per line from `stdin_stream` (blank lines ignored).
std::vector<InputPath> expand_inputs(const std::vector<std::string>& args, std::istream& stdin_stream);

}  // namespace safescan
