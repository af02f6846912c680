// Gathering a Keras SavedModel's files (keras_metadata.pb, variables.index, the data
// shards) from a directory or from a .zip holding one directory (as LAION publishes them).
#include <fstream>
#include <iterator>

#include "heads/keras_mlp.hpp"
#include "io/zip_reader.hpp"
#include "safescan/error.hpp"

namespace safescan::detect {

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw Error(ErrorCode::model_missing, "file not found", file.string());
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::model_missing, "cannot open file", file.string());
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::model_invalid, "read error", file.string());
  return bytes;
}

std::vector<std::uint8_t> copy(std::span<const std::uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

SavedModelFiles from_directory(const std::filesystem::path& dir) {
  SavedModelFiles files;
  files.name = dir.string() + "/";
  files.keras_metadata = read_file(dir / "keras_metadata.pb");
  const auto variables = dir / "variables";
  files.index = read_file(variables / "variables.index");
  for (const std::string& shard : TensorBundle::shard_names(files.index, (variables / "variables.index").string()))
    files.shards.push_back(read_file(variables / shard));
  return files;
}

SavedModelFiles from_zip(const std::filesystem::path& zip) {
  const std::vector<std::uint8_t> archive_bytes = read_file(zip);
  const io::ZipArchive archive(archive_bytes, zip.string());
  static const std::string kIndex = "variables/variables.index";
  const io::ZipEntry* index = nullptr;
  for (const io::ZipEntry& e : archive.entries()) {
    if (e.name.size() < kIndex.size() || e.name.compare(e.name.size() - kIndex.size(), kIndex.size(), kIndex) != 0)
      continue;
    const std::size_t cut = e.name.size() - kIndex.size();
    if (cut && e.name[cut - 1] != '/') continue;
    if (index)
      throw Error(ErrorCode::model_invalid,
                  "the archive holds more than one SavedModel ('" + index->name + "' and '" + e.name + "')",
                  zip.string());
    index = &e;
  }
  if (!index)
    throw Error(ErrorCode::model_invalid, "the archive holds no SavedModel (no entry '.../" + kIndex + "')",
                zip.string());
  const std::string prefix = index->name.substr(0, index->name.size() - kIndex.size());
  auto member = [&](const std::string& name) {
    const io::ZipEntry* e = archive.find(prefix + name);
    if (!e) throw Error(ErrorCode::model_invalid, "the archive has no entry '" + prefix + name + "'", zip.string());
    return copy(archive.read(*e).bytes());
  };
  SavedModelFiles files;
  files.name = zip.string() + ":" + prefix;
  files.keras_metadata = member("keras_metadata.pb");
  files.index = copy(archive.read(*index).bytes());
  for (const std::string& shard : TensorBundle::shard_names(files.index, files.name + kIndex))
    files.shards.push_back(member("variables/" + shard));
  return files;
}

}  // namespace

SavedModelFiles read_saved_model_files(const std::filesystem::path& zip_or_dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(zip_or_dir, ec)) return from_directory(zip_or_dir);
  if (!std::filesystem::exists(zip_or_dir, ec))
    throw Error(ErrorCode::model_missing, "model not found (a SavedModel directory or .zip was expected)",
                zip_or_dir.string());
  return from_zip(zip_or_dir);
}

KerasMlp load_autokeras_mlp(const std::filesystem::path& zip_or_dir) {
  const SavedModelFiles files = read_saved_model_files(zip_or_dir);
  std::vector<std::span<const std::uint8_t>> shards(files.shards.begin(), files.shards.end());
  const TensorBundle bundle(files.index, std::move(shards), files.name + "variables/");
  const std::vector<KerasNode> nodes = read_keras_metadata(files.keras_metadata, files.name + "keras_metadata.pb");
  return build_autokeras_mlp(nodes, bundle, files.name);
}

}  // namespace safescan::detect
