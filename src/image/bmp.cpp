// BMP: our own parser (no library), every offset checked against the buffer.
//
// Supported: BITMAPCOREHEADER (OS/2 1.x), BITMAPINFOHEADER and its V2/V3/V4/V5
// extensions; 1/4/8-bit palettes; 16/24/32-bit BI_RGB; 16/32-bit BI_BITFIELDS and
// BI_ALPHABITFIELDS with any contiguous masks; bottom-up and top-down rows. RLE4/RLE8
// and embedded JPEG/PNG are reported as unsupported.
//
// Alpha: only a bitfields alpha mask (V3+ headers, BI_ALPHABITFIELDS) is honoured; the
// 4th byte of a BI_RGB 32-bit pixel is padding. An alpha channel that is 0 everywhere is
// a common writer bug, not an invisible image: it is then treated as opaque.
#include <array>
#include <bit>
#include <string>

#include "image/byte_reader.hpp"
#include "image/decoders.hpp"
#include "image/limits.hpp"
#include "image/pixels.hpp"

namespace safescan::detail {

namespace {

constexpr std::uint64_t kFileHeaderSize = 14;
constexpr std::uint32_t kCoreHeaderSize = 12;
constexpr std::uint32_t kInfoHeaderSize = 40;

enum Compression : std::uint32_t {
  kRgb = 0,
  kRle8 = 1,
  kRle4 = 2,
  kBitfields = 3,
  kJpeg = 4,
  kPng = 5,
  kAlphaBitfields = 6,
};

struct Header {
  std::int64_t width = 0;
  std::int64_t height = 0;  // positive; top_down tells the row order
  bool top_down = false;
  unsigned bits_per_pixel = 0;
  std::uint32_t compression = kRgb;
  std::uint64_t pixel_offset = 0;
  // Palette (bits_per_pixel <= 8).
  std::uint64_t palette_offset = 0;
  std::uint32_t palette_entries = 0;
  unsigned palette_entry_size = 4;  // 3 for the OS/2 core header
  // Channel masks r, g, b, a (16/32-bit); a == 0 means no alpha.
  std::array<std::uint32_t, 4> masks{};
};

[[noreturn]] void fail(ErrorCode code, const std::string& message, std::string_view where) {
  throw Error(code, message, std::string(where));
}

[[noreturn]] void fail_truncated(std::string_view what, std::string_view where) {
  fail(ErrorCode::corrupt, "BMP is truncated: " + std::string(what) + " lies past the end of the file", where);
}

Header parse_header(const ByteReader& in, std::string_view where) {
  Header h;
  const auto offset = in.u32(10);
  const auto header_size = in.u32(kFileHeaderSize);
  if (!offset || !header_size) fail_truncated("the header", where);
  h.pixel_offset = *offset;

  if (*header_size == kCoreHeaderSize) {
    if (!in.has(kFileHeaderSize, kCoreHeaderSize)) fail_truncated("the header", where);
    h.width = *in.u16(kFileHeaderSize + 4);
    h.height = *in.u16(kFileHeaderSize + 6);
    h.bits_per_pixel = *in.u16(kFileHeaderSize + 10);
    h.palette_entry_size = 3;
    if (h.bits_per_pixel != 1 && h.bits_per_pixel != 4 && h.bits_per_pixel != 8 && h.bits_per_pixel != 24) {
      fail(ErrorCode::corrupt, "BMP core header has an invalid bit depth " + std::to_string(h.bits_per_pixel), where);
    }
  } else if (*header_size == kInfoHeaderSize || *header_size == 52 || *header_size == 56 ||
             *header_size == 108 || *header_size == 124) {
    if (!in.has(kFileHeaderSize, *header_size)) fail_truncated("the header", where);
    h.width = *in.i32(kFileHeaderSize + 4);
    const std::int32_t height = *in.i32(kFileHeaderSize + 8);
    h.top_down = height < 0;
    h.height = h.top_down ? -static_cast<std::int64_t>(height) : height;
    h.bits_per_pixel = *in.u16(kFileHeaderSize + 14);
    h.compression = *in.u32(kFileHeaderSize + 16);
    h.palette_entries = *in.u32(kFileHeaderSize + 32);
    if (h.compression == kBitfields || h.compression == kAlphaBitfields) {
      // V2+ headers hold the masks; a plain info header is followed by them.
      const unsigned count = h.compression == kAlphaBitfields ? 4 : 3;
      for (unsigned i = 0; i < count; ++i) {
        const auto mask = in.u32(kFileHeaderSize + kInfoHeaderSize + 4 * i);
        if (!mask) fail_truncated("the colour masks", where);
        h.masks[i] = *mask;
      }
      if (*header_size >= 56) h.masks[3] = *in.u32(kFileHeaderSize + 52);
    }
  } else {
    fail(ErrorCode::unsupported, "BMP header of " + std::to_string(*header_size) + " bytes (OS/2 2.x or unknown)", where);
  }

  switch (h.compression) {
    case kRgb: break;
    case kBitfields:
    case kAlphaBitfields:
      if (h.bits_per_pixel != 16 && h.bits_per_pixel != 32) {
        fail(ErrorCode::corrupt, "BMP bitfields need 16 or 32 bits per pixel, not " + std::to_string(h.bits_per_pixel), where);
      }
      break;
    case kRle8:
    case kRle4: fail(ErrorCode::unsupported, "run-length encoded BMP (RLE4/RLE8)", where);
    case kJpeg:
    case kPng: fail(ErrorCode::unsupported, "BMP with embedded JPEG/PNG data", where);
    default: fail(ErrorCode::unsupported, "BMP compression type " + std::to_string(h.compression), where);
  }
  if (h.compression == kRgb) {
    switch (h.bits_per_pixel) {
      case 1: case 4: case 8: case 24: break;
      case 16: h.masks = {0x7C00, 0x03E0, 0x001F, 0}; break;
      case 32: h.masks = {0x00FF0000, 0x0000FF00, 0x000000FF, 0}; break;
      default: fail(ErrorCode::corrupt, "BMP has an invalid bit depth " + std::to_string(h.bits_per_pixel), where);
    }
  }
  if (h.bits_per_pixel <= 8) {
    const std::uint32_t max_entries = 1u << h.bits_per_pixel;
    if (h.palette_entries == 0 || h.palette_entries > max_entries) h.palette_entries = max_entries;
    h.palette_offset = kFileHeaderSize + *header_size;
    // Writers may store fewer entries than announced: use only those before the pixels.
    if (h.pixel_offset > h.palette_offset) {
      const std::uint64_t room = (h.pixel_offset - h.palette_offset) / h.palette_entry_size;
      if (room < h.palette_entries) h.palette_entries = static_cast<std::uint32_t>(room);
    }
  }
  return h;
}

// One colour channel of a 16/32-bit pixel, scaled to 8 bits with rounding.
class Channel {
 public:
  Channel(std::uint32_t mask, std::string_view where) : mask_(mask) {
    if (mask == 0) return;
    shift_ = static_cast<unsigned>(std::countr_zero(mask));
    max_ = mask >> shift_;
    if ((max_ & (max_ + 1)) != 0) fail(ErrorCode::corrupt, "BMP colour mask is not contiguous", where);
  }
  bool present() const noexcept { return mask_ != 0; }
  std::uint8_t operator()(std::uint32_t pixel) const noexcept {
    if (mask_ == 0) return 0;
    const std::uint64_t v = (pixel & mask_) >> shift_;
    return static_cast<std::uint8_t>((v * 255 + max_ / 2) / max_);
  }

