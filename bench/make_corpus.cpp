// Generates the corpus of the end-to-end scan benchmark (bench/bench_scan.sh) from a folder
// of PNG/JPEG images (../shared/images): N small variants (re-encoded, resized, cropped; at
// most 1 megapixel) in a tree of subfolders, and a few 12-megapixel JPEGs.
//
//   bench/make_scan_corpus.sh                 # builds this tool and runs it (the usual way)
//   make_corpus --src ../shared/images --out /tmp/scan-corpus --count 10000 --large 24
//
// Output:
//   OUT/small/dNNN/NNNNNN.{jpg,png,webp}   --count files, --dirs subfolders (round robin)
//   OUT/large/LNNN.jpg                     --large JPEGs of --large-size (default 4000x3000)
//   OUT/manifest.tsv                       one line per file: path, source, w, h, format, quality
//
// Deterministic: file i depends only on (--seed, i) and the sorted source list, whatever
// --threads is. Variants of file i:
//   * crop (half of the files): a random window of 40-100% of each side;
//   * scale 0.25-2.0 (uniform), then capped so that width * height <= --max-pixels;
//   * format: JPEG 75% (quality 60-95, 4:2:0 or 4:4:4, 10% progressive), PNG 15%
//     (zlib level 1-6), lossy WebP 10% (quality 70-90).
// A 12-megapixel file is a random 4:3 crop (70-100%) of a source, upscaled (bilinear) to the
// target size, with per-pixel noise (sigma --noise) so it does not compress to a few hundred
// KB as a plain upscale would, encoded as JPEG quality 88-95, 4:2:0: 3-5 MB each.
//
// Self-contained on purpose (libjpeg, libpng, libwebp and tests/core/image_writers.hpp only,
// no libsafescan, no CMake needed): the script compiles it with one g++ command.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "image_writers.hpp"  // includes <jpeglib.h>, <png.h> after <cstdio>

namespace fs = std::filesystem;
using safescan::testing::Bytes;
using safescan::testing::Raster;

namespace {

struct Options {
  fs::path src, out;
  int count = 10000, dirs = 100, large = 24, large_w = 4000, large_h = 3000, threads = 0;
  std::uint64_t seed = 1, max_pixels = 1'000'000;
  double noise = 10.0;
};

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "make_corpus: " << msg << "\n";
  std::exit(2);
}

// ---- decoding the sources (RGB8; alpha composited over white by libpng) -----------------

Raster load_png(const fs::path& p) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, p.c_str())) die(p.string() + ": " + img.message);
  img.format = PNG_FORMAT_RGB;
  Raster r(static_cast<int>(img.width), static_cast<int>(img.height), 3);
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&img, &white, r.data.data(), 0, nullptr)) die(p.string() + ": " + img.message);
  return r;
}

Raster load_jpeg(const fs::path& p) {
  FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) die("cannot open " + p.string());
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);  // errors exit: sources are trusted test images
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  Raster r(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height), 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = r.data.data() + cinfo.output_scanline * r.stride();
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  std::fclose(f);
  return r;
}

// ---- resampling: separable triangle filter, widened when shrinking (antialiased) --------

struct Taps {
  std::vector<int> first, count;
  std::vector<float> w;  // count[i] weights per output sample, at i * max_taps
  int max_taps = 0;
};

Taps taps(int in, int out, double src0, double src_len) {
  Taps t;
  const double scale = src_len / out;  // source pixels per output pixel
  const double support = std::max(1.0, scale);
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 2;
  t.first.resize(out);
  t.count.resize(out);
  t.w.assign(static_cast<std::size_t>(out) * t.max_taps, 0.f);
  for (int i = 0; i < out; ++i) {
    const double center = src0 + (i + 0.5) * scale - 0.5;
    int lo = static_cast<int>(std::floor(center - support)) + 1, hi = static_cast<int>(std::ceil(center + support)) - 1;
    lo = std::clamp(lo, 0, in - 1);
    hi = std::clamp(hi, 0, in - 1);
    hi = std::min(hi, lo + t.max_taps - 1);
    double sum = 0;
    for (int k = lo; k <= hi; ++k) sum += std::max(0.0, 1.0 - std::abs(k - center) / support);
    t.first[i] = lo;
    t.count[i] = hi - lo + 1;
    for (int k = lo; k <= hi; ++k) {
      const double v = std::max(0.0, 1.0 - std::abs(k - center) / support);
      t.w[static_cast<std::size_t>(i) * t.max_taps + (k - lo)] = static_cast<float>(sum > 0 ? v / sum : 1.0 / (hi - lo + 1));
    }
  }
  return t;
}

