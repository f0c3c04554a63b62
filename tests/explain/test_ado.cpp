// Decision ordering: the O(n log n) ADO equals the brute-force double loop over all
// signal–background pairs (with ties and weights), ADO(f, f) = 1 and ADO(f, -f) = 0
// without ties, invariance under strictly increasing transforms, ADO(f, label) = AUC(f),
// and the discordant pairs are exactly the pairs the double loop finds.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "unbox/explain/ado.hpp"
#include "unbox/metrics.hpp"

using namespace unbox;

namespace {

struct Sample {
  std::vector<double> f, g, labels, weights;
};

// f and g correlated, rounded to a few levels when `ties` so many pairs tie in f, g or both.
Sample make_sample(size_t n, bool ties, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.2, 3.0);
  std::bernoulli_distribution coin(0.45);
  Sample s;
  for (size_t i = 0; i < n; ++i) {
    const double y = coin(rng) ? 1.0 : 0.0;
    double f = z(rng) + 0.8 * y, g = 0.6 * f + 0.8 * z(rng);
    if (ties) {
      f = std::round(f * 2.0) / 2.0;
      g = std::round(g * 3.0) / 3.0;
    }
    s.f.push_back(f);
    s.g.push_back(g);
    s.labels.push_back(y);
    s.weights.push_back(u(rng));
  }
  return s;
}

}  // namespace

TEST(Ado, EqualsBruteForceWithTiesAndWeights) {
  for (bool ties : {false, true}) {
    Sample s = make_sample(700, ties, ties ? 11 : 12);
    for (bool weighted : {false, true}) {
      std::span<const double> w = weighted ? std::span<const double>(s.weights) : std::span<const double>();
      AdoResult fast = ado(s.f, s.g, s.labels, w);
      AdoResult ref = ado_brute_force(s.f, s.g, s.labels, w);
      EXPECT_NEAR(fast.ado, ref.ado, 1e-13) << "ties " << ties << " weighted " << weighted;
      EXPECT_NEAR(fast.concordant, ref.concordant, 1e-13);
      EXPECT_NEAR(fast.discordant, ref.discordant, 1e-13);
      EXPECT_NEAR(fast.tied, ref.tied, 1e-13);
      EXPECT_EQ(fast.n_pairs, ref.n_pairs);
      if (ties)
        EXPECT_GT(ref.tied, 0.1);  // the tie handling is really exercised
      else
        EXPECT_EQ(ref.tied, 0.0);
      EXPECT_GT(ref.ado, 0.6);  // correlated discriminants
      EXPECT_LT(ref.ado, 0.95);
    }
  }
}

TEST(Ado, SelfIsOneAndReversedIsZeroWithoutTies) {
  Sample s = make_sample(2000, false, 3);
  std::vector<double> neg(s.f.size());
  for (size_t i = 0; i < neg.size(); ++i) neg[i] = -s.f[i];
  EXPECT_DOUBLE_EQ(ado(s.f, s.f, s.labels, s.weights).ado, 1.0);
  EXPECT_DOUBLE_EQ(ado(s.f, neg, s.labels, s.weights).ado, 0.0);  // no flipping below one half
  // With ties, a tied pair counts one half: ADO(f, f) = 1 - tied / 2.
  Sample t = make_sample(800, true, 4);
  AdoResult r = ado(t.f, t.f, t.labels);
  EXPECT_NEAR(r.ado, 1.0 - 0.5 * r.tied, 1e-15);
  EXPECT_GT(r.tied, 0.05);
}

