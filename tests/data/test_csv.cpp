// CSV reader and writer: layouts, error messages with file:line:column, round trips.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "io_test_helpers.hpp"

namespace unbox {
namespace {

using testing::error_of;
using testing::TempDir;
using testing::write_bytes;

Dataset csv_from(const TempDir& dir, const std::string& text, const ReadOptions& options = {},
                 const std::string& name = "data.csv") {
  write_bytes(dir.file(name), text);
  return read_csv(dir.file(name), options);
}

TEST(CsvRead, CommaSeparatedHeaderAndValues) {
  TempDir dir;
  Dataset d = csv_from(dir, "x,y,label\n1,2.5,0\n-3e2,.5,1\n");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"x", "y", "label"}));
  EXPECT_EQ(d.events(), 2);
  EXPECT_EQ(d.get("x").values(), (std::vector<double>{1, -300}));
  EXPECT_EQ(d.get("y").values(), (std::vector<double>{2.5, 0.5}));
  EXPECT_EQ(d.get("label").values(), (std::vector<double>{0, 1}));
}

TEST(CsvRead, SpacesAroundCommaFieldsAndPlusSigns) {
  TempDir dir;
  Dataset d = csv_from(dir, " x , y \n 1 , +2\n+1e3,  -4 \n");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(d.get("x").values(), (std::vector<double>{1, 1000}));
  EXPECT_EQ(d.get("y").values(), (std::vector<double>{2, -4}));
}

TEST(CsvRead, TabSeparated) {
  TempDir dir;
  Dataset d = csv_from(dir, "a\tb c\n1\t2\n3\t4\n", {}, "data.tsv");
  // With a tab in the header, a space is part of a name.
  EXPECT_EQ(d.names(), (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(d.get("b c").values(), (std::vector<double>{2, 4}));
}

TEST(CsvRead, WhitespaceSeparatedRuns) {
  TempDir dir;
  // No comma or tab in the header: fields are runs of blanks (rows may mix in tabs).
  Dataset d = csv_from(dir, "  pt   eta  phi\n1 2\t\t3\n   4    5 6   \n", {}, "data.txt");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"pt", "eta", "phi"}));
  EXPECT_EQ(d.get("pt").values(), (std::vector<double>{1, 4}));
  EXPECT_EQ(d.get("phi").values(), (std::vector<double>{3, 6}));
}

TEST(CsvRead, WindowsLineEndingsAndByteOrderMark) {
  TempDir dir;
  Dataset d = csv_from(dir, "\xEF\xBB\xBFx,y\r\n1,2\r\n3,4\r\n");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(d.get("y").values(), (std::vector<double>{2, 4}));
}

TEST(CsvRead, QuotedHeaderNames) {
  TempDir dir;
  Dataset d = csv_from(dir, "\"x\",\"a, b\",'z'\n1,2,3\n");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"x", "a, b", "z"}));
}

TEST(CsvRead, EmptyHeaderNameGetsAName) {
  TempDir dir;  // pandas' to_csv with its index column
  Dataset d = csv_from(dir, ",a\n0,1.5\n1,2.5\n");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"unnamed_0", "a"}));
}

TEST(CsvRead, NoTrailingNewlineAndBlankLines) {
  TempDir dir;
  Dataset d = csv_from(dir, "x,y\n1,2\n\n   \n3,4");
  EXPECT_EQ(d.get("x").values(), (std::vector<double>{1, 3}));
  // Blank lines still count for line numbers.
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n1,2\n\n3,q\n"); }),
            dir.file("data.csv") + ":4:2: expected a number in column 'y', found 'q'");
}

TEST(CsvRead, HeaderOnlyGivesZeroEvents) {
  TempDir dir;
  Dataset d = csv_from(dir, "x,y\n");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(d.events(), 0);
  EXPECT_EQ(d.get("x").shape(), (Shape{0}));
}

TEST(CsvRead, EmptyFileIsAnError) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { csv_from(dir, ""); }),
            dir.file("data.csv") + ": the file is empty; expected a header line of column names");
  EXPECT_EQ(error_of([&] { csv_from(dir, "\n  \n"); }),
            dir.file("data.csv") + ": the file is empty; expected a header line of column names");
}

