// safescan/error.hpp - the one error type the library throws.
//
// Every failure a user can cause (a bad image, a bad model file, a bad flag) is a
// safescan::Error carrying a machine-readable code, a human message, and where it
// happened (a file path, a layer name, ...). Callers that process many inputs catch it
// per input, record code + message, and go on.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace safescan {

enum class ErrorCode {
  // Reading and decoding an input.
  unreadable,    // the file cannot be opened or read (missing, permission, a directory, ...)
  empty,         // zero bytes
  not_an_image,  // the bytes are not any image format we know (text, HTML, random bytes)
  unsupported,   // an image format or variant we recognise but do not decode
  corrupt,       // a known format whose data is truncated or damaged
  too_large,     // dimensions exceed the configured pixel limit (checked from the header)
  // Models.
  model_missing,  // a model file or directory does not exist
  model_invalid,  // a model file is truncated or inconsistent (shape, unknown layer/op, ...)
  // Downloads.
  network,  // a transfer failed: HTTP error status, connection refused or cut, timeout (names the URL)
  // Everything else.
  invalid_argument,
  internal,
};

// Stable snake_case name of a code, as written in JSON output ("corrupt", "too_large", ...).
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, std::string where = {});

  ErrorCode code() const noexcept { return code_; }
  // The message without the location prefix.
  const std::string& message() const noexcept { return message_; }
  // Path, layer, option... that the error is about; may be empty.
  const std::string& where() const noexcept { return where_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string where_;
};

}  // namespace safescan
