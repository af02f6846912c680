// Labelled data for `safescan bench` (include/safescan/labels.hpp, docs/bench.md): manifests in
// CSV and JSON Lines, every label spelling, categories, shard members, relative paths, the
// folder layout, predictions files, and the errors (each naming the file and the line).
#include <gtest/gtest.h>

#include <unistd.h>

#include "image_writers.hpp"
#include "safescan/labels.hpp"
#include "testing.hpp"

namespace fs = std::filesystem;
using safescan::ErrorCode;
using safescan::LabelledItem;
using safescan::parse_label;
using safescan::read_label_folder;
using safescan::read_labels;
using safescan::read_predictions;
using safescan::testing::expect_error;
using safescan::testing::TempDir;
using safescan::testing::write_all;

namespace {

std::string norm(const fs::path& p) { return p.lexically_normal().string(); }

// The manifest `text` written to DIR/name and read.
std::vector<LabelledItem> labels_of(const TempDir& tmp, const std::string& name, const std::string& text) {
  write_all(tmp / name, text);
  return read_labels(tmp / name);
}

// read_labels on `text` is expected to fail with invalid_argument at FILE:LINE, with `needle` too.
void expect_manifest_error(const std::string& name, const std::string& text, int line, const std::string& needle) {
  TempDir tmp;
  write_all(tmp / name, text);
  const std::string where = (tmp / name).string() + ":" + std::to_string(line) + ": ";
  SCOPED_TRACE(text);
  expect_error([&] { read_labels(tmp / name); }, ErrorCode::invalid_argument, where);
  expect_error([&] { read_labels(tmp / name); }, ErrorCode::invalid_argument, needle);
}

void expect_predictions_error(const std::string& name, const std::string& text, int line, const std::string& needle) {
  TempDir tmp;
  write_all(tmp / name, text);
  const std::string where = (tmp / name).string() + ":" + std::to_string(line) + ": ";
  SCOPED_TRACE(text);
  expect_error([&] { read_predictions(tmp / name); }, ErrorCode::invalid_argument, where);
  expect_error([&] { read_predictions(tmp / name); }, ErrorCode::invalid_argument, needle);
}

}  // namespace

TEST(Labels, ParseLabelEverySpelling) {
  for (const char* s : {"Unsafe", "unsafe", "UNSAFE", "1", "true", "True", "TRUE", " unsafe "}) EXPECT_EQ(parse_label(s), 1) << s;
  for (const char* s : {"Safe", "safe", "SAFE", "0", "false", "False", "FALSE", "\tsafe\r"}) EXPECT_EQ(parse_label(s), 0) << s;
  for (const char* s : {"maybe", "", "2", "-1", "yes", "no", "0.5", "unsafe!", "1.0"}) EXPECT_FALSE(parse_label(s).has_value()) << s;
}

TEST(Labels, CsvManifestAllColumns) {
  TempDir tmp;
  const auto items = labels_of(tmp, "m.csv",
                               "key,path,label,category,source,split,extra\n"
                               "a,img/a.jpg,Unsafe,Violence,Lexica,test,x\n"
                               "b,img/b.png,safe,,Laion5B,train,y\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "a");
  EXPECT_EQ(items[0].path, norm(tmp.path() / "img/a.jpg"));
  EXPECT_EQ(items[0].member, "");
  EXPECT_EQ(items[0].label, 1);
  EXPECT_EQ(items[0].category, "Violence");
  EXPECT_EQ(items[0].source, "Lexica");
  EXPECT_EQ(items[0].split, "test");
  EXPECT_EQ(items[1].key, "b");
  EXPECT_EQ(items[1].label, 0);
  EXPECT_EQ(items[1].category, "");
  EXPECT_EQ(items[1].source, "Laion5B");
  EXPECT_EQ(items[1].split, "train");
}

TEST(Labels, CsvEveryLabelSpellingAndColumnCase) {
  TempDir tmp;
  const auto items = labels_of(tmp, "m.csv",
                               " Path , LABEL \n"
                               "a.jpg,Unsafe\nb.jpg,unsafe\nc.jpg,1\nd.jpg,true\ne.jpg,TRUE\n"
                               "f.jpg,Safe\ng.jpg,safe\nh.jpg,0\ni.jpg,false\nj.jpg, False \n");
  ASSERT_EQ(items.size(), 10u);
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i].label, i < 5 ? 1 : 0) << items[i].key;
  // Without a key column, the key is the path as written; the path is resolved.
  EXPECT_EQ(items[0].key, "a.jpg");
  EXPECT_EQ(items[0].path, norm(tmp.path() / "a.jpg"));
}

