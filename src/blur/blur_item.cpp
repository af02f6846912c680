// One image, one file, one shard of `safescan blur`: check, decode, blur, encode, write.
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "blur/blur_internal.hpp"
#include "core/sha256.hpp"
#include "dataset/source_readers.hpp"
#include "dataset/tar_writer.hpp"
#include "safescan/error.hpp"

namespace safescan::blur_detail {

namespace {

bool is_inside(const fs::path& p, const fs::path& dir) {
  auto d = dir.begin(), x = p.begin();
  for (; d != dir.end(); ++d, ++x)
    if (x == p.end() || *x != *d) return false;
  return true;
}

fs::path canonical_or_self(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? fs::absolute(p).lexically_normal() : c;
}

// A hidden name next to `file` that ends like it (rewrite_tar picks the compression from it).
std::string temp_name(const fs::path& file) {
  static std::atomic<unsigned> counter{0};
  const std::string tag = ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-";
  return (file.parent_path() / (tag + file.filename().string())).string();
}

}  // namespace

ProcessedImage process_image(std::vector<std::uint8_t>&& bytes, const std::string& name, const ItemPlan& plan,
                             const BlurJobOptions& job, const std::string& where) {
  if (!plan.sha256.empty() && sha256_hex(bytes.data(), bytes.size()) != plan.sha256)
    throw Error(ErrorCode::invalid_argument,
                "changed since the scan (its sha256 differs), so the scan's results do not apply: scan it again",
                where);
  const ImageFormat source = sniff_format(bytes);
  const ImageFormat container = output_container(source, job.format);
  const bool convert = job.format != OutputFormat::keep && container != source;
  ProcessedImage out;
  out.name = name;
  const bool blur = plan.whole || !plan.boxes.empty() || plan.detect;
  if (!blur && !convert) {
    out.bytes = std::move(bytes);
    return out;
  }
  DecodeOptions decode = job.decode;
  decode.apply_exif_orientation = true;  // the boxes are in upright pixels
  decode.min_side_hint = 0;              // full size
  Image image = decode_image(bytes, decode, where);
  if (plan.whole) {
    blur_whole(image, job.blur);
    out.changed = true;
  } else {
    std::vector<FaceBox> boxes = plan.boxes;
    if (plan.detect) {
      if (!job.face_detector) throw Error(ErrorCode::invalid_argument, "no face detector to run", where);
      const auto found = job.face_detector->detect(image);
      boxes.insert(boxes.end(), found.begin(), found.end());
    }
    for (const FaceBox& b : boxes)
      if (!blur_region(b, image.width, image.height, job.blur.expand).empty()) ++out.boxes;
    if (out.boxes > 0) {
      blur_boxes(image, boxes, job.blur);
      out.changed = true;
    }
  }
  if (!out.changed && !convert) {
    out.bytes = std::move(bytes);
    return out;
  }
  out.bytes = encode_image(image, container, job.quality);
  out.reencoded = true;
  out.name = output_name(name, source, container);
  return out;
}

OutputGuard::OutputGuard(const fs::path& out_dir) : out_dir_(canonical_or_self(out_dir)) {}

void OutputGuard::add_walked(const fs::path& dir) { walked_.insert(canonical_or_self(dir)); }
void OutputGuard::add_parent(const fs::path& dir) { parents_.insert(canonical_or_self(dir)); }

void OutputGuard::check_out_dir() const {
  for (const auto& d : parents_)
    if (d == out_dir_)
      throw Error(ErrorCode::invalid_argument,
                  "the output directory holds originals of the scan: choose a new directory (--out)",
                  out_dir_.string());
  for (const auto& d : walked_)
    if (is_inside(out_dir_, d))
      throw Error(ErrorCode::invalid_argument,
                  "the output directory is inside a source directory of the scan (" + d.string() +
                      "): choose a directory outside it (--out)",
                  out_dir_.string());
}

void OutputGuard::check_not_original(const std::string& key, const fs::path& original) const {
  fs::path rel;
  try {
    rel = output_relative_path(key);
  } catch (const Error&) {
    return;  // the item fails on its own
  }
  if ((out_dir_ / rel).lexically_normal() == fs::path(original).lexically_normal())
    throw Error(ErrorCode::invalid_argument,
                "the output directory would put the blurred copy over the original " + original.string() +
                    ": choose a new directory (--out)",
                out_dir_.string());
}

void OutputGuard::claim(const fs::path& out, const fs::path& original, const std::string& key) {
  const fs::path c = canonical_or_self(out);
  std::error_code ec;
  if (c == canonical_or_self(original) || (fs::exists(c, ec) && fs::equivalent(c, original, ec)))
    throw Error(ErrorCode::invalid_argument, "refusing to write over the original", out.string());
  for (const auto& d : walked_)
    if (is_inside(c, d))
      throw Error(ErrorCode::invalid_argument, "refusing to write into a source directory (" + d.string() + ")",
                  out.string());
  std::lock_guard lock(mutex_);
  const auto [it, added] = claimed_.emplace(c, key);
  if (!added) throw Error(ErrorCode::invalid_argument, "the same output as '" + it->second + "'", out.string());
}

void Reporter::report(BlurEvent&& e) {
  std::lock_guard lock(mutex_);
  switch (e.kind) {
    case BlurEvent::Kind::blurred:
      ++summary_.blurred;
      break;
    case BlurEvent::Kind::copied:
      ++summary_.copied;
      break;
    case BlurEvent::Kind::skipped:
      ++summary_.skipped;
      break;
    case BlurEvent::Kind::failed:
      ++summary_.failed;
      break;
  }
  summary_.boxes += static_cast<std::size_t>(e.boxes);
  if (sink_) sink_(e);
}

void write_file_atomic(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    throw Error(ErrorCode::unreadable, "cannot create the directory: " + ec.message(), file.parent_path().string());
  const std::string tmp = temp_name(file);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      throw Error(ErrorCode::unreadable, "cannot write the file", file.string());
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorCode::unreadable, "cannot write the file", file.string());
  }
}

