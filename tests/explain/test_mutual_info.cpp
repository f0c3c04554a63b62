// Mutual information: binning rules, eq. (1) limits (identical / monotonic / independent
// columns), the KSG estimator against the analytic MI of a Gaussian pair, neuron lists,
// and independence of the thread count.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "explain/convention_util.hpp"
#include "test_util.hpp"
#include "unbox/explain/mutual_info.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using unbox::test::labelled_events;
using unbox::test::mi_options;
using unbox::test::normals;
using unbox::test::with_neuron;
using unbox::test::with_population;

using namespace unbox;

namespace {

Tensor as_matrix(const std::vector<std::vector<double>>& cols) {
  const Index n = static_cast<Index>(cols[0].size()), k = static_cast<Index>(cols.size());
  Tensor t({n, k});
  for (Index e = 0; e < n; ++e)
    for (Index j = 0; j < k; ++j) t[e * k + j] = cols[static_cast<size_t>(j)][static_cast<size_t>(e)];
  return t;
}

}  // namespace

TEST(MutualInfo, EqualFrequencyBinsHoldEqualCounts) {
  std::vector<double> x = normals(1000, 1);
  BinnedColumn c = bin_column(x, {});
  EXPECT_FALSE(c.discrete);
  ASSERT_EQ(c.bins, 20);
  std::vector<int> count(20, 0);
  for (auto b : c.index) ++count[b];
  for (int v : count) EXPECT_EQ(v, 50);
  // Bins follow the order of the values.
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = 0; j < 50; ++j)
      if (x[i] < x[j]) {
        EXPECT_LE(c.index[i], c.index[j]);
      }
  EXPECT_NEAR(c.entropy, std::log(20.0), 1e-12);
}

TEST(MutualInfo, FewDistinctValuesAreTheirOwnBins) {
  std::vector<double> label = {1, 0, 0, 1, 1, -1, 0, 1};
  BinnedColumn c = bin_column(label, {});
  EXPECT_TRUE(c.discrete);
  EXPECT_EQ(c.bins, 3);
  EXPECT_EQ(c.index, (std::vector<std::uint16_t>{2, 1, 1, 2, 2, 0, 1, 2}));
  // 21 distinct values with 20 bins: binned as a continuous column.
  std::vector<double> v;
  for (int i = 0; i < 21; ++i) v.push_back(i);
  EXPECT_FALSE(bin_column(v, {}).discrete);
}

TEST(MutualInfo, ASpikeStaysInOneBinAndNoBinIsEmpty) {
  // A ReLU-like column: 60% exact zeros, the rest continuous.
  std::vector<double> x = normals(10000, 2);
  for (size_t i = 0; i < x.size(); ++i)
    if (i % 5 < 3)
      x[i] = 0.0;
    else
      x[i] = std::abs(x[i]) + 0.01;
  BinnedColumn c = bin_column(x, {});
  std::vector<int> count(static_cast<size_t>(c.bins), 0);
  for (auto b : c.index) ++count[b];
  for (int v : count) EXPECT_GT(v, 0);
  EXPECT_EQ(count[0], 6000);  // every zero, and only zeros, in the first bin
  EXPECT_EQ(c.bins, 9);       // 1 + the 8 quantile bins above 60%
}

TEST(MutualInfo, EqualWidthBins) {
  std::vector<double> many;
  for (int i = 0; i <= 100; ++i) many.push_back(i / 100.0);
  MutualInfoOptions o;
  o.binning = Binning::EqualWidth;
  o.bins = 4;
  BinnedColumn c = bin_column(many, o);
  EXPECT_EQ(c.bins, 4);
  EXPECT_EQ(c.index[0], 0);
  EXPECT_EQ(c.index[24], 0);
  EXPECT_EQ(c.index[25], 1);
  EXPECT_EQ(c.index[100], 3);  // the maximum belongs to the last bin
}