TEST(Labels, CsvRfc4180Quoting) {
  TempDir tmp;
  // BOM, CRLF, quoted commas, doubled quotes, a line break inside a field, blank lines.
  const std::string text =
      "\xEF\xBB\xBF"
      "key,path,label,category,source\r\n"
      "\"k,1\",\"a, b.jpg\",Unsafe,\"Self-harm\",\"said \"\"hi\"\"\"\r\n"
      "\r\n"
      "k2,c.jpg,\"Safe\",,\"two\r\nlines\"\r\n"
      "\n"
      "k3,d.jpg,0,\"\",plain\r\n";
  const auto items = labels_of(tmp, "m.csv", text);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].key, "k,1");
  EXPECT_EQ(items[0].path, norm(tmp.path() / "a, b.jpg"));
  EXPECT_EQ(items[0].category, "Self-harm");
  EXPECT_EQ(items[0].source, "said \"hi\"");
  EXPECT_EQ(items[1].key, "k2");
  EXPECT_EQ(items[1].label, 0);
  EXPECT_EQ(items[1].source, "two\r\nlines");
  EXPECT_EQ(items[2].key, "k3");
  EXPECT_EQ(items[2].source, "plain");
  // The header alone: no items, no error; no final newline is fine.
  EXPECT_TRUE(labels_of(tmp, "h.csv", "key,label").empty());
  EXPECT_EQ(labels_of(tmp, "n.csv", "key,label\nx.jpg,1").size(), 1u);
  // LF-only and lone-CR line ends.
  EXPECT_EQ(labels_of(tmp, "cr.csv", "key,label\rx.jpg,1\ry.jpg,0\r").size(), 2u);
}

TEST(Labels, CategoriesCanonicalisedOrKeptAsFreeText) {
  TempDir tmp;
  const auto items = labels_of(tmp, "m.csv",
                               "key,label,category\n"
                               "a,1,self_harm\nb,1,ILLEGAL-ACTIVITY\nc,1,sexual\nd,1,public and personal health\n"
                               "e,1,Deception\nf,1,hate\ng,1,Harassment\nh,1,political\ni,1,SHOCKING\nj,1,spam\n"
                               "k,1,violence\nl,0,suggestive\nm,0,Weapons in games\nn,0,  \n");
  ASSERT_EQ(items.size(), 14u);
  const std::vector<std::string> expected = {"Self-harm", "Illegal activity", "Sexual",    "Public and personal health",
                                             "Deception", "Hate",             "Harassment", "Political",
                                             "Shocking",  "Spam",             "Violence",  "Suggestive",
                                             "Weapons in games", ""};
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i].category, expected[i]) << items[i].key;
}

TEST(Labels, JsonLinesManifest) {
  TempDir tmp;
  const auto items = labels_of(tmp, "m.jsonl",
                               "\xEF\xBB\xBF{\"key\": \"a\", \"path\": \"x/a.jpg\", \"label\": \"Unsafe\", \"category\": \"sexual\", "
                               "\"source\": \"Lexica\", \"split\": \"test\", \"other\": [1, 2]}\r\n"
                               "\n"
                               "{\"key\": \"b\", \"path\": \"x/b.jpg\", \"label\": 0}\n"
                               "{\"key\": \"c\", \"path\": \"x/c.jpg\", \"label\": true, \"category\": null}\n"
                               "{\"Key\": \"d\", \"Label\": \"safe\", \"Category\": \"Weapons\"}\n"
                               "{\"key\": 7, \"label\": false}\n");
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].key, "a");
  EXPECT_EQ(items[0].path, norm(tmp.path() / "x/a.jpg"));
  EXPECT_EQ(items[0].label, 1);
  EXPECT_EQ(items[0].category, "Sexual");
  EXPECT_EQ(items[0].source, "Lexica");
  EXPECT_EQ(items[0].split, "test");
  EXPECT_EQ(items[1].label, 0);
  EXPECT_EQ(items[1].category, "");
  EXPECT_EQ(items[2].label, 1);
  EXPECT_EQ(items[2].category, "");
  // Without a path the key is the path.
  EXPECT_EQ(items[3].key, "d");
  EXPECT_EQ(items[3].path, norm(tmp.path() / "d"));
  EXPECT_EQ(items[3].category, "Weapons");
  EXPECT_EQ(items[4].key, "7");
  EXPECT_EQ(items[4].label, 0);
}

