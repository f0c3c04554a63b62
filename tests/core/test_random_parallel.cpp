// The seeded random numbers and the exception-safe parallel loop of the core.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "unbox/core.hpp"
#include "unbox/parallel.hpp"
#include "unbox/random.hpp"

namespace unbox {

TEST(Random, UniformIsTheTop53BitsOfMt19937_64) {
  // The standard fixes mt19937_64's 10000th output for the default seed 5489.
  Rng r(5489);
  for (int i = 0; i < 9999; ++i) r.bits();
  EXPECT_EQ(r.bits(), 9981545732273789042ULL);
  Rng a(7);
  std::mt19937_64 e(7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.uniform(), static_cast<double>(e() >> 11) * 0x1.0p-53);
}

TEST(Random, StreamsDependOnlyOnSeedAndIndex) {
  Rng a = Rng::stream(42, 17), b = Rng::stream(42, 17), c = Rng::stream(42, 18), d = Rng::stream(43, 17);
  for (int i = 0; i < 10; ++i) {
    const std::uint64_t x = a.bits();
    EXPECT_EQ(x, b.bits());
    EXPECT_NE(x, c.bits());
    EXPECT_NE(x, d.bits());
  }
}

TEST(Random, NormalHasMeanZeroAndUnitVariance) {
  Rng r(3);
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x, s2 += x * x, s4 += x * x * x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5 * std::sqrt(96.0 / n));  // var(x^4) = 105 - 9
}

TEST(Random, BelowIsUniformAndShuffleIsAPermutation) {
  Rng r(11);
  const int k = 7, n = 70000;
  std::vector<int> counts(k);
  for (int i = 0; i < n; ++i) ++counts[r.below(k)];
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / k) * (c - n / k) / double(n / k);
  EXPECT_LT(chi2, 22.5);  // 6 degrees of freedom, p = 0.001
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(v);
  std::vector<int> s = v;
  std::sort(s.begin(), s.end());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(s[i], i);
  int fixed = 0;
  for (int i = 0; i < 1000; ++i) fixed += v[i] == i;
  EXPECT_LT(fixed, 10);  // a random permutation has about 1 fixed point
}

// The copies Rng replaced, written out as they were, against Rng's draws: the seeded
// results of train(), ADO, SmoothGrad and maximize/caveman stay what they were.
TEST(Random, ScaledIndexAndShuffleGiveTheOldTrainAndAdoStreams) {
  for (std::uint64_t seed : {0ULL, 1ULL, 42ULL, 20260101ULL}) {
    std::mt19937_64 e(seed);
    Rng r(seed);
    auto u01 = [&] { return static_cast<double>(e() >> 11) * 0x1.0p-53; };
    // train.cpp / ado_search.cpp: Fisher-Yates with j = min(i, floor(u (i + 1))).
    std::vector<std::int64_t> old(1000), now(1000);
    std::iota(old.begin(), old.end(), 0);
    std::iota(now.begin(), now.end(), 0);
    for (std::int64_t i = 999; i > 0; --i) {
      const auto j = static_cast<std::int64_t>(u01() * static_cast<double>(i + 1));
      std::swap(old[i], old[std::min(j, i)]);
    }
    r.shuffle_scaled(now);
    EXPECT_EQ(old, now);
    // ado.cpp pair sampling: v[min(n - 1, floor(u n))].
    for (std::size_t n : {1u, 2u, 3u, 17u, 1000u, 123457u}) {
      const auto j = std::min(n - 1, static_cast<std::size_t>(u01() * static_cast<double>(n)));
      EXPECT_EQ(j, r.index(n));
    }
  }
}

TEST(Random, BoxMullerIsTheOldSmoothGradNoise) {
  const std::uint64_t seed = 5 * 0x9E3779B97F4A7C15ULL + 3 * 1315423911ULL + 1;  // attribute.cpp's per-event seed
  std::mt19937_64 g(seed);
  Rng r(seed);
  for (int i = 0; i < 1000; ++i) {
    double u1;
    do u1 = static_cast<double>(g() >> 11) * 0x1.0p-53;
    while (u1 == 0.0);
    const double u2 = static_cast<double>(g() >> 11) * 0x1.0p-53;
    EXPECT_EQ(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2), r.normal_box_muller());
  }
}

TEST(Random, BelowMatchesTheOldMaximizeDraw) {
  // maximize/caveman rejected r >= 2^64 - 1 - (2^64 - 1) mod n, Rng rejects r < 2^64 mod n:
  // both return r mod n and differ only on a draw in one of those two blocks of fewer than
  // n values in 2^64, never met at these sizes.
  std::mt19937_64 e(99);
  Rng r(99);
  for (std::uint64_t n : {1ULL, 2ULL, 7ULL, 1000ULL, 60000ULL, 1ULL << 40})
    for (int i = 0; i < 2000; ++i) {
      const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
      std::uint64_t x;
      do x = e();
      while (x >= limit);
      EXPECT_EQ(x % n, r.below(n));
    }
}

TEST(Labels, OnlyZeroAndOnePassAndTheMessageNamesEventAndValue) {
  const std::vector<double> good{0, 1, 1, 0};
  EXPECT_NO_THROW(require_binary_labels(good, "x"));
  const std::vector<double> bad{0, 1, 0.5, 2};
  try {
    require_binary_labels(bad, "f.csv: label column 'y'");
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_STREQ(err.what(), "f.csv: label column 'y' must hold 0 (background) or 1 (signal); event 3 has 0.5");
  }
  const std::vector<double> nan{1, std::nan("")};
  EXPECT_THROW(require_binary_labels(nan, "x"), Error);
}

TEST(Parallel, RethrowsTheExceptionOfTheLowestIndexOnAnyThreadCount) {
  const int before = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    std::vector<int> seen(100, 0);
    try {
      parallel_for(100, [&](std::int64_t i) {
        seen[i] = 1;
        if (i == 37 || i == 80) throw std::runtime_error("failed at " + std::to_string(i));
      });
      FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "failed at 37");
    }
    EXPECT_EQ(std::accumulate(seen.begin(), seen.end(), 0), 100);  // every iteration ran
  }
  omp_set_num_threads(before);
}

}  // namespace unbox
