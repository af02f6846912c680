// CPU time of decoding alone, per format, on the scan benchmark's corpus: what the decode
// workers of `safescan scan` pay per image before preprocessing (bench/bench_scan.sh runs it).
//
//   decode_cost CORPUS/manifest.tsv CORPUS [FILES_PER_KIND]      # default 400
//
// Straight libjpeg / libpng / libwebp calls on one thread, timed with the thread's CPU clock
// (so other processes barely matter), files read into memory first. JPEGs are decoded three
// ways: full size; at the reduced size the scan picks (the largest 1/2, 1/4 or 1/8 DCT scale
// keeping both sides >= 224, as src/image/jpeg.cpp's choose_scale_denom); and at 1/8.
// Self-contained (no libsafescan) like make_corpus.cpp.
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

namespace {

double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

std::vector<unsigned char> read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void jpeg_header(jpeg_decompress_struct& c, jpeg_error_mgr& e, const std::vector<unsigned char>& b) {
  c.err = jpeg_std_error(&e);  // errors exit: the corpus is generated, trusted
  jpeg_create_decompress(&c);
  jpeg_mem_src(&c, b.data(), static_cast<unsigned long>(b.size()));
  jpeg_read_header(&c, TRUE);
}

unsigned scan_denom(const std::vector<unsigned char>& b, int min_side) {
  jpeg_decompress_struct c{};
  jpeg_error_mgr e{};
  jpeg_header(c, e, b);
  const unsigned w = c.image_width, h = c.image_height;
  jpeg_destroy_decompress(&c);
  for (unsigned d : {8u, 4u, 2u})
    if ((w + d - 1) / d >= static_cast<unsigned>(min_side) && (h + d - 1) / d >= static_cast<unsigned>(min_side)) return d;
  return 1;
}

void decode_jpeg(const std::vector<unsigned char>& b, unsigned denom) {
  jpeg_decompress_struct c{};
  jpeg_error_mgr e{};
  jpeg_header(c, e, b);
  c.out_color_space = JCS_RGB;
  c.scale_num = 1;
  c.scale_denom = denom;
  c.dct_method = JDCT_ISLOW;  // as the scan
  jpeg_start_decompress(&c);
  std::vector<unsigned char> px(static_cast<std::size_t>(c.output_width) * c.output_height * 3);
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = px.data() + static_cast<std::size_t>(c.output_scanline) * c.output_width * 3;
    jpeg_read_scanlines(&c, &row, 1);
  }
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
}

void decode_png(const std::vector<unsigned char>& b) {
  png_image im{};
  im.version = PNG_IMAGE_VERSION;
  png_image_begin_read_from_memory(&im, b.data(), b.size());
  im.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> px(PNG_IMAGE_SIZE(im));
  png_image_finish_read(&im, nullptr, px.data(), 0, nullptr);
}

void decode_webp(const std::vector<unsigned char>& b) {
  int w = 0, h = 0;
  WebPFree(WebPDecodeRGB(b.data(), b.size(), &w, &h));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: decode_cost MANIFEST.tsv CORPUS_DIR [FILES_PER_KIND]\n");
    return 2;
  }
  const int max_files = argc > 3 ? std::stoi(argv[3]) : 400;
  struct Acc {
    double seconds = 0, megapixels = 0;
    int n = 0;
  };
  std::map<std::string, Acc> acc;
  std::map<std::string, int> files;
  std::ifstream manifest(argv[1]);
  std::string line;
  std::getline(manifest, line);  // header
  while (std::getline(manifest, line)) {
    std::stringstream ss(line);
    std::string path, source, w, h, format;
    std::getline(ss, path, '\t');
    std::getline(ss, source, '\t');
    std::getline(ss, w, '\t');
    std::getline(ss, h, '\t');
    std::getline(ss, format, '\t');
    const std::string kind = (path.rfind("large/", 0) == 0 ? "12MP " : "<=1MP ") + format;
    if (files[kind] >= max_files) continue;
    ++files[kind];
    const auto bytes = read_all(std::string(argv[2]) + "/" + path);
    const double mp = std::stod(w) * std::stod(h) / 1e6;
    auto add = [&](const std::string& what, double seconds) {
      Acc& a = acc[kind + " " + what];
      a.seconds += seconds;
      a.megapixels += mp;
      ++a.n;
    };
    if (format.rfind("jpeg", 0) == 0) {
      const double t0 = cpu_now();
      decode_jpeg(bytes, 1);
      const double t1 = cpu_now();
      decode_jpeg(bytes, scan_denom(bytes, 224));
      const double t2 = cpu_now();
      decode_jpeg(bytes, 8);
      const double t3 = cpu_now();
      add("full", t1 - t0);
      add("reduced(>=224)", t2 - t1);
      add("1/8", t3 - t2);
    } else {
      const double t0 = cpu_now();
      format == "png" ? decode_png(bytes) : decode_webp(bytes);
      add("full", cpu_now() - t0);
    }
  }
  for (const auto& [what, a] : acc)
    std::printf("%-34s %4d files  %7.2f ms/image  (mean %.2f MP)\n", what.c_str(), a.n, 1e3 * a.seconds / a.n, a.megapixels / a.n);
  return 0;
}