TEST(Labels, JsonLinesEveryLabelSpelling) {
  TempDir tmp;
  const auto items = labels_of(tmp, "m.jsonl",
                               R"({"key":"a","label":"Unsafe"}
{"key":"b","label":"unsafe"}
{"key":"c","label":"1"}
{"key":"d","label":1}
{"key":"e","label":true}
{"key":"f","label":"true"}
{"key":"g","label":"Safe"}
{"key":"h","label":"safe"}
{"key":"i","label":"0"}
{"key":"j","label":0}
{"key":"k","label":false}
{"key":"l","label":"FALSE"}
)");
  ASSERT_EQ(items.size(), 12u);
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i].label, i < 6 ? 1 : 0) << items[i].key;
}

TEST(Labels, ShardMembersAndPaths) {
  TempDir tmp;
  fs::create_directories(tmp / "sub");
  const auto items = labels_of(tmp, "sub/m.csv",
                               "key,path,label\n"
                               "a,shards/test-00000.tar:test-000001.jpg,1\n"
                               "b,../other/x.tar.gz:dir/b.png,0\n"
                               "c,y.TGZ:c.webp,0\n"
                               "d,notes:2024.jpg,0\n"                // the ':' belongs to the file name
                               "e,/abs/./dir/../e.jpg,1\n"          // absolute, made normal
                               "f,./img/../img/f.jpg,1\n"           // relative, made normal
                               "g,shard.tar,1\n"                    // a file named .tar, no member
                               "h,a.tar:b.tar:m.jpg,1\n");          // the last ':' splits
  ASSERT_EQ(items.size(), 8u);
  const fs::path sub = tmp / "sub";
  EXPECT_EQ(items[0].path, norm(sub / "shards/test-00000.tar"));
  EXPECT_EQ(items[0].member, "test-000001.jpg");
  EXPECT_EQ(items[1].path, norm(tmp / "other/x.tar.gz"));
  EXPECT_EQ(items[1].member, "dir/b.png");
  EXPECT_EQ(items[2].path, norm(sub / "y.TGZ"));
  EXPECT_EQ(items[2].member, "c.webp");
  EXPECT_EQ(items[3].path, norm(sub / "notes:2024.jpg"));
  EXPECT_EQ(items[3].member, "");
  EXPECT_EQ(items[4].path, "/abs/e.jpg");
  EXPECT_EQ(items[5].path, norm(sub / "img/f.jpg"));
  EXPECT_EQ(items[6].path, norm(sub / "shard.tar"));
  EXPECT_EQ(items[6].member, "");
  EXPECT_EQ(items[7].path, norm(sub / "a.tar:b.tar"));
  EXPECT_EQ(items[7].member, "m.jpg");
  // Keys are as written.
  EXPECT_EQ(items[0].key, "a");
  for (const auto& it : items) EXPECT_TRUE(fs::path(it.path).is_absolute()) << it.path;
}

TEST(Labels, KeyTakenAsPathAndPathAsKey) {
  TempDir tmp;
  const auto items = labels_of(tmp, "m.csv",
                               "key,path,label\n"
                               "s.tar:k1.jpg,,1\n"  // no path: the key is the path (a shard member)
                               ",dir/p.jpg,0\n");   // no key: the path as written is the key
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "s.tar:k1.jpg");
  EXPECT_EQ(items[0].path, norm(tmp / "s.tar"));
  EXPECT_EQ(items[0].member, "k1.jpg");
  EXPECT_EQ(items[1].key, "dir/p.jpg");
  EXPECT_EQ(items[1].path, norm(tmp / "dir/p.jpg"));
}

