// Naming blurred outputs: extensions that follow the container, keys made safe as relative
// paths (the encoders are src/image/encode.cpp).
#include <algorithm>
#include <cctype>

#include "safescan/blur.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

ImageFormat output_container(ImageFormat source, OutputFormat format) {
  if (format == OutputFormat::jpeg) return ImageFormat::jpeg;
  if (format == OutputFormat::png) return ImageFormat::png;
  switch (source) {
    case ImageFormat::jpeg:
    case ImageFormat::png:
    case ImageFormat::webp:
      return source;
    default:
      return ImageFormat::png;  // GIF, BMP, TIFF (and anything else): lossless PNG
  }
}

std::string output_name(std::string_view name, ImageFormat original, ImageFormat container) {
  const auto slash = name.rfind('/');
  const auto dot = name.rfind('.');
  const bool has_ext = dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash + 1);
  const std::string ext = has_ext ? lower(name.substr(dot)) : std::string();
  const auto allowed = extensions_of(container);
  if (container == original && !allowed.empty()) return std::string(name);  // same container: same name
  if (std::find(allowed.begin(), allowed.end(), ext) != allowed.end()) return std::string(name);
  const std::string stem(has_ext ? name.substr(0, dot) : name);
  return stem + (allowed.empty() ? std::string(".png") : std::string(allowed.front()));
}

std::filesystem::path output_relative_path(std::string_view key) {
  std::filesystem::path out;
  for (const auto& part : std::filesystem::path(std::string(key)).relative_path()) {
    const std::string s = part.string();
    if (s.empty() || s == ".") continue;
    out /= s == ".." ? std::string("__") : s;
  }
  if (out.empty())
    throw Error(ErrorCode::invalid_argument, "no file name to write under the output directory", std::string(key));
  return out;
}

}  // namespace safescan
