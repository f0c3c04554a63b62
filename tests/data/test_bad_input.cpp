// Bad input (issue 15) at the library level: the memory budget, sizes checked before
// allocating, CR-only CSV line ends, files without events, training data that cannot be
// used, and the atomic-output cleanup on SIGINT/SIGTERM.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "data/io_test_helpers.hpp"
#include "unbox/core.hpp"
#include "unbox/data.hpp"

using namespace unbox;
using unbox::testing::error_of;
using unbox::testing::TempDir;
using unbox::testing::write_bytes;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Sets UNBOX_MEMORY_BUDGET for one scope.
struct Budget {
  explicit Budget(const char* value) { setenv("UNBOX_MEMORY_BUDGET", value, 1); }
  ~Budget() { unsetenv("UNBOX_MEMORY_BUDGET"); }
};

std::string npy(const std::string& descr, const std::string& shape, const std::string& payload) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + dict.size() + 1;
  dict.append((total + 63) / 64 * 64 - total, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + payload;
}

}  // namespace

TEST(MemoryBudget, ParsesSizesAndPercentages) {
  const std::uint64_t phys = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  {
    Budget b("2G");
    EXPECT_EQ(memory_budget(), std::uint64_t{2} << 30);
  }
  {
    Budget b("512MiB");
    EXPECT_EQ(memory_budget(), std::uint64_t{512} << 20);
  }
  {
    Budget b("123456");
    EXPECT_EQ(memory_budget(), 123456u);
  }
  {
    Budget b("25%");
    EXPECT_NEAR(static_cast<double>(memory_budget()), phys / 4.0, 1.0);
  }
  {
    Budget b("lots");
    EXPECT_TRUE(contains(error_of([] { memory_budget(); }), "UNBOX_MEMORY_BUDGET='lots' is not a size"));
  }
  // Default: half of physical memory (no address-space limit in the test run).
  EXPECT_NEAR(static_cast<double>(memory_budget()), phys / 2.0, 1.0);
  EXPECT_EQ(saturating_product(std::uint64_t{1} << 40, std::uint64_t{1} << 40), UINT64_MAX);
  EXPECT_EQ(saturating_product(6, 7), 42u);
}

TEST(MemoryBudget, NpyBeyondTheBudgetIsRefusedNamingFileAndSize) {
  TempDir dir;
  // 1000 x 200 float32 values: 800 kB in the file, 1.6 MB as doubles.
  std::string path = dir.file("big.npy");
  write_bytes(path, npy("<f4", "1000, 200", std::string(1000 * 200 * 4, '\0')));
  {
    Budget b("1M");
    std::string msg = error_of([&] { read_npy(path); });
    EXPECT_TRUE(contains(msg, path)) << msg;
    EXPECT_TRUE(contains(msg, "1600000 bytes")) << msg;
    EXPECT_TRUE(contains(msg, "memory budget of 1 MiB")) << msg;
  }
  EXPECT_EQ(read_npy(path).events(), 1000);
}

TEST(MemoryBudget, NpyHeaderClaimingMoreThanTheFileIsRefusedBeforeAllocating) {
  TempDir dir;
  std::string path = dir.file("claims.npy");
  write_bytes(path, npy("<f8", "1000000000000, 4", std::string(64, '\0')));
  std::string msg = error_of([&] { read_npy(path); });
  EXPECT_TRUE(contains(msg, "truncated")) << msg;
  EXPECT_TRUE(contains(msg, "32000000000000 bytes")) << msg;  // 10^12 * 4 * 8
}

