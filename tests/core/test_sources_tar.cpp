// WebDataset tar shards as a scan source: grouping by key, metadata siblings, nested and
// multi-dot names, truncated / corrupt / missing / empty shards. Shards are written by a small
// ustar writer below, so that damage can be placed at an exact byte.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "safescan/sources.hpp"
#include "testing.hpp"

namespace fs = std::filesystem;
using safescan::ErrorCode;
using safescan::SourceItem;
using safescan::SourceKind;
using safescan::UnitEnumerator;
using safescan::WorkUnit;
using safescan::testing::TempDir;
using safescan::testing::write_all;

namespace {

struct Member {
  std::string name;
  std::string data;
  char type = '0';  // '0' file, '5' directory, '2' symlink
};

void put_octal(std::string& header, std::size_t at, std::size_t width, std::uint64_t value) {
  std::string digits(width - 1, '0');
  for (std::size_t i = width - 1; i-- > 0; value >>= 3) digits[i] = static_cast<char>('0' + (value & 7));
  header.replace(at, width - 1, digits);
}

// One 512-byte ustar header.
std::string ustar_header(const Member& m) {
  std::string h(512, '\0');
  h.replace(0, m.name.size(), m.name);
  put_octal(h, 100, 8, 0644);
  put_octal(h, 108, 8, 0);
  put_octal(h, 116, 8, 0);
  put_octal(h, 124, 12, m.type == '0' ? m.data.size() : 0);
  put_octal(h, 136, 12, 1700000000);
  h[156] = m.type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  h.replace(148, 8, "        ");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put_octal(h, 148, 7, sum);
  h[155] = ' ';
  return h;
}

std::string make_tar(const std::vector<Member>& members, bool end_blocks = true) {
  std::string tar;
  for (const auto& m : members) {
    tar += ustar_header(m);
    if (m.type == '0') {
      tar += m.data;
      tar.append((512 - m.data.size() % 512) % 512, '\0');
    }
  }
  if (end_blocks) tar.append(1024, '\0');
  return tar;
}

std::vector<SourceItem> read_shard(const fs::path& shard, const std::string& source = {}) {
  WorkUnit unit;
  unit.kind = SourceKind::tar;
  unit.source = source.empty() ? shard.string() : source;
  unit.shard = shard.string();
  std::vector<SourceItem> items;
  safescan::read_unit(unit, [&](SourceItem&& item) {
    items.push_back(std::move(item));
    return true;
  });
  return items;
}

std::string bytes_of(const SourceItem& item) { return std::string(item.bytes.begin(), item.bytes.end()); }

std::string normal(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }

nlohmann::json meta(const SourceItem& item) { return nlohmann::json::parse(item.meta_json); }

}  // namespace

