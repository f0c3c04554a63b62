// Activation maximization: exact behaviour on a hand-built linear network (monotonic
// ascent, box clamping, boundary flags, threshold stops), the paper's product toy
// (section 2.5.1), determinism, the histogram informations and the Gaussian mixture.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "explain/convention_util.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/metrics.hpp"
#include "unbox/ops.hpp"
#include "unbox/toys.hpp"
#include "unbox/train.hpp"

using unbox::test::labelled_events;
using unbox::test::mi_options;
using unbox::test::with_neuron;
using unbox::test::with_population;

using namespace unbox;

namespace {

// z = a - 2 b (identity standardization, one linear Dense): the maximum over the box is
// at (a_max, b_min), the minimum at (a_min, b_max).
Network linear_network() {
  Network net;
  int in = net.add_input("x", {2}, {"a", "b"});
  int st = net.add_node("std", std::make_unique<Standardize>(Shape{2}), {in});
  auto dense = std::make_unique<Dense>(2, 1);
  dense->weight()[0] = 1.0;
  dense->weight()[1] = -2.0;
  dense->bias()[0] = 0.0;
  int out = net.add_node("dense", std::move(dense), {st});
  net.set_output(out);
  return net;
}

// a on [0, 10], b on [-1, 1]: different scales on purpose.
Dataset linear_data() {
  Dataset d;
  d.source = "linear";
  Tensor a({1001}), b({1001});
  for (Index i = 0; i <= 1000; ++i) {
    a[i] = 10.0 * static_cast<double>(i) / 1000.0;
    b[i] = std::sin(0.37 * static_cast<double>(i));  // covers [-1, 1] (max |b| < 1 but close)
  }
  b[0] = -1.0;
  b[1] = 1.0;
  d.add("a", a);
  d.add("b", b);
  return d;
}

struct ProductNet {
  Network net;
  Dataset test;
};

const ProductNet& product_network() {
  static ProductNet p = [] {
    ProductNet r;
    Dataset data = generate_toy("product", 100000, 11);
    r.test = generate_toy("product", 20000, 12);
    r.net = build_network({"x", "y"}, parse_architecture("paper"));
    TrainOptions o;
    o.epochs = 3;
    o.seed = 3;
    o.l1 = 1e-5;
    o.quiet = true;
    train(r.net, data.columns_matrix({"x", "y"}), data.get("label").values(), {}, o);
    return r;
  }();
  return p;
}

}  // namespace

TEST(Maximize, LinearNetworkAscentIsMonotonicAndEndsInTheCorner) {
  Network net = linear_network();
  Dataset data = linear_data();
  MaximizeOptions o;
  o.points = 64;
  o.threshold = 1e9;  // unreachable: every point uses its full step budget
  o.seed = 5;
  std::vector<double> previous;
  for (Index steps = 0; steps <= 60; steps += 5) {
    o.steps = steps;
    MaximizeResult r = maximize(net, Events(net, data), with_neuron(o, "output"));
    ASSERT_EQ(r.size(), 64);
    for (Index p = 0; p < r.size(); ++p) {
      // The activation is exactly a - 2b at the reported point.
      EXPECT_NEAR(r.activation[static_cast<size_t>(p)], r.points.at(p, 0) - 2 * r.points.at(p, 1), 1e-12);
      EXPECT_EQ(r.steps[static_cast<size_t>(p)], steps);
      EXPECT_EQ(r.converged[static_cast<size_t>(p)], 0);
      if (!previous.empty()) {
        EXPECT_GE(r.activation[static_cast<size_t>(p)], previous[static_cast<size_t>(p)] - 1e-12);
      }
    }
    if (!previous.empty()) {
      double gain = 0;
      for (Index p = 0; p < r.size(); ++p)
        gain += r.activation[static_cast<size_t>(p)] - previous[static_cast<size_t>(p)];
      EXPECT_GT(gain, 0.0) << "ascent must make progress at " << steps << " steps";
    }
    previous = r.activation;
  }
  // Enough steps: every point sits in the optimal corner, flagged on both boundaries.
  o.steps = 2000;
  MaximizeResult r = maximize(net, Events(net, data), with_neuron(o, "output"));
  for (Index p = 0; p < r.size(); ++p) {
    EXPECT_EQ(r.points.at(p, 0), 10.0);
    EXPECT_EQ(r.points.at(p, 1), -1.0);
    EXPECT_EQ(r.boundary[static_cast<size_t>(p * 2)], 1);
    EXPECT_EQ(r.boundary[static_cast<size_t>(p * 2 + 1)], 1);
    EXPECT_DOUBLE_EQ(r.activation[static_cast<size_t>(p)], 12.0);
  }
  // Minimizing goes to the other corner.
  o.minimize = true;
  o.threshold = -1e9;
  r = maximize(net, Events(net, data), with_neuron(o, "output"));
  for (Index p = 0; p < r.size(); ++p) {
    EXPECT_EQ(r.points.at(p, 0), 0.0);
    EXPECT_EQ(r.points.at(p, 1), 1.0);
    EXPECT_DOUBLE_EQ(r.activation[static_cast<size_t>(p)], -2.0);
  }
}