TEST(Labels, RelativeManifestPathResolvesAgainstItsFolder) {
  TempDir tmp;
  fs::create_directories(tmp / "data");
  write_all(tmp / "data/m.csv", "path,label\nimg.jpg,1\n");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(tmp.path().c_str()), 0);
  std::vector<LabelledItem> items;
  try {
    items = read_labels("data/m.csv");
  } catch (...) {
    (void)chdir(cwd);
    throw;
  }
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].path, norm(fs::canonical(tmp.path()) / "data/img.jpg"));
}

TEST(Labels, ManifestErrorsNameFileAndLine) {
  expect_manifest_error("m.csv", "path,category\na.jpg,Hate\n", 1, "no \"label\" column");
  expect_manifest_error("m.csv", "label,category\n1,Hate\n", 1, "no \"key\" or \"path\" column");
  expect_manifest_error("m.csv", "key,label\na,1\nb,maybe\n", 3, "unknown label \"maybe\"");
  expect_manifest_error("m.csv", "key,label\na,1\n\nb,0\na,0\n", 5, "duplicate key \"a\" (first on line 2)");
  expect_manifest_error("m.csv", "key,label\na,\n", 2, "no label");
  expect_manifest_error("m.csv", "key,label\na,1,extra\n", 2, "3 fields, but the header has 2");
  expect_manifest_error("m.csv", "key,label\na,1\nb\n", 3, "1 field, but the header has 2");
  expect_manifest_error("m.csv", "key,label\n\"a\nb,1\n", 2, "not closed");
  expect_manifest_error("m.csv", "key,label\n\"a\"b,1\n", 2, "after the closing quote");
  expect_manifest_error("m.csv", "key,label,Key\na,1,b\n", 1, "twice");
  expect_manifest_error("m.csv", "key,path,label\n,,1\n", 2, "no key and no path");
  // A record spanning lines is named by the line it starts on.
  expect_manifest_error("m.csv", "key,label,source\n\"multi\nline\",maybe,x\n", 2, "unknown label");
  expect_manifest_error("m.csv", "", 1, "empty");
  expect_manifest_error("m.csv", "\n\r\n  \n", 1, "empty");
  expect_manifest_error("m.csv", "\xEF\xBB\xBF", 1, "empty");

  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":1}\n{\"key\":\"b\"}\n", 2, "no \"label\"");
  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":\"maybe\"}\n", 1, "unknown label \"maybe\"");
  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":2}\n", 1, "unknown label 2");
  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":1}\n\n{\"label\":0}\n", 3, "no key and no path");
  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":1}\n{\"key\":\"a\",\"label\":0}\n", 2, "duplicate key \"a\"");
  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":1}\n{\"key\": \"b\", \n", 2, "not valid JSON");
  expect_manifest_error("m.jsonl", "{\"key\":\"a\",\"label\":1}\n[1, 2]\n", 2, "JSON object");
  expect_manifest_error("m.jsonl", "{\"key\":{\"x\":1},\"label\":1}\n", 1, "must be a string");
}

TEST(Labels, UnreadableFiles) {
  TempDir tmp;
  expect_error([&] { read_labels(tmp / "missing.csv"); }, ErrorCode::unreadable, "missing.csv");
  expect_error([&] { read_labels(tmp.path()); }, ErrorCode::unreadable, "directory");
  expect_error([&] { read_predictions(tmp / "missing.csv"); }, ErrorCode::unreadable, "no such file");
  if (geteuid() != 0) {  // root reads anything
    write_all(tmp / "locked.csv", "key,label\na,1\n");
    fs::permissions(tmp / "locked.csv", fs::perms::none);
    expect_error([&] { read_labels(tmp / "locked.csv"); }, ErrorCode::unreadable, "locked.csv");
  }
}

