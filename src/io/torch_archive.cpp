// read_torch_archive: PyTorch zip archives (torch.save since 1.6, torch.jit.save).
//
//   <prefix>/data.pkl       the pickled object: a state dict, or a TorchScript module tree
//   <prefix>/data/<key>     one entry per storage, raw little-endian elements
//   <prefix>/byteorder      "little" (absent in older archives, which are all little-endian)
//   <prefix>/version, code/, constants.pkl, ...   not needed to read the tensors
#include <algorithm>
#include <iterator>
#include <map>

#include "io/invalid.hpp"
#include "io/mapped_file.hpp"
#include "io/pickle.hpp"
#include "io/tensor_file.hpp"
#include "io/torch_pickle.hpp"
#include "io/zip_reader.hpp"

namespace safescan::io {

namespace {

// The single "<prefix>/data.pkl" at the top of the archive; returns its prefix.
std::string find_data_pickle(const ZipArchive& zip) {
  const ZipEntry* found = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash == std::string::npos || e.name.compare(slash, std::string::npos, "/data.pkl") != 0) continue;
    if (found) throw_invalid(zip.file(), "two object pickles in one archive: '" + found->name + "' and '" + e.name + "'");
    found = &e;
  }
  if (!found) {
    std::string names;
    for (std::size_t i = 0; i < zip.entries().size() && i < 5; ++i) names += (i ? ", '" : "'") + zip.entries()[i].name + "'";
    throw_invalid(zip.file(), "a zip archive without <name>/data.pkl: not a PyTorch archive (entries: " +
                                  (names.empty() ? std::string("none") : names) + ")");
  }
  return found->name.substr(0, found->name.size() - std::string_view("/data.pkl").size());
}

// torch.save before 1.6 wrote a sequence of pickles, the first one being this magic number
// (PROTO 2, LONG1 0x1950a86a20f9469cfc6c).
bool is_legacy_torch_save(std::span<const std::uint8_t> bytes) {
  static constexpr std::uint8_t kMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  return bytes.size() >= sizeof kMagic && std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin());
}

void check_byte_order(const ZipArchive& zip, const std::string& prefix) {
  const ZipEntry* entry = zip.find(prefix + "/byteorder");
  if (!entry) return;
  const ZipEntryData data = zip.read(*entry);
  const std::string order(data.bytes().begin(), data.bytes().end());
  if (order != "little")
    throw_invalid(zip.file(), "'" + entry->name + "' says '" + order.substr(0, 16) + "': only little-endian archives are supported");
}

}  // namespace

TensorMap read_torch_archive(const std::filesystem::path& path) {
  const MappedFile file(path);
  if (!ZipArchive::looks_like_zip(file.bytes())) {
    if (is_legacy_torch_save(file.bytes()))
      throw_invalid(file.name(), "a legacy (pre-1.6, non-zip) torch.save file, which is not supported: re-save it "
                                 "with torch.save() from PyTorch 1.6 or later");
    throw_invalid(file.name(), file.bytes()[0] == 0x80 ? "a plain Python pickle, not a PyTorch archive (no zip signature)"
                                                       : "not a PyTorch archive (no zip signature)");
  }
  const ZipArchive zip(file.bytes(), file.name());
  const std::string prefix = find_data_pickle(zip);
  check_byte_order(zip, prefix);

  const ZipEntry& pkl_entry = *zip.find(prefix + "/data.pkl");
  const ZipEntryData pkl = zip.read(pkl_entry);
  const pickle::Pickle pickled = pickle::Pickle::parse(pkl.bytes(), file.name(), pkl_entry.name);

  // Views can be larger than their storage (stride 0); bound what materialising them costs.
  const std::uint64_t budget_total = 4 * static_cast<std::uint64_t>(file.bytes().size()) + (64u << 20);
  std::uint64_t spent = 0;

  std::map<std::string, ZipEntryData> storages;  // read (and CRC-checked) once, shared by views
  TensorMap tensors;
  for (const TensorRef& ref : find_tensors(pickled.root(), file.name())) {
    const std::string what = "tensor '" + ref.name + "'";
    auto it = storages.find(ref.storage_key);
    if (it == storages.end()) {
      const std::string entry_name = prefix + "/data/" + ref.storage_key;
      const ZipEntry* entry = zip.find(entry_name);
      if (!entry) throw_invalid(file.name(), what + ": its storage entry '" + entry_name + "' is missing from the archive");
      it = storages.emplace(ref.storage_key, zip.read(*entry)).first;
    }
    const auto esize = element_size(ref.view.dtype);
    const auto bytes = it->second.bytes();
    if (static_cast<std::uint64_t>(ref.storage_numel) > bytes.size() / esize) {
      throw_invalid(file.name(), what + ": storage '" + prefix + "/data/" + ref.storage_key + "' holds " +
                                     std::to_string(bytes.size()) + " bytes, fewer than the " + std::to_string(ref.storage_numel) +
                                     " " + to_string(ref.view.dtype) + " elements it declares");
    }
    RawTensor t = materialize(ref.view, bytes.first(static_cast<std::size_t>(ref.storage_numel) * esize),
                              budget_total - spent, file.name(), what);
    spent += t.data.size();
    tensors.insert_or_assign(ref.name, std::move(t));
  }
  return tensors;
}

}  // namespace safescan::io
