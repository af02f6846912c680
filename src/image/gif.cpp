// GIF through giflib's record-level API, from memory: the first frame only.
//
// DGifSlurp() would decode every frame (a bomb can hold thousands), so we walk the
// records ourselves: screen descriptor, extensions (keeping the graphics control block
// of the first frame), then the first image descriptor, whose rows we read one by one.
// Both the logical screen and the frame are checked against the pixel limit before any
// pixel is decoded. The frame is drawn on the screen at its position (clipped to it);
// uncovered and transparent pixels show DecodeOptions::background, as in browsers,
// which ignore the GIF background colour index.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gif_lib.h>

#include "image/decoders.hpp"
#include "image/limits.hpp"
#include "image/pixels.hpp"

namespace safescan::detail {

namespace {

struct MemorySource {
  Bytes data;
  std::size_t offset = 0;
};

int read_memory(GifFileType* gif, GifByteType* out, int count) {
  auto* source = static_cast<MemorySource*>(gif->UserData);
  if (count <= 0) return 0;
  const std::size_t n = std::min(static_cast<std::size_t>(count), source->data.size() - source->offset);
  std::memcpy(out, source->data.data() + source->offset, n);
  source->offset += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const noexcept { DGifCloseFile(gif, nullptr); }
};
using GifPtr = std::unique_ptr<GifFileType, GifCloser>;

ErrorCode error_code(int gif_error) {
  switch (gif_error) {
    case D_GIF_ERR_NOT_ENOUGH_MEM: return ErrorCode::too_large;
    default: return ErrorCode::corrupt;
  }
}

[[noreturn]] void fail(int gif_error, std::string_view what, std::string_view where) {
  const char* reason = GifErrorString(gif_error);
  std::string message(what);
  if (gif_error == D_GIF_ERR_READ_FAILED || gif_error == D_GIF_ERR_EOF_TOO_SOON) {
    message += ": unexpected end of file (truncated)";
  } else if (reason != nullptr) {
    message += std::string(": ") + reason;
  }
  throw Error(error_code(gif_error), std::move(message), std::string(where));
}

// An open GIF positioned at the pixel data of its first frame.
struct FirstFrame {
  GifPtr gif;
  int transparent_index = NO_TRANSPARENT_COLOR;
  // The canvas: the logical screen, or the frame's extent when a writer left it 0.
  int canvas_width = 0;
  int canvas_height = 0;
};

FirstFrame open_first_frame(MemorySource& source, std::uint64_t max_pixels, std::string_view where) {
  int error = D_GIF_SUCCEEDED;
  FirstFrame frame;
  frame.gif.reset(DGifOpen(&source, read_memory, &error));
  if (!frame.gif) fail(error, "cannot read the GIF header", where);
  GifFileType* gif = frame.gif.get();
  // The screen size alone can already be a bomb: refuse it before reading further.
  if (gif->SWidth > 0 && gif->SHeight > 0) {
    check_dimensions(ImageFormat::gif, gif->SWidth, gif->SHeight, max_pixels, where);
  }
  for (;;) {
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif, &record) == GIF_ERROR) fail(gif->Error, "cannot read the GIF", where);
    if (record == IMAGE_DESC_RECORD_TYPE) break;
    if (record == TERMINATE_RECORD_TYPE) {
      throw Error(ErrorCode::corrupt, "GIF has no image", std::string(where));
    }
    if (record != EXTENSION_RECORD_TYPE) fail(D_GIF_ERR_WRONG_RECORD, "cannot read the GIF", where);
    int code = 0;
    GifByteType* block = nullptr;
    if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) fail(gif->Error, "cannot read a GIF extension", where);
    if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr) {
      GraphicsControlBlock gcb;
      // block[0] is the sub-block length, the payload follows.
      if (DGifExtensionToGCB(block[0], block + 1, &gcb) == GIF_OK) frame.transparent_index = gcb.TransparentColor;
    }
    while (block != nullptr) {
      if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) fail(gif->Error, "cannot read a GIF extension", where);
    }
  }
  if (DGifGetImageDesc(gif) == GIF_ERROR) fail(gif->Error, "cannot read the GIF image descriptor", where);
  const GifImageDesc& desc = gif->Image;
  // The frame is decoded in full even where it falls outside the screen.
  check_dimensions(ImageFormat::gif, desc.Width, desc.Height, max_pixels, where);
  frame.canvas_width = gif->SWidth > 0 ? gif->SWidth : desc.Left + desc.Width;
  frame.canvas_height = gif->SHeight > 0 ? gif->SHeight : desc.Top + desc.Height;
  check_dimensions(ImageFormat::gif, frame.canvas_width, frame.canvas_height, max_pixels, where);
  return frame;
}

