// Chunked reading (data_stream.hpp): chunks of any size concatenate to the file read whole,
// for CSV, .npy and HDF5; file lists and globs; event ranges; the dist layer's split.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"

namespace unbox {
namespace {

std::filesystem::path temp_dir() {
  auto d = std::filesystem::temp_directory_path() /
           ("unbox_stream_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(d);
  return d;
}

Dataset sample(Index n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Dataset d;
  for (const char* name : {"a", "b", "label"}) {
    Tensor t({n});
    for (Index i = 0; i < n; ++i) t[i] = name[0] == 'l' ? static_cast<double>(i % 2) : g(rng);
    d.add(name, std::move(t));
  }
  return d;
}

void expect_same(const Dataset& a, const Dataset& b) {
  ASSERT_EQ(a.events(), b.events());
  ASSERT_EQ(a.names(), b.names());
  for (const auto& n : a.names()) {
    ASSERT_EQ(a.get(n).shape(), b.get(n).shape()) << n;
    for (Index i = 0; i < a.get(n).size(); ++i) ASSERT_EQ(a.get(n)[i], b.get(n)[i]) << n << " " << i;
  }
}

Dataset read_in_chunks(const std::string& spec, Index chunk, bool* streamed = nullptr) {
  ChunkReader r(spec);
  if (streamed) *streamed = r.streamed();
  Dataset all;
  while (true) {
    Dataset d = r.next(chunk);
    if (d.events() == 0) break;
    EXPECT_LE(d.events(), chunk);
    append_events(all, d);
  }
  return all;
}

TEST(DataStream, ChunksConcatenateToTheWholeFileInEveryFormat) {
  auto dir = temp_dir();
  Dataset d = sample(1234, 1);
  // An N-D array travels too (HDF5 hyperslab of a [N, 2, 3] dataset, .npz read whole).
  Tensor img({1234, 2, 3});
  for (Index i = 0; i < img.size(); ++i) img[i] = 0.5 * static_cast<double>(i);
  Dataset nd = d;
  nd.add("img", img);
  struct Case {
    std::string file;
    const Dataset* data;
    bool streamed;
  };
  for (const Case& c : {Case{"x.csv", &d, true}, Case{"x.h5", &nd, true}, Case{"x.npz", &nd, false}}) {
    const std::string path = (dir / c.file).string();
    write_dataset(*c.data, path);
    Dataset whole = read_dataset(path);
    for (Index chunk : {1, 100, 1234, 5000}) {
      bool streamed = false;
      Dataset chunks = read_in_chunks(path, chunk, &streamed);
      EXPECT_EQ(streamed, c.streamed) << c.file;
      expect_same(chunks, whole);
    }
    EXPECT_EQ(ChunkReader(path).events(), 1234) << c.file;
  }
  // A 2-D .npy (columns c0, c1, c2) by row ranges.
  const std::string npy = (dir / "x.npy").string();
  write_npy(d, npy);
  bool streamed = false;
  expect_same(read_in_chunks(npy, 77, &streamed), read_dataset(npy));
  EXPECT_TRUE(streamed);
  std::filesystem::remove_all(dir);
}

TEST(DataStream, ChunkSourceNamesTheEventsForMessages) {
  auto dir = temp_dir();
  const std::string path = (dir / "x.csv").string();
  write_dataset(sample(30, 2), path);
  ChunkReader r(path);
  r.next(10);
  EXPECT_EQ(r.next(10).source, path + " (events 11..20)");
  std::filesystem::remove_all(dir);
}

TEST(DataStream, BadCsvLineInALaterChunkNamesItsLineInTheFile) {
  auto dir = temp_dir();
  const std::string path = (dir / "bad.csv").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("a,b\n", f);
    for (int i = 0; i < 50; ++i) std::fprintf(f, "%d,%d\n", i, i);
    std::fputs("1,oops\n", f);  // line 52
    std::fclose(f);
  }
  ChunkReader r(path);
  r.next(20), r.next(20);
  try {
    r.next(20);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:52:2:"), std::string::npos) << e.what();  // file:line:column
  }
  std::filesystem::remove_all(dir);
}

TEST(DataStream, ListsGlobsAndRanges) {
  auto dir = temp_dir();
  std::vector<Dataset> parts = {sample(10, 3), sample(7, 4), sample(12, 5)};
  Dataset all;
  for (int k = 0; k < 3; ++k) {
    write_dataset(parts[static_cast<size_t>(k)], (dir / ("p" + std::to_string(k) + ".csv")).string());
    append_events(all, parts[static_cast<size_t>(k)]);
  }
  auto files = expand_data_files((dir / "p*.csv").string());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0], (dir / "p0.csv").string());
  EXPECT_EQ(expand_data_files("x.csv, y.npy").size(), 2u);
  EXPECT_THROW(expand_data_files((dir / "q*.csv").string()), Error);
  expect_same(read_datasets(files), all);
  // Events [5, 20) in chunks of 4: across the first two files, never spanning one.
  DataStream s(files);
  EXPECT_EQ(s.events(), 29);
  s.restrict(5, 20);
  Dataset got, d;
  std::vector<Index> sizes;
  while (s.next(4, d)) sizes.push_back(d.events()), append_events(got, d);
  EXPECT_EQ(sizes, (std::vector<Index>{4, 1, 4, 3, 3}));
  std::vector<Index> rows;
  for (Index i = 5; i < 20; ++i) rows.push_back(i);
  expect_same(got, all.subset(rows));
  std::filesystem::remove_all(dir);
}

TEST(Dist, SplitIsContiguousBalancedAndCoversEverything) {
  for (Index total : {0, 1, 7, 9000, 9001}) {
    for (int n : {1, 2, 3, 4}) {
      Index next = 0, smallest = total, largest = 0;
      for (int r = 0; r < n; ++r) {
        auto range = dist::split(total, r, n);
        EXPECT_EQ(range.begin, next);
        next = range.end;
        smallest = std::min(smallest, range.count()), largest = std::max(largest, range.count());
      }
      EXPECT_EQ(next, total);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  EXPECT_EQ(dist::size(), 1);  // a test binary is not started by mpirun
  auto g = dist::gather("x");
  EXPECT_EQ(g, std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace unbox
