// The per-format decoders behind decode_image() and probe_image().
//
// Each decode_* reads the header, calls check_dimensions() before allocating, decodes to
// RGB8 (alpha composited over options.background) and fills Image::source_width/height,
// exif_orientation and had_alpha. decode_image() sets Image::format and applies the
// orientation, for every format alike. Each probe_* reads the header only. All throw safescan::Error
// with `where` as the location.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "safescan/image.hpp"

namespace safescan::detail {

using Bytes = std::span<const std::uint8_t>;

Image decode_jpeg(Bytes data, const DecodeOptions& options, std::string_view where);
Image decode_png(Bytes data, const DecodeOptions& options, std::string_view where);
Image decode_webp(Bytes data, const DecodeOptions& options, std::string_view where);
Image decode_gif(Bytes data, const DecodeOptions& options, std::string_view where);
Image decode_bmp(Bytes data, const DecodeOptions& options, std::string_view where);
Image decode_tiff(Bytes data, const DecodeOptions& options, std::string_view where);

ImageInfo probe_jpeg(Bytes data, std::string_view where);
ImageInfo probe_png(Bytes data, std::string_view where);
ImageInfo probe_webp(Bytes data, std::string_view where);
ImageInfo probe_gif(Bytes data, std::string_view where);
ImageInfo probe_bmp(Bytes data, std::string_view where);
ImageInfo probe_tiff(Bytes data, std::string_view where);

// The name of a well-known image format we recognise but do not decode (AVIF, HEIF,
// JPEG XL, JPEG 2000, PSD, ...), or empty. Lets decode_image() say `unsupported`
// rather than `not_an_image` for them.
std::string_view sniff_unsupported_format(Bytes data) noexcept;

}  // namespace safescan::detail