// Row order of an interlaced frame: every 8th row from 0, every 8th from 4, every 4th
// from 2, every 2nd from 1.
std::vector<int> frame_row_order(int height, bool interlaced) {
  std::vector<int> rows;
  rows.reserve(static_cast<std::size_t>(height));
  if (!interlaced) {
    for (int y = 0; y < height; ++y) rows.push_back(y);
    return rows;
  }
  constexpr std::array<int, 4> kStart = {0, 4, 2, 1};
  constexpr std::array<int, 4> kStep = {8, 8, 4, 2};
  for (std::size_t pass = 0; pass < kStart.size(); ++pass) {
    for (int y = kStart[pass]; y < height; y += kStep[pass]) rows.push_back(y);
  }
  return rows;
}

}  // namespace

Image decode_gif(Bytes data, const DecodeOptions& options, std::string_view where) {
  MemorySource source{data};
  FirstFrame frame = open_first_frame(source, options.max_pixels, where);
  GifFileType* gif = frame.gif.get();
  const GifImageDesc& desc = gif->Image;
  const ColorMapObject* palette = desc.ColorMap != nullptr ? desc.ColorMap : gif->SColorMap;
  if (palette == nullptr || palette->Colors == nullptr) {
    throw Error(ErrorCode::corrupt, "GIF frame has no colour table", std::string(where));
  }

  Image image;
  image.source_width = frame.canvas_width;
  image.source_height = frame.canvas_height;
  allocate_pixels(image, frame.canvas_width, frame.canvas_height);
  const Rgb8 bg = options.background;
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = bg.r;
    image.pixels[i + 1] = bg.g;
    image.pixels[i + 2] = bg.b;
  }
  const bool covers_canvas = desc.Left == 0 && desc.Top == 0 && desc.Width >= frame.canvas_width &&
                             desc.Height >= frame.canvas_height;
  image.had_alpha = frame.transparent_index != NO_TRANSPARENT_COLOR || !covers_canvas;

  std::vector<GifPixelType> line(static_cast<std::size_t>(desc.Width));
  for (int row : frame_row_order(desc.Height, desc.Interlace)) {
    if (DGifGetLine(gif, line.data(), desc.Width) == GIF_ERROR) fail(gif->Error, "cannot decode the GIF", where);
    const std::int64_t y = static_cast<std::int64_t>(desc.Top) + row;
    if (y >= frame.canvas_height) continue;
    std::uint8_t* out = image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3;
    for (int x = 0; x < desc.Width; ++x) {
      const std::int64_t cx = static_cast<std::int64_t>(desc.Left) + x;
      if (cx >= frame.canvas_width) break;
      const int index = line[static_cast<std::size_t>(x)];
      if (index == frame.transparent_index) continue;
      // Indexes past the table are black, as browsers draw them.
      const GifColorType c = index < palette->ColorCount ? palette->Colors[index] : GifColorType{0, 0, 0};
      std::uint8_t* p = out + cx * 3;
      p[0] = c.Red;
      p[1] = c.Green;
      p[2] = c.Blue;
    }
  }
  return image;
}

ImageInfo probe_gif(Bytes data, std::string_view where) {
  MemorySource source{data};
  const FirstFrame frame = open_first_frame(source, 0, where);
  return {ImageFormat::gif, frame.canvas_width, frame.canvas_height};
}

}  // namespace safescan::detail