TEST(MutualInfo, IdenticalAndMonotonicColumnsGiveOne) {
  std::vector<double> x = normals(50000, 3), fx(x.size()), gx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    fx[i] = std::exp(x[i]) + x[i] * x[i] * x[i];  // strictly increasing
    gx[i] = -2.0 * x[i];                          // decreasing
  }
  EXPECT_GT(normalized_mutual_info(x, fx), 0.99);
  EXPECT_GT(normalized_mutual_info(x, gx), 0.99);
  MutualInfoOptions w;
  w.binning = Binning::EqualWidth;
  EXPECT_NEAR(normalized_mutual_info(x, x, w), 1.0, 1e-12);
}

TEST(MutualInfo, IndependentColumnsGiveAlmostZero) {
  std::vector<double> x = normals(100000, 4), y = normals(100000, 5);
  const double nmi = normalized_mutual_info(x, y);
  EXPECT_LT(nmi, 0.01);
  EXPECT_GE(nmi, 0.0);
  // A dependent pair is far from zero (the test can fail).
  std::vector<double> z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = x[i] + 0.5 * y[i];
  EXPECT_GT(normalized_mutual_info(x, z), 0.15);  // I = 0.80 nats, H ~ ln 20
}

TEST(MutualInfo, HandComputedExample) {
  // x = (0,0,0,1), y = (0,0,1,1): I = H(y) - H(y|x) = ln2 - 3/4 H(1/3).
  std::vector<double> x = {0, 0, 0, 1}, y = {0, 0, 1, 1};
  const double hx = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25)), hy = std::log(2.0);
  const double i = hy - 0.75 * -(1.0 / 3 * std::log(1.0 / 3) + 2.0 / 3 * std::log(2.0 / 3));
  BinnedColumn bx = bin_column(x, {}), by = bin_column(y, {});
  EXPECT_NEAR(binned_mutual_info(bx, by), i, 1e-15);
  EXPECT_NEAR(normalized_mutual_info(bx, by), i / std::sqrt(hx * hy), 1e-15);
  // A constant column carries no information.
  std::vector<double> c = {2, 2, 2, 2};
  EXPECT_EQ(normalized_mutual_info(c, y), 0.0);
}

TEST(MutualInfo, KsgRecoversTheGaussianPair) {
  for (double rho : {0.0, 0.5, 0.9}) {
    std::vector<double> a = normals(20000, 6), b = normals(20000, 7), y(a.size());
    for (size_t i = 0; i < a.size(); ++i) y[i] = rho * a[i] + std::sqrt(1 - rho * rho) * b[i];
    const double want = -0.5 * std::log(1 - rho * rho);
    const double got = ksg_mutual_info(a, y, 3, 1);
    EXPECT_NEAR(got, want, 0.02) << "rho " << rho;
    EXPECT_NEAR(information_coefficient(want), rho, 1e-12);
  }
}

TEST(MutualInfo, MatrixMatchesPairsAndIgnoresThreadCount) {
  std::vector<double> a = normals(30000, 8), b = normals(30000, 9), c(a.size()), d(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    c[i] = a[i] * b[i];
    d[i] = a[i] > 0 ? 1.0 : 0.0;
  }
  Tensor rows = as_matrix({a, b, c}), cols = as_matrix({a, d});
  const int before = thread_count();
  set_thread_count(1);
  MutualInfoResult r1 = mutual_info_matrix(rows, {"a", "b", "c"}, cols, {"a", "d"});
  set_thread_count(2);
  MutualInfoResult r2 = mutual_info_matrix(rows, {"a", "b", "c"}, cols, {"a", "d"});
  set_thread_count(before);
  EXPECT_EQ(r1.nmi, r2.nmi);  // bit for bit
  EXPECT_EQ(r1.mi, r2.mi);
  EXPECT_NEAR(r1.nmi[0][0], 1.0, 1e-12);
  EXPECT_EQ(r1.nmi[2][1], normalized_mutual_info(c, d));
  EXPECT_EQ(r1.variable_bins, (std::vector<Index>{20, 2}));
  EXPECT_TRUE(r1.variable_discrete[1]);
  // Sorted views: a knows most about a; d is tracked best by a.
  EXPECT_EQ(r1.neurons_by(0)[0], 0);
  EXPECT_EQ(r1.neurons_by(1)[0], 0);
  EXPECT_EQ(r1.variables_by(0)[0], 0);
  auto j = r1.to_json();
  EXPECT_EQ(j["nmi"].size(), 3u);
  EXPECT_EQ(j["nmi"][0].size(), 2u);
  EXPECT_EQ(j["variables"][1], "d");
}

