// Activation difference read in parts (issue 20): the sample cut into chunks or "ranks"
// (several ActivationDifferenceRun objects exchanging their collected values, as MPI ranks
// do) gives the one-piece result to round-off, because every random choice depends only on
// the seed and the sample size; the merge state survives the JSON round trip; per-file
// results merge into the stratified estimate with sigma_z of the union (numpy-free
// reference: the moments computed directly here); mismatched options are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>

#include "small_net.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

Network small_net() { return test::small_net(5, 0.9); }

Dataset events(Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Dataset d;
  for (const char* c : {"a", "b", "c"}) {
    Tensor t({n});
    for (Index i = 0; i < n; ++i) t[i] = g(rng);
    d.add(c, std::move(t));
  }
  return d;
}

Dataset rows(const Dataset& d, Index begin, Index end) {
  std::vector<Index> r;
  for (Index i = begin; i < end; ++i) r.push_back(i);
  return d.subset(r);
}

void expect_close(const ActivationDifferenceResult& got, const ActivationDifferenceResult& ref, double rel) {
  ASSERT_EQ(got.ranking.size(), ref.ranking.size());
  EXPECT_EQ(got.events, ref.events);
  EXPECT_EQ(got.samples, ref.samples);
  EXPECT_NEAR(got.sigma, ref.sigma, rel * ref.sigma);
  for (size_t i = 0; i < ref.ranking.size(); ++i) {
    EXPECT_EQ(got.ranking[i].variable, ref.ranking[i].variable);
    EXPECT_NEAR(got.ranking[i].ad, ref.ranking[i].ad, rel * std::abs(ref.ranking[i].ad));
    EXPECT_NEAR(got.ranking[i].err, ref.ranking[i].err, 1e3 * rel * std::abs(ref.ranking[i].err) + 1e-300);
  }
}

// `cuts` split the sample into the parts the ranks read; `slots` is the number of ranks that
// evaluate the sampled events. Every rank gets every other rank's collected values.
ActivationDifferenceResult in_ranks(const Network& net, const Dataset& all, const ActivationDifferenceOptions& o,
                                    const std::vector<Index>& cuts) {
  const Index n = all.events();
  const size_t ranks = cuts.size() + 1;
  std::vector<ActivationDifferenceRun> runs;
  runs.reserve(ranks);
  for (size_t r = 0; r < ranks; ++r) {
    runs.emplace_back(net, o, n);
    const Index b = r == 0 ? 0 : cuts[r - 1], e = r + 1 == ranks ? n : cuts[r];
    // Two chunks per rank, the second of one event when it can.
    const Index mid = e - b > 2 ? e - 1 : e;
    runs.back().add(Events(net, rows(all, b, mid)), b);
    if (mid < e) runs.back().add(Events(net, rows(all, mid, e)), mid);
  }
  std::vector<double> pairs;
  for (auto& run : runs) {
    const auto c = run.collected();
    pairs.insert(pairs.end(), c.begin(), c.end());
  }
  std::optional<ActivationDifferenceResult> merged;
  const Index S = runs[0].samples();
  for (size_t r = 0; r < ranks; ++r) {
    runs[r].fill(pairs);
    const Index b = S * static_cast<Index>(r) / static_cast<Index>(ranks);
    const Index e = S * static_cast<Index>(r + 1) / static_cast<Index>(ranks);
    // Through JSON, as the ranks send their results.
    auto part = ActivationDifferenceResult::from_json(runs[r].result(b, e).to_json());
    if (merged)
      merge(*merged, part);
    else
      merged = part;
  }
  return *merged;
}

}  // namespace