TEST(CsvRead, TextInNumberColumnNamesFileLineColumn) {
  TempDir dir;
  std::string text = "x,y,z\n";
  for (int i = 0; i < 15; ++i) text += "1,2,3\n";
  text += "1,2,abc\n";  // line 17, field 3
  EXPECT_EQ(error_of([&] { csv_from(dir, text); }),
            dir.file("data.csv") + ":17:3: expected a number in column 'z', found 'abc'");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n1,2.5x\n"); }),
            dir.file("data.csv") + ":2:2: expected a number in column 'y', found '2.5x'");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n1,\n"); }),
            dir.file("data.csv") + ":2:2: expected a number in column 'y', found an empty cell");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x y\n1 0x10\n"); }),
            dir.file("data.csv") + ":2:2: expected a number in column 'y', found '0x10'");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n+-1,2\n"); }),
            dir.file("data.csv") + ":2:1: expected a number in column 'x', found '+-1'");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n1,1e999\n"); }),
            dir.file("data.csv") + ":2:2: expected a number in column 'y', found '1e999'");
}

TEST(CsvRead, RaggedRowsNameFileAndLine) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y,z\n1,2,3\n4,5\n"); }),
            dir.file("data.csv") + ":3: expected 3 fields (one per column), found 2");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n1,2,3\n"); }),
            dir.file("data.csv") + ":2: expected 2 fields (one per column), found 3");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x y\n1 2\n3\n", {}, "w.txt"); }),
            dir.file("w.txt") + ":3: expected 2 fields (one per column), found 1");
  EXPECT_EQ(error_of([&] { csv_from(dir, "x y\n1 2 3\n", {}, "w.txt"); }),
            dir.file("w.txt") + ":2: expected 2 fields (one per column), found 3");
}

TEST(CsvRead, DuplicateColumnNames) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { csv_from(dir, "x,y,x\n1,2,3\n"); }),
            dir.file("data.csv") + ":1:3: column name 'x' appears twice in the header (columns 1 and 3)");
}

TEST(CsvRead, NanAndInfRefusedByDefault) {
  TempDir dir;
  for (std::string cell : {"nan", "NaN", "inf", "-inf", "Infinity"}) {
    EXPECT_EQ(error_of([&] { csv_from(dir, "x,y\n1,2\n3," + cell + "\n"); }),
              dir.file("data.csv") + ":3:2: column 'y' holds '" + cell + "'; NaN and infinite values are refused")
        << cell;
  }
}

TEST(CsvRead, NanAndInfAcceptedWithAllowNan) {
  TempDir dir;
  ReadOptions allow;
  allow.allow_nan = true;
  Dataset d = csv_from(dir, "x\nnan\nNaN\ninf\n-inf\nInfinity\n-Infinity\n", allow);
  const auto& v = d.get("x").values();
  ASSERT_EQ(v.size(), 6u);
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
  EXPECT_EQ(v[2], INFINITY);
  EXPECT_EQ(v[3], -INFINITY);
  EXPECT_EQ(v[4], INFINITY);
  EXPECT_EQ(v[5], -INFINITY);
}

TEST(CsvRead, UnderflowReadsAsZeroLikeStrtod) {
  TempDir dir;
  Dataset d = csv_from(dir, "x\n1e-400\n-1e-400\n");
  EXPECT_TRUE(testing::same_bits(d.get("x")[0], 0.0));
  EXPECT_TRUE(testing::same_bits(d.get("x")[1], -0.0));
}

TEST(CsvRead, MissingFile) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { read_csv(dir.file("nope.csv")); }),
            "cannot open '" + dir.file("nope.csv") + "': No such file or directory");
}

TEST(CsvRoundTrip, AwkwardDoublesAreBitIdentical) {
  TempDir dir;
  Dataset d = testing::awkward_dataset();
  write_csv(d, dir.file("r.csv"));
  Dataset back = read_csv(dir.file("r.csv"));
  EXPECT_TRUE(testing::bit_identical(d, back));
  // Shortest round-trip text: no 0.10000000000000001.
  std::string text = testing::read_bytes(dir.file("r.csv"));
  EXPECT_EQ(text.substr(0, 17), "x,y_reversed\n0.1,");
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"r.csv"}));
}

TEST(CsvRoundTrip, NanAndInfWithAllowNan) {
  TempDir dir;
  Dataset d;
  d.add("v", Tensor({4}, {NAN, -NAN, INFINITY, -INFINITY}));
  write_csv(d, dir.file("n.csv"));
  EXPECT_EQ(testing::read_bytes(dir.file("n.csv")), "v\nnan\nnan\ninf\n-inf\n");
  ReadOptions allow;
  allow.allow_nan = true;
  Dataset back = read_csv(dir.file("n.csv"), allow);
  EXPECT_TRUE(std::isnan(back.get("v")[0]));
  EXPECT_EQ(back.get("v")[3], -INFINITY);
}

