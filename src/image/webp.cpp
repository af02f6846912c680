// WebP through libwebp (still images) and libwebpdemux (animations, EXIF chunk).
//
// An animated WebP yields its first frame, composed on the canvas by WebPAnimDecoder
// (areas the frame does not cover are transparent, so they show the background).
#include <memory>
#include <string>
#include <vector>

#include <webp/decode.h>
#include <webp/demux.h>

#include "image/decoders.hpp"
#include "image/exif.hpp"
#include "image/limits.hpp"
#include "image/pixels.hpp"

namespace safescan::detail {

namespace {

struct DemuxDeleter {
  void operator()(WebPDemuxer* demux) const noexcept { WebPDemuxDelete(demux); }
};
struct AnimDecoderDeleter {
  void operator()(WebPAnimDecoder* decoder) const noexcept { WebPAnimDecoderDelete(decoder); }
};
using DemuxPtr = std::unique_ptr<WebPDemuxer, DemuxDeleter>;
using AnimDecoderPtr = std::unique_ptr<WebPAnimDecoder, AnimDecoderDeleter>;

ErrorCode error_code(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_UNSUPPORTED_FEATURE: return ErrorCode::unsupported;
    case VP8_STATUS_OUT_OF_MEMORY: return ErrorCode::too_large;
    default: return ErrorCode::corrupt;
  }
}

const char* describe(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "unexpected end of data (truncated)";
    default: return "decoding failed";
  }
}

[[noreturn]] void fail(VP8StatusCode status, std::string_view what, std::string_view where) {
  throw Error(error_code(status), std::string(what) + ": " + describe(status), std::string(where));
}

WebPBitstreamFeatures read_features(Bytes data, std::string_view where) {
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(data.data(), data.size(), &features);
  if (status != VP8_STATUS_OK) fail(status, "cannot read the WebP header", where);
  return features;
}

int find_exif_orientation(Bytes data) {
  const WebPData webp{data.data(), data.size()};
  const DemuxPtr demux(WebPDemux(&webp));
  if (!demux || (WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG) == 0) return 1;
  WebPChunkIterator chunk;
  if (!WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) return 1;
  const int orientation = exif_orientation(Bytes(chunk.chunk.bytes, chunk.chunk.size));
  WebPDemuxReleaseChunkIterator(&chunk);
  return orientation;
}

void decode_still(Bytes data, const WebPBitstreamFeatures& features, const DecodeOptions& options,
                  std::string_view where, Image& image) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) throw Error(ErrorCode::internal, "libwebp version mismatch", std::string(where));
  config.options.use_threads = 0;
  std::vector<std::uint8_t> rgba;
  WebPRGBABuffer& out = config.output.u.RGBA;
  config.output.is_external_memory = 1;
  if (features.has_alpha) {
    rgba.resize(static_cast<std::size_t>(image.width) * image.height * 4);
    config.output.colorspace = MODE_RGBA;
    out.rgba = rgba.data();
    out.stride = image.width * 4;
    out.size = rgba.size();
  } else {
    config.output.colorspace = MODE_RGB;
    out.rgba = image.pixels.data();
    out.stride = image.width * 3;
    out.size = image.pixels.size();
  }
  const VP8StatusCode status = WebPDecode(data.data(), data.size(), &config);
  WebPFreeDecBuffer(&config.output);  // no-op for external memory, kept for symmetry
  if (status != VP8_STATUS_OK) fail(status, "cannot decode the WebP", where);
  if (features.has_alpha) {
    composite_rgba(rgba.data(), image.pixels.data(), rgba.size() / 4, options.background);
    image.had_alpha = true;
  }
}

void decode_first_frame(Bytes data, const WebPBitstreamFeatures& features, const DecodeOptions& options,
                        std::string_view where, Image& image) {
  WebPAnimDecoderOptions anim_options;
  if (!WebPAnimDecoderOptionsInit(&anim_options)) {
    throw Error(ErrorCode::internal, "libwebpdemux version mismatch", std::string(where));
  }
  anim_options.color_mode = MODE_RGBA;
  anim_options.use_threads = 0;
  const WebPData webp{data.data(), data.size()};
  const AnimDecoderPtr decoder(WebPAnimDecoderNew(&webp, &anim_options));
  if (!decoder) throw Error(ErrorCode::corrupt, "cannot parse the animated WebP", std::string(where));
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info) || static_cast<int>(info.canvas_width) != image.width ||
      static_cast<int>(info.canvas_height) != image.height) {
    throw Error(ErrorCode::corrupt, "animated WebP canvas does not match its header", std::string(where));
  }
  std::uint8_t* canvas = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &canvas, &timestamp) || canvas == nullptr) {
    throw Error(ErrorCode::corrupt, "cannot decode the first frame of the animated WebP", std::string(where));
  }
  const bool translucent = composite_rgba(canvas, image.pixels.data(), image.pixels.size() / 3, options.background);
  image.had_alpha = features.has_alpha || translucent;
}

}  // namespace

Image decode_webp(Bytes data, const DecodeOptions& options, std::string_view where) {
  const WebPBitstreamFeatures features = read_features(data, where);
  check_dimensions(ImageFormat::webp, features.width, features.height, options.max_pixels, where);
  Image image;
  image.source_width = features.width;
  image.source_height = features.height;
  allocate_pixels(image, features.width, features.height);
  if (features.has_animation) {
    decode_first_frame(data, features, options, where, image);
  } else {
    decode_still(data, features, options, where, image);
  }
  image.exif_orientation = find_exif_orientation(data);
  return image;
}

ImageInfo probe_webp(Bytes data, std::string_view where) {
  const WebPBitstreamFeatures features = read_features(data, where);
  check_dimensions(ImageFormat::webp, features.width, features.height, 0, where);
  return {ImageFormat::webp, features.width, features.height};
}

}  // namespace safescan::detail
