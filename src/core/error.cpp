#include "safescan/error.hpp"

namespace safescan {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::unreadable: return "unreadable";
    case ErrorCode::empty: return "empty";
    case ErrorCode::not_an_image: return "not_an_image";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::model_missing: return "model_missing";
    case ErrorCode::model_invalid: return "model_invalid";
    case ErrorCode::network: return "network";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

static std::string compose(const std::string& message, const std::string& where) {
  return where.empty() ? message : where + ": " + message;
}

Error::Error(ErrorCode code, std::string message, std::string where)
    : std::runtime_error(compose(message, where)),
      code_(code),
      message_(std::move(message)),
      where_(std::move(where)) {}

}  // namespace safescan