TEST(Labels, FolderLayout) {
  namespace t = safescan::testing;
  TempDir tmp;
  const fs::path root = tmp / "data";
  const auto png = t::encode_png(t::gradient(8, 8, 3));
  const auto jpg = t::encode_jpeg(t::gradient(8, 8, 3));
  for (const char* dir : {"safe/Violence", "safe/deeper/more", "unsafe/self_harm/nested", "unsafe/Weapons", "unsafe/.hidden", "other"})
    fs::create_directories(root / dir);
  t::write_file(root / "safe/x.png", png);                    // no category
  t::write_file(root / "safe/Violence/s1.jpg", jpg);
  t::write_file(root / "safe/deeper/more/s2.png", png);       // category "deeper"
  t::write_file(root / "safe/notes.txt", {'h', 'i', '\n'});   // not an image: skipped
  t::write_file(root / "safe/no-extension", png);             // an image by content
  t::write_file(root / "safe/.hidden.png", png);              // hidden: skipped
  t::write_file(root / "unsafe/self_harm/nested/u1.png", png);
  t::write_file(root / "unsafe/self_harm/u0.jpg", jpg);
  t::write_file(root / "unsafe/Weapons/u2.png", png);
  t::write_file(root / "unsafe/.hidden/u3.png", png);         // in a hidden folder: skipped
  t::write_file(root / "other/o.png", png);                   // neither safe/ nor unsafe/: ignored
  t::write_file(root / "top.png", png);                       // ignored

  const auto items = read_label_folder(root);
  std::vector<std::string> keys;
  for (const auto& it : items) keys.push_back(it.key);
  const std::vector<std::string> expected = {"safe/Violence/s1.jpg",      "safe/deeper/more/s2.png",
                                             "safe/no-extension",         "safe/x.png",
                                             "unsafe/Weapons/u2.png",     "unsafe/self_harm/nested/u1.png",
                                             "unsafe/self_harm/u0.jpg"};
  EXPECT_EQ(keys, expected);
  ASSERT_EQ(items.size(), expected.size());
  const std::vector<std::string> categories = {"Violence", "deeper", "", "", "Weapons", "Self-harm", "Self-harm"};
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].label, i < 4 ? 0 : 1) << items[i].key;
    EXPECT_EQ(items[i].category, categories[i]) << items[i].key;
    EXPECT_EQ(items[i].path, norm(fs::absolute(root / items[i].key))) << items[i].key;
    EXPECT_EQ(items[i].member, "");
    EXPECT_EQ(items[i].source, "");
  }
  // A trailing separator on ROOT changes nothing; neither do capitalised class folders.
  EXPECT_EQ(read_label_folder(root.string() + "/").size(), expected.size());
  const fs::path caps = tmp / "caps";
  fs::create_directories(caps / "Unsafe/Sexual");
  t::write_file(caps / "Unsafe/Sexual/a.png", png);
  const auto cap_items = read_label_folder(caps);
  ASSERT_EQ(cap_items.size(), 1u);
  EXPECT_EQ(cap_items[0].key, "Unsafe/Sexual/a.png");
  EXPECT_EQ(cap_items[0].label, 1);
  EXPECT_EQ(cap_items[0].category, "Sexual");
}

TEST(Labels, FolderErrors) {
  TempDir tmp;
  fs::create_directories(tmp / "plain/images");
  expect_error([&] { read_label_folder(tmp / "plain"); }, ErrorCode::invalid_argument, "neither safe/ nor unsafe/");
  expect_error([&] { read_label_folder(tmp / "missing"); }, ErrorCode::unreadable, "no such folder");
  // Only safe/, and empty: no items, no error.
  fs::create_directories(tmp / "only/safe");
  EXPECT_TRUE(read_label_folder(tmp / "only").empty());
}

