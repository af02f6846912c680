// Scan sources: brace expansion, directory walks, list files, stdin, unit chunking and ids,
// the unit encoding, and embeddings slices. Tar shards are in test_sources_tar.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "io/tensor_file.hpp"
#include "safescan/sources.hpp"
#include "testing.hpp"

namespace fs = std::filesystem;
using safescan::ErrorCode;
using safescan::SourceItem;
using safescan::SourceKind;
using safescan::SourceOptions;
using safescan::UnitEnumerator;
using safescan::WorkUnit;
using safescan::testing::expect_error;
using safescan::testing::TempDir;
using safescan::testing::write_all;

namespace {

const std::string kJpegBytes = std::string("\xFF\xD8\xFF\xE0", 4) + "not really a jpeg";

std::vector<WorkUnit> all_units(std::vector<std::string> args, SourceOptions options = {}) {
  UnitEnumerator units(std::move(args), options);
  std::vector<WorkUnit> out;
  while (auto unit = units.next()) out.push_back(std::move(*unit));
  EXPECT_TRUE(units.finished());
  return out;
}

std::vector<SourceItem> read_all_items(const WorkUnit& unit) {
  std::vector<SourceItem> items;
  safescan::read_unit(unit, [&](SourceItem&& item) {
    items.push_back(std::move(item));
    return true;
  });
  return items;
}

std::vector<std::string> unit_paths(const std::vector<WorkUnit>& units) {
  std::vector<std::string> paths;
  for (const auto& u : units)
    for (const auto& f : u.files) paths.push_back(f.path);
  return paths;
}

std::string normal(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }

}  // namespace

// --- brace expansion ---------------------------------------------------------------------

TEST(BraceExpansion, NumericRangesKeepZeroPadding) {
  using V = std::vector<std::string>;
  EXPECT_EQ(safescan::expand_braces("data/{00000..00003}.tar"),
            (V{"data/00000.tar", "data/00001.tar", "data/00002.tar", "data/00003.tar"}));
  EXPECT_EQ(safescan::expand_braces("{8..11}.tar"), (V{"8.tar", "9.tar", "10.tar", "11.tar"}));
  EXPECT_EQ(safescan::expand_braces("{1..010..3}"), (V{"001", "004", "007", "010"}));
  EXPECT_EQ(safescan::expand_braces("{3..1}"), (V{"3", "2", "1"}));
  EXPECT_EQ(safescan::expand_braces("{0099..0101}").front(), "0099");
  EXPECT_EQ(safescan::expand_braces("{00000..00099}").size(), 100u);
  EXPECT_EQ(safescan::expand_braces("{00000..00099}").back(), "00099");
}

TEST(BraceExpansion, ListsAndSeveralGroupsInOrder) {
  using V = std::vector<std::string>;
  EXPECT_EQ(safescan::expand_braces("plain/path.tar"), (V{"plain/path.tar"}));
  EXPECT_EQ(safescan::expand_braces("{a,b,c}.tar"), (V{"a.tar", "b.tar", "c.tar"}));
  EXPECT_EQ(safescan::expand_braces("x{,y}"), (V{"x", "xy"}));
  EXPECT_EQ(safescan::expand_braces("{train,val}/{0..1}.tar"),
            (V{"train/0.tar", "train/1.tar", "val/0.tar", "val/1.tar"}));
}

TEST(BraceExpansion, MalformedPatternsThrow) {
  for (const char* bad : {"{1..", "a}b.tar", "{}.tar", "{abc}.tar", "{a..z}.tar", "{{1,2}}.tar", "{1..5..0}",
                          "{1..x}", "{0..99999999}"}) {
    SCOPED_TRACE(bad);
    expect_error([&] { safescan::expand_braces(bad); }, ErrorCode::invalid_argument, "brace");
  }
}

// --- directory walks -----------------------------------------------------------------------

