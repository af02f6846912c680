// libFuzzer target: any byte string given to decode_image() / probe_image() must either
// decode or throw safescan::Error; never crash, leak, hang, allocate without bound or
// print. Anything else escaping (std::bad_alloc, ...) is reported as a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "safescan/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  safescan::DecodeOptions options;
  options.max_pixels = 4'000'000;  // small, so each input stays fast and memory stays low
  // Vary the options with the input (not with its first bytes, which pick the format).
  options.min_side_hint = size % 3 == 0 ? 0 : static_cast<int>(size % 97);
  options.apply_exif_orientation = size % 2 == 0;
  try {
    const safescan::Image image = safescan::decode_image(bytes, options, "fuzz");
    if (image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) __builtin_trap();
  } catch (const safescan::Error&) {
  }
  try {
    (void)safescan::probe_image(bytes);
  } catch (const safescan::Error&) {
  }
  return 0;
}