// The window (x0, y0, cw, ch) of `in`, resampled to out_w x out_h.
Raster crop_resize(const Raster& in, int x0, int y0, int cw, int ch, int out_w, int out_h) {
  const Taps tx = taps(in.width, out_w, x0, cw), ty = taps(in.height, out_h, y0, ch);
  // Vertical pass on the needed rows, as floats, then horizontal pass.
  std::vector<float> mid(static_cast<std::size_t>(out_h) * in.width * 3);
  for (int y = 0; y < out_h; ++y) {
    float* dst = mid.data() + static_cast<std::size_t>(y) * in.width * 3;
    for (int k = 0; k < ty.count[y]; ++k) {
      const float wk = ty.w[static_cast<std::size_t>(y) * ty.max_taps + k];
      const std::uint8_t* row = in.data.data() + static_cast<std::size_t>(ty.first[y] + k) * in.stride();
      for (int x = 0; x < in.width * 3; ++x) dst[x] += wk * row[x];
    }
  }
  Raster out(out_w, out_h, 3);
  for (int y = 0; y < out_h; ++y) {
    const float* src = mid.data() + static_cast<std::size_t>(y) * in.width * 3;
    std::uint8_t* dst = out.at(0, y);
    for (int x = 0; x < out_w; ++x) {
      float acc[3] = {0, 0, 0};
      for (int k = 0; k < tx.count[x]; ++k) {
        const float wk = tx.w[static_cast<std::size_t>(x) * tx.max_taps + k];
        const float* s = src + static_cast<std::size_t>(tx.first[x] + k) * 3;
        acc[0] += wk * s[0];
        acc[1] += wk * s[1];
        acc[2] += wk * s[2];
      }
      for (int c = 0; c < 3; ++c) dst[x * 3 + c] = static_cast<std::uint8_t>(std::clamp(std::lround(acc[c]), 0L, 255L));
    }
  }
  return out;
}

std::mt19937_64 rng_for(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32)};
  return std::mt19937_64(seq);
}

double uni(std::mt19937_64& g, double a, double b) { return std::uniform_real_distribution<double>(a, b)(g); }
int uni_int(std::mt19937_64& g, int a, int b) { return std::uniform_int_distribution<int>(a, b)(g); }

void write_bytes(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) die("cannot write " + p.string());
}

struct Made {
  std::string line;  // manifest line
  std::uint64_t bytes = 0;
};

Made make_small(const Options& o, const std::vector<Raster>& srcs, const std::vector<std::string>& names, int i) {
  auto g = rng_for(o.seed, 1, static_cast<std::uint64_t>(i));
  const int si = uni_int(g, 0, static_cast<int>(srcs.size()) - 1);
  const Raster& s = srcs[si];
  int x0 = 0, y0 = 0, cw = s.width, ch = s.height;
  const bool crop = uni(g, 0, 1) < 0.5;
  if (crop) {
    cw = std::max(16, static_cast<int>(s.width * uni(g, 0.4, 1.0)));
    ch = std::max(16, static_cast<int>(s.height * uni(g, 0.4, 1.0)));
    x0 = uni_int(g, 0, s.width - cw);
    y0 = uni_int(g, 0, s.height - ch);
  }
  double scale = uni(g, 0.25, 2.0);
  if (static_cast<double>(cw) * ch * scale * scale > static_cast<double>(o.max_pixels))
    scale = std::sqrt(static_cast<double>(o.max_pixels) / (static_cast<double>(cw) * ch));
  const int w = std::max(16, static_cast<int>(cw * scale)), h = std::max(16, static_cast<int>(ch * scale));
  const Raster img = (w == s.width && h == s.height && !crop) ? s : crop_resize(s, x0, y0, cw, ch, w, h);

  const double f = uni(g, 0, 1);
  Bytes bytes;
  std::string ext, fmt;
  int quality = 0;
  if (f < 0.75) {
    safescan::testing::JpegSpec spec;
    spec.quality = quality = uni_int(g, 60, 95);
    spec.subsample_chroma = uni(g, 0, 1) < 0.8;
    spec.progressive = uni(g, 0, 1) < 0.1;
    bytes = safescan::testing::encode_jpeg(img, spec);
    ext = "jpg";
    fmt = spec.progressive ? "jpeg-progressive" : "jpeg";
  } else if (f < 0.90) {
    safescan::testing::PngSpec spec;
    spec.width = img.width;
    spec.height = img.height;
    spec.compression_level = quality = uni_int(g, 1, 6);
    bytes = safescan::testing::encode_png(
        spec, [&](int y, std::uint8_t* row) { std::memcpy(row, img.data.data() + y * img.stride(), img.stride()); });
    ext = "png";
    fmt = "png";
  } else {
    quality = uni_int(g, 70, 90);
    bytes = safescan::testing::encode_webp(img, false, static_cast<float>(quality));
    ext = "webp";
    fmt = "webp";
  }
  char name[64];
  std::snprintf(name, sizeof name, "small/d%03d/%06d.%s", i % o.dirs, i, ext.c_str());
  write_bytes(o.out / name, bytes);
  return {std::string(name) + "\t" + names[si] + "\t" + std::to_string(w) + "\t" + std::to_string(h) + "\t" + fmt +
              "\t" + std::to_string(quality) + "\t" + std::to_string(bytes.size()),
          bytes.size()};
}