TEST(MutualInfo, KsgMatrixIsSeededAndThreadIndependent) {
  std::vector<double> a = normals(5000, 10), b = normals(5000, 11), y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = 0.8 * a[i] + 0.6 * b[i];
  MutualInfoOptions o;
  o.estimator = MiEstimator::Kraskov;
  o.knn_events = 3000;
  Tensor rows = as_matrix({a, b}), cols = as_matrix({y});
  const int before = thread_count();
  set_thread_count(1);
  auto r1 = mutual_info_matrix(rows, {"a", "b"}, cols, {"y"}, o);
  set_thread_count(2);
  auto r2 = mutual_info_matrix(rows, {"a", "b"}, cols, {"y"}, o);
  set_thread_count(before);
  EXPECT_EQ(r1.mi, r2.mi);
  EXPECT_EQ(r1.events, 3000);
  EXPECT_NEAR(r1.nmi[0][0], 0.8, 0.05);  // information coefficient = |rho|
  EXPECT_NEAR(r1.nmi[1][0], 0.6, 0.05);
}

TEST(MutualInfo, NeuronListsExpandLayers) {
  Network net = build_network({"x", "y"}, parse_architecture("4,3", "relu", "sigmoid"));
  auto l2 = expand_neurons(net, {"L2"});
  EXPECT_EQ(l2, (std::vector<std::string>{"L2N0", "L2N1", "L2N2"}));
  auto pre = expand_neurons(net, {"L1:pre"});
  EXPECT_EQ(pre.size(), 4u);
  EXPECT_EQ(pre[3], "L1N3:pre");
  EXPECT_EQ(expand_neurons(net, {"all"}).size(), 4u + 3u + 1u);
  // Duplicates go, order stays: output is L3N0.
  EXPECT_EQ(expand_neurons(net, {"output", "L3", "L1N1"}), (std::vector<std::string>{"output", "L1N1"}));
  EXPECT_THROW(expand_neurons(net, {"L7"}), Error);
  EXPECT_THROW(expand_neurons(net, {"L1N9"}), Error);
}

TEST(MutualInfo, NetworkNeuronsAgainstColumnsAndNeurons) {
  Network net = build_network({"x", "y"}, parse_architecture("4,3", "tanh", "sigmoid"));
  std::mt19937_64 rng(3);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        if (p.trainable)
          for (double& v : p.value->values()) v = static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5;
  Dataset data;
  data.source = "test";
  std::vector<double> x = normals(20000, 12), y = normals(20000, 13), label(x.size());
  for (size_t i = 0; i < x.size(); ++i) label[i] = x[i] * y[i] > 0;
  data.add("x", Tensor({20000}, x));
  data.add("y", Tensor({20000}, y));
  data.add("label", Tensor({20000}, label));
  MutualInfoResult r = mutual_info(net, Events(net, data), mi_options({"L2", "output"}, {"x", "label", "output"}));
  ASSERT_EQ(r.neurons.size(), 4u);
  ASSERT_EQ(r.variables.size(), 3u);
  EXPECT_NEAR(r.nmi[3][2], 1.0, 1e-12);  // output against itself (a neuron as a variable)
  EXPECT_EQ(r.variable_bins[1], 2);
  // The same numbers as binning the evaluated values by hand.
  Tensor v = evaluate(net, gather_inputs(net, data), {net.resolve("L2N1")});
  EXPECT_EQ(r.nmi[1][0], normalized_mutual_info(v.values(), x));
  EXPECT_THROW(mutual_info(net, Events(net, data), mi_options({"L2"}, {"mt2"})), Error);
  data.set("x", Tensor({20000}, std::vector<double>(20000, NAN)));
  EXPECT_THROW(mutual_info(net, Events(net, data), mi_options({"L2"}, {"y", "x"})), Error);
}

