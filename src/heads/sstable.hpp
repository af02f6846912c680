// Reading a LevelDB-format table (an "SSTable"), the container of TensorFlow's tensor-bundle
// index (variables.index): a 48-byte footer pointing at the index block, whose entries
// point at the data blocks; every block holds prefix-compressed key/value entries with
// restart points and is followed by a 5-byte trailer (compression type, masked crc32c).
//
// Only uncompressed blocks are read (TensorFlow's bundle writer never compresses); a
// snappy-compressed table is refused with a message that says so.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace safescan::detect {

struct SstEntry {
  std::string key;
  std::span<const std::uint8_t> value;  // a view into the table's bytes
};

inline constexpr std::uint64_t kSstMagic = 0xdb4775248b80fb57ull;
inline constexpr std::size_t kSstFooterSize = 48;
inline constexpr std::size_t kSstBlockTrailerSize = 5;

// Every entry of every data block, in table order. `table` must outlive the result. Errors
// are Error(model_invalid) about `file`, naming the block offset and what is wrong.
std::vector<SstEntry> read_sstable(std::span<const std::uint8_t> table, const std::string& file);

}  // namespace safescan::detect