TEST(Ado, InvariantUnderStrictlyIncreasingTransforms) {
  for (bool ties : {false, true}) {
    Sample s = make_sample(1500, ties, 5);
    const double base = ado(s.f, s.g, s.labels, s.weights).ado;
    std::vector<double> f2(s.f.size()), g2(s.g.size());
    for (size_t i = 0; i < f2.size(); ++i) {
      f2[i] = std::exp(2.0 * s.f[i]) + 7.0;                  // increasing
      g2[i] = std::atan(s.g[i]) + s.g[i] * s.g[i] * s.g[i];  // increasing
    }
    EXPECT_DOUBLE_EQ(ado(f2, s.g, s.labels, s.weights).ado, base);
    EXPECT_DOUBLE_EQ(ado(s.f, g2, s.labels, s.weights).ado, base);
    EXPECT_DOUBLE_EQ(ado(f2, g2, s.labels, s.weights).ado, base);
    EXPECT_DOUBLE_EQ(ado(s.g, s.f, s.labels, s.weights).ado, base);  // symmetric in f and g
  }
}

TEST(Ado, AgainstTheLabelIsTheAuc) {
  // g = label orders every signal–background pair as signal > background, so
  // ADO(f, label) = P(f_sig > f_bkg) + P(tie) / 2 = AUC(f) (sklearn's, ties one half).
  for (bool ties : {false, true}) {
    Sample s = make_sample(3000, ties, 6);
    EXPECT_NEAR(ado(s.f, s.labels, s.labels, s.weights).ado, auc(s.f, s.labels, s.weights), 1e-14);
  }
}

TEST(Ado, RestrictedToPairsAndDiscordantPairs) {
  Sample s = make_sample(400, true, 7);
  // Brute-force list of strictly discordant pairs.
  std::vector<EventPair> ref;
  for (size_t i = 0; i < s.f.size(); ++i)
    for (size_t j = 0; j < s.f.size(); ++j)
      if (s.labels[i] == 1.0 && s.labels[j] == 0.0 && (s.f[i] - s.f[j]) * (s.g[i] - s.g[j]) < 0)
        ref.emplace_back(static_cast<Index>(i), static_cast<Index>(j));
  DiscordantPairs all = discordant_pairs(s.f, s.g, s.labels, 1'000'000, 1);
  EXPECT_FALSE(all.sampled);
  EXPECT_EQ(all.total, static_cast<Index>(ref.size()));
  EXPECT_EQ(all.pairs, ref);
  // On its own discordant pairs, g orders every pair against f.
  EXPECT_EQ(ado_on_pairs(s.f, s.g, s.weights, all.pairs).ado, 0.0);
  // Restricted to all pairs, ado_on_pairs is ado.
  std::vector<EventPair> every;
  for (size_t i = 0; i < s.f.size(); ++i)
    for (size_t j = 0; j < s.f.size(); ++j)
      if (s.labels[i] == 1.0 && s.labels[j] == 0.0) every.emplace_back(static_cast<Index>(i), static_cast<Index>(j));
  EXPECT_NEAR(ado_on_pairs(s.f, s.g, s.weights, every).ado, ado(s.f, s.g, s.labels, s.weights).ado, 1e-13);
  // Too many: a seeded sample of discordant pairs, the same for the same seed.
  DiscordantPairs some = discordant_pairs(s.f, s.g, s.labels, 100, 9);
  EXPECT_TRUE(some.sampled);
  EXPECT_EQ(some.total, static_cast<Index>(ref.size()));
  ASSERT_EQ(some.pairs.size(), 100u);
  for (auto& p : some.pairs) EXPECT_TRUE(std::binary_search(ref.begin(), ref.end(), p));
  EXPECT_EQ(discordant_pairs(s.f, s.g, s.labels, 100, 9).pairs, some.pairs);
}

TEST(Ado, RefusesBadInput) {
  std::vector<double> f{1, 2, 3}, g{1, 2, 3}, y{1, 0, 2};
  EXPECT_THROW(ado(f, g, y), Error);
  std::vector<double> y1{1, 1, 1};
  EXPECT_THROW(ado(f, g, y1), Error);  // no background
  std::vector<double> fn{1, NAN, 3}, y2{1, 0, 0};
  EXPECT_THROW(ado(fn, g, y2), Error);
}
