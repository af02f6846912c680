// SHA-256 of files and buffers (lower-case hex), via OpenSSL's EVP interface.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace safescan {

std::string sha256_hex(const void* data, std::size_t size);
// Streams the file; throws Error(unreadable) naming it when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace safescan
