// decode_image() and probe_image(): recognise the format, hand over to its decoder,
// then apply the orientation the decoder found.
#include <algorithm>
#include <new>
#include <string>

#include "image/decoders.hpp"
#include "image/orient.hpp"

namespace safescan {

namespace {

struct Codec {
  ImageFormat format;
  Image (*decode)(detail::Bytes, const DecodeOptions&, std::string_view);
  ImageInfo (*probe)(detail::Bytes, std::string_view);
};

constexpr Codec kCodecs[] = {
    {ImageFormat::jpeg, detail::decode_jpeg, detail::probe_jpeg},
    {ImageFormat::png, detail::decode_png, detail::probe_png},
    {ImageFormat::webp, detail::decode_webp, detail::probe_webp},
    {ImageFormat::gif, detail::decode_gif, detail::probe_gif},
    {ImageFormat::bmp, detail::decode_bmp, detail::probe_bmp},
    {ImageFormat::tiff, detail::decode_tiff, detail::probe_tiff},
};

// What the leading bytes look like, to make not_an_image messages useful.
std::string describe_unknown(detail::Bytes data) {
  const std::size_t n = std::min<std::size_t>(data.size(), 512);
  const detail::Bytes head = data.first(n);
  auto it = std::find_if(head.begin(), head.end(), [](std::uint8_t c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; });
  if (it != head.end() && *it == '<') return "the data looks like HTML or XML, not an image";
  const bool text = std::all_of(head.begin(), head.end(), [](std::uint8_t c) {
    return c == '\t' || c == '\r' || c == '\n' || (c >= 0x20 && c != 0x7F);  // UTF-8 bytes >= 0x80 count as text
  });
  if (text) return "the data looks like text, not an image";
  return "unrecognised format (the leading bytes match no JPEG, PNG, WebP, GIF, BMP or TIFF signature)";
}

const Codec& codec_for(detail::Bytes data, std::string_view where) {
  if (data.empty()) throw Error(ErrorCode::empty, "no data (0 bytes)", std::string(where));
  const ImageFormat format = sniff_format(data);
  for (const Codec& codec : kCodecs) {
    if (codec.format == format) return codec;
  }
  if (const std::string_view name = detail::sniff_unsupported_format(data); !name.empty()) {
    throw Error(ErrorCode::unsupported, std::string(name) + " images are not supported", std::string(where));
  }
  throw Error(ErrorCode::not_an_image, describe_unknown(data), std::string(where));
}

[[noreturn]] void out_of_memory(ImageFormat format, std::string_view where) {
  throw Error(ErrorCode::too_large, "out of memory decoding the " + std::string(to_string(format)) + " image",
              std::string(where));
}

}  // namespace

ImageInfo probe_image(std::span<const std::uint8_t> data) {
  const Codec& codec = codec_for(data, {});
  try {
    return codec.probe(data, {});
  } catch (const std::bad_alloc&) {
    out_of_memory(codec.format, {});
  }
}

Image decode_image(std::span<const std::uint8_t> data, const DecodeOptions& options, std::string_view where) {
  const Codec& codec = codec_for(data, where);
  Image image;
  try {
    image = codec.decode(data, options, where);
    if (options.apply_exif_orientation) detail::apply_orientation(image, image.exif_orientation);
  } catch (const std::bad_alloc&) {
    out_of_memory(codec.format, where);
  }
  image.format = codec.format;
  return image;
}

}  // namespace safescan
