// Decoding from several threads at once: libtiff's process-global error handlers keep
// each thread's message apart, and the other decoders share no state.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "image_compare.hpp"
#include "image_writers.hpp"
#include "safescan/image.hpp"
#include "testing.hpp"

namespace safescan {
namespace {

using testing::Bytes;

TEST(DecodeThreads, ConcurrentDecodesKeepTheirOwnResultsAndMessages) {
  const testing::TempDir dir;
  const testing::Raster src = testing::gradient(20, 12, 3);
  testing::TiffSpec spec;
  spec.compression = COMPRESSION_NONE;
  const Bytes tiff = testing::encode_tiff(dir / "t.tif", 20, 12, spec, src.data);
  const Bytes broken_tiff(tiff.begin(), tiff.begin() + static_cast<std::ptrdiff_t>(tiff.size() / 2));
  const Bytes png = testing::encode_png(src);
  const Bytes broken_jpeg = [&] {
    Bytes j = testing::encode_jpeg(src);
    j.resize(j.size() / 2);
    return j;
  }();

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string where = "thread-" + std::to_string(t) + "-" + std::to_string(i);
        try {
          const Image a = decode_image(t % 2 ? tiff : png, {}, where);
          if (a.pixels != src.data) ++failures;
          decode_image(t % 2 ? broken_tiff : broken_jpeg, {}, where);
          ++failures;  // must not decode
        } catch (const Error& e) {
          if (e.code() != ErrorCode::corrupt || e.where() != where) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace safescan
