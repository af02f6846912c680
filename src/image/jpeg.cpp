// JPEG through libjpeg-turbo's libjpeg API, from memory.
//
// libjpeg reports errors by calling error_exit(), which must not return; the error
// manager below records the message and longjmp()s back into JpegDecoder::run(). To keep
// that well-defined in C++, run() owns no objects with destructors and every piece of
// state lives in the JpegDecoder object (not in run()'s locals), so nothing is skipped
// or left stale by the jump.
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstring>
#include <string>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>

#include "image/decoders.hpp"
#include "image/exif.hpp"
#include "image/limits.hpp"
#include "image/pixels.hpp"

namespace safescan::detail {

namespace {

// A progressive JPEG may hold any number of scans, each a pass over the whole image; a
// small file with thousands of tiny scans takes minutes. Real files have about ten.
constexpr int kMaxScans = 500;

// Warnings that mean pixels are missing or damaged. libjpeg would substitute gray or
// garbage and carry on; we refuse the image instead (ErrorCode::corrupt).
bool is_data_loss_warning(int code) {
  return code == JWRN_JPEG_EOF          // premature end of file (truncated)
         || code == JWRN_HIT_MARKER     // a scan's data ends early
         || code == JWRN_HUFF_BAD_CODE  // undecodable entropy-coded data
         || code == JWRN_MUST_RESYNC;   // restart markers out of sequence
}

bool is_unsupported_error(int code) {
  return code == JERR_BAD_PRECISION        // 12/16-bit samples
         || code == JERR_SOF_UNSUPPORTED   // lossless, hierarchical
         || code == JERR_CONVERSION_NOTIMPL || code == JERR_NOT_COMPILED ||
         code == JERR_ARITH_NOTIMPL;
}

struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg passes &pub, we cast back
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  ErrorCode code;
};

[[noreturn]] void fail_with(j_common_ptr cinfo, ErrorCode code) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->code = code;
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

[[noreturn]] void on_error_exit(j_common_ptr cinfo) {
  const int code = cinfo->err->msg_code;
  fail_with(cinfo, code == JERR_OUT_OF_MEMORY ? ErrorCode::too_large
                   : is_unsupported_error(code) ? ErrorCode::unsupported
                                                : ErrorCode::corrupt);
}

void on_emit_message(j_common_ptr cinfo, int level) {
  // level -1 is a warning; >= 0 are trace messages, which we never print.
  if (level < 0) {
    ++cinfo->err->num_warnings;
    if (is_data_loss_warning(cinfo->err->msg_code)) fail_with(cinfo, ErrorCode::corrupt);
  }
}

void on_output_message(j_common_ptr) {}  // libjpeg must never write to stderr

void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d progressive scans", kMaxScans);
    err->code = ErrorCode::corrupt;
    std::longjmp(err->jump, 1);
  }
}

// The largest 1/denom scale (denom in 8, 4, 2) keeping both sides >= min_side, or 1.
unsigned choose_scale_denom(JDIMENSION width, JDIMENSION height, int min_side) {
  if (min_side <= 0) return 1;
  for (unsigned denom : {8u, 4u, 2u}) {
    // libjpeg rounds scaled sizes up.
    const std::uint64_t w = (static_cast<std::uint64_t>(width) + denom - 1) / denom;
    const std::uint64_t h = (static_cast<std::uint64_t>(height) + denom - 1) / denom;
    if (w >= static_cast<std::uint64_t>(min_side) && h >= static_cast<std::uint64_t>(min_side)) return denom;
  }
  return 1;
}

// Adobe applications write CMYK JPEGs with inverted values (255 = no ink), flagged by
// the Adobe APP14 marker; others store plain CMYK. Converted with the usual naive
// formula R = (255-C)(255-K)/255 (no colour profile), rounded.
void cmyk_to_rgb(const JSAMPLE* cmyk, std::uint8_t* rgb, JDIMENSION count, bool inverted) {
  for (JDIMENSION i = 0; i < count; ++i, cmyk += 4, rgb += 3) {
    const int k = inverted ? cmyk[3] : 255 - cmyk[3];
    for (int c = 0; c < 3; ++c) {
      const int v = inverted ? cmyk[c] : 255 - cmyk[c];
      rgb[c] = static_cast<std::uint8_t>((v * k + 127) / 255);
    }
  }
}

class JpegDecoder {
 public:
  JpegDecoder(Bytes data, std::string_view where) : where_(where) {
    cinfo_.err = jpeg_std_error(&err_.pub);
    err_.pub.error_exit = on_error_exit;
    err_.pub.emit_message = on_emit_message;
    err_.pub.output_message = on_output_message;
    err_.code = ErrorCode::corrupt;
    err_.message[0] = '\0';
    progress_.progress_monitor = on_progress;
    // jpeg_create_decompress only fails on out-of-memory or a library version mismatch.
    if (setjmp(err_.jump)) throw error("cannot initialise libjpeg");
    jpeg_create_decompress(&cinfo_);
    created_ = true;
    cinfo_.progress = &progress_;
    jpeg_mem_src(&cinfo_, data.data(), static_cast<unsigned long>(data.size()));
  }
  ~JpegDecoder() {
    if (created_) jpeg_destroy_decompress(&cinfo_);
  }
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  ImageInfo probe() {
    if (!read_header()) throw error("cannot read the JPEG header");
    check_dimensions(ImageFormat::jpeg, cinfo_.image_width, cinfo_.image_height, 0, where_);
    return {ImageFormat::jpeg, static_cast<int>(cinfo_.image_width), static_cast<int>(cinfo_.image_height)};
  }

