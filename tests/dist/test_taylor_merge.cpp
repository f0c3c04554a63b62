// Taylor results merge (issue 20): the results of disjoint event sets, merged in order,
// equal the result of one run over all of them (sums to 1e-12 relative, ranking and means
// likewise); the merge state survives the JSON round trip bit for bit; mismatched options
// are refused.
#include <gtest/gtest.h>

#include <random>

#include "small_net.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

Network small_net() { return test::small_net(8, 0.8); }

Dataset events(Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(0.5, 1.5);
  Dataset d;
  for (const char* c : {"a", "b", "c", "label", "w"}) {
    Tensor t({n});
    for (Index i = 0; i < n; ++i)
      t[i] = c[0] == 'l' ? static_cast<double>((i * 7 + seed) % 2) : c[0] == 'w' ? u(rng) : g(rng);
    d.add(c, std::move(t));
  }
  d.label_column = "label";
  d.weight_column = "w";
  return d;
}

Dataset rows(const Dataset& d, Index begin, Index end) {
  std::vector<Index> r;
  for (Index i = begin; i < end; ++i) r.push_back(i);
  return d.subset(r);
}

TEST(TaylorMerge, PartsMergedEqualTheWhole) {
  const Network net = small_net();
  const Dataset all = events(5000, 3);
  TaylorOptions o;
  o.order = 3;
  TaylorResult whole = taylor(net, Events(net, all), o);
  // Parts of uneven sizes, not multiples of the engine's 2048-event chunk.
  TaylorResult merged = taylor(net, Events(net, rows(all, 0, 1500)), o);
  merge(merged, taylor(net, Events(net, rows(all, 1500, 1501)), o));
  merge(merged, taylor(net, Events(net, rows(all, 1501, 5000)), o));
  EXPECT_EQ(merged.events, 5000);
  ASSERT_EQ(merged.sums.all.size(), whole.sums.all.size());
  for (size_t k = 0; k < whole.sums.all.size(); ++k) {
    EXPECT_NEAR(merged.sums.all[k], whole.sums.all[k], 1e-12 * std::abs(whole.sums.all[k]));
    EXPECT_NEAR(merged.sums.signal[k], whole.sums.signal[k], 1e-12 * std::abs(whole.sums.signal[k]));
    EXPECT_NEAR(merged.sums.background[k], whole.sums.background[k], 1e-12 * std::abs(whole.sums.background[k]));
  }
  EXPECT_NEAR(merged.weight_sum, whole.weight_sum, 1e-12 * whole.weight_sum);
  ASSERT_TRUE(merged.per_class);
  for (size_t k = 0; k < whole.features.size(); ++k) {
    EXPECT_EQ(merged.features[k].name, whole.features[k].name);
    EXPECT_NEAR(merged.features[k].value, whole.features[k].value, 1e-12 * whole.features[k].value);
    EXPECT_NEAR(merged.features[k].signal, whole.features[k].signal, 1e-12 * whole.features[k].signal);
  }
}

TEST(TaylorMerge, JsonRoundTripKeepsTheBits) {
  const Network net = small_net();
  TaylorOptions o;
  TaylorResult r = taylor(net, Events(net, events(700, 4)), o);
  TaylorResult back = TaylorResult::from_json(nlohmann::json::parse(r.to_json().dump()));
  EXPECT_EQ(back.sums.all, r.sums.all);
  EXPECT_EQ(back.sums.weight, r.sums.weight);
  ASSERT_EQ(back.features.size(), r.features.size());
  for (size_t k = 0; k < r.features.size(); ++k) {
    EXPECT_EQ(back.features[k].name, r.features[k].name);
    EXPECT_EQ(back.features[k].value, r.features[k].value);
  }
  EXPECT_EQ(back.table(), r.table());
}

TEST(TaylorMerge, RefusesDifferentOptions) {
  const Network net = small_net();
  TaylorOptions o;
  TaylorResult a = taylor(net, Events(net, events(300, 5)), o);
  o.convention = TaylorConvention::Derivative;
  TaylorResult b = taylor(net, Events(net, events(300, 6)), o);
  EXPECT_THROW(merge(a, b), Error);
  EXPECT_THROW(TaylorResult::from_json(nlohmann::json{{"auc", 0.5}}), Error);
}

}  // namespace
