// histogram_view against hand-computed bins, normalizations, ratios and slices.
#include <gtest/gtest.h>

#include <cmath>

#include "unbox/explain/histogram_view.hpp"
#include "unbox/explain/mutual_info.hpp"

using namespace unbox;

TEST(HistogramView, NumpyBinningEdgesAndClosedLastBin) {
  const auto e = histogram_edges(0.0, 1.0, 4);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[1], 0.25);
  EXPECT_EQ(histogram_bin(0.0, e), 0);
  EXPECT_EQ(histogram_bin(0.25, e), 1);  // left edges belong to their bin
  EXPECT_EQ(histogram_bin(1.0, e), 3);   // the last bin is closed
  EXPECT_EQ(histogram_bin(1.0000001, e), -1);
  EXPECT_EQ(histogram_bin(-1e-300, e), -1);
  // 0.1 * 10 bins: floor(0.3 * 10 / 1) is 2 but edges[3] = 0.30000000000000004 > 0.3.
  const auto t = histogram_edges(0.0, 1.0, 10);
  EXPECT_EQ(histogram_bin(0.3, t), 2);
  EXPECT_EQ(histogram_bin(t[3], t), 3);
}

TEST(HistogramView, ClassesNormalizedWithRatioAndWeights) {
  // x in [0, 4], 2 bins of width 2: signal {0.5 (w 1), 3 (w 3)}, background {1 (w 2), 1.5 (w 2), 5 (outside)}.
  const std::vector<double> x{0.5, 3.0, 1.0, 1.5, 5.0}, lab{1, 1, 0, 0, 0}, w{1, 3, 2, 2, 7};
  HistogramViewOptions o;
  o.x.name = "met";
  o.x.bins = 2;
  o.x.lo = 0.0;
  o.x.hi = 4.0;
  auto r = histogram_view(x, {}, {}, lab, w, o);
  ASSERT_TRUE(r.labelled);
  EXPECT_EQ(r.signal.sum, (std::vector<double>{1, 3}));
  EXPECT_EQ(r.signal.normalized, (std::vector<double>{0.25, 0.75}));
  EXPECT_EQ(r.background.sum, (std::vector<double>{4, 0}));
  EXPECT_EQ(r.background.outside, 7.0);
  EXPECT_EQ(r.background.events, 3);
  EXPECT_EQ(r.background.normalized, (std::vector<double>{1, 0}));
  EXPECT_DOUBLE_EQ(r.ratio[0], 0.25);
  EXPECT_TRUE(std::isnan(r.ratio[1]));
  const auto j = r.to_json();
  EXPECT_TRUE(j["ratio"][1].is_null());
  EXPECT_EQ(j["classes"]["all"]["sum_weights"][0], 5.0);
  EXPECT_NE(r.table().find("█"), std::string::npos);
}

TEST(HistogramView, SlicesByQuantileHighestFirst) {
  // slice variable 0..8: quantiles 0, 8/3, 16/3, 8 -> {0,1,2}, {3,4,5}, {6,7,8}.
  std::vector<double> x, z;
  for (int i = 0; i < 9; ++i) z.push_back(i), x.push_back(i < 3 ? 0.1 : i < 6 ? 0.5 : 0.9);
  HistogramViewOptions o;
  o.x.name = "isr_pt";
  o.x.bins = 3;
  o.x.lo = 0.0;
  o.x.hi = 1.0;
  o.slice_name = "output";
  auto r = histogram_view(x, {}, z, {}, {}, o);
  ASSERT_EQ(r.slices.size(), 3u);
  EXPECT_EQ(r.slices[0].label, "most signal-like");
  EXPECT_DOUBLE_EQ(r.slices[0].lo, 16.0 / 3.0);
  EXPECT_EQ(r.slices[0].hi, 8.0);
  EXPECT_EQ(r.slices[0].all.sum, (std::vector<double>{0, 0, 3}));
  EXPECT_EQ(r.slices[1].all.sum, (std::vector<double>{0, 3, 0}));
  EXPECT_EQ(r.slices[2].all.sum, (std::vector<double>{3, 0, 0}));
}

TEST(HistogramView, TwoDimensionalCellsAndLibraryNmi) {
  std::vector<double> x, y;
  for (int i = 0; i < 400; ++i) {
    x.push_back(i % 20);
    y.push_back((i % 20) * 0.5 + (i % 7) * 0.01);
  }
  HistogramViewOptions o;
  o.x.name = "a";
  o.x.bins = 2;
  o.y = Axis{"b", 2, std::nullopt, std::nullopt};
  auto r = histogram_view(x, y, {}, {}, {}, o);
  // x in [0, 19] splits at 9.5; y in [0, 9.56] at 4.78: x <= 9 gives y <= 4.56, x >= 10 gives y >= 5.
  EXPECT_EQ(r.all.sum, (std::vector<double>{200, 0, 0, 200}));
  ASSERT_TRUE(r.nmi.has_value());
  EXPECT_DOUBLE_EQ(*r.nmi, normalized_mutual_info(x, y, MutualInfoOptions{}));
  EXPECT_GT(*r.nmi, 0.5);
}