TEST(AdMerge, RanksAndChunksEqualOnePiece) {
  const Network net = small_net();
  const Dataset all = events(3000, 2);
  for (int layer : {0, 1}) {
    ActivationDifferenceOptions o;
    o.samples = 700;
    o.bootstrap = 30;
    o.seed = 9;
    o.layer = layer;
    o.neuron = layer == 0 ? "output" : "L2N1";
    const ActivationDifferenceResult whole = activation_difference(net, Events(net, all), o);
    expect_close(in_ranks(net, all, o, {1000, 1001, 2500}), whole, 1e-12);
    expect_close(in_ranks(net, all, o, {1499}), whole, 1e-12);
    // Every event sampled (S >= N): the identity order, no random picks.
    o.samples = 5000;
    const ActivationDifferenceResult every = activation_difference(net, Events(net, all), o);
    EXPECT_EQ(every.samples, 3000);
    expect_close(in_ranks(net, all, o, {10, 2000}), every, 1e-12);
  }
}

TEST(AdMerge, MissingPartsAreAnError) {
  const Network net = small_net();
  const Dataset all = events(500, 3);
  ActivationDifferenceOptions o;
  o.samples = 100;
  ActivationDifferenceRun run(net, o, 500);
  run.add(Events(net, rows(all, 0, 250)), 0);
  EXPECT_THROW(run.result(0, run.samples()), Error);
  EXPECT_THROW(run.add(Events(net, rows(all, 250, 500)), 300), Error);  // outside the sample
}

TEST(AdMerge, JsonRoundTripKeepsTheBits) {
  const Network net = small_net();
  ActivationDifferenceOptions o;
  o.samples = 300;
  o.bootstrap = 10;
  const auto r = activation_difference(net, Events(net, events(1000, 4)), o);
  const auto back = ActivationDifferenceResult::from_json(r.to_json());
  EXPECT_EQ(back.to_json().dump(), r.to_json().dump());
}

TEST(AdMerge, PerFileResultsMergeIntoTheStratifiedEstimate) {
  // Each file samples its own events and donors; the merge weighs each file's sampled events
  // by its events per sampled event and divides by sigma_z of the union, computed here
  // directly from z on all events.
  const Network net = small_net();
  const Dataset f1 = events(1200, 5), f2 = events(800, 6);
  ActivationDifferenceOptions o;
  o.samples = 400;
  o.bootstrap = 0;
  const auto r1 = activation_difference(net, Events(net, f1), o);
  const auto r2 = activation_difference(net, Events(net, f2), o);
  auto merged = r1;
  merge(merged, r2);
  std::vector<double> z;
  for (const Dataset* d : {&f1, &f2}) {
    const Tensor t = evaluate(net, Events(net, *d).inputs(), {net.resolve("output")});
    z.insert(z.end(), t.values().begin(), t.values().end());
  }
  double mean = 0, var = 0;
  for (double v : z) mean += v;
  mean /= static_cast<double>(z.size());
  for (double v : z) var += (v - mean) * (v - mean);
  const double sigma = std::sqrt(var / static_cast<double>(z.size()));
  EXPECT_NEAR(merged.sigma, sigma, 1e-13 * sigma);
  EXPECT_EQ(merged.events, 2000);
  EXPECT_EQ(merged.samples, 800);
  auto ad_of = [](const ActivationDifferenceResult& r, const std::string& v) {
    for (const auto& e : r.ranking)
      if (e.variable == v) return e.ad;
    return -1.0;
  };
  for (const std::string v : {"a", "b", "c"}) {
    // Each file's mean |dz| (its AD times its own sigma), weighted by its events.
    const double expect = (1200 * ad_of(r1, v) * r1.sigma + 800 * ad_of(r2, v) * r2.sigma) / (2000 * sigma);
    EXPECT_NEAR(ad_of(merged, v), expect, 1e-12 * expect) << v;
  }
  // Other options do not merge.
  ActivationDifferenceOptions other = o;
  other.seed = 2;
  auto x = activation_difference(net, Events(net, f2), other);
  EXPECT_THROW(merge(merged, x), Error);
  other = o;
  other.neuron = "L1N0";
  x = activation_difference(net, Events(net, f2), other);
  EXPECT_THROW(merge(merged, x), Error);
}
