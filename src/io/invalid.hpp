// The one way the readers in src/models/io fail on a file that exists but cannot be used.
#pragma once

#include <string>

#include "safescan/error.hpp"

namespace safescan::io {

// Throws Error(model_invalid) about `file`: truncated, malformed, inconsistent or unsupported.
// `message` says what is wrong and where inside the file (entry, key, byte offset).
[[noreturn]] inline void throw_invalid(const std::string& file, std::string message) {
  throw Error(ErrorCode::model_invalid, std::move(message), file);
}

}  // namespace safescan::io
