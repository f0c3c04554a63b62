// The guided ADO search: when the target is a known function of a base observable and of
// one pool member, that member is picked first (not a pool member that separates signal
// from background better on its own but plays no part in the target), and adding it
// brings ADO[target] close to 1 (the target is the likelihood ratio's ordering, which
// the HL network trained on the labels then learns).
#include <gtest/gtest.h>

#include <random>

#include "unbox/explain/ado_search.hpp"

using namespace unbox;

TEST(AdoSearch, PicksThePoolMemberTheTargetIsMadeOf) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> z(0.0, 1.0);
  const Index n = 2400;
  std::vector<double> x1(n), good(n), decoy(n), noise(n), label(n), target(n);
  for (Index i = 0; i < n; ++i) {
    const double y = i % 2;
    label[i] = y;
    x1[i] = z(rng) + 0.7 * y;
    good[i] = z(rng) + 0.5 * y;
    decoy[i] = z(rng) + 1.2 * y;  // a better discriminant alone, but not in the target
    noise[i] = z(rng);
    target[i] = std::tanh(0.7 * x1[i] + 0.5 * good[i]);  // the likelihood ratio's ordering
  }
  Dataset d;
  d.add("x1", Tensor({n}, x1));
  d.add("decoy", Tensor({n}, decoy));
  d.add("noise", Tensor({n}, noise));
  d.add("good", Tensor({n}, good));
  d.add("label", Tensor({n}, label));
  d.label_column = "label";
  AdoSearchOptions o;
  o.arch = "16";
  o.epochs = 15;
  o.batch = 64;
  o.learning_rate = 5e-3;
  o.max_steps = 1;
  o.margin = 0.0;
  AdoSearchResult r = ado_search(d, target, "target", {"x1"}, {"decoy", "noise", "good"}, o);
  ASSERT_GE(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].added, "");
  EXPECT_EQ(r.steps[1].added, "good");
  EXPECT_EQ(r.steps[0].ranking.front().name, "good");
  EXPECT_GT(r.steps[0].ranking.front().ado_on_pairs, 0.6);
  EXPECT_GT(r.steps[1].ado, r.steps[0].ado + 0.05);
  EXPECT_GT(r.steps[1].ado, 0.93);
  EXPECT_GT(r.steps[0].disordered_pairs, 0);
  EXPECT_EQ(r.test_events + r.train_events, n);
  auto j = r.to_json();
  EXPECT_TRUE(j["steps"][0]["added"].is_null());
  EXPECT_EQ(j["steps"][1]["added"], "good");
  EXPECT_EQ(j["steps"][1]["ado"].get<double>(), r.steps[1].ado);
  EXPECT_THROW(ado_search(d, target, "t", {"x1"}, {"missing"}, o), Error);
  EXPECT_THROW(ado_search(d, target, "t", {"x1"}, {"x1"}, o), Error);
}

// A constant pool column (e.g. the d = 0 EFP, which is 1 for every jet) orders no pair:
// it is reported and never added, even when every other candidate is poor.
TEST(AdoSearch, ConstantCandidatesAreSkipped) {
  std::mt19937_64 rng(5);
  const Index n = 600;
  std::vector<double> x1(n), noise(n), one(n, 1.0), label(n), target(n);
  for (Index i = 0; i < n; ++i) {
    label[i] = static_cast<double>(i % 2);
    x1[i] = static_cast<double>(rng() >> 11) * 0x1.0p-53 + 0.3 * label[i];
    noise[i] = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    target[i] = x1[i] + 0.5 * noise[i] * label[i];
  }
  Dataset d;
  d.add("x1", Tensor({n}, x1));
  d.add("one", Tensor({n}, one));
  d.add("noise", Tensor({n}, noise));
  d.add("label", Tensor({n}, label));
  d.label_column = "label";
  AdoSearchOptions o;
  o.arch = "4";
  o.epochs = 2;
  o.max_steps = 3;
  o.margin = -1.0;  // never stop on the margin: only the pool can run out
  AdoSearchResult r = ado_search(d, target, "target", {"x1"}, {"one", "noise"}, o);
  ASSERT_EQ(r.constant_candidates, std::vector<std::string>{"one"});
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[1].added, "noise");
  EXPECT_EQ(r.stop_reason, "the pool is used up");
  for (const auto& s : r.steps)
    for (const auto& c : s.ranking) EXPECT_NE(c.name, "one");
  EXPECT_EQ(r.to_json()["constant_candidates"][0], "one");
}