TEST(SourceWalk, SortedRecursiveSkipsHiddenAndNonImagesKeepsImagesByContent) {
  TempDir dir;
  const fs::path root = dir / "photos";
  fs::create_directories(root / "a");
  fs::create_directories(root / "c" / "d");
  fs::create_directories(root / ".hidden_dir");
  write_all(root / "b.jpg", "x");
  write_all(root / "a" / "z.png", "x");
  write_all(root / "a" / "c.JPG", "x");
  write_all(root / ".hidden.jpg", "x");
  write_all(root / ".hidden_dir" / "x.jpg", "x");
  write_all(root / "notes.txt", "just text");
  write_all(root / "noext", kJpegBytes);
  write_all(root / "c" / "d" / "e.gif", "x");

  UnitEnumerator units({root.string() + "/"});
  auto unit = units.next();
  ASSERT_TRUE(unit);
  EXPECT_FALSE(units.next());
  EXPECT_TRUE(units.finished());
  EXPECT_EQ(units.items_so_far(), 5u);
  EXPECT_EQ(unit->kind, SourceKind::files);
  EXPECT_EQ(unit->source, root.string() + "/");
  const std::vector<std::string> expected = {(root / "a/c.JPG").string(), (root / "a/z.png").string(),
                                             (root / "b.jpg").string(), (root / "c/d/e.gif").string(),
                                             (root / "noext").string()};
  EXPECT_EQ(unit_paths({*unit}), expected);

  // Keys are the paths as enumerated; paths are absolute and lexically normal.
  const auto items = read_all_items(all_units({(root / "a" / "..").string()}).at(0));
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[2].key, (root / "a" / ".." / "b.jpg").string());
  EXPECT_EQ(items[2].path, normal(root / "b.jpg"));
  EXPECT_EQ(items[2].source, (root / "a" / "..").string());
  EXPECT_TRUE(items[2].member.empty());
  EXPECT_TRUE(items[2].bytes.empty());
  EXPECT_FALSE(items[2].error);
}

TEST(SourceWalk, SymlinkLoopTerminatesWithoutDuplicates) {
  TempDir dir;
  fs::create_directories(dir / "root" / "dir");
  write_all(dir / "root" / "dir" / "x.jpg", "x");
  fs::create_directory_symlink("..", dir / "root" / "dir" / "loop");
  fs::create_directory_symlink(dir / "root", dir / "root" / "self");
  fs::create_symlink("x.jpg", dir / "root" / "dir" / "link.jpg");  // a symlink to a file is a file

  const auto paths = unit_paths(all_units({(dir / "root").string()}));
  const std::vector<std::string> expected = {(dir / "root/dir/link.jpg").string(), (dir / "root/dir/x.jpg").string()};
  EXPECT_EQ(paths, expected);
}

TEST(SourceWalk, UnreadableSubdirectoryBecomesAnErrorEntryAndTheWalkGoesOn) {
  TempDir dir;
  for (const char* sub : {"a", "b", "c"}) {
    fs::create_directories(dir / "root" / sub);
    write_all(dir / "root" / sub / "1.jpg", "x");
  }
  // The walk lists a directory only when it reaches it, so one removed in between (as on a
  // live file system) cannot be listed: that works as root too, unlike chmod 000.
  SourceOptions options;
  options.files_per_unit = 1;
  UnitEnumerator units({(dir / "root").string()}, options);
  auto first = units.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->files.at(0).path, (dir / "root/a/1.jpg").string());
  fs::remove_all(dir / "root" / "b");
  auto second = units.next();
  ASSERT_TRUE(second);
  ASSERT_EQ(second->files.size(), 1u);
  ASSERT_TRUE(second->files[0].error);
  EXPECT_EQ(second->files[0].error->code(), ErrorCode::unreadable);
  EXPECT_EQ(second->files[0].error->where(), (dir / "root/b").string());
  const auto items = read_all_items(*second);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].error);
  EXPECT_NE(std::string(items[0].error->what()).find("cannot list directory"), std::string::npos);
  auto third = units.next();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->files.at(0).path, (dir / "root/c/1.jpg").string());
  EXPECT_FALSE(units.next());
}