TEST(MutualInfo, EqualFrequencyEdgesMatchAFullSort) {
  // Wide range of magnitudes, both signs, ties and signed zeros: the bucketed selection
  // must pick exactly the elements a full sort puts at the quantile ranks.
  std::vector<double> x = normals(30011, 14);
  for (size_t i = 0; i < x.size(); ++i) {
    if (i % 7 == 0) x[i] = std::ldexp(x[i], static_cast<int>(i % 60) - 30);
    if (i % 11 == 0) x[i] = 0.25;
    if (i % 13 == 0) x[i] = (i % 2) ? 0.0 : -0.0;
  }
  for (Index bins : {2, 7, 20, 100}) {
    MutualInfoOptions o;
    o.bins = bins;
    BinnedColumn c = bin_column(x, o);
    std::vector<double> s = x;
    std::sort(s.begin(), s.end());
    const Index n = static_cast<Index>(x.size());
    std::vector<double> edges;
    for (Index b = 1; b < bins; ++b) {
      const double e = s[static_cast<size_t>((b * n + bins - 1) / bins - 1)];
      if (e < s.back() && (edges.empty() || edges.back() != e)) edges.push_back(e);
    }
    for (size_t i = 0; i < x.size(); ++i) {
      const auto want = std::lower_bound(edges.begin(), edges.end(), x[i]) - edges.begin();
      ASSERT_EQ(c.index[i], want) << "bins " << bins << " event " << i;
    }
    EXPECT_EQ(c.bins, static_cast<Index>(edges.size()) + 1);
  }
}

// On a 3-class softmax model `output` stands for output[0..2], as in predict, Taylor and
// LRP: one row per class. Reference: the class probabilities computed here by hand and put
// in the data as columns p0..p2, so that output[j] must match pj (NMI 1) and only pj.
TEST(MutualInfo, OutputOfAThreeClassModelExpandsToOneRowPerClass) {
  Network net;
  const int x = net.add_input("x", {2}, {"a", "b"});
  auto dense = std::make_unique<Dense>(2, 3);
  dense->weight() = Tensor({3, 2}, {1.0, 0.5, -0.7, 1.2, 0.3, -1.1});
  dense->bias() = Tensor({3}, {0.1, -0.2, 0.05});
  const int d = net.add_node("dense", std::move(dense), {x});
  net.set_output(net.add_node("probs", std::make_unique<Softmax>(), {d}));
  const Index n = 4000;
  const std::vector<double> a = normals(n, 11), b = normals(n, 12);
  std::vector<double> p[3];
  for (Index e = 0; e < n; ++e) {
    const double ae = a[static_cast<size_t>(e)], be = b[static_cast<size_t>(e)];
    const double z[3] = {ae + 0.5 * be + 0.1, -0.7 * ae + 1.2 * be - 0.2, 0.3 * ae - 1.1 * be + 0.05};
    const double m = std::max({z[0], z[1], z[2]});
    const double s = std::exp(z[0] - m) + std::exp(z[1] - m) + std::exp(z[2] - m);
    for (int k = 0; k < 3; ++k) p[k].push_back(std::exp(z[k] - m) / s);
  }
  Dataset data;
  data.add("a", Tensor({n}, a));
  data.add("b", Tensor({n}, b));
  for (int k = 0; k < 3; ++k) data.add(fmt::format("p{}", k), Tensor({n}, p[k]));
  const MutualInfoResult r = mutual_info(net, Events(net, data), mi_options({"output"}, {"p0", "p1", "p2"}));
  ASSERT_EQ(r.neurons, (std::vector<std::string>{"output[0]", "output[1]", "output[2]"}));
  for (size_t j = 0; j < 3; ++j)
    for (size_t k = 0; k < 3; ++k) {
      if (j == k)
        EXPECT_GT(r.nmi[j][k], 0.99) << j;
      else
        EXPECT_LT(r.nmi[j][k], 0.9 * r.nmi[j][j]) << j << " " << k;
    }
  // The same rows as naming the classes one by one.
  const MutualInfoResult each =
      mutual_info(net, Events(net, data), mi_options({"probs[0]", "probs[1]", "probs[2]"}, {"p0", "p1", "p2"}));
  EXPECT_EQ(each.nmi, r.nmi);
}
