#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "unbox/metrics.hpp"

using namespace unbox;

namespace {

// O(n^2) weighted Mann-Whitney: P(score_sig > score_bkg) + 1/2 P(equal), weighted.
double brute_auc(const std::vector<double>& s, const std::vector<double>& y, const std::vector<double>& w) {
  long double num = 0, ws = 0, wb = 0;
  for (size_t i = 0; i < s.size(); ++i) (y[i] == 1 ? ws : wb) += w[i];
  for (size_t i = 0; i < s.size(); ++i) {
    if (y[i] != 1) continue;
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[j] != 0) continue;
      long double pw = static_cast<long double>(w[i]) * w[j];
      if (s[i] > s[j])
        num += pw;
      else if (s[i] == s[j])
        num += pw / 2;
    }
  }
  return static_cast<double>(num / (ws * wb));
}

}  // namespace

// Four events, two of them tied, worked out by hand:
//   score 0.9 sig | 0.5 sig, 0.5 bkg (tie) | 0.1 bkg
// Thresholds: inf -> (0,0); 0.9 -> tpr 1/2, fpr 0; 0.5 -> tpr 1, fpr 1/2; 0.1 -> (1,1).
// (Labels deliberately not written as {1, 1, 0, 0}: GCC 12.2 with -mavx512f (our
// -march=native on this machine) miscompiled that initializer here into {1, 1, 1, 1}.)
TEST(RocCurve, FourEventsWithTieByHand) {
  std::vector<double> s{0.1, 0.5, 0.9, 0.5}, y{0, 1, 1, 0};
  RocCurve r = roc_curve(s, y);
  ASSERT_EQ(r.fpr.size(), 4u);
  EXPECT_TRUE(std::isinf(r.thresholds[0]) && r.thresholds[0] > 0);
  EXPECT_EQ(r.thresholds[1], 0.9);
  EXPECT_EQ(r.thresholds[2], 0.5);
  EXPECT_EQ(r.thresholds[3], 0.1);
  EXPECT_EQ(r.fpr, (std::vector<double>{0, 0, 0.5, 1}));
  EXPECT_EQ(r.tpr, (std::vector<double>{0, 0.5, 1, 1}));
  // Pairs (sig, bkg): (0.9,0.5)=1, (0.9,0.1)=1, (0.5,0.5)=1/2, (0.5,0.1)=1 -> 3.5/4.
  EXPECT_DOUBLE_EQ(auc(s, y), 0.875);
}

TEST(RocCurve, WeightedFourEvents) {
  // Same events, signal weights 3 (at 0.9) and 1 (at 0.5), background weights 2 (0.5), 2 (0.1).
  std::vector<double> s{0.1, 0.5, 0.9, 0.5}, y{0, 1, 1, 0}, w{2, 1, 3, 2};
  RocCurve r = roc_curve(s, y, w);
  EXPECT_EQ(r.tpr, (std::vector<double>{0, 0.75, 1, 1}));
  EXPECT_EQ(r.fpr, (std::vector<double>{0, 0, 0.5, 1}));
  // (3*2 + 3*2 + 1*2/2 + 1*2) / (4*4) = 15/16
  EXPECT_DOUBLE_EQ(auc(s, y, w), 15.0 / 16.0);
}