void run_file(const FileJob& f, Context& ctx) {
  if (f.plan.error) return ctx.reporter.fail(f.key, *f.plan.error);
  try {
    const fs::path rel = ctx.job.out_dir / output_relative_path(f.key);
    ProcessedImage p = process_image(read_file_bytes(f.path, ctx.job.decode.max_file_bytes), rel.filename().string(),
                                     f.plan, ctx.job, f.path);
    const fs::path out = rel.parent_path() / p.name;
    if (ctx.job.changed_only && !p.changed) return ctx.reporter.report({BlurEvent::Kind::skipped, f.key, {}, 0, {}});
    ctx.guard.claim(out, f.path, f.key);
    write_file_atomic(out, p.bytes);
    ctx.reporter.report({p.changed ? BlurEvent::Kind::blurred : BlurEvent::Kind::copied, f.key, out, p.boxes, {}});
  } catch (const Error& e) {
    ctx.reporter.fail(f.key, e.what());
  }
}

void run_shard(const ShardJob& s, Context& ctx) {
  fs::path out;
  try {
    out = ctx.job.out_dir / output_relative_path(s.source);
    ctx.guard.claim(out, s.path, s.source);
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    if (ec)
      throw Error(ErrorCode::unreadable, "cannot create the directory: " + ec.message(), out.parent_path().string());
  } catch (const Error& e) {
    for (const auto& [member, plan] : s.members) ctx.reporter.fail(s.source + ":" + member, e.what());
    if (s.members.empty()) ctx.reporter.fail(s.source, e.what());
    return;
  }
  const std::string tmp = temp_name(out);
  std::set<std::string> seen;
  detail::TarRewriteHooks hooks;
  hooks.wants = [](const std::string& name) { return has_image_extension(name); };
  hooks.edit = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    using Edit = detail::TarMemberEdit;
    const std::string key = s.source + ":" + name;
    const auto it = s.members.find(name);
    ItemPlan unknown;
    unknown.detect = true;
    if (it == s.members.end() && !s.detect_unknown) {
      ctx.reporter.fail(key,
                        "not in the scan database (the scan did not finish this shard?): left out of the new shard");
      return Edit{Edit::Action::drop, {}, {}};
    }
    if (it != s.members.end()) seen.insert(name);
    const ItemPlan& plan = it == s.members.end() ? unknown : it->second;
    try {
      if (plan.error) throw Error(ErrorCode::invalid_argument, *plan.error);
      ProcessedImage p = process_image(std::vector<std::uint8_t>(bytes), name, plan, ctx.job, key);
      ctx.reporter.report({p.changed ? BlurEvent::Kind::blurred : BlurEvent::Kind::copied, key, out, p.boxes, {}});
      if (!p.reencoded) return Edit{Edit::Action::keep, {}, {}};
      return Edit{Edit::Action::replace, p.name == name ? std::string() : p.name, std::move(p.bytes)};
    } catch (const Error& e) {
      ctx.reporter.fail(key, std::string(e.what()) + ": left out of the new shard");
      return Edit{Edit::Action::drop, {}, {}};
    }
  };
  try {
    const std::optional<Error> damage = detail::rewrite_tar(s.path, tmp, hooks);
    std::error_code ec;
    if (damage && !fs::exists(tmp, ec)) {  // nothing could be read: no new shard
      for (const auto& [member, plan] : s.members) ctx.reporter.fail(s.source + ":" + member, damage->what());
      if (s.members.empty()) ctx.reporter.fail(s.source, damage->what());
      return;
    }
    fs::rename(tmp, out, ec);
    if (ec) throw Error(ErrorCode::unreadable, "cannot write the tar shard: " + ec.message(), out.string());
    ctx.reporter.shard_written();
    if (damage)
      ctx.reporter.fail(s.source, std::string(damage->what()) + " (the new shard holds the members before it)");
  } catch (const Error& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    ctx.reporter.fail(s.source, e.what());
    return;
  }
  for (const auto& [member, plan] : s.members)
    if (!seen.count(member)) ctx.reporter.fail(s.source + ":" + member, "not found in the tar shard");
}

}  // namespace safescan::blur_detail