TEST(SourceWalk, PermissionDeniedDirectoryBecomesAnErrorEntry) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: chmod 000 does not stop root from listing a directory";
  TempDir dir;
  fs::create_directories(dir / "root" / "locked");
  write_all(dir / "root" / "locked" / "1.jpg", "x");
  write_all(dir / "root" / "z.jpg", "x");
  fs::permissions(dir / "root" / "locked", fs::perms::none);
  const auto units = all_units({(dir / "root").string()});
  fs::permissions(dir / "root" / "locked", fs::perms::owner_all);
  ASSERT_EQ(units.size(), 1u);
  ASSERT_EQ(units[0].files.size(), 2u);
  ASSERT_TRUE(units[0].files[0].error);
  EXPECT_EQ(units[0].files[0].error->code(), ErrorCode::unreadable);
  EXPECT_FALSE(units[0].files[1].error);
}

TEST(SourceWalk, LargeFlatDirectoryIsChunkedIntoUnits) {
  TempDir dir;
  fs::create_directories(dir / "many");
  for (int i = 0; i < 20000; ++i) write_all(dir / "many" / (std::to_string(i) + ".jpg"), "");
  SourceOptions options;
  options.files_per_unit = 256;
  UnitEnumerator units({(dir / "many").string()}, options);
  std::size_t count = 0, files = 0, last = 0;
  while (auto unit = units.next()) {
    EXPECT_EQ(unit->index, count);
    ++count;
    files += unit->files.size();
    last = unit->files.size();
    EXPECT_EQ(units.items_so_far(), files);
  }
  EXPECT_EQ(count, 79u);
  EXPECT_EQ(files, 20000u);
  EXPECT_EQ(last, 20000u - 78u * 256u);
}

// --- chunking, ids, encoding ---------------------------------------------------------------

TEST(SourceUnits, ChunkingAndIdsAreStableAcrossEnumerations) {
  TempDir dir;
  fs::create_directories(dir / "d");
  for (int i = 0; i < 7; ++i) write_all(dir / "d" / ("img" + std::to_string(i) + ".png"), "x");
  write_all(dir / "one.jpg", "x");
  write_all(dir / "two.jpg", "x");
  const std::vector<std::string> args = {(dir / "d").string(), (dir / "one.jpg").string(), (dir / "two.jpg").string(),
                                         (dir / "missing.jpg").string(), (dir / "s{0..1}.tar").string(),
                                         (dir / "d").string()};
  SourceOptions options;
  options.files_per_unit = 3;
  const auto a = all_units(args, options);
  const auto b = all_units(args, options);
  ASSERT_EQ(a.size(), 3u + 1u + 2u + 3u);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].index, i);
    EXPECT_EQ(a[i].id(), b[i].id());
    EXPECT_EQ(a[i].serialize(), b[i].serialize());
  }
  EXPECT_EQ(a[0].id(), "files:" + (dir / "d").string() + ":0");
  EXPECT_EQ(a[2].files.size(), 1u);
  // Consecutive file arguments share one unit whose source is empty; each item's source is
  // the file as given. A missing file is listed (reading its bytes will fail later).
  EXPECT_EQ(a[3].source, "");
  EXPECT_EQ(a[3].id(), "files::3");
  ASSERT_EQ(a[3].files.size(), 3u);
  const auto items = read_all_items(a[3]);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].source, (dir / "missing.jpg").string());
  EXPECT_EQ(items[2].path, normal(dir / "missing.jpg"));
  EXPECT_FALSE(items[2].error);
  EXPECT_EQ(a[4].kind, SourceKind::tar);
  EXPECT_EQ(a[4].source, (dir / "s0.tar").string());
  EXPECT_EQ(a[4].id(), "tar:" + normal(dir / "s0.tar"));
  EXPECT_EQ(a[5].source, (dir / "s1.tar").string());
  EXPECT_EQ(a[8].id(), "files:" + (dir / "d").string() + ":8");
  EXPECT_EQ(safescan::to_string(SourceKind::embeddings), "embeddings");
}