TEST(Maximize, ThresholdStopsEachPointAndFlagsOnlyTheBoundary) {
  Network net = linear_network();
  Dataset data = linear_data();
  MaximizeOptions o;
  o.points = 500;
  o.threshold = 6.0;
  o.steps = 1000;
  MaximizeResult r = maximize(net, Events(net, data), with_neuron(o, "output"));
  Index started_above = 0;
  for (Index p = 0; p < r.size(); ++p) {
    const double z0 = r.start.at(p, 0) - 2 * r.start.at(p, 1);
    EXPECT_EQ(r.converged[static_cast<size_t>(p)], 1);
    EXPECT_GE(r.activation[static_cast<size_t>(p)], 6.0);
    if (z0 >= 6.0) {
      ++started_above;
      EXPECT_EQ(r.steps[static_cast<size_t>(p)], 0);
      EXPECT_EQ(r.points.at(p, 0), r.start.at(p, 0));
    } else {
      EXPECT_GT(r.steps[static_cast<size_t>(p)], 0);
      // Stopped at the first step past the threshold: one step (at most 0.02 std in a,
      // 0.02 std in b) cannot gain more than 0.02 (std_a + 2 std_b) < 0.1.
      EXPECT_LT(r.activation[static_cast<size_t>(p)], 6.1);
    }
    for (int i = 0; i < 2; ++i) {
      const double v = r.points.at(p, i);
      EXPECT_GE(v, r.lo[static_cast<size_t>(i)]);
      EXPECT_LE(v, r.hi[static_cast<size_t>(i)]);
      EXPECT_EQ(r.boundary[static_cast<size_t>(p * 2 + i)],
                v == r.lo[static_cast<size_t>(i)] || v == r.hi[static_cast<size_t>(i)]);
    }
  }
  EXPECT_GT(started_above, 0);
  EXPECT_LT(started_above, r.size());

  // A ±K std box: limits from the data's mean and std; points stay inside.
  o.box = BoxKind::StdDev;
  o.box_k = 0.5;
  o.threshold = 1e9;
  o.steps = 400;
  r = maximize(net, Events(net, data), with_neuron(o, "output"));
  EXPECT_NEAR(r.lo[0], 5.0 - 0.5 * 10.0 * std::sqrt(1.0 / 12.0 + 1.0 / 6000.0), 1e-3);
  for (Index p = 0; p < r.size(); ++p) {
    EXPECT_EQ(r.points.at(p, 0), r.hi[0]);
    EXPECT_EQ(r.points.at(p, 1), r.lo[1]);
  }
  // The population file: inputs, activation, steps, converged, boundary flags; nothing else.
  Dataset f = r.to_dataset();
  EXPECT_EQ(f.names(),
            (std::vector<std::string>{"a", "b", "activation", "steps", "converged", "boundary_a", "boundary_b"}));
}

