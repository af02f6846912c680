// safescan/item_bytes.hpp - the encoded bytes of a stored item, and small previews of them:
// what the audit card, the review app and blurring need to show or rewrite an item.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "safescan/image.hpp"

namespace safescan {

// The bytes of an item as the scan stored it: the file at `path` when `member` is empty,
// else the member `member` of the tar shard `path` (read sequentially up to that member).
// Throws Error: unreadable (missing file or member), too_large (over max_bytes), corrupt
// (damaged shard).
std::vector<std::uint8_t> read_item_bytes(std::string_view path, std::string_view member,
                                          std::uint64_t max_bytes = 1ull << 30);

// A JPEG preview whose longer side is at most `max_side` (never enlarged), decoded with the
// scan's decoder (EXIF orientation applied), optionally Gaussian-blurred with `blur_sigma`
// pixels at the preview's scale (0: sharp). Throws Error like decode_image.
std::vector<std::uint8_t> make_thumbnail_jpeg(std::span<const std::uint8_t> encoded, int max_side, int quality = 80,
                                              float blur_sigma = 0.0f);

}  // namespace safescan