 private:
  std::uint32_t mask_ = 0;
  unsigned shift_ = 0;
  std::uint64_t max_ = 1;
};

std::uint64_t row_stride(const Header& h) {
  return (static_cast<std::uint64_t>(h.width) * h.bits_per_pixel + 31) / 32 * 4;
}

// Calls visit(y, row) with the stored bytes of output row y (top to bottom).
template <typename Visit>
void for_each_row(const ByteReader& in, const Header& h, Visit&& visit) {
  const std::uint64_t stride = row_stride(h);
  for (std::int64_t y = 0; y < h.height; ++y) {
    const std::int64_t stored = h.top_down ? y : h.height - 1 - y;
    visit(y, in.bytes().data() + h.pixel_offset + static_cast<std::uint64_t>(stored) * stride);
  }
}

std::uint32_t read_le(const std::uint8_t* p, unsigned bytes) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < bytes; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

void decode_palette(const ByteReader& in, const Header& h, std::string_view where, Image& image) {
  std::array<Rgb8, 256> palette;
  palette.fill(Rgb8{0, 0, 0});  // indexes past the stored entries are black
  const std::uint64_t bytes = std::uint64_t{h.palette_entries} * h.palette_entry_size;
  if (!in.has(h.palette_offset, bytes)) fail_truncated("the palette", where);
  for (std::uint32_t i = 0; i < h.palette_entries; ++i) {
    const std::uint8_t* e = in.bytes().data() + h.palette_offset + std::uint64_t{i} * h.palette_entry_size;
    palette[i] = Rgb8{e[2], e[1], e[0]};
  }
  const unsigned bpp = h.bits_per_pixel;
  const unsigned per_byte = 8 / bpp;
  const unsigned index_mask = (1u << bpp) - 1;
  for_each_row(in, h, [&](std::int64_t y, const std::uint8_t* row) {
    std::uint8_t* out = image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3;
    for (std::int64_t x = 0; x < h.width; ++x, out += 3) {
      const unsigned shift = 8 - bpp * (1 + static_cast<unsigned>(x % per_byte));  // leftmost pixel in the high bits
      const Rgb8 c = palette[(row[x / per_byte] >> shift) & index_mask];
      out[0] = c.r;
      out[1] = c.g;
      out[2] = c.b;
    }
  });
}

void decode_bgr24(const ByteReader& in, const Header& h, Image& image) {
  for_each_row(in, h, [&](std::int64_t y, const std::uint8_t* row) {
    std::uint8_t* out = image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3;
    for (std::int64_t x = 0; x < h.width; ++x, row += 3, out += 3) {
      out[0] = row[2];
      out[1] = row[1];
      out[2] = row[0];
    }
  });
}

void decode_masked(const ByteReader& in, const Header& h, const DecodeOptions& options, std::string_view where,
                   Image& image) {
  const Channel r(h.masks[0], where), g(h.masks[1], where), b(h.masks[2], where), a(h.masks[3], where);
  const unsigned bytes = h.bits_per_pixel / 8;
  bool use_alpha = false;
  if (a.present()) {
    for_each_row(in, h, [&](std::int64_t, const std::uint8_t* row) {
      for (std::int64_t x = 0; x < h.width && !use_alpha; ++x) use_alpha = a(read_le(row + x * bytes, bytes)) != 0;
    });
  }
  const Rgb8 bg = options.background;
  for_each_row(in, h, [&](std::int64_t y, const std::uint8_t* row) {
    std::uint8_t* out = image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3;
    for (std::int64_t x = 0; x < h.width; ++x, out += 3) {
      const std::uint32_t v = read_le(row + x * bytes, bytes);
      if (use_alpha) {
        const std::uint8_t alpha = a(v);
        out[0] = blend(alpha, r(v), bg.r);
        out[1] = blend(alpha, g(v), bg.g);
        out[2] = blend(alpha, b(v), bg.b);
      } else {
        out[0] = r(v);
        out[1] = g(v);
        out[2] = b(v);
      }
    }
  });
  image.had_alpha = use_alpha;
}

Header read_checked_header(const ByteReader& in, std::uint64_t max_pixels, std::string_view where) {
  Header h = parse_header(in, where);
  check_dimensions(ImageFormat::bmp, h.width, h.height, max_pixels, where);
  return h;
}

}  // namespace

Image decode_bmp(Bytes data, const DecodeOptions& options, std::string_view where) {
  const ByteReader in(data);
  const Header h = read_checked_header(in, options.max_pixels, where);
  // All rows must be there; the last one may omit its padding. (Divisions, not
  // products, so no size can overflow.)
  const std::uint64_t stride = row_stride(h);
  const std::uint64_t last_row = (static_cast<std::uint64_t>(h.width) * h.bits_per_pixel + 7) / 8;
  if (h.pixel_offset > in.size()) fail_truncated("the pixel data", where);
  const std::uint64_t available = in.size() - h.pixel_offset;
  const std::uint64_t full_rows = static_cast<std::uint64_t>(h.height - 1);
  if (full_rows > available / stride || available - full_rows * stride < last_row) {
    fail_truncated("the pixel data", where);
  }

  Image image;
  image.source_width = static_cast<int>(h.width);
  image.source_height = static_cast<int>(h.height);
  allocate_pixels(image, image.source_width, image.source_height);
  if (h.bits_per_pixel <= 8) {
    decode_palette(in, h, where, image);
  } else if (h.bits_per_pixel == 24) {
    decode_bgr24(in, h, image);
  } else {
    decode_masked(in, h, options, where, image);
  }
  return image;
}

ImageInfo probe_bmp(Bytes data, std::string_view where) {
  const Header h = read_checked_header(ByteReader(data), 0, where);
  return {ImageFormat::bmp, static_cast<int>(h.width), static_cast<int>(h.height)};
}

}  // namespace safescan::detail