TEST(RocCurve, RejectsBadLabelsAndSingleClass) {
  std::vector<double> s{0.1, 0.2, 0.3};
  EXPECT_THROW(roc_curve(s, std::vector<double>{0, 1, 2}), Error);
  try {
    auc(s, std::vector<double>{1, 1, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("AUC needs both signal and background events"), std::string::npos);
  }
  EXPECT_THROW(auc(s, std::vector<double>{0, 0, 0}), Error);
  EXPECT_THROW(auc(s, std::vector<double>{0, 1}), Error);  // length mismatch
  try {
    auc(s, std::vector<double>{0, 0.5, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0.5"), std::string::npos) << e.what();
  }
  std::vector<double> with_nan{0.1, std::nan(""), 0.3};
  EXPECT_THROW(auc(with_nan, std::vector<double>{0, 1, 1}), Error);
}

TEST(Auc, EqualsBruteForcePairCountWithWeightsAndTies) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 50 + trial * 37;
    std::vector<double> s(n), y(n), w(n);
    for (int i = 0; i < n; ++i) {
      // Few distinct scores so most events tie with others.
      s[i] = static_cast<double>(rng() % (trial % 2 ? 10 : 1000)) / 10.0;
      y[i] = static_cast<double>(rng() % 2);
      w[i] = 0.1 + static_cast<double>(rng() % 1000) / 100.0;
      if (trial % 5 == 4 && i % 7 == 0) w[i] = -w[i] / 10;  // some negative weights
    }
    y[0] = 0;
    y[1] = 1;
    EXPECT_NEAR(auc(s, y, w), brute_auc(s, y, w), 1e-12) << "trial " << trial;
    std::vector<double> ones(n, 1.0);
    EXPECT_NEAR(auc(s, y), brute_auc(s, y, ones), 1e-12) << "trial " << trial;
    // The ROC's trapezoid area is the AUC.
    RocCurve r = roc_curve(s, y, w);
    double area = 0;
    for (size_t k = 1; k < r.fpr.size(); ++k) area += (r.fpr[k] - r.fpr[k - 1]) * (r.tpr[k] + r.tpr[k - 1]) / 2;
    EXPECT_NEAR(area, auc(s, y, w), 1e-12);
    EXPECT_DOUBLE_EQ(r.fpr.back(), 1.0);
    EXPECT_DOUBLE_EQ(r.tpr.back(), 1.0);
  }
}

TEST(Auc, PerfectInvertedAndAllTied) {
  std::vector<double> y{0, 0, 1, 1};
  EXPECT_EQ(auc(std::vector<double>{1, 2, 3, 4}, y), 1.0);
  EXPECT_EQ(auc(std::vector<double>{4, 3, 2, 1}, y), 0.0);
  EXPECT_EQ(auc(std::vector<double>{7, 7, 7, 7}, y), 0.5);
}

TEST(RocCurve, SigEffAtBkgEffInterpolates) {
  RocCurve r;
  r.thresholds = {INFINITY, 3, 2, 1};
  r.fpr = {0, 0, 0.5, 1};
  r.tpr = {0, 0.4, 0.8, 1};
  EXPECT_DOUBLE_EQ(sig_eff_at_bkg_eff(r, 0.0), 0.4);  // highest tpr at fpr 0
  EXPECT_DOUBLE_EQ(sig_eff_at_bkg_eff(r, 0.25), 0.6);
  EXPECT_DOUBLE_EQ(sig_eff_at_bkg_eff(r, 0.5), 0.8);
  EXPECT_DOUBLE_EQ(sig_eff_at_bkg_eff(r, 0.75), 0.9);
  EXPECT_DOUBLE_EQ(sig_eff_at_bkg_eff(r, 1.0), 1.0);
  EXPECT_THROW(sig_eff_at_bkg_eff(r, 1.5), Error);
  EXPECT_THROW(sig_eff_at_bkg_eff(RocCurve{}, 0.1), Error);
}

TEST(Ams, ByHand) {
  // s = 10, b = 5, br = 10: 2 ((25) ln(1 + 10/15) - 10) = 50 ln(5/3) - 20.
  EXPECT_NEAR(ams(10, 5), std::sqrt(50 * std::log(5.0 / 3.0) - 20), 1e-14);
  EXPECT_NEAR(ams(10, 5), 2.3539926, 1e-7);
  // br = 0 and s << b: AMS -> s / sqrt(b).
  EXPECT_NEAR(ams(1, 1e6, 0), 1e-3, 1e-9);
  EXPECT_EQ(ams(0, 5), 0.0);
  EXPECT_THROW(ams(1, -20), Error);
}

TEST(Ams, ScanByHand) {
  // Scores 4 sig(w 2), 3 bkg(w 1), 3 sig(w 1), 1 bkg(w 4); lumi 10, br 10.
  std::vector<double> s{4, 3, 3, 1}, y{1, 0, 1, 0}, w{2, 1, 1, 4};
  AmsScan a = ams_scan(s, y, w, 10.0);
  ASSERT_EQ(a.thresholds, (std::vector<double>{4, 3, 1}));
  ASSERT_EQ(a.values.size(), 3u);
  EXPECT_DOUBLE_EQ(a.values[0], ams(20, 0));
  EXPECT_DOUBLE_EQ(a.values[1], ams(30, 10));
  EXPECT_DOUBLE_EQ(a.values[2], ams(30, 50));
  // ams(20,0) = 5.09..., ams(30,10) = 5.62..., ams(30,50) = 3.60...: the second wins.
  EXPECT_EQ(a.threshold, 3.0);
  EXPECT_DOUBLE_EQ(a.best, ams(30, 10));
  EXPECT_DOUBLE_EQ(a.s, 30.0);
  EXPECT_DOUBLE_EQ(a.b, 10.0);
  EXPECT_THROW(ams_scan(s, y, w, 0.0), Error);
}

TEST(Metrics, IndependentOfInputOrder) {
  // The sort with an index tie-break fixes the summation order up to the permutation
  // of tied events; results must agree to round-off for any input order.
  std::mt19937_64 rng(7);
  const int n = 20000;
  std::vector<double> s(n), y(n), w(n);
  for (int i = 0; i < n; ++i) {
    s[i] = std::round(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 100) / 100;
    y[i] = static_cast<double>(rng() & 1);
    w[i] = 1e-3 + static_cast<double>(rng() % 100000) * 1e-3;
  }
  double a1 = auc(s, y, w);
  std::vector<size_t> p(n);
  for (int i = 0; i < n; ++i) p[i] = static_cast<size_t>(n - 1 - i);
  std::vector<double> s2(n), y2(n), w2(n);
  for (int i = 0; i < n; ++i) s2[i] = s[p[i]], y2[i] = y[p[i]], w2[i] = w[p[i]];
  EXPECT_NEAR(a1, auc(s2, y2, w2), 1e-14);
}