TEST(CsvRoundTrip, AwkwardNamesAreQuoted) {
  TempDir dir;
  Dataset d;
  d.add("a, b", Tensor({1}, {1.0}));
  d.add("say \"hi\"", Tensor({1}, {2.0}));
  d.add("plain", Tensor({1}, {3.0}));
  write_csv(d, dir.file("q.csv"));
  EXPECT_EQ(read_csv(dir.file("q.csv")).names(), d.names());
}

TEST(CsvWrite, TsvUsesTabs) {
  TempDir dir;
  Dataset d;
  d.add("a", Tensor({2}, {1, 2}));
  d.add("b", Tensor({2}, {0.5, -0.25}));
  write_csv(d, dir.file("t.tsv"));
  EXPECT_EQ(testing::read_bytes(dir.file("t.tsv")), "a\tb\n1\t0.5\n2\t-0.25\n");
  EXPECT_TRUE(testing::bit_identical(read_csv(dir.file("t.tsv")), d));
}

TEST(CsvWrite, NDTensorIsRefusedAndLeavesNoFile) {
  TempDir dir;
  Dataset d;
  d.add("x", Tensor({2}, {1, 2}));
  d.add("images", Tensor({2, 3, 4}));
  EXPECT_EQ(error_of([&] { write_csv(d, dir.file("out.csv")); }),
            "cannot write 'images' (shape [2, 3, 4]) to CSV '" + dir.file("out.csv") +
                "': CSV holds only 1-D columns; write .npz or .h5 instead");
  EXPECT_TRUE(dir.listing().empty());
}

TEST(CsvWrite, MissingDirectoryLeavesNoFile) {
  TempDir dir;
  Dataset d;
  d.add("x", Tensor({1}, {1}));
  std::string target = dir.file("sub/out.csv");
  EXPECT_EQ(error_of([&] { write_csv(d, target); }),
            "cannot write '" + target + "': directory '" + dir.file("sub") + "' does not exist");
  EXPECT_TRUE(dir.listing().empty());
}

TEST(CsvRead, ParsesManyRowsQuickly) {
  // Not a benchmark (bench/ has those), just a guard against an accidental slow path:
  // ~25 MB must parse well within a few seconds even on a busy machine.
  TempDir dir;
  std::string text = "a,b,c,d\n";
  for (int i = 0; i < 400000; ++i)
    text += format_double(i * 0.001) + "," + format_double(-i / 7.0) + "," + format_double(1e-5 * i) + ",1\n";
  write_bytes(dir.file("big.csv"), text);
  auto start = std::chrono::steady_clock::now();
  Dataset d = read_csv(dir.file("big.csv"));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(d.events(), 400000);
  EXPECT_EQ(d.get("b")[7], -1.0);
  double mb_per_s = static_cast<double>(text.size()) / 1e6 / seconds;
  RecordProperty("csv_read_MB_per_s", std::to_string(mb_per_s));
  std::printf("CSV read: %.1f MB in %.3f s = %.0f MB/s\n", static_cast<double>(text.size()) / 1e6, seconds, mb_per_s);
  EXPECT_LT(seconds, 5.0);
}

TEST(CsvRead, ErrorLineNumbersAreRightInLaterChunks) {
  // Big enough to be split into per-thread chunks; the bad cell sits in the last one,
  // after a blank line and some CRLF lines, so its line number is reconstructed.
  TempDir dir;
  int saved = thread_count();
  set_thread_count(4);
  std::string text = "a,b\n";
  Index line = 1;
  for (int i = 0; i < 1200000; ++i, ++line) text += "0.125,-3.5\n";
  text += "\n1,2\r\n";
  line += 2;
  text += "7,8x\n";
  line += 1;
  text += "1,2\n";
  testing::write_bytes(dir.file("big.csv"), text);
  std::string message = error_of([&] { read_csv(dir.file("big.csv")); });
  set_thread_count(saved);
  EXPECT_EQ(message,
            dir.file("big.csv") + ":" + std::to_string(line) + ":2: expected a number in column 'b', found '8x'");
}

}  // namespace
}  // namespace unbox
