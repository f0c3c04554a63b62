// HDF5 through unbox's own writer and reader: round trips, group paths, column order,
// error messages. Files written by h5py/pandas are checked in tests/python/test_io.py.
#include <gtest/gtest.h>

#include <cmath>

#include "io_test_helpers.hpp"

namespace unbox {
namespace {

using testing::error_of;
using testing::TempDir;

Dataset mixed_dataset() {
  Dataset d = testing::awkward_dataset();
  Index n = d.events();
  Tensor jets({n, 3, 2});
  for (Index i = 0; i < jets.size(); ++i) jets[i] = std::sqrt(static_cast<double>(i)) - 2.0;
  d.add("jets", jets);
  // Deliberately not alphabetical: the order must survive the round trip.
  d.add("a_label", Tensor({n}, 1.0));
  return d;
}

TEST(Hdf5RoundTrip, RootGroupBitIdenticalAndInOrder) {
  TempDir dir;
  Dataset d = mixed_dataset();
  write_hdf5(d, dir.file("r.h5"));
  Dataset back = read_hdf5(dir.file("r.h5"), "");
  EXPECT_TRUE(testing::bit_identical(d, back));
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"r.h5"}));
  // "/" names the root explicitly.
  EXPECT_TRUE(testing::bit_identical(d, read_hdf5(dir.file("r.h5"), "/")));
}

TEST(Hdf5RoundTrip, NestedGroupIsCreatedAndFoundAutomatically) {
  TempDir dir;
  Dataset d = mixed_dataset();
  write_hdf5(d, dir.file("g.h5"), "/events/run1");
  EXPECT_TRUE(testing::bit_identical(d, read_hdf5(dir.file("g.h5"), "/events/run1")));
  EXPECT_TRUE(testing::bit_identical(d, read_hdf5(dir.file("g.h5"), "events/run1/")));
  // A single top-level group is the table when no path is given ... but here the
  // single group holds only a group, so its listing is the message.
  EXPECT_EQ(error_of([&] { read_hdf5(dir.file("g.h5"), ""); }),
            "'" + dir.file("g.h5") +
                ":/events' holds no numeric datasets; it holds: group 'run1' (select a table with file.h5:/path)");
  write_hdf5(d, dir.file("one.h5"), "/events");
  EXPECT_TRUE(testing::bit_identical(d, read_hdf5(dir.file("one.h5"), "")));
}

TEST(Hdf5Read, SingleDatasetSelectedByPath) {
  TempDir dir;
  Dataset d = mixed_dataset();
  write_hdf5(d, dir.file("r.h5"));
  Dataset x = read_hdf5(dir.file("r.h5"), "/x");
  EXPECT_EQ(x.names(), (std::vector<std::string>{"x"}));
  EXPECT_TRUE(testing::bit_identical(x.get("x"), d.get("x")));
  Dataset jets = read_hdf5(dir.file("r.h5"), "/jets");
  EXPECT_EQ(jets.names(), (std::vector<std::string>{"jets"}));
  EXPECT_EQ(jets.get("jets").shape(), (Shape{d.events(), 3, 2}));
}

TEST(Hdf5Read, MissingPathListsWhatIsThere) {
  TempDir dir;
  Dataset d;
  d.add("pt", Tensor({2}, {1, 2}));
  d.add("img", Tensor({2, 2, 2}));
  write_hdf5(d, dir.file("m.h5"), "/events");
  std::string f = dir.file("m.h5");
  EXPECT_EQ(error_of([&] { read_hdf5(f, "/nope"); }), "no '/nope' in '" + f + "'; '/' holds: group 'events'");
  EXPECT_EQ(error_of([&] { read_hdf5(f, "/events/eta"); }),
            "no '/events/eta' in '" + f + "'; '/events' holds: dataset 'pt' [2], dataset 'img' [2, 2, 2]");
  EXPECT_EQ(error_of([&] { read_hdf5(f, "/events/pt/deeper"); }),
            "no '/events/pt/deeper' in '" + f + "': '/events/pt' is a dataset, not a group");
}

TEST(Hdf5Read, NotAnHdf5FileAndMissingFile) {
  TempDir dir;
  std::string f = dir.file("fake.h5");
  testing::write_bytes(f, "x,y\n1,2\n");
  EXPECT_EQ(error_of([&] { read_hdf5(f, ""); }), "'" + f + "' is not an HDF5 file (no HDF5 signature found)");
  EXPECT_EQ(error_of([&] { read_hdf5(dir.file("none.h5"), ""); }),
            "cannot open '" + dir.file("none.h5") + "': No such file or directory");
}

TEST(Hdf5Read, NanRefusedUnlessAllowed) {
  TempDir dir;
  Dataset d;
  d.add("x", Tensor({3}, {1, INFINITY, 3}));
  write_hdf5(d, dir.file("n.h5"));
  std::string f = dir.file("n.h5");
  EXPECT_EQ(error_of([&] { read_hdf5(f, ""); }),
            "'" + f + ":/x' holds inf at event 2; NaN and infinite values are refused");
  ReadOptions allow;
  allow.allow_nan = true;
  EXPECT_EQ(read_hdf5(f, "", allow).get("x")[1], INFINITY);
}

TEST(Hdf5Write, BadColumnNameOrMissingDirectoryLeavesNoFile) {
  TempDir dir;
  Dataset d;
  d.add("a/b", Tensor({1}, {1}));
  EXPECT_EQ(error_of([&] { write_hdf5(d, dir.file("o.h5")); }),
            "cannot write '" + dir.file("o.h5") + "': column name 'a/b' cannot be an HDF5 dataset name");
  Dataset ok;
  ok.add("x", Tensor({1}, {1}));
  std::string target = dir.file("sub/o.h5");
  EXPECT_EQ(error_of([&] { write_hdf5(ok, target); }),
            "cannot write '" + target + "': directory '" + dir.file("sub") + "' does not exist");
  EXPECT_TRUE(dir.listing().empty());
}

TEST(Hdf5Write, OverwritesAnExistingFileWhole) {
  TempDir dir;
  Dataset a;
  a.add("x", Tensor({2}, {1, 2}));
  a.add("y", Tensor({2}, {3, 4}));
  write_hdf5(a, dir.file("w.h5"));
  Dataset b;
  b.add("z", Tensor({1}, {5}));
  write_hdf5(b, dir.file("w.h5"));
  EXPECT_EQ(read_hdf5(dir.file("w.h5"), "").names(), (std::vector<std::string>{"z"}));
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"w.h5"}));
}

}  // namespace
}  // namespace unbox