TEST(SourceUnits, SerializeRoundTripsErrors) {
  WorkUnit unit;
  unit.kind = SourceKind::files;
  unit.source = "photos/";
  unit.index = 300;
  unit.files.push_back({"photos/a.jpg", std::nullopt});
  unit.files.push_back({"photos/b", safescan::Error(ErrorCode::unreadable, "cannot list directory: denied", "photos/b")});
  unit.files.push_back({std::string("\xff\x00odd", 5), std::nullopt});
  const WorkUnit back = WorkUnit::deserialize(unit.serialize());
  EXPECT_EQ(back.kind, unit.kind);
  EXPECT_EQ(back.source, unit.source);
  EXPECT_EQ(back.index, 300u);
  ASSERT_EQ(back.files.size(), 3u);
  EXPECT_EQ(back.files[2].path, unit.files[2].path);
  EXPECT_FALSE(back.files[0].error);
  ASSERT_TRUE(back.files[1].error);
  EXPECT_EQ(back.files[1].error->code(), ErrorCode::unreadable);
  EXPECT_EQ(back.files[1].error->message(), "cannot list directory: denied");
  EXPECT_EQ(back.files[1].error->where(), "photos/b");
  EXPECT_EQ(back.id(), unit.id());

  WorkUnit npy;
  npy.kind = SourceKind::embeddings;
  npy.source = "emb.npy";
  npy.shard = "/data/emb.npy";
  npy.first_row = 131072;
  npy.row_count = 65536;
  npy.index = 7;
  const WorkUnit npy_back = WorkUnit::deserialize(npy.serialize());
  EXPECT_EQ(npy_back.id(), "npy:/data/emb.npy:131072");
  EXPECT_EQ(npy_back.row_count, 65536u);
  EXPECT_EQ(npy_back.shard, npy.shard);

  const std::string bytes = unit.serialize();
  for (const std::string& bad : {std::string(), std::string("XXXX"), bytes.substr(0, bytes.size() - 1), bytes + "x",
                                 std::string("SSWU\x02", 5)}) {
    expect_error([&] { WorkUnit::deserialize(bad); }, ErrorCode::invalid_argument, "malformed work unit");
  }
}

// --- lists ---------------------------------------------------------------------------------

TEST(SourceLists, ListFileAndStdin) {
  TempDir dir;
  write_all(dir / "list.txt", "# images\r\n" + (dir / "a.jpg").string() + "\r\n\n   \nrelative/b.png\n#c.jpg\nno_newline.gif");
  write_all(dir / "picture.txt", kJpegBytes);  // an image named .txt is a file, not a list
  SourceOptions options;
  options.files_per_unit = 2;
  std::istringstream in("x.jpg\n\ny.jpg\n");
  options.stdin_stream = &in;
  const auto units = all_units({(dir / "list.txt").string(), "-", (dir / "picture.txt").string()}, options);
  ASSERT_EQ(units.size(), 4u);
  EXPECT_EQ(units[0].source, (dir / "list.txt").string());
  EXPECT_EQ(unit_paths({units[0], units[1]}),
            (std::vector<std::string>{(dir / "a.jpg").string(), "relative/b.png", "no_newline.gif"}));
  EXPECT_EQ(units[2].source, "-");
  EXPECT_EQ(unit_paths({units[2]}), (std::vector<std::string>{"x.jpg", "y.jpg"}));
  EXPECT_EQ(unit_paths({units[3]}), (std::vector<std::string>{(dir / "picture.txt").string()}));
  const auto items = read_all_items(units[0]);
  EXPECT_EQ(items[1].key, "relative/b.png");
  EXPECT_EQ(items[1].source, (dir / "list.txt").string());
  EXPECT_EQ(items[1].path, normal("relative/b.png"));
}

// --- embeddings ----------------------------------------------------------------------------

TEST(SourceEmbeddings, SlicesWithKeysFile) {
  TempDir dir;
  std::vector<float> values(5 * 3);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  const fs::path npy = dir / "emb.npy";
  safescan::io::write_npy_f32(npy, {5, 3}, values.data());
  write_all(dir / "emb.npy.keys.txt", "k0\nk1\r\nk2\nk3\nk4");
  SourceOptions options;
  options.rows_per_unit = 2;
  UnitEnumerator enumerator({npy.string()}, options);
  std::vector<WorkUnit> units;
  while (auto u = enumerator.next()) units.push_back(*u);
  EXPECT_EQ(enumerator.items_so_far(), 5u);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[1].first_row, 2u);
  EXPECT_EQ(units[2].row_count, 1u);
  EXPECT_EQ(units[1].id(), "npy:" + normal(npy) + ":2");
  std::vector<SourceItem> items;
  for (const auto& u : units)
    for (auto& item : read_all_items(u)) items.push_back(std::move(item));
  ASSERT_EQ(items.size(), 5u);
  for (std::size_t r = 0; r < 5; ++r) {
    EXPECT_EQ(items[r].key, "k" + std::to_string(r));
    EXPECT_EQ(items[r].member, std::to_string(r));
    EXPECT_EQ(items[r].path, normal(npy));
    EXPECT_EQ(items[r].embedding, std::vector<float>(values.begin() + 3 * r, values.begin() + 3 * r + 3));
    EXPECT_FALSE(items[r].error);
  }
}