TEST(Maximize, HeldDiscreteInputsKeepTheirSampledValues) {
  Network net = linear_network();
  Dataset data = linear_data();
  Tensor& b = data.get("b");
  for (Index i = 0; i < b.size(); ++i) b[i] = i % 3 == 0 ? 1.0 : -1.0;  // a ±1 flag
  MaximizeOptions o;
  o.points = 300;
  o.threshold = 1e9;
  o.steps = 50;
  o.hold_discrete = true;
  MaximizeResult r = maximize(net, Events(net, data), with_neuron(o, "output"));
  EXPECT_FALSE(r.discrete[0]);
  EXPECT_TRUE(r.discrete[1]);
  EXPECT_TRUE(r.held[1]);
  Index plus = 0;
  for (Index p = 0; p < r.size(); ++p) {
    EXPECT_TRUE(r.points.at(p, 1) == 1.0 || r.points.at(p, 1) == -1.0);
    EXPECT_EQ(r.points.at(p, 1), r.start.at(p, 1));
    EXPECT_EQ(r.boundary[static_cast<size_t>(p * 2 + 1)], 0);  // held: never a runaway
    plus += r.points.at(p, 1) == 1.0;
  }
  EXPECT_NEAR(static_cast<double>(plus) / 300.0, 1.0 / 3.0, 0.1);  // sampled from the data's mix
  // Not held: b moves continuously to its lower end.
  o.hold_discrete = false;
  o.steps = 2000;
  r = maximize(net, Events(net, data), with_neuron(o, "output"));
  for (Index p = 0; p < r.size(); ++p) EXPECT_EQ(r.points.at(p, 1), -1.0);
}

TEST(Maximize, ProductToyOutputPopulationLiesInTheSignalQuadrants) {
  const ProductNet& pn = product_network();
  const double a = auc(evaluate(pn.net, gather_inputs(pn.net, pn.test), {pn.net.resolve("output:pre")}).values(),
                       pn.test.get("label").values());
  ASSERT_GT(a, 0.97) << "the product network did not train";
  MaximizeOptions o;
  o.points = 5000;
  o.threshold = 0.8;
  o.steps = 300;
  o.seed = 2;
  MaximizeResult r = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "output"));
  Index conv = 0, signal_side = 0;
  for (Index p = 0; p < r.size(); ++p) {
    if (!r.converged[static_cast<size_t>(p)]) continue;
    ++conv;
    signal_side += r.points.at(p, 0) * r.points.at(p, 1) < 0;
  }
  EXPECT_GT(conv, r.size() / 2);
  EXPECT_GE(static_cast<double>(signal_side), 0.95 * static_cast<double>(conv))
      << signal_side << " of " << conv << " converged points have x*y < 0";
  // Minimizing the output finds the background quadrants instead.
  o.minimize = true;
  o.threshold = -0.8;
  MaximizeResult m = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "output"));
  Index mconv = 0, bkg_side = 0;
  for (Index p = 0; p < m.size(); ++p)
    if (m.converged[static_cast<size_t>(p)]) {
      ++mconv;
      bkg_side += m.points.at(p, 0) * m.points.at(p, 1) > 0;
    }
  EXPECT_GE(static_cast<double>(bkg_side), 0.95 * static_cast<double>(mconv));
  // The 2-D histogram of the population carries information (quadrant structure).
  PopulationHistograms h = population_histograms(r, {});
  ASSERT_EQ(h.two.size(), 1u);
  EXPECT_GT(h.two[0].score, 0.3);
  ASSERT_EQ(h.one.size(), 2u);
  EXPECT_TRUE(h.three.empty());
}