TEST(TarSource, GroupsMembersByKeyWithMetadataBeforeOrAfterTheImage) {
  TempDir dir;
  const fs::path shard = dir / "00000.tar";
  write_all(shard, make_tar({{"000.jpg", "JPEG0"},
                             {"000.json", R"({"url": "http://x/0.jpg", "width": 64})"},
                             {"000.txt", "a cat"},
                             {"001.txt", "a dog"},
                             {"001.json", "not json {"},
                             {"001.png", "PNG1"},
                             {"002.cls", "3"},  // a sample without an image: no item
                             {"003.JPEG", "JPEG3"},
                             {"004.jpg", "JPEG4"},
                             {"004.cls", "7"}}));
  const auto items = read_shard(shard, "shards/00000.tar");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].key, "000");
  EXPECT_EQ(items[0].member, "000.jpg");
  EXPECT_EQ(bytes_of(items[0]), "JPEG0");
  EXPECT_EQ(items[0].source, "shards/00000.tar");
  EXPECT_EQ(items[0].path, normal(shard));
  EXPECT_EQ(meta(items[0]), nlohmann::json::parse(R"({"json": {"url": "http://x/0.jpg", "width": 64}, "txt": "a cat"})"));
  EXPECT_EQ(items[1].key, "001");
  EXPECT_EQ(items[1].member, "001.png");
  EXPECT_EQ(meta(items[1]), nlohmann::json::parse(R"({"json": "not json {", "txt": "a dog"})"));
  EXPECT_EQ(items[2].key, "003");
  EXPECT_EQ(items[2].meta_json, "");
  EXPECT_EQ(items[3].key, "004");
  EXPECT_EQ(meta(items[3]), nlohmann::json::parse(R"({"cls": "7"})"));
  for (const auto& item : items) EXPECT_FALSE(item.error);
}

TEST(TarSource, NestedPathsMultiDotNamesAndNonRegularMembers) {
  TempDir dir;
  const fs::path shard = dir / "nested.tar";
  write_all(shard, make_tar({{"a/", "", '5'},
                             {"a/b/", "", '5'},
                             {"a/b/000123.jpg", "IMG"},
                             {"a/b/000123.seg.png", "SEG"},
                             {"a/b/000123.json", R"({"k": [1, 2]})"},
                             {"a/b/link.jpg", "", '2'},
                             {"a/c/README", "no dot: skipped"},
                             {"a/c/.hidden.jpg", "skipped"},
                             {"a/c/x.y/000124.webp", "W"}}));
  const auto items = read_shard(shard);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].key, "a/b/000123");
  EXPECT_EQ(items[0].member, "a/b/000123.jpg");
  EXPECT_EQ(items[1].key, "a/b/000123.seg.png");
  EXPECT_EQ(items[1].member, "a/b/000123.seg.png");
  EXPECT_EQ(bytes_of(items[1]), "SEG");
  EXPECT_EQ(meta(items[0]), nlohmann::json::parse(R"({"json": {"k": [1, 2]}})"));
  EXPECT_EQ(items[1].meta_json, items[0].meta_json);
  EXPECT_EQ(items[2].key, "a/c/x.y/000124");  // the first dot of the basename, not of the path
}

TEST(TarSource, BinaryMetadataIsLeftOutAndRepeatedFieldsStartANewSample) {
  TempDir dir;
  const fs::path shard = dir / "bin.tar";
  write_all(shard, make_tar({{"0.jpg", "A"},
                             {"0.txt", std::string("\xff\xfe bad utf-8", 13)},
                             {"0.npy", std::string("\x93NUMPY\0\0", 8)},
                             {"0.caption", "caf\xc3\xa9"},
                             {"0.jpg", "B"}}));
  const auto items = read_shard(shard);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(meta(items[0]), nlohmann::json::parse("{\"caption\": \"caf\xc3\xa9\"}"));
  EXPECT_EQ(bytes_of(items[1]), "B");
  EXPECT_EQ(items[1].key, "0");
}

TEST(TarSource, TruncatedInsideAMemberYieldsEarlierItemsThenOneError) {
  TempDir dir;
  const std::string tar = make_tar({{"000.jpg", std::string(1000, 'a')},
                                    {"000.txt", "caption"},
                                    {"001.jpg", std::string(1000, 'b')},
                                    {"002.jpg", std::string(1000, 'c')}});
  const fs::path shard = dir / "cut.tar";
  // 000.jpg: header 0, data 512..1536; 000.txt: 1536, 2048; 001.jpg: header 2560, data from 3072.
  write_all(shard, tar.substr(0, 3072 + 300));
  const auto items = read_shard(shard);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "000");
  EXPECT_FALSE(items[0].error);
  EXPECT_EQ(meta(items[0])["txt"], "caption");
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->code(), ErrorCode::corrupt);
  const std::string what = items[1].error->what();
  EXPECT_NE(what.find(normal(shard)), std::string::npos) << what;
  EXPECT_NE(what.find("001.jpg"), std::string::npos) << what;
  EXPECT_NE(what.find("2560"), std::string::npos) << what;
  EXPECT_EQ(items[1].member, "001.jpg");
  EXPECT_EQ(items[1].key, "001");

  // Cut inside a header: the items before it, then the error.
  write_all(shard, tar.substr(0, 2560 + 100));
  const auto cut_header = read_shard(shard);
  ASSERT_EQ(cut_header.size(), 2u);
  ASSERT_TRUE(cut_header[1].error);
  EXPECT_EQ(cut_header[1].error->code(), ErrorCode::corrupt);
  EXPECT_NE(std::string(cut_header[1].error->what()).find("000.txt"), std::string::npos) << cut_header[1].error->what();
}

