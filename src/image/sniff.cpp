// Recognising the format from magic bytes (never from the file name).
#include <cctype>
#include <cstring>
#include <initializer_list>

#include "image/byte_reader.hpp"
#include "image/decoders.hpp"

namespace safescan {

namespace {

bool starts_with(std::span<const std::uint8_t> data, std::size_t offset, std::string_view magic) noexcept {
  return data.size() >= offset && data.size() - offset >= magic.size() &&
         std::memcmp(data.data() + offset, magic.data(), magic.size()) == 0;
}

// "BM" is only two letters, so a text file could start with it: also require a known
// DIB header size when the bytes are there (12 core, 40 info, 52/56 v2/v3, 64 OS/2 v2,
// 108 v4, 124 v5). Shorter inputs are still called BMP (and then found truncated).
bool is_bmp(std::span<const std::uint8_t> data) noexcept {
  if (!starts_with(data, 0, "BM")) return false;
  const auto header_size = detail::ByteReader(data).u32(14);
  if (!header_size) return true;
  for (std::uint32_t known : {12u, 40u, 52u, 56u, 64u, 108u, 124u}) {
    if (*header_size == known) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(ImageFormat format) noexcept {
  switch (format) {
    case ImageFormat::unknown: return "unknown";
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::png: return "png";
    case ImageFormat::webp: return "webp";
    case ImageFormat::gif: return "gif";
    case ImageFormat::bmp: return "bmp";
    case ImageFormat::tiff: return "tiff";
  }
  return "unknown";
}

ImageFormat sniff_format(std::span<const std::uint8_t> data) noexcept {
  using namespace std::string_view_literals;
  if (starts_with(data, 0, "\xFF\xD8\xFF"sv)) return ImageFormat::jpeg;
  if (starts_with(data, 0, "\x89PNG\r\n\x1A\n"sv)) return ImageFormat::png;
  if (starts_with(data, 0, "RIFF"sv) && starts_with(data, 8, "WEBP"sv)) return ImageFormat::webp;
  if (starts_with(data, 0, "GIF87a"sv) || starts_with(data, 0, "GIF89a"sv)) return ImageFormat::gif;
  // Classic TIFF (42) and BigTIFF (43), both byte orders.
  if (starts_with(data, 0, "II*\0"sv) || starts_with(data, 0, "MM\0*"sv) ||
      starts_with(data, 0, "II+\0"sv) || starts_with(data, 0, "MM\0+"sv)) {
    return ImageFormat::tiff;
  }
  if (is_bmp(data)) return ImageFormat::bmp;
  return ImageFormat::unknown;
}

namespace detail {

std::string_view sniff_unsupported_format(Bytes data) noexcept {
  using namespace std::string_view_literals;
  if (starts_with(data, 4, "ftyp"sv)) {
    // ISO base media: the major brand says what it is.
    for (auto brand : {"avif"sv, "avis"sv}) {
      if (starts_with(data, 8, brand)) return "AVIF";
    }
    for (auto brand : {"heic"sv, "heix"sv, "hevc"sv, "heim"sv, "heis"sv, "mif1"sv, "msf1"sv}) {
      if (starts_with(data, 8, brand)) return "HEIF";
    }
    return {};
  }
  if (starts_with(data, 0, "\xFF\x0A"sv) || starts_with(data, 0, "\0\0\0\x0CJXL \r\n\x87\n"sv)) return "JPEG XL";
  if (starts_with(data, 0, "\0\0\0\x0CjP  \r\n\x87\n"sv) || starts_with(data, 0, "\xFF\x4F\xFF\x51"sv)) return "JPEG 2000";
  if (starts_with(data, 0, "8BPS"sv)) return "Photoshop (PSD)";
  if (starts_with(data, 0, "qoif"sv)) return "QOI";
  if (starts_with(data, 0, "II\xBC"sv)) return "JPEG XR";
  return {};
}

}  // namespace detail
const std::vector<std::string_view>& extensions_of(ImageFormat format) {
  static const std::vector<std::string_view> jpeg{".jpg", ".jpeg", ".jpe", ".jfif"}, png{".png"}, webp{".webp"}, gif{".gif"},
      bmp{".bmp"}, tiff{".tif", ".tiff"}, none{};
  switch (format) {
    case ImageFormat::jpeg: return jpeg;
    case ImageFormat::png: return png;
    case ImageFormat::webp: return webp;
    case ImageFormat::gif: return gif;
    case ImageFormat::bmp: return bmp;
    case ImageFormat::tiff: return tiff;
    default: return none;
  }
}

bool has_image_extension(std::string_view name) {
  const auto dot = name.rfind('.');
  std::string ext = "." + std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const ImageFormat f : {ImageFormat::jpeg, ImageFormat::png, ImageFormat::webp, ImageFormat::gif, ImageFormat::bmp,
                              ImageFormat::tiff})
    for (const auto e : extensions_of(f))
      if (e == ext) return true;
  return false;
}

}  // namespace safescan
