#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "unbox/core.hpp"
#include "unbox/tensor.hpp"

using namespace unbox;

TEST(Core, AtomicWriteLeavesNothingOnFailure) {
  auto dir = std::filesystem::temp_directory_path() / "unbox_core_test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "out.txt").string();
  std::filesystem::remove(path);
  EXPECT_THROW(write_atomically(path,
                                [](const std::string& tmp) {
                                  std::ofstream(tmp) << "half";
                                  throw Error("boom");
                                }),
               Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator{}), 0);
  write_text_atomically(path, "whole");
  std::ifstream in(path);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "whole");
  std::filesystem::remove_all(dir);
}

TEST(Core, FailAtFormatsPosition) {
  try {
    fail_at("a.csv", 3, 7, "expected a number");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "a.csv:3:7: expected a number");
  }
}

TEST(Tensor, ShapesAndSlices) {
  Tensor t({3, 2, 2});
  for (Index i = 0; i < t.size(); ++i) t[i] = static_cast<double>(i);
  EXPECT_EQ(t.events(), 3);
  EXPECT_EQ(t.per_event(), 4);
  EXPECT_EQ(t.matrix()(2, 3), 11.0);
  Tensor s = t.slice_events(1, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(s[0], 4.0);
  Tensor g = t.gather_events({2, 0});
  EXPECT_EQ(g.at(0, 0), 8.0);
  EXPECT_EQ(g.at(1, 3), 3.0);
  EXPECT_THROW(t.reshape({5}), std::logic_error);
}
