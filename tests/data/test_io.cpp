// Format dispatch (read_dataset / write_dataset), format_double, and the messages that
// cross formats: missing file, unknown extension, missing column, failed writes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "io_test_helpers.hpp"

namespace unbox {
namespace {

using testing::error_of;
using testing::TempDir;

TEST(IoFormatDouble, ShortestRoundTripText) {
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(1e-300), "1e-300");
  EXPECT_EQ(format_double(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(format_double(42.0), "42");
  EXPECT_EQ(format_double(-0.0), "-0");
  EXPECT_EQ(format_double(1e22), "1e+22");
  EXPECT_EQ(format_double(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(format_double(5e-324), "5e-324");
  EXPECT_EQ(format_double(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(format_double(INFINITY), "inf");
  EXPECT_EQ(format_double(-INFINITY), "-inf");
  for (double v : testing::awkward_doubles()) {
    std::string text = format_double(v);
    EXPECT_TRUE(testing::same_bits(std::strtod(text.c_str(), nullptr), v)) << text;
  }
}

TEST(IoDispatch, EveryExtensionRoundTripsAndSetsSource) {
  TempDir dir;
  Dataset d = testing::awkward_dataset();
  for (std::string name : {"a.csv", "a.tsv", "a.txt", "a.npz", "a.h5", "a.hdf5", "a.hdf", "A.CSV"}) {
    std::string spec = dir.file(name);
    write_dataset(d, spec);
    Dataset back = read_dataset(spec);
    EXPECT_TRUE(testing::bit_identical(d, back)) << name;
    EXPECT_EQ(back.source, spec);
  }
  // .npy keeps the values but not the names.
  write_dataset(d, dir.file("a.npy"));
  Dataset back = read_dataset(dir.file("a.npy"));
  EXPECT_TRUE(testing::bit_identical(back.get("c1"), d.get("y_reversed")));
}

TEST(IoDispatch, Hdf5GroupAfterTheLastColon) {
  TempDir dir;
  Dataset d = testing::awkward_dataset();
  std::string spec = dir.file("g.h5") + ":/physics/events";
  write_dataset(d, spec);
  Dataset back = read_dataset(spec);
  EXPECT_TRUE(testing::bit_identical(d, back));
  EXPECT_EQ(back.source, spec);
  // A colon in a non-HDF5 name is part of the name.
  std::string odd = dir.file("run:3.csv");
  write_dataset(d, odd);
  EXPECT_TRUE(testing::bit_identical(d, read_dataset(odd)));
}

TEST(IoDispatch, UnknownExtensionListsTheSupportedOnes) {
  TempDir dir;
  Dataset d = testing::awkward_dataset();
  EXPECT_EQ(error_of([&] { read_dataset("events.parquet"); }),
            "cannot read 'events.parquet': unknown file type '.parquet'; supported: .csv, .tsv, .txt, .npy, .npz, "
            ".h5, .hdf5, .hdf");
  EXPECT_EQ(error_of([&] { write_dataset(d, dir.file("events")); }),
            "cannot write '" + dir.file("events") +
                "': unknown file type (no extension); supported: .csv, .tsv, .txt, .npy, .npz, .h5, .hdf5, .hdf");
  EXPECT_TRUE(dir.listing().empty());
}

TEST(IoDispatch, MissingFileForEveryFormat) {
  for (std::string name : {"x.csv", "x.npy", "x.npz", "x.h5"})
    EXPECT_EQ(error_of([&] { read_dataset(name); }), "cannot open '" + name + "': No such file or directory");
  EXPECT_EQ(error_of([&] { read_dataset("x.h5:/events"); }), "cannot open 'x.h5': No such file or directory");
}

TEST(IoDataset, MissingColumnNamesTheSourceAndWhatItHas) {
  TempDir dir;
  Dataset d;
  d.add("pt", Tensor({1}, {1}));
  d.add("eta", Tensor({1}, {2}));
  write_dataset(d, dir.file("d.csv"));
  Dataset back = read_dataset(dir.file("d.csv"));
  EXPECT_EQ(error_of([&] { back.get("phi"); }), "no column 'phi' in '" + dir.file("d.csv") + "'; it has: pt, eta");
}

TEST(IoWrite, FailedWritesLeaveNoFileInAnyFormat) {
  TempDir dir;
  Dataset d;
  d.add("x", Tensor({2}, {1, 2}));
  d.add("cube", Tensor({2, 2, 2}));
  for (std::string name : {"o.csv", "o.npy"}) {
    EXPECT_FALSE(error_of([&] { write_dataset(d, dir.file(name)); }).empty()) << name;
  }
  Dataset columns;
  columns.add("x", Tensor({2}, {1, 2}));
  for (std::string name : {"o.csv", "o.npy", "o.npz", "o.h5"}) {
    std::string target = dir.file("missing/" + name);
    EXPECT_EQ(error_of([&] { write_dataset(columns, target); }),
              "cannot write '" + target + "': directory '" + dir.file("missing") + "' does not exist");
  }
  EXPECT_TRUE(dir.listing().empty());
}

TEST(IoWrite, EmptyDatasetToCsvIsAnError) {
  TempDir dir;
  Dataset empty;
  EXPECT_EQ(error_of([&] { write_dataset(empty, dir.file("e.csv")); }),
            "cannot write '" + dir.file("e.csv") + "': the dataset has no columns");
  EXPECT_TRUE(dir.listing().empty());
}

}  // namespace
}  // namespace unbox