  Image decode(const DecodeOptions& options) {
    options_ = &options;
    if (!read_header()) throw error("cannot read the JPEG header");
    check_dimensions(ImageFormat::jpeg, cinfo_.image_width, cinfo_.image_height, options.max_pixels, where_);
    image_.source_width = static_cast<int>(cinfo_.image_width);
    image_.source_height = static_cast<int>(cinfo_.image_height);
    image_.exif_orientation = find_exif_orientation();
    if (!decode_pixels()) throw error("cannot decode the JPEG");
    return std::move(image_);
  }

 private:
  Error error(std::string_view what) const {
    std::string message(what);
    if (err_.message[0] != '\0') message += std::string(": ") + err_.message;
    return Error(err_.code, std::move(message), std::string(where_));
  }

  // Returns false when libjpeg failed (err_ says why).
  bool read_header() {
    if (setjmp(err_.jump)) return false;
    jpeg_save_markers(&cinfo_, JPEG_APP0 + 1, 0xFFFF);  // APP1: EXIF
    jpeg_read_header(&cinfo_, TRUE);
    return true;
  }

  int find_exif_orientation() const {
    for (jpeg_saved_marker_ptr m = cinfo_.marker_list; m != nullptr; m = m->next) {
      if (m->marker != JPEG_APP0 + 1) continue;
      const Bytes payload(m->data, m->data_length);
      if (payload.size() >= 6 && std::memcmp(payload.data(), "Exif\0\0", 6) == 0) return exif_orientation(payload);
    }
    return 1;
  }

  // Returns false when libjpeg failed (err_ says why).
  bool decode_pixels() {
    if (setjmp(err_.jump)) return false;
    if (cinfo_.num_components == 1 || cinfo_.jpeg_color_space == JCS_YCbCr || cinfo_.jpeg_color_space == JCS_RGB) {
      cinfo_.out_color_space = JCS_RGB;
    } else if (cinfo_.jpeg_color_space == JCS_CMYK || cinfo_.jpeg_color_space == JCS_YCCK) {
      cinfo_.out_color_space = JCS_CMYK;
    } else {
      std::snprintf(err_.message, sizeof err_.message, "colour space with %d components", cinfo_.num_components);
      err_.code = ErrorCode::unsupported;
      return false;
    }
    cinfo_.dct_method = JDCT_ISLOW;
    cinfo_.do_fancy_upsampling = TRUE;
    cinfo_.scale_num = 1;
    cinfo_.scale_denom = choose_scale_denom(cinfo_.image_width, cinfo_.image_height, options_->min_side_hint);

    jpeg_start_decompress(&cinfo_);
    allocate_pixels(image_, static_cast<int>(cinfo_.output_width), static_cast<int>(cinfo_.output_height));
    const bool cmyk = cinfo_.out_color_space == JCS_CMYK;
    if (cmyk) cmyk_row_.resize(static_cast<std::size_t>(cinfo_.output_width) * 4);
    const std::size_t stride = static_cast<std::size_t>(cinfo_.output_width) * 3;
    while (cinfo_.output_scanline < cinfo_.output_height) {
      std::uint8_t* out = image_.pixels.data() + cinfo_.output_scanline * stride;
      JSAMPROW row = cmyk ? cmyk_row_.data() : out;
      if (jpeg_read_scanlines(&cinfo_, &row, 1) != 1) {
        std::snprintf(err_.message, sizeof err_.message, "no data for row %u", cinfo_.output_scanline);
        return false;
      }
      if (cmyk) cmyk_to_rgb(cmyk_row_.data(), out, cinfo_.output_width, cinfo_.saw_Adobe_marker);
    }
    // Reads up to EOI, so a file cut after the last scan line is still reported.
    jpeg_finish_decompress(&cinfo_);
    return true;
  }

  std::string_view where_;
  const DecodeOptions* options_ = nullptr;
  jpeg_decompress_struct cinfo_{};
  ErrorManager err_{};
  jpeg_progress_mgr progress_{};
  bool created_ = false;
  Image image_;
  std::vector<JSAMPLE> cmyk_row_;
};

}  // namespace

Image decode_jpeg(Bytes data, const DecodeOptions& options, std::string_view where) {
  JpegDecoder decoder(data, where);
  return decoder.decode(options);
}

ImageInfo probe_jpeg(Bytes data, std::string_view where) {
  JpegDecoder decoder(data, where);
  return decoder.probe();
}

}  // namespace safescan::detail
