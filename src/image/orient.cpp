#include "image/orient.hpp"

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace safescan::detail {

namespace {

// Where the stored pixel (sx, sy) of a W x H image lands in the upright image:
//   dx = x0 + x_sx * sx + x_sy * sy,   dy = y0 + y_sx * sx + y_sy * sy,
// where x0 / y0 are 0 or the last column / row (`last_*` below says which).
struct Mapping {
  bool transpose;      // output is H x W
  bool last_column_x;  // x0 = output width - 1 (else 0)
  int x_sx, x_sy;
  bool last_row_y;     // y0 = output height - 1 (else 0)
  int y_sx, y_sy;
};

constexpr Mapping kMappings[9] = {
    {false, false, 1, 0, false, 0, 1},   // (unused)
    {false, false, 1, 0, false, 0, 1},   // 1: as is
    {false, true, -1, 0, false, 0, 1},   // 2: mirror horizontally
    {false, true, -1, 0, true, 0, -1},   // 3: rotate 180
    {false, false, 1, 0, true, 0, -1},   // 4: flip vertically
    {true, false, 0, 1, false, 1, 0},    // 5: transpose
    {true, true, 0, -1, false, 1, 0},    // 6: rotate 90 clockwise
    {true, true, 0, -1, true, -1, 0},    // 7: transverse
    {true, false, 0, 1, true, -1, 0},    // 8: rotate 90 counter-clockwise
};

}  // namespace

void apply_orientation(Image& image, int orientation) {
  if (orientation < 2 || orientation > 8 || image.empty()) return;
  const Mapping& m = kMappings[orientation];
  const std::ptrdiff_t sw = image.width, sh = image.height;
  const std::ptrdiff_t dw = m.transpose ? sh : sw, dh = m.transpose ? sw : sh;

  // Offsets (in pixels) of the destination of (0,0) and of one step in sx and in sy.
  const std::ptrdiff_t x0 = m.last_column_x ? dw - 1 : 0, y0 = m.last_row_y ? dh - 1 : 0;
  const std::ptrdiff_t origin = y0 * dw + x0;
  const std::ptrdiff_t step_sx = m.y_sx * dw + m.x_sx;
  const std::ptrdiff_t step_sy = m.y_sy * dw + m.x_sy;

  std::vector<std::uint8_t> out(image.pixels.size());
  const std::uint8_t* src = image.pixels.data();
  for (std::ptrdiff_t sy = 0; sy < sh; ++sy) {
    std::ptrdiff_t d = origin + sy * step_sy;
    for (std::ptrdiff_t sx = 0; sx < sw; ++sx, src += 3, d += step_sx) {
      std::uint8_t* dst = out.data() + d * 3;
      dst[0] = src[0];
      dst[1] = src[1];
      dst[2] = src[2];
    }
  }
  image.pixels = std::move(out);
  image.width = static_cast<int>(dw);
  image.height = static_cast<int>(dh);
}

}  // namespace safescan::detail
