// Tensor::borrow (the Python module's zero-copy input) and ProgressCounter (the progress a
// long method reports through its options).
#include <gtest/gtest.h>
#include <omp.h>

#include <memory>
#include <mutex>
#include <numeric>
#include <vector>

#include "unbox/core.hpp"
#include "unbox/tensor.hpp"

namespace unbox {
namespace {

// Memory owned elsewhere, with a keep-alive handle that records its release.
struct External {
  std::vector<double> values;
  bool released = false;
  std::shared_ptr<const void> handle() {
    return std::shared_ptr<const void>(values.data(), [this](const void*) { released = true; });
  }
};

TEST(TensorBorrow, ReadsInPlaceAndCopiesOnlyOnWrite) {
  External ext{{1, 2, 3, 4, 5, 6}};
  Tensor t = Tensor::borrow({3, 2}, ext.values.data(), ext.handle());
  EXPECT_TRUE(t.borrowed());
  const Tensor& c = t;
  EXPECT_EQ(c.data(), ext.values.data());  // the memory itself, not a copy
  EXPECT_EQ(t.size(), 6);
  EXPECT_EQ(t.events(), 3);
  EXPECT_EQ(c[3], 4.0);
  EXPECT_EQ(c.at(2, 1), 6.0);
  EXPECT_EQ(c.matrix()(1, 0), 3.0);
  EXPECT_EQ(c.matrix().data(), ext.values.data());
  // A copy borrows the same memory; slices and gathers read it into new tensors.
  Tensor copy = t;
  EXPECT_EQ(static_cast<const Tensor&>(copy).data(), ext.values.data());
  EXPECT_EQ(t.slice_events(1, 2).values(), (std::vector<double>{3, 4, 5, 6}));
  EXPECT_EQ(t.gather_events({2, 0}).values(), (std::vector<double>{5, 6, 1, 2}));
  EXPECT_TRUE(t == Tensor({3, 2}, ext.values));
  // values() const gives the values (one shared copy), the borrowed memory untouched.
  EXPECT_EQ(c.values(), ext.values);
  EXPECT_TRUE(t.borrowed());
  // The first write copies: the external memory never changes.
  t[0] = 100.0;
  EXPECT_FALSE(t.borrowed());
  EXPECT_NE(c.data(), ext.values.data());
  EXPECT_EQ(ext.values[0], 1.0);
  EXPECT_EQ(t.values(), (std::vector<double>{100, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(copy.borrowed());
  EXPECT_EQ(static_cast<const Tensor&>(copy)[0], 1.0);
  // The handle is released with the last Tensor that borrows.
  EXPECT_FALSE(ext.released);
  copy = Tensor();
  EXPECT_TRUE(ext.released);
}

TEST(TensorBorrow, ResizeFillReshapeAndMove) {
  External ext{{1, 2, 3, 4}};
  Tensor a = Tensor::borrow({4}, ext.values.data(), ext.handle());
  a.reshape({2, 2});  // shape only: still borrowed
  EXPECT_TRUE(a.borrowed());
  EXPECT_EQ(a.shape(), (Shape{2, 2}));
  Tensor b = a;
  b.resize({3, 2});  // keeps the values it had, then grows
  EXPECT_FALSE(b.borrowed());
  EXPECT_EQ(b.values(), (std::vector<double>{1, 2, 3, 4, 0, 0}));
  Tensor f = a;
  f.fill(7.0);
  EXPECT_EQ(f.values(), (std::vector<double>(4, 7.0)));
  Tensor moved = std::move(a);
  EXPECT_TRUE(moved.borrowed());
  EXPECT_EQ(static_cast<const Tensor&>(moved).data(), ext.values.data());
  a = Tensor({2}, 5.0);  // a moved-from Tensor is usable again, owning
  EXPECT_FALSE(a.borrowed());
  EXPECT_EQ(a.values(), (std::vector<double>{5, 5}));
  EXPECT_EQ(ext.values, (std::vector<double>{1, 2, 3, 4}));
  b = Tensor();
  f = Tensor();
  EXPECT_FALSE(ext.released);
  moved = Tensor();
  EXPECT_TRUE(ext.released);
}

TEST(ProgressCounter, MonotoneFromManyThreadsEndingAtTheTotal) {
  for (Index total : {Index{1}, Index{7}, Index{1000}, Index{100003}}) {
    std::vector<std::pair<Index, Index>> calls;
    bool overlapped = false;
    std::mutex busy;
    ProgressCallback cb = [&](Index done, Index t) {
      std::unique_lock<std::mutex> lock(busy, std::try_to_lock);
      if (!lock.owns_lock()) overlapped = true;  // calls must never overlap
      calls.emplace_back(done, t);
    };
    ProgressCounter p(cb, total);
#pragma omp parallel for num_threads(4) schedule(dynamic, 3)
    for (Index i = 0; i < total; ++i) p.add(1);
    p.finish();
    ASSERT_FALSE(calls.empty());
    EXPECT_FALSE(overlapped);
    EXPECT_EQ(calls.front(), (std::pair<Index, Index>{0, total}));
    EXPECT_EQ(calls.back(), (std::pair<Index, Index>{total, total}));
    for (size_t i = 1; i < calls.size(); ++i) {
      EXPECT_LT(calls[i - 1].first, calls[i].first);  // strictly increasing: no repeats
      EXPECT_EQ(calls[i].second, total);
    }
    EXPECT_LE(calls.size(), size_t{258});  // 0, at most 256 steps of total/256, the end
  }
  // Without a callback nothing is called and nothing fails.
  ProgressCounter none(ProgressCallback{}, 10);
  none.add(5);
  none.finish();
}

}  // namespace
}  // namespace unbox