TEST(BadInputCsv, CrOnlyLineEndsReadAsLines) {
  TempDir dir;
  std::string path = dir.file("mac.csv");
  write_bytes(path, "a,b\r1,2\r3,4.5\r\r5,6");
  Dataset d = read_csv(path);
  ASSERT_EQ(d.events(), 3);
  EXPECT_EQ(d.get("a").values(), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(d.get("b").values(), (std::vector<double>{2, 4.5, 6}));
  // A bad cell is reported on the line an editor shows.
  write_bytes(path, "a,b\r1,2\r3,x\r");
  EXPECT_EQ(error_of([&] { read_csv(path); }), path + ":3:2: expected a number in column 'b', found 'x'");
}

TEST(BadInputCsv, HeaderOnlyHasNoEvents) {
  TempDir dir;
  std::string path = dir.file("header.csv");
  write_bytes(path, "a,b,label\n\n");
  EXPECT_EQ(read_csv(path).events(), 0);            // the format reader is faithful ...
  EXPECT_EQ(error_of([&] { read_dataset(path); }),  // ... every use of a data file needs events
            "'" + path + "' holds no events: only a header line, no data rows");
  std::string npy_path = dir.file("empty.npy");
  write_bytes(npy_path, npy("<f8", "0, 3", ""));
  EXPECT_EQ(error_of([&] { read_dataset(npy_path); }), "'" + npy_path + "' holds no events: its arrays have 0 rows");
}

TEST(BadInputCsv, NanIsRefusedWithoutNamingAnOption) {
  TempDir dir;
  std::string path = dir.file("nan.csv");
  write_bytes(path, "a,b\n1,2\n3,nan\n");
  EXPECT_EQ(error_of([&] { read_csv(path); }),
            path + ":3:2: column 'b' holds 'nan'; NaN and infinite values are refused");
}

TEST(BadInputNpy, EventsAreCountedFromOne) {
  TempDir dir;
  std::string path = dir.file("x.npy");
  double v[3] = {1.0, std::nan(""), 2.0};
  write_bytes(path, npy("<f8", "3,", std::string(reinterpret_cast<const char*>(v), sizeof v)));
  EXPECT_TRUE(contains(error_of([&] { read_npy(path); }), "at event 2;"));
}

TEST(BadInputNpz, DeflatedMemberClaimingTooMuchIsRefused) {
  // A zip whose member says 4 GB uncompressed from a few compressed bytes.
  TempDir dir;
  std::string path = dir.file("lie.npz");
  auto put16 = [](std::string& s, unsigned v) { s += char(v & 0xFF), s += char((v >> 8) & 0xFF); };
  auto put32 = [&](std::string& s, std::uint32_t v) { put16(s, v & 0xFFFF), put16(s, v >> 16); };
  const std::string name = "a.npy", data = std::string("\x03\x00", 2);  // an empty deflate block
  std::string out, cd;
  put32(out, 0x04034b50), put16(out, 20), put16(out, 0), put16(out, 8), put16(out, 0), put16(out, 0x21);
  put32(out, 0), put32(out, 2), put32(out, 0xFFFFFFF0u), put16(out, 5), put16(out, 0);
  out += name + data;
  put32(cd, 0x02014b50), put16(cd, 0x031E), put16(cd, 20), put16(cd, 0), put16(cd, 8), put16(cd, 0), put16(cd, 0x21);
  put32(cd, 0), put32(cd, 2), put32(cd, 0xFFFFFFF0u), put16(cd, 5), put16(cd, 0), put16(cd, 0), put16(cd, 0);
  put16(cd, 0), put32(cd, 0), put32(cd, 0);
  cd += name;
  std::string end;
  put32(end, 0x06054b50), put16(end, 0), put16(end, 0), put16(end, 1), put16(end, 1);
  put32(end, static_cast<std::uint32_t>(cd.size())), put32(end, static_cast<std::uint32_t>(out.size())), put16(end, 0);
  write_bytes(path, out + cd + end);
  std::string msg = error_of([&] { read_npz(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "4294967280 bytes uncompressed from 2 compressed bytes")) << msg;
}

TEST(TrainingData, UnusableEventsAreRefusedCountingFromOne) {
  auto make = [](std::vector<double> x, std::vector<double> y) {
    Dataset d;
    d.source = "t.csv";
    Index n = static_cast<Index>(x.size());
    d.add("x", Tensor({n}, x));
    d.add("label", Tensor({n}, y));
    d.label_column = "label";
    return d;
  };
  EXPECT_EQ(error_of([&] { check_training_data(make({1}, {1}), {"x"}); }),
            "'t.csv' holds 1 event; training needs at least two (one of each class)");
  EXPECT_TRUE(contains(error_of([&] {
                         check_training_data(make({1, 2, 3}, {1, 1, 1}), {"x"});
                       }),
                       "holds only one class (3 events, all signal (1))"));
  EXPECT_TRUE(contains(error_of([&] {
                         check_training_data(make({1, 1e300, 3}, {0, 1, 0}), {"x"});
                       }),
                       "column 'x' holds 1e+300 at event 2"));
  EXPECT_TRUE(contains(error_of([&] { check_training_data(make({1, 2, 3}, {0, 2, 1}), {"x"}); }), "event 2 has 2"));
  Dataset w = make({1, 2, 3}, {0, 1, 0});
  w.add("w", Tensor({3}, {1.0, -0.5, std::nan("")}));
  w.weight_column = "w";
  EXPECT_TRUE(contains(error_of([&] { check_training_data(w, {"x"}); }), "holds nan at event 3"));
  w.set("w", Tensor({3}, {1.0, -0.5, 2.0}));  // negative weights (NLO) pass
  EXPECT_NO_THROW(check_training_data(w, {"x"}));
}

namespace {
// In a child process: write_atomically whose writer creates the temporary, then receives
// `sig`. Returns the child's wait status.
int interrupted_write(const std::string& target, int sig) {
  pid_t pid = fork();
  if (pid == 0) {
    // As in a program started from a terminal (a background shell may have ignored SIGINT).
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    try {
      write_atomically(target, [&](const std::string& tmp) {
        write_bytes(tmp, std::string(1 << 20, 'x'));
        ::raise(sig);
        ::_exit(99);  // not reached: the handler exits
      });
    } catch (...) {
    }
    ::_exit(98);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}
}  // namespace

TEST(Signals, InterruptRemovesTheTemporaryAndExitsWith128PlusSignal) {
  for (int sig : {SIGINT, SIGTERM}) {
    TempDir dir;
    int status = interrupted_write(dir.file("out.csv"), sig);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << sig;
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    EXPECT_TRUE(dir.listing().empty()) << dir.listing().front();
  }
}

// Found by fuzz_npy (the seed fuzz/corpus/npy/regression-timeout-zero-rows-huge-columns.npy):
// a 0-row table with 10^18 columns has no data to be truncated, and looped building names.
TEST(BadInputNpy, ZeroRowsWithAHugeColumnCountIsRefused) {
  TempDir dir;
  std::string path = dir.file("wide.npy");
  write_bytes(path, npy("<f8", "0, 1000000000000000000", ""));
  std::string msg = error_of([&] { read_npy(path); });
  EXPECT_TRUE(contains(msg, "a table of 1000000000000000000 columns needs")) << msg;
  EXPECT_TRUE(contains(msg, "more than the memory budget")) << msg;
}
