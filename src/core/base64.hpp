// Base64 (RFC 4648, with padding): thumbnails and previews as data: URIs in reports.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace safescan {

std::string base64_encode(std::span<const std::uint8_t> bytes);

}  // namespace safescan