Made make_large(const Options& o, const std::vector<Raster>& srcs, const std::vector<std::string>& names, int i) {
  auto g = rng_for(o.seed, 2, static_cast<std::uint64_t>(i));
  const int si = uni_int(g, 0, static_cast<int>(srcs.size()) - 1);
  const Raster& s = srcs[si];
  // A window with the target's aspect ratio, 70-100% of the largest one that fits.
  const double aspect = static_cast<double>(o.large_w) / o.large_h;
  int cw = s.width, ch = static_cast<int>(std::lround(s.width / aspect));
  if (ch > s.height) {
    ch = s.height;
    cw = static_cast<int>(std::lround(s.height * aspect));
  }
  const double frac = uni(g, 0.7, 1.0);
  cw = std::max(8, static_cast<int>(cw * frac));
  ch = std::max(8, static_cast<int>(ch * frac));
  const int x0 = uni_int(g, 0, s.width - cw), y0 = uni_int(g, 0, s.height - ch);
  Raster img = crop_resize(s, x0, y0, cw, ch, o.large_w, o.large_h);
  std::normal_distribution<double> n(0.0, o.noise);
  for (auto& v : img.data) v = static_cast<std::uint8_t>(std::clamp(std::lround(v + n(g)), 0L, 255L));
  safescan::testing::JpegSpec spec;
  spec.quality = uni_int(g, 88, 95);
  spec.subsample_chroma = true;
  const Bytes bytes = safescan::testing::encode_jpeg(img, spec);
  char name[64];
  std::snprintf(name, sizeof name, "large/L%03d.jpg", i);
  write_bytes(o.out / name, bytes);
  return {std::string(name) + "\t" + names[si] + "\t" + std::to_string(o.large_w) + "\t" + std::to_string(o.large_h) +
              "\tjpeg\t" + std::to_string(spec.quality) + "\t" + std::to_string(bytes.size()),
          bytes.size()};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; ++a) {
    const std::string k = argv[a];
    auto val = [&]() -> std::string {
      if (a + 1 >= argc) die("missing value after " + k);
      return argv[++a];
    };
    if (k == "--src") o.src = val();
    else if (k == "--out") o.out = val();
    else if (k == "--count") o.count = std::stoi(val());
    else if (k == "--dirs") o.dirs = std::max(1, std::stoi(val()));
    else if (k == "--large") o.large = std::stoi(val());
    else if (k == "--large-size") {
      const std::string v = val();
      if (std::sscanf(v.c_str(), "%dx%d", &o.large_w, &o.large_h) != 2) die("--large-size WxH");
    } else if (k == "--seed") o.seed = std::stoull(val());
    else if (k == "--max-pixels") o.max_pixels = std::stoull(val());
    else if (k == "--noise") o.noise = std::stod(val());
    else if (k == "--threads") o.threads = std::stoi(val());
    else die("unknown option " + k + " (see the header of bench/make_corpus.cpp)");
  }
  if (o.src.empty() || o.out.empty()) die("--src DIR and --out DIR are required");
  if (o.threads <= 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(o.src)) {
    auto ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) die("no .png/.jpg images in " + o.src.string());
  std::vector<Raster> srcs;
  std::vector<std::string> names;
  for (const auto& p : files) {
    const auto ext = p.extension().string();
    srcs.push_back(ext == ".png" || ext == ".PNG" ? load_png(p) : load_jpeg(p));
    names.push_back(p.filename().string());
  }

  fs::create_directories(o.out / "large");
  for (int d = 0; d < std::min(o.dirs, std::max(o.count, 1)); ++d) {
    char name[32];
    std::snprintf(name, sizeof name, "small/d%03d", d);
    fs::create_directories(o.out / name);
  }

  const int total = o.count + o.large;
  std::vector<Made> made(total);
  std::atomic<int> next{0};
  std::mutex mu;
  int done = 0;
  auto worker = [&] {
    for (int i; (i = next.fetch_add(1)) < total;) {
      made[i] = i < o.count ? make_small(o, srcs, names, i) : make_large(o, srcs, names, i - o.count);
      std::lock_guard lock(mu);
      if (++done % 1000 == 0 || done == total) std::cerr << "\r" << done << "/" << total << std::flush;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < o.threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  std::cerr << "\n";

  std::ofstream manifest(o.out / "manifest.tsv");
  manifest << "path\tsource\twidth\theight\tformat\tquality\tbytes\n";
  std::uint64_t small_bytes = 0, large_bytes = 0;
  for (int i = 0; i < total; ++i) {
    manifest << made[i].line << "\n";
    (i < o.count ? small_bytes : large_bytes) += made[i].bytes;
  }
  std::cout << "small: " << o.count << " files, " << small_bytes / 1e6 << " MB; large: " << o.large << " files, "
            << large_bytes / 1e6 << " MB; in " << o.out.string() << "\n";
  return 0;
}