TEST(TarSource, CorruptHeaderChecksumYieldsOneError) {
  TempDir dir;
  std::string tar = make_tar({{"000.jpg", "A"}, {"001.jpg", "B"}, {"002.jpg", "C"}});
  const fs::path shard = dir / "bad.tar";
  tar[1024 + 148] ^= 0x01;  // the checksum of 001.jpg's header
  write_all(shard, tar);
  auto items = read_shard(shard);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(bytes_of(items[0]), "A");
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->code(), ErrorCode::corrupt);
  EXPECT_NE(std::string(items[1].error->what()).find("after '000.jpg'"), std::string::npos) << items[1].error->what();

  tar[1024 + 148] ^= 0x01;
  tar[148] ^= 0x01;  // now the first header
  write_all(shard, tar);
  items = read_shard(shard);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->code(), ErrorCode::corrupt);
  EXPECT_NE(std::string(items[0].error->what()).find(normal(shard)), std::string::npos);
}

TEST(TarSource, MissingEmptyAndZeroByteShards) {
  TempDir dir;
  auto items = read_shard(dir / "missing.tar", "missing.tar");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->code(), ErrorCode::unreadable);
  EXPECT_EQ(items[0].error->where(), normal(dir / "missing.tar"));
  EXPECT_EQ(items[0].key, "missing.tar");

  write_all(dir / "empty.tar", make_tar({}));
  EXPECT_TRUE(read_shard(dir / "empty.tar").empty());

  write_all(dir / "zero.tar", "");
  items = read_shard(dir / "zero.tar");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->code(), ErrorCode::empty);

  write_all(dir / "text.tar", std::string(2000, 'x'));
  items = read_shard(dir / "text.tar");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->code(), ErrorCode::corrupt);
}

TEST(TarSource, GzipShardsAndEarlyStop) {
  TempDir dir;
  const std::string tar = make_tar({{"0.jpg", "A"}, {"1.jpg", "B"}, {"2.jpg", "C"}});
  const fs::path shard = dir / "s.tar.gz";
  gzFile gz = gzopen(shard.c_str(), "wb");
  ASSERT_TRUE(gz);
  gzwrite(gz, tar.data(), static_cast<unsigned>(tar.size()));
  gzclose(gz);
  EXPECT_EQ(read_shard(shard).size(), 3u);

  WorkUnit unit;
  unit.kind = SourceKind::tar;
  unit.shard = shard.string();
  int seen = 0;
  safescan::read_unit(unit, [&](SourceItem&&) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
}

TEST(TarSource, BracePatternsGiveOneUnitPerShardInOrder) {
  TempDir dir;
  write_all(dir / "01.tar", make_tar({{"x.jpg", "X"}}));
  UnitEnumerator units({(dir / "{00..02}.tar").string(), (dir / "{b,a}.TAR").string()});
  std::vector<WorkUnit> all;
  while (auto u = units.next()) all.push_back(*u);
  ASSERT_EQ(all.size(), 5u);
  const std::vector<std::string> names = {"00.tar", "01.tar", "02.tar", "b.TAR", "a.TAR"};
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].kind, SourceKind::tar);
    EXPECT_EQ(all[i].source, (dir / names[i]).string());
    EXPECT_EQ(all[i].id(), "tar:" + normal(dir / names[i]));
    EXPECT_EQ(all[i].index, i);
  }
  EXPECT_EQ(units.items_so_far(), 0u);  // tar members are only known when read
  EXPECT_EQ(read_shard(all[1].shard).size(), 1u);
  const auto missing = read_shard(all[0].shard);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_TRUE(missing[0].error);
  safescan::testing::expect_error([&] { UnitEnumerator({(dir / "{00..}.tar").string()}).next(); },
                                  ErrorCode::invalid_argument, "brace");
}
