// Sorted score runs (metrics.hpp, issue 20): runs of consecutive parts of a sample, merged in
// order, are the run of the whole sample, bit for bit, and so are the AUC, ROC and AMS scan
// computed from them (the reference: the metrics on the whole sample's spans, which sort
// once). Scores with many ties check the order of equal scores (the earlier event first).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "unbox/metrics.hpp"

using namespace unbox;

namespace {

struct Sample {
  std::vector<double> s, y, w;
};

Sample make(size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(0.2, 2.0);
  Sample x;
  for (size_t i = 0; i < n; ++i) {
    const double label = static_cast<double>(rng() % 2);
    x.y.push_back(label);
    x.s.push_back(std::round((g(rng) + label) * 4.0) / 4.0);  // coarse: many ties
    x.w.push_back(u(rng));
  }
  return x;
}

ScoreRun run_of(const Sample& x, size_t begin, size_t end, bool weighted) {
  auto sp = [&](const std::vector<double>& v) { return std::span<const double>(v.data() + begin, end - begin); };
  return ScoreRun::sort(sp(x.s), sp(x.y), weighted ? sp(x.w) : std::span<const double>());
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

TEST(ScoreRun, PartsMergedInOrderAreTheWholeSamplesSortBitForBit) {
  const Sample x = make(3001, 4);
  for (bool weighted : {false, true}) {
    const ScoreRun whole = run_of(x, 0, x.s.size(), weighted);
    // Three parts of unequal size, merged left to right, and pairwise (a tree) as eval does.
    ScoreRun left = run_of(x, 0, 700, weighted);
    left.merge(run_of(x, 700, 1900, weighted));
    left.merge(run_of(x, 1900, x.s.size(), weighted));
    ScoreRun a = run_of(x, 0, 700, weighted), b = run_of(x, 700, 1900, weighted), c = run_of(x, 1900, 3001, weighted);
    a.merge(b);
    a.merge(c);
    for (const ScoreRun* r : {&left, &a}) {
      EXPECT_TRUE(same_bits(r->scores, whole.scores));
      EXPECT_EQ(r->labels, whole.labels);
      EXPECT_TRUE(same_bits(r->weights, whole.weights));
    }
    const std::span<const double> w = weighted ? std::span<const double>(x.w) : std::span<const double>();
    // The metrics of the merged run have the bits of the metrics on the whole sample.
    EXPECT_EQ(auc(left), auc(x.s, x.y, w));
    const RocCurve r1 = roc_curve(left), r2 = roc_curve(x.s, x.y, w);
    EXPECT_TRUE(same_bits(r1.fpr, r2.fpr));
    EXPECT_TRUE(same_bits(r1.tpr, r2.tpr));
    EXPECT_TRUE(same_bits(r1.thresholds, r2.thresholds));
    if (weighted) {
      const AmsScan s1 = ams_scan(left, 3.0, 10.0), s2 = ams_scan(x.s, x.y, x.w, 3.0, 10.0);
      EXPECT_TRUE(same_bits(s1.values, s2.values));
      EXPECT_EQ(s1.best, s2.best);
      EXPECT_EQ(s1.threshold, s2.threshold);
    }
  }
}

TEST(ScoreRun, APartOfOneClassMergesAndValidationNamesTheEvent) {
  // Signal and background in separate parts (files of one process each).
  const std::vector<double> sig_s{0.9, 0.4, 0.4}, sig_y{1, 1, 1}, bkg_s{0.4, 0.1}, bkg_y{0, 0};
  ScoreRun r = ScoreRun::sort(bkg_s, bkg_y, {});
  r.merge(ScoreRun::sort(sig_s, sig_y, {}));
  // By hand, over the 6 (signal, background) pairs: 0.9 beats both (2), each signal 0.4 beats
  // 0.1 (2) and ties 0.4 (2 x 0.5): AUC = 5 / 6. At the tie 0.4 the earlier part's event leads.
  EXPECT_DOUBLE_EQ(auc(r), 5.0 / 6.0);
  EXPECT_EQ(r.labels, (std::vector<std::uint8_t>{1, 0, 1, 1, 0}));
  const std::vector<double> nan_s{0.1, std::nan("")}, y2{0, 1};
  try {
    (void)ScoreRun::sort(nan_s, y2, {}, "AUC");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("event 2 is NaN"), std::string::npos) << e.what();
  }
  ScoreRun weighted = ScoreRun::sort(sig_s, sig_y, std::vector<double>{1, 1, 1});
  EXPECT_THROW(weighted.merge(ScoreRun::sort(bkg_s, bkg_y, {})), Error);
}