TEST(SourceEmbeddings, RowNumbersWithoutKeysOrWithAWrongCount) {
  TempDir dir;
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  safescan::io::write_npy_f32(dir / "a.npy", {3, 2}, values.data());
  safescan::io::write_npy_f32(dir / "b.npy", {3, 2}, values.data());
  write_all(dir / "b.npy.keys.txt", "only\ntwo\n");
  for (const char* name : {"a.npy", "b.npy"}) {
    const auto units = all_units({(dir / name).string()});
    ASSERT_EQ(units.size(), 1u);
    const auto items = read_all_items(units[0]);
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[2].key, "2");
    EXPECT_EQ(items[2].embedding, (std::vector<float>{5, 6}));
  }
}

TEST(SourceEmbeddings, FortranOrderAndFloat16) {
  TempDir dir;
  auto write_npy = [&](const fs::path& p, const std::string& descr, bool fortran, const std::string& data) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                         ", 'shape': (3, 2), }";
    header.append(63 - (10 + header.size()) % 64, ' ');
    header.push_back('\n');
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes.push_back(static_cast<char>(header.size() & 0xff));
    bytes.push_back(static_cast<char>(header.size() >> 8));
    write_all(p, bytes + header + data);
  };
  const float col_major[6] = {1, 3, 5, 2, 4, 6};  // rows (1,2) (3,4) (5,6)
  write_npy(dir / "f.npy", "<f4", true, std::string(reinterpret_cast<const char*>(col_major), sizeof col_major));
  const std::uint16_t halves[6] = {0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600};  // 1..6
  write_npy(dir / "h.npy", "<f2", false, std::string(reinterpret_cast<const char*>(halves), sizeof halves));
  for (const char* name : {"f.npy", "h.npy"}) {
    SCOPED_TRACE(name);
    SourceOptions options;
    options.rows_per_unit = 2;
    const auto units = all_units({(dir / name).string()}, options);
    ASSERT_EQ(units.size(), 2u);
    const auto items = read_all_items(units[1]);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].embedding, (std::vector<float>{5, 6}));
  }
}

TEST(SourceEmbeddings, BadFilesYieldOneErrorItem) {
  TempDir dir;
  const std::vector<float> values(4 * 8, 1.0f);
  safescan::io::write_npy_f32(dir / "cut.npy", {4, 8}, values.data());
  const std::string whole = safescan::testing::read_all(dir / "cut.npy");
  write_all(dir / "cut.npy", whole.substr(0, whole.size() - 10));
  write_all(dir / "text.npy", "hello");
  struct Case {
    const char* name;
    ErrorCode code;
    const char* needle;
  };
  for (const Case& c : {Case{"missing.npy", ErrorCode::unreadable, "not found"}, Case{"cut.npy", ErrorCode::corrupt, "truncated"},
                        Case{"text.npy", ErrorCode::corrupt, "magic"}}) {
    SCOPED_TRACE(c.name);
    const auto units = all_units({(dir / c.name).string()});
    ASSERT_EQ(units.size(), 1u);
    const auto items = read_all_items(units[0]);
    ASSERT_EQ(items.size(), 1u);
    ASSERT_TRUE(items[0].error);
    EXPECT_EQ(items[0].error->code(), c.code);
    EXPECT_NE(std::string(items[0].error->what()).find(c.needle), std::string::npos) << items[0].error->what();
    EXPECT_NE(std::string(items[0].error->what()).find(c.name), std::string::npos) << items[0].error->what();
  }
}