TEST(Maximize, SameSeedSamePopulationOnAnyThreadCount) {
  const ProductNet& pn = product_network();
  MaximizeOptions o;
  o.points = 1500;
  o.threshold = 0.9;
  o.steps = 100;
  o.seed = 9;
  const int before = thread_count();
  set_thread_count(2);
  MaximizeResult a = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "L3N5"));
  MaximizeResult b = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "L3N5"));
  set_thread_count(1);
  MaximizeResult c = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "L3N5"));
  set_thread_count(before);
  EXPECT_EQ(a.points, b.points);
  EXPECT_EQ(a.points, c.points);
  EXPECT_EQ(a.activation, c.activation);
  EXPECT_EQ(a.steps, c.steps);
  EXPECT_EQ(population_histograms(a, {}).to_json().dump(), population_histograms(c, {}).to_json().dump());
  o.seed = 10;
  MaximizeResult d = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "L3N5"));
  EXPECT_NE(a.start, d.start);
}

TEST(Maximize, PlausibilityTermIsReportedAgainstThePlainRun) {
  const ProductNet& pn = product_network();
  MaximizeOptions o;
  o.points = 1000;
  o.threshold = 0.8;
  o.steps = 200;
  o.plausibility = 0.5;
  o.gmm_components = 4;
  MaximizeResult r = maximize(pn.net, Events(pn.net, pn.test), with_neuron(o, "output"));
  EXPECT_TRUE(r.has_comparison);
  EXPECT_TRUE(std::isfinite(r.mean_log_density));
  EXPECT_TRUE(std::isfinite(r.mean_log_density_without));
  EXPECT_GT(r.converged_fraction_without, 0.5);
  auto j = r.to_json();
  EXPECT_TRUE(j.contains("plausibility"));
  EXPECT_TRUE(j["plausibility"].contains("converged_fraction_without"));
}

TEST(Maximize, GaussianMixtureDensityAndGradient) {
  // One component on N(3, 2^2): log p(u) at the mean is -log(2 pi)/2 in standardized u.
  Tensor x({20000, 1});
  for (Index i = 0; i < 20000; ++i) {
    const double q = (static_cast<double>(i) + 0.5) / 20000.0;
    // Inverse normal CDF by bisection on erfc: an exactly reproducible Gaussian sample.
    double lo = -10, hi = 10;
    for (int it = 0; it < 80; ++it) {
      const double mid = 0.5 * (lo + hi);
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < q ? lo : hi) = mid;
    }
    x[i] = 3.0 + 2.0 * lo;
  }
  GaussianMixture g = fit_gaussian_mixture(x, 1, 30, 1);
  double at[1] = {3.0};
  EXPECT_NEAR(g.log_density(at), -0.5 * std::log(2 * M_PI), 1e-3);
  double x5[1] = {5.0}, grad[1] = {0.0};
  g.log_density(x5, grad, 1.0);
  EXPECT_NEAR(grad[0], -0.5, 1e-3);  // d/dx of -u^2/2 with u = (x-3)/2
  // Two well separated components: the gradient matches a finite difference.
  GaussianMixture g2 = fit_gaussian_mixture(x, 3, 40, 2);
  double p[1] = {4.2}, gg[1] = {0.0};
  g2.log_density(p, gg, 1.0);
  double hp[1] = {4.2 + 1e-6}, hm[1] = {4.2 - 1e-6};
  EXPECT_NEAR(gg[0], (g2.log_density(hp) - g2.log_density(hm)) / 2e-6, 1e-5);
}

