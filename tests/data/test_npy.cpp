// NumPy .npy/.npz: dtypes, byte orders, Fortran order, format versions, zip layouts
// (stored, deflated, zip64 extra fields), error messages, round trips.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>

#include "io_test_helpers.hpp"

namespace unbox {
namespace {

using testing::error_of;
using testing::TempDir;
using testing::write_bytes;

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
void put64(std::string& s, std::uint64_t v) {
  put32(s, static_cast<std::uint32_t>(v));
  put32(s, static_cast<std::uint32_t>(v >> 32));
}

// A .npy file with the given header fields and raw data, as numpy would write it.
std::string npy(const std::string& descr, bool fortran, const std::string& shape, const std::string& data,
                int version = 1) {
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64) dict += ' ';
  dict += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  if (version == 1)
    put16(out, static_cast<std::uint32_t>(dict.size()));
  else
    put32(out, static_cast<std::uint32_t>(dict.size()));
  return out + dict + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values, bool big_endian = false) {
  std::string out;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big_endian) std::reverse(b, b + sizeof(T));
    out.append(b, sizeof(T));
  }
  return out;
}

struct ZipMember {
  std::string name, data;
  bool deflate = false;
};

// A zip archive like Python's zipfile writes; `zip64_extras` puts zip64 extra fields
// (sizes and offset as 64-bit values) in the central directory, as for > 4 GiB members.
std::string zip(const std::vector<ZipMember>& members, bool zip64_extras = false) {
  std::string out, cd;
  for (const ZipMember& m : members) {
    std::string body = m.data;
    if (m.deflate) {
      z_stream zs{};
      deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      std::string buf(deflateBound(&zs, m.data.size()), '\0');
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(m.data.data()));
      zs.avail_in = static_cast<uInt>(m.data.size());
      zs.next_out = reinterpret_cast<Bytef*>(buf.data());
      zs.avail_out = static_cast<uInt>(buf.size());
      deflate(&zs, Z_FINISH);
      buf.resize(zs.total_out);
      deflateEnd(&zs);
      body = buf;
    }
    std::uint32_t crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
    std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, m.deflate ? 8 : 0);
    put32(out, 0);
    put32(out, crc);
    put32(out, static_cast<std::uint32_t>(body.size()));
    put32(out, static_cast<std::uint32_t>(m.data.size()));
    put16(out, static_cast<std::uint32_t>(m.name.size()));
    put16(out, 0);
    out += m.name + body;
    std::string extra;
    if (zip64_extras) {
      put16(extra, 1);
      put16(extra, 24);
      put64(extra, m.data.size());
      put64(extra, body.size());
      put64(extra, offset);
    }
    put32(cd, 0x02014b50);
    put16(cd, 45);
    put16(cd, 45);
    put16(cd, 0);
    put16(cd, m.deflate ? 8 : 0);
    put32(cd, 0);
    put32(cd, crc);
    put32(cd, zip64_extras ? 0xFFFFFFFFu : static_cast<std::uint32_t>(body.size()));
    put32(cd, zip64_extras ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.data.size()));
    put16(cd, static_cast<std::uint32_t>(m.name.size()));
    put16(cd, static_cast<std::uint32_t>(extra.size()));
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put32(cd, 0);
    put32(cd, zip64_extras ? 0xFFFFFFFFu : offset);
    cd += m.name + extra;
  }
  std::uint32_t cd_offset = static_cast<std::uint32_t>(out.size());
  out += cd;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(members.size()));
  put16(out, static_cast<std::uint32_t>(members.size()));
  put32(out, static_cast<std::uint32_t>(cd.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

// UTF-32 little-endian text array data for '<U{width}'.
std::string utf32(const std::vector<std::u32string>& items, size_t width) {
  std::string out;
  for (const auto& s : items)
    for (size_t i = 0; i < width; ++i) put32(out, i < s.size() ? static_cast<std::uint32_t>(s[i]) : 0);
  return out;
}

TEST(NpyRead, TwoDimensionalFloat64ColumnsAreNamedC0C1) {
  TempDir dir;
  write_bytes(dir.file("t.npy"), npy("<f8", false, "(2, 3)", raw<double>({1, 2, 3, 4, 5, 6})));
  Dataset d = read_npy(dir.file("t.npy"));
  EXPECT_EQ(d.names(), (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_EQ(d.get("c0").values(), (std::vector<double>{1, 4}));
  EXPECT_EQ(d.get("c2").values(), (std::vector<double>{3, 6}));
}

TEST(NpyRead, OneDimensionalIsAColumnNamedAfterTheFile) {
  TempDir dir;
  write_bytes(dir.file("met.npy"), npy("<f4", false, "(3,)", raw<float>({1.5f, -2.f, 0.1f})));
  Dataset d = read_npy(dir.file("met.npy"));
  EXPECT_EQ(d.names(), (std::vector<std::string>{"met"}));
  EXPECT_EQ(d.get("met").values(), (std::vector<double>{1.5, -2.0, static_cast<double>(0.1f)}));
}

TEST(NpyRead, HigherRankIsOneTensorNamedAfterTheFile) {
  TempDir dir;
  write_bytes(dir.file("img.npy"), npy("<i8", false, "(2, 2, 2)", raw<std::int64_t>({0, 1, 2, 3, 4, 5, 6, 7})));
  Dataset d = read_npy(dir.file("img.npy"));
  EXPECT_EQ(d.names(), (std::vector<std::string>{"img"}));
  EXPECT_EQ(d.get("img").shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(d.get("img").values(), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(NpyRead, EveryIntegerFloatAndBoolDtype) {
  TempDir dir;
  struct Case {
    std::string descr, data;
    std::vector<double> expected;
  };
  std::vector<Case> cases = {
      {"<f4", raw<float>({-1.25f, 3.f}), {-1.25, 3}},
      {"<f8", raw<double>({-1.25, 1e300}), {-1.25, 1e300}},
      {">f8", raw<double>({-1.25, 1e300}, true), {-1.25, 1e300}},
      {">f4", raw<float>({-1.25f, 3.f}, true), {-1.25, 3}},
      {"|i1", raw<std::int8_t>({-128, 127}), {-128, 127}},
      {"<i2", raw<std::int16_t>({-32768, 7}), {-32768, 7}},
      {"<i4", raw<std::int32_t>({-2147483647 - 1, 9}), {-2147483648.0, 9}},
      {">i4", raw<std::int32_t>({-5, 9}, true), {-5, 9}},
      {"<i8", raw<std::int64_t>({-(1LL << 53), 1LL << 40}), {-9007199254740992.0, 1099511627776.0}},
      {"|u1", raw<std::uint8_t>({0, 255}), {0, 255}},
      {"<u2", raw<std::uint16_t>({65535, 1}), {65535, 1}},
      {"<u4", raw<std::uint32_t>({4294967295u, 2}), {4294967295.0, 2}},
      {"<u8", raw<std::uint64_t>({1ULL << 63, 3}), {9223372036854775808.0, 3}},
      {"|b1", raw<std::uint8_t>({1, 0}), {1, 0}},
  };
  for (const Case& c : cases) {
    write_bytes(dir.file("v.npy"), npy(c.descr, false, "(2,)", c.data));
    Dataset d = read_npy(dir.file("v.npy"));
    EXPECT_EQ(d.get("v").values(), c.expected) << c.descr;
  }
}

TEST(NpyRead, FortranOrderIsTransposedToEventsFirst) {
  TempDir dir;
  // A = [[1, 2, 3], [4, 5, 6]] in Fortran order: 1 4 2 5 3 6.
  write_bytes(dir.file("f.npy"), npy("<f8", true, "(2, 3)", raw<double>({1, 4, 2, 5, 3, 6})));
  Dataset d = read_npy(dir.file("f.npy"));
  EXPECT_EQ(d.get("c0").values(), (std::vector<double>{1, 4}));
  EXPECT_EQ(d.get("c1").values(), (std::vector<double>{2, 5}));
  // 3-D: element (i, j, k) = 100 i + 10 j + k, shape (2, 2, 3), Fortran order.
  std::string data;
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 2; ++j)
      for (int i = 0; i < 2; ++i) data += raw<double>({100.0 * i + 10.0 * j + k});
  write_bytes(dir.file("g.npy"), npy("<f8", true, "(2, 2, 3)", data));
  Tensor t = read_npy(dir.file("g.npy")).get("g");
  ASSERT_EQ(t.shape(), (Shape{2, 2, 3}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(t[i * 6 + j * 3 + k], 100.0 * i + 10.0 * j + k);
}

TEST(NpyRead, FormatVersions2And3) {
  TempDir dir;
  for (int version : {2, 3}) {
    write_bytes(dir.file("v.npy"), npy("<f8", false, "(2,)", raw<double>({0.5, 1.5}), version));
    EXPECT_EQ(read_npy(dir.file("v.npy")).get("v").values(), (std::vector<double>{0.5, 1.5})) << version;
  }
}

TEST(NpyRead, UnsupportedDtypesAreClearErrors) {
  TempDir dir;
  std::string f = dir.file("z.npy");
  write_bytes(f, npy("<c16", false, "(1,)", std::string(16, '\0')));
  EXPECT_EQ(error_of([&] { read_npy(f); }),
            "'" + f +
                "' has the unsupported dtype '<c16' (complex numbers); expected float32/float64, "
                "int8..int64, uint8..uint64 or bool");
  write_bytes(f, npy("|O", false, "(1,)", std::string(8, '\0')));
  EXPECT_EQ(error_of([&] { read_npy(f); }),
            "'" + f +
                "' has the unsupported dtype '|O' (Python objects); expected float32/float64, "
                "int8..int64, uint8..uint64 or bool");
  write_bytes(f, npy("<U3", false, "(1,)", std::string(12, '\0')));
  EXPECT_EQ(error_of([&] { read_npy(f); }), "'" + f +
                                                "' has the unsupported dtype '<U3' (text); expected float32/float64, "
                                                "int8..int64, uint8..uint64 or bool");
}

TEST(NpyRead, TruncatedDataIsAnError) {
  TempDir dir;
  std::string f = dir.file("t.npy");
  write_bytes(f, npy("<f8", false, "(3, 4)", raw<double>({1, 2, 3, 4, 5})));
  EXPECT_EQ(error_of([&] { read_npy(f); }),
            "'" + f + "' is truncated: its header promises [3, 4] '<f8' values (96 bytes) but only 40 bytes follow");
  write_bytes(f, npy("<f8", false, "(3, 4)", "").substr(0, 30));
  EXPECT_EQ(error_of([&] { read_npy(f); }), "'" + f + "' is truncated (the .npy header is cut off)");
}

TEST(NpyRead, BadMagicIsAnError) {
  TempDir dir;
  std::string f = dir.file("x.npy");
  write_bytes(f, "x,y\n1,2\n");
  EXPECT_EQ(error_of([&] { read_npy(f); }),
            "'" + f + "' is not a NumPy .npy array (expected the magic bytes \\x93NUMPY at the start)");
}

TEST(NpyRead, NanRefusedUnlessAllowed) {
  TempDir dir;
  std::string f = dir.file("n.npy");
  write_bytes(f, npy("<f8", false, "(2, 2)", raw<double>({1, 2, 3, NAN})));
  EXPECT_EQ(error_of([&] { read_npy(f); }),
            "'" + f + "' holds nan at event 2 (element [1]); NaN and infinite values are refused");
  ReadOptions allow;
  allow.allow_nan = true;
  EXPECT_TRUE(std::isnan(read_npy(f, allow).get("c1")[1]));
}

TEST(NpyRoundTrip, AwkwardDoublesAreBitIdentical) {
  TempDir dir;
  Dataset d = testing::awkward_dataset();
  write_npy(d, dir.file("a.npy"));
  Dataset back = read_npy(dir.file("a.npy"));
  ASSERT_EQ(back.names(), (std::vector<std::string>{"c0", "c1"}));  // names are not stored in .npy
  EXPECT_TRUE(testing::bit_identical(back.get("c0"), d.get("x")));
  EXPECT_TRUE(testing::bit_identical(back.get("c1"), d.get("y_reversed")));
  // The data starts on a 64-byte boundary, as numpy aligns it.
  std::string bytes = testing::read_bytes(dir.file("a.npy"));
  EXPECT_EQ((bytes.size() - d.events() * 2 * 8) % 64, 0u);
}

TEST(NpyWrite, NDTensorIsRefusedAndLeavesNoFile) {
  TempDir dir;
  Dataset d;
  d.add("x", Tensor({2}, {1, 2}));
  d.add("jets", Tensor({2, 4, 3}));
  EXPECT_EQ(error_of([&] { write_npy(d, dir.file("o.npy")); }),
            "cannot write 'jets' (shape [2, 4, 3]) to '" + dir.file("o.npy") +
                "': a .npy file holds one 2-D table of 1-D columns; write .npz or .h5 to keep N-D arrays");
  EXPECT_TRUE(dir.listing().empty());
}

TEST(NpzRoundTrip, ColumnsAndTensorsKeepNamesShapesAndBits) {
  TempDir dir;
  Dataset d = testing::awkward_dataset();
  Index n = d.events();
  Tensor images({n, 2, 3});
  for (Index i = 0; i < images.size(); ++i) images[i] = 0.1 * static_cast<double>(i) - 1.0 / 3.0;
  d.add("images", images);
  write_npz(d, dir.file("a.npz"));
  Dataset back = read_npz(dir.file("a.npz"));
  EXPECT_TRUE(testing::bit_identical(d, back));
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"a.npz"}));
}

TEST(NpzRoundTrip, ZeroEvents) {
  TempDir dir;
  Dataset d;
  d.add("x", Tensor({0}));
  d.add("t", Tensor({0, 3}));
  write_npz(d, dir.file("e.npz"));
  Dataset back = read_npz(dir.file("e.npz"));
  EXPECT_EQ(back.names(), d.names());
  EXPECT_EQ(back.get("t").shape(), (Shape{0, 3}));
}

TEST(NpzRead, StoredDeflatedAndZip64CentralDirectory) {
  TempDir dir;
  std::string x = npy("<f8", false, "(3,)", raw<double>({1, 2, 3}));
  std::string y = npy("<i8", false, "(3,)", raw<std::int64_t>({0, 1, 1}));
  for (bool zip64 : {false, true}) {
    write_bytes(dir.file("z.npz"), zip({{"x.npy", x, false}, {"label.npy", y, true}}, zip64));
    Dataset d = read_npz(dir.file("z.npz"));
    EXPECT_EQ(d.names(), (std::vector<std::string>{"x", "label"}));
    EXPECT_EQ(d.get("label").values(), (std::vector<double>{0, 1, 1})) << zip64;
  }
}

TEST(NpzRead, SingleTwoDimensionalArrayIsSplitIntoColumns) {
  TempDir dir;
  std::string a = npy("<f8", false, "(2, 2)", raw<double>({1, 2, 3, 4}));
  write_bytes(dir.file("z.npz"), zip({{"data.npy", a}}));
  EXPECT_EQ(read_npz(dir.file("z.npz")).names(), (std::vector<std::string>{"c0", "c1"}));
}

TEST(NpzRead, ColumnsArrayNamesTheTableUtf32AndBytes) {
  TempDir dir;
  std::string a = npy("<f8", false, "(2, 2)", raw<double>({1, 2, 3, 4}));
  std::string l = npy("<f8", false, "(2,)", raw<double>({0, 1}));
  std::string names_u = npy("<U3", false, "(2,)", utf32({U"pt", U"\u03b7"}, 3));
  write_bytes(dir.file("u.npz"), zip({{"data.npy", a}, {"columns.npy", names_u}, {"label.npy", l}}));
  Dataset d = read_npz(dir.file("u.npz"));
  EXPECT_EQ(d.names(), (std::vector<std::string>{"pt", "\xce\xb7", "label"}));
  EXPECT_EQ(d.get("\xce\xb7").values(), (std::vector<double>{2, 4}));
  std::string names_s = npy("|S3", false, "(2,)", std::string("pt\0eta", 6));
  write_bytes(dir.file("s.npz"), zip({{"columns.npy", names_s, true}, {"data.npy", a, true}}));
  EXPECT_EQ(read_npz(dir.file("s.npz")).names(), (std::vector<std::string>{"pt", "eta"}));
  // A names array that fits no table is an error, not a silent mismatch.
  std::string three = npy("<U1", false, "(3,)", utf32({U"a", U"b", U"c"}, 1));
  write_bytes(dir.file("m.npz"), zip({{"data.npy", a}, {"columns.npy", three}}));
  EXPECT_EQ(error_of([&] { read_npz(dir.file("m.npz")); }),
            "'" + dir.file("m.npz") +
                "' has a 'columns' array of 3 names but 0 2-D arrays with 3 columns; expected exactly one");
}

TEST(NpzRead, ArraysOfDifferentLengthsAreAnError) {
  TempDir dir;
  std::string a = npy("<f8", false, "(2,)", raw<double>({1, 2}));
  std::string b = npy("<f8", false, "(3,)", raw<double>({1, 2, 3}));
  write_bytes(dir.file("z.npz"), zip({{"a.npy", a}, {"b.npy", b}}));
  EXPECT_EQ(error_of([&] { read_npz(dir.file("z.npz")); }),
            "column 'b' in '" + dir.file("z.npz") + "' has 3 events, the others 2");
}

TEST(NpzRead, BrokenArchivesAreClearErrors) {
  TempDir dir;
  std::string f = dir.file("z.npz");
  std::string good = zip({{"x.npy", npy("<f8", false, "(3,)", raw<double>({1, 2, 3}))}});
  write_bytes(f, good.substr(0, good.size() - 30));
  EXPECT_EQ(error_of([&] { read_npz(f); }),
            "'" + f + "' is not a readable NumPy .npz (zip) archive: no end of central directory (truncated?)");
  write_bytes(f, "hello, this is not a zip file at all");
  EXPECT_EQ(error_of([&] { read_npz(f); }), "'" + f + "' is not a readable NumPy .npz (zip) archive: no zip signature");
  std::string corrupt = good;
  corrupt[60] ^= 0x55;  // inside the member's data
  write_bytes(f, corrupt);
  EXPECT_EQ(error_of([&] { read_npz(f); }),
            "'" + f + "' is not a readable NumPy .npz (zip) archive: member 'x.npy' fails its CRC check (corrupt)");
  write_bytes(f, zip({{"x.npy", npy("<c16", false, "(1,)", std::string(16, '\0'))}}));
  EXPECT_EQ(error_of([&] { read_npz(f); }),
            "array 'x' in '" + f +
                "' has the unsupported dtype '<c16' (complex numbers); expected float32/float64, "
                "int8..int64, uint8..uint64 or bool");
}

}  // namespace
}  // namespace unbox