TEST(Labels, PredictionsCsvAndJsonLines) {
  TempDir tmp;
  write_all(tmp / "p.csv", "\xEF\xBB\xBFmodel,KEY,Score\r\ngpt,a,0.25\r\ngpt,\"b,c\",1\r\n\r\ngpt,d,0\r\ngpt,e, 1e-3 \r\n");
  const auto csv = read_predictions(tmp / "p.csv");
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_FLOAT_EQ(csv.at("a"), 0.25f);
  EXPECT_FLOAT_EQ(csv.at("b,c"), 1.0f);
  EXPECT_FLOAT_EQ(csv.at("d"), 0.0f);
  EXPECT_FLOAT_EQ(csv.at("e"), 0.001f);

  write_all(tmp / "p.jsonl", "{\"key\": \"a\", \"score\": 0.75, \"why\": \"x\"}\n\n{\"key\": \"b\", \"score\": \"0.5\"}\n{\"key\": 3, \"score\": 1}\n");
  const auto jl = read_predictions(tmp / "p.jsonl");
  ASSERT_EQ(jl.size(), 3u);
  EXPECT_FLOAT_EQ(jl.at("a"), 0.75f);
  EXPECT_FLOAT_EQ(jl.at("b"), 0.5f);
  EXPECT_FLOAT_EQ(jl.at("3"), 1.0f);

  write_all(tmp / "h.csv", "key,score\n");
  EXPECT_TRUE(read_predictions(tmp / "h.csv").empty());
}

TEST(Labels, PredictionsErrorsNameFileAndLine) {
  expect_predictions_error("p.csv", "key\na\n", 1, "no \"score\" column");
  expect_predictions_error("p.csv", "name,score\na,0.5\n", 1, "no \"key\" column");
  expect_predictions_error("p.csv", "key,score\na,0.5\nb,1.5\n", 3, "not in [0, 1]");
  expect_predictions_error("p.csv", "key,score\na,-0.1\n", 2, "not in [0, 1]");
  expect_predictions_error("p.csv", "key,score\na,nan\n", 2, "not in [0, 1]");
  expect_predictions_error("p.csv", "key,score\na,high\n", 2, "\"high\" of \"a\" is not a number");
  expect_predictions_error("p.csv", "key,score\na,0.5x\n", 2, "not a number");
  expect_predictions_error("p.csv", "key,score\na,\n", 2, "no score for \"a\"");
  expect_predictions_error("p.csv", "key,score\n,0.5\n", 2, "no key");
  expect_predictions_error("p.csv", "key,score\na,0.5\nb,0.1\na,0.2\n", 4, "duplicate key \"a\" (first on line 2)");
  expect_predictions_error("p.csv", "", 1, "empty");
  expect_predictions_error("p.jsonl", "{\"key\":\"a\",\"score\":0.5}\n{\"key\":\"b\"}\n", 2, "no score for \"b\"");
  expect_predictions_error("p.jsonl", "{\"key\":\"a\",\"score\":2}\n", 1, "not in [0, 1]");
  expect_predictions_error("p.jsonl", "{\"key\":\"a\",\"score\":true}\n", 1, "not a number");
  expect_predictions_error("p.jsonl", "{\"key\":\"a\",\"score\":\"abc\"}\n", 1, "not a number");
  expect_predictions_error("p.jsonl", "{\"score\":0.5}\n", 1, "no \"key\"");
  expect_predictions_error("p.jsonl", "{\"key\":\"a\",\"score\":0.5}\n{\"key\":\"a\",\"score\":0.5}\n", 2, "duplicate key");
}

TEST(Labels, FolderKeepsEntriesItCannotRead) {
  // A dangling link stays an item (the bench then counts it as failed, as a scan does).
  TempDir tmp;
  fs::create_directories(tmp / "unsafe/Hate");
  fs::create_symlink(tmp / "nowhere.png", tmp / "unsafe/Hate/gone.png");
  const auto items = read_label_folder(tmp.path());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].key, "unsafe/Hate/gone.png");
  EXPECT_EQ(items[0].category, "Hate");
  EXPECT_EQ(items[0].label, 1);
}

TEST(Labels, ErrorMessageReadsWell) {
  TempDir tmp;
  write_all(tmp / "m.csv", "key,label\na,maybe\n");
  try {
    read_labels(tmp / "m.csv");
    FAIL() << "no error";
  } catch (const safescan::Error& e) {
    EXPECT_EQ(std::string(e.what()), (tmp / "m.csv").string() +
                                         ":2: unknown label \"maybe\" (expected Safe / Unsafe, 0 / 1 or false / true)");
    EXPECT_EQ(e.where(), (tmp / "m.csv").string() + ":2");
  }
}
