// EXIF orientation: the parser, the pixel transform, and the tag found in each container
// (JPEG APP1, PNG eXIf, WebP EXIF, TIFF Orientation) producing upright pixels.
#include <gtest/gtest.h>

#include "image/exif.hpp"
#include "image/orient.hpp"
#include "image_compare.hpp"
#include "image_writers.hpp"
#include "safescan/image.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

using testing::Bytes;
using testing::Raster;

// Where the upright pixel (ux, uy) of a UW x UH image is stored in a file with EXIF
// orientation o (the stored image is UH x UW for 5..8). Written from the EXIF
// definitions, independently of the library's table.
std::pair<int, int> stored_position(int o, int ux, int uy, int uw, int uh) {
  switch (o) {
    case 1: return {ux, uy};
    case 2: return {uw - 1 - ux, uy};           // stored mirrored
    case 3: return {uw - 1 - ux, uh - 1 - uy};  // stored upside down
    case 4: return {ux, uh - 1 - uy};           // stored flipped
    case 5: return {uy, ux};                    // stored transposed
    case 6: return {uy, uw - 1 - ux};           // stored rotated 90 counter-clockwise
    case 7: return {uh - 1 - uy, uw - 1 - ux};  // stored transversed
    case 8: return {uh - 1 - uy, ux};           // stored rotated 90 clockwise
  }
  return {ux, uy};
}

// The raster a camera with orientation `o` would store for the `upright` picture.
Raster stored_for(const Raster& upright, int o) {
  const bool swap = o >= 5;
  Raster stored(swap ? upright.height : upright.width, swap ? upright.width : upright.height, upright.channels);
  for (int uy = 0; uy < upright.height; ++uy) {
    for (int ux = 0; ux < upright.width; ++ux) {
      const auto [sx, sy] = stored_position(o, ux, uy, upright.width, upright.height);
      std::copy(upright.at(ux, uy), upright.at(ux, uy) + upright.channels, stored.at(sx, sy));
    }
  }
  return stored;
}

// 32x16, four flat 8x8-aligned quadrants (so JPEG keeps them nearly exact) plus a
// distinct top-left 8x8 corner: no rotation or flip maps it onto itself.
Raster asymmetric_picture() {
  Raster r(32, 16, 3);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 32; ++x) {
      std::uint8_t* p = r.at(x, y);
      const bool left = x < 16, top = y < 8;
      if (x < 8 && top) {
        p[0] = 255, p[1] = 255, p[2] = 0;  // yellow corner
      } else if (left && top) {
        p[0] = 255, p[1] = 0, p[2] = 0;
      } else if (top) {
        p[0] = 0, p[1] = 255, p[2] = 0;
      } else if (left) {
        p[0] = 0, p[1] = 0, p[2] = 255;
      } else {
        p[0] = 255, p[1] = 255, p[2] = 255;
      }
    }
  }
  return r;
}

// --- parser ----------------------------------------------------------------------------

TEST(DecodeExif, ParsesOrientationInBothByteOrders) {
  for (int o = 1; o <= 8; ++o) {
    for (const bool big_endian : {false, true}) {
      for (const bool identifier : {false, true}) {
        EXPECT_EQ(detail::exif_orientation(testing::exif_block(o, big_endian, identifier)), o)
            << o << (big_endian ? " MM" : " II") << (identifier ? " with Exif id" : "");
      }
    }
  }
}

TEST(DecodeExif, InvalidOrMissingGivesOne) {
  EXPECT_EQ(detail::exif_orientation({}), 1);
  EXPECT_EQ(detail::exif_orientation(testing::exif_block(0)), 1);
  EXPECT_EQ(detail::exif_orientation(testing::exif_block(9)), 1);
  Bytes bad_magic = testing::exif_block(6, false, false);
  bad_magic[2] = 43;
  EXPECT_EQ(detail::exif_orientation(bad_magic), 1);
  Bytes far_ifd = testing::exif_block(6, false, false);
  far_ifd[4] = 0xF0, far_ifd[5] = 0xFF, far_ifd[6] = 0xFF, far_ifd[7] = 0xFF;  // IFD0 at ~4 GB
  EXPECT_EQ(detail::exif_orientation(far_ifd), 1);
  Bytes many_entries = testing::exif_block(6, false, false);
  many_entries[8] = 0xFF, many_entries[9] = 0xFF;  // 65535 entries, in a 38-byte block
  EXPECT_EQ(detail::exif_orientation(many_entries), 6);  // found before running off the end
  Bytes wrong_type = testing::exif_block(6, false, false);
  wrong_type[8 + 2 + 12 + 2] = 2;  // Orientation as ASCII
  EXPECT_EQ(detail::exif_orientation(wrong_type), 1);
}

