#include "heads/sstable.hpp"

#include "heads/crc32c.hpp"
#include "heads/protobuf_wire.hpp"
#include "safescan/error.hpp"

namespace safescan::detect {

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& message) {
  throw Error(ErrorCode::model_invalid, "tensor-bundle index (LevelDB table): " + message, file);
}

struct BlockHandle {
  std::uint64_t offset = 0, size = 0;
};

std::uint32_t load_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

BlockHandle decode_handle(std::span<const std::uint8_t> bytes, std::size_t& pos, const std::string& file,
                          const std::string& what) {
  BlockHandle h;
  if (!pb::read_varint(bytes, pos, h.offset) || !pb::read_varint(bytes, pos, h.size))
    fail(file, what + ": truncated block handle");
  return h;
}

// The contents of a block (without its trailer), after checking bounds, compression and crc.
std::span<const std::uint8_t> block_contents(std::span<const std::uint8_t> table, const BlockHandle& h,
                                             const std::string& file, const std::string& what) {
  const std::uint64_t limit = table.size() - kSstFooterSize;
  if (h.offset > limit || h.size > limit - h.offset || kSstBlockTrailerSize > limit - h.offset - h.size)
    fail(file, what + " at offset " + std::to_string(h.offset) + " (" + std::to_string(h.size) +
                   " bytes + trailer) runs past the end of the table (" + std::to_string(table.size()) + " bytes)");
  const auto contents = table.subspan(static_cast<std::size_t>(h.offset), static_cast<std::size_t>(h.size));
  const std::uint8_t* trailer = table.data() + h.offset + h.size;
  const std::uint8_t type = trailer[0];
  if (type == 1)
    fail(file, what + " at offset " + std::to_string(h.offset) +
                   " is snappy-compressed; only uncompressed tables (what TensorFlow's bundle writer produces) are supported");
  if (type != 0)
    fail(file, what + " at offset " + std::to_string(h.offset) + " has unknown compression type " + std::to_string(type));
  const std::uint32_t stored = crc32c_unmask(load_u32(trailer + 1));
  const std::uint32_t actual = crc32c_extend(crc32c(contents), std::span<const std::uint8_t>(trailer, 1));
  if (stored != actual)
    fail(file, what + " at offset " + std::to_string(h.offset) + ": block checksum mismatch (file damaged)");
  return contents;
}

// Decodes every entry of one block, appending to `out`.
void read_block(std::span<const std::uint8_t> block, std::uint64_t block_offset, const std::string& file,
                const std::string& what, std::vector<SstEntry>& out) {
  const std::string where = what + " at offset " + std::to_string(block_offset);
  if (block.size() < 4) fail(file, where + ": block too small for its restart count");
  const std::uint32_t num_restarts = load_u32(block.data() + block.size() - 4);
  if (num_restarts == 0 || num_restarts > (block.size() - 4) / 4)
    fail(file, where + ": invalid restart count " + std::to_string(num_restarts));
  const std::size_t end = block.size() - 4 - 4 * static_cast<std::size_t>(num_restarts);
  std::size_t pos = 0;
  std::string key;
  while (pos < end) {
    const std::size_t entry_at = pos;
    std::uint64_t shared = 0, non_shared = 0, value_size = 0;
    const auto body = block.first(end);
    if (!pb::read_varint(body, pos, shared) || !pb::read_varint(body, pos, non_shared) ||
        !pb::read_varint(body, pos, value_size))
      fail(file, where + ": truncated entry header at byte " + std::to_string(entry_at));
    if (shared > key.size())
      fail(file, where + ": entry at byte " + std::to_string(entry_at) + " shares " + std::to_string(shared) +
                     " key bytes with a " + std::to_string(key.size()) + "-byte previous key");
    if (non_shared > end - pos || value_size > end - pos - non_shared)
      fail(file, where + ": entry at byte " + std::to_string(entry_at) + " runs past the end of the block");
    key.resize(static_cast<std::size_t>(shared));
    key.append(reinterpret_cast<const char*>(block.data() + pos), static_cast<std::size_t>(non_shared));
    pos += static_cast<std::size_t>(non_shared);
    out.push_back({key, block.subspan(pos, static_cast<std::size_t>(value_size))});
    pos += static_cast<std::size_t>(value_size);
  }
}

}  // namespace

std::vector<SstEntry> read_sstable(std::span<const std::uint8_t> table, const std::string& file) {
  if (table.size() < kSstFooterSize)
    fail(file, "file is " + std::to_string(table.size()) + " bytes, shorter than the 48-byte footer (truncated)");
  const auto footer = table.last(kSstFooterSize);
  std::uint64_t magic = 0;
  for (int i = 0; i < 8; ++i) magic |= static_cast<std::uint64_t>(footer[40 + i]) << (8 * i);
  if (magic != kSstMagic) fail(file, "bad magic number in the footer (not a tensor-bundle index, or truncated)");
  std::size_t pos = 0;
  const auto footer_handles = footer.first(40);
  decode_handle(footer_handles, pos, file, "footer metaindex handle");  // the metaindex is unused
  const BlockHandle index_handle = decode_handle(footer_handles, pos, file, "footer index handle");

  std::vector<SstEntry> index_entries;
  read_block(block_contents(table, index_handle, file, "index block"), index_handle.offset, file, "index block",
             index_entries);
  std::vector<SstEntry> entries;
  for (const SstEntry& ie : index_entries) {
    std::size_t p = 0;
    const BlockHandle h = decode_handle(ie.value, p, file, "index entry '" + ie.key + "'");
    read_block(block_contents(table, h, file, "data block"), h.offset, file, "data block", entries);
  }
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (!(entries[i - 1].key < entries[i].key))
      fail(file, "keys out of order ('" + entries[i - 1].key + "' before '" + entries[i].key + "')");
  return entries;
}

}  // namespace safescan::detect