TEST(Maximize, HistogramInformations) {
  // Independent: MI 0; a diagonal: MI = log(n).
  std::vector<double> indep(16, 5.0), diag(16, 0.0);
  for (int i = 0; i < 4; ++i) diag[static_cast<size_t>(i * 4 + i)] = 10.0;
  EXPECT_NEAR(mutual_information_2d(indep, 4, 4), 0.0, 1e-12);
  EXPECT_NEAR(mutual_information_2d(diag, 4, 4), std::log(4.0), 1e-12);
  // Three copies of one variable: total correlation = 2 log(n).
  std::vector<double> tri(27, 0.0);
  for (int i = 0; i < 3; ++i) tri[static_cast<size_t>((i * 3 + i) * 3 + i)] = 7.0;
  EXPECT_NEAR(total_correlation_3d(tri, 3, 3, 3), 2 * std::log(3.0), 1e-12);
  std::vector<double> flat(27, 1.0);
  EXPECT_NEAR(total_correlation_3d(flat, 3, 3, 3), 0.0, 1e-12);
  // KL: identical shapes ~0, a spike far from a flat start is large.
  std::vector<double> p(10, 100.0), q(10, 1000.0), spike(10, 0.0);
  spike[3] = 1000.0;
  EXPECT_NEAR(kl_divergence_1d(p, q), 0.0, 1e-3);
  EXPECT_NEAR(kl_divergence_1d(spike, q), std::log(10.0), 0.01);
  // Heat map: names, shading, one row per bin.
  PopulationHistogram h;
  h.vars = {0, 1};
  h.names = {"x", "y"};
  h.lo = {0, 0};
  h.hi = {1, 1};
  h.bins = 4;
  h.counts = diag;
  h.score = std::log(4.0);
  const std::string m = heat_map({h});
  EXPECT_NE(m.find("y vs x"), std::string::npos);
  EXPECT_NE(m.find("█"), std::string::npos);
  EXPECT_NE(heat_map({h}, true).find("@"), std::string::npos);
}

// The histogram summary moved from the CLI into MaximizeResult: with the options asking
// for histograms, the result holds exactly population_histograms(result) (what the CLI
// computed), to_json() carries the keys the CLI printed, and table() its lines.
TEST(Maximize, ResultHoldsTheHistogramSummaryTheCliPrinted) {
  Network net = linear_network();
  MaximizeOptions o;
  o.points = 400;
  o.threshold = 2.0;
  o.steps = 200;
  o.seed = 7;
  const Events events(net, linear_data());
  const MaximizeResult plain = maximize(net, events, with_neuron(o, "output"));
  EXPECT_FALSE(plain.histograms.has_value());
  EXPECT_FALSE(plain.to_json().contains("histograms"));
  HistogramOptions h;
  h.bins = 8;
  o.histograms = h;
  MaximizeResult r = maximize(net, events, with_neuron(o, "output"));
  ASSERT_TRUE(r.histograms.has_value());
  const PopulationHistograms old = population_histograms(plain, h);  // the CLI's call
  EXPECT_EQ(r.histograms->to_json(), old.to_json());
  EXPECT_EQ(r.points.values(), plain.points.values());  // the summary changes nothing else
  r.population_file = "pop.csv";
  r.histograms_file = "pop.csv.hist.json";
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["out"], "pop.csv");
  EXPECT_EQ(j["histograms_file"], "pop.csv.hist.json");
  EXPECT_EQ(j["histograms"]["population"], old.population);
  EXPECT_EQ(j["histograms"]["points"], old.points);
  ASSERT_EQ(j["histograms"]["one_kl"].size(), old.one.size());
  for (size_t i = 0; i < old.one.size(); ++i) {
    EXPECT_EQ(j["histograms"]["one_kl"][i]["variables"], old.one[i].names);
    EXPECT_EQ(j["histograms"]["one_kl"][i]["score"], old.one[i].score);
  }
  ASSERT_EQ(j["histograms"]["two_mi"].size(), old.two.size());
  EXPECT_EQ(j["histograms"]["two_mi"][0]["score"], old.two[0].score);
  EXPECT_TRUE(j["histograms"]["three_tc"].empty());  // two inputs: no triple
  nlohmann::json file = old.to_json();
  file["neuron"] = r.neuron;
  EXPECT_EQ(r.histograms_to_json(), file);
  const std::string t = r.table();
  EXPECT_NE(t.find(fmt::format("  histograms of {} {} points -> pop.csv.hist.json\n", old.points, old.population)),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(fmt::format("  top 2-D by mutual information (nats): (a,b) {:.3f}\n", old.two[0].score)),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  population -> pop.csv\n"), std::string::npos);
  EXPECT_EQ(r.heat_maps(4), heat_map({old.two[0]}, false, 2));
}