TEST(DecodeExif, EveryTruncationIsSafe) {
  const Bytes full = testing::exif_block(8, true, true);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const int o = detail::exif_orientation(std::span(full.data(), n));
    EXPECT_TRUE(o == 1 || o == 8) << n;
  }
}

// --- transform -------------------------------------------------------------------------

TEST(DecodeExif, ApplyOrientationMatchesTheDefinitions) {
  // A 3x2 picture with distinct pixels.
  Raster upright(3, 2, 3);
  for (int i = 0; i < 18; ++i) upright.data[i] = static_cast<std::uint8_t>(i * 13);
  for (int o = 1; o <= 8; ++o) {
    const Raster stored = stored_for(upright, o);
    Image image;
    image.width = stored.width;
    image.height = stored.height;
    image.pixels = stored.data;
    detail::apply_orientation(image, o);
    EXPECT_EQ(testing::max_difference(image, upright), 0) << "orientation " << o;
  }
}

// --- containers ------------------------------------------------------------------------

TEST(DecodeExif, JpegApp1AllEightOrientations) {
  const Raster upright = asymmetric_picture();
  for (int o = 1; o <= 8; ++o) {
    for (const bool big_endian : {false, true}) {
      const Raster stored = stored_for(upright, o);
      testing::JpegSpec spec;
      spec.app1 = testing::exif_block(o, big_endian);
      const Bytes jpeg = testing::encode_jpeg(stored, spec);

      const Image image = decode_image(jpeg);
      EXPECT_EQ(image.exif_orientation, o);
      EXPECT_EQ(image.source_width, stored.width);
      EXPECT_EQ(image.source_height, stored.height);
      EXPECT_LE(testing::max_difference(image, upright), 3) << "orientation " << o;

      DecodeOptions as_stored;
      as_stored.apply_exif_orientation = false;
      const Image raw = decode_image(jpeg, as_stored);
      EXPECT_EQ(raw.exif_orientation, o);
      EXPECT_LE(testing::max_difference(raw, stored), 3) << "orientation " << o << " not applied";
    }
  }
}

TEST(DecodeExif, PngExifChunk) {
  const Raster upright = testing::gradient(9, 5, 3);
  const Raster stored = stored_for(upright, 6);
  testing::PngSpec spec;
  spec.width = stored.width;
  spec.height = stored.height;
  spec.exif = testing::exif_block(6, true, /*identifier=*/false);
  const Bytes png = testing::encode_png(spec, [&](int y, std::uint8_t* row) {
    std::memcpy(row, stored.data.data() + y * stored.stride(), stored.stride());
  });
  const Image image = decode_image(png);
  EXPECT_EQ(image.exif_orientation, 6);
  EXPECT_EQ(testing::max_difference(image, upright), 0);
}

TEST(DecodeExif, WebpExifChunk) {
  const Raster upright = testing::gradient(9, 5, 3);
  const Raster stored = stored_for(upright, 7);
  const Bytes simple = testing::encode_webp(stored, true);
  const Bytes webp = testing::webp_file({testing::vp8x_chunk(testing::kWebpExif, stored.width, stored.height),
                                         testing::webp_image_chunks(simple),
                                         testing::riff_chunk("EXIF", testing::exif_block(7, false, false))});
  const Image image = decode_image(webp);
  EXPECT_EQ(image.exif_orientation, 7);
  EXPECT_EQ(testing::max_difference(image, upright), 0);
}

TEST(DecodeExif, TiffOrientationTagIncludingTransposes) {
  const testing::TempDir dir;
  const Raster upright = testing::gradient(9, 5, 3);
  for (int o = 1; o <= 8; ++o) {
    const Raster stored = stored_for(upright, o);
    testing::TiffSpec spec;
    spec.orientation = o;
    const Bytes tiff = testing::encode_tiff(dir / "o.tif", stored.width, stored.height, spec, stored.data);
    const Image image = decode_image(tiff);
    EXPECT_EQ(image.exif_orientation, o);
    EXPECT_EQ(testing::max_difference(image, upright), 0) << "orientation " << o;
  }
}

}  // namespace
}  // namespace safescan
