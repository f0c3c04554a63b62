#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "unbox/toys.hpp"

using namespace unbox;

namespace {

struct Moments {
  double n = 0, m1 = 0, m2 = 0, s1 = 0, s2 = 0, rho = 0;
};

// Sample moments of (a, b) for events of one class.
Moments moments(const Dataset& d, const std::string& a, const std::string& b, double cls) {
  const auto& x = d.get(a).values();
  const auto& y = d.get(b).values();
  const auto& l = d.get("label").values();
  Moments m;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (l[i] != cls) continue;
    m.n += 1;
    sx += x[i], sy += y[i], sxx += x[i] * x[i], syy += y[i] * y[i], sxy += x[i] * y[i];
  }
  m.m1 = sx / m.n;
  m.m2 = sy / m.n;
  m.s1 = std::sqrt(sxx / m.n - m.m1 * m.m1);
  m.s2 = std::sqrt(syy / m.n - m.m2 * m.m2);
  m.rho = (sxy / m.n - m.m1 * m.m2) / (m.s1 * m.s2);
  return m;
}

// Means, widths and correlation of one class within 5 standard errors.
void expect_gauss(const Moments& m, double mean, double width, double rho, const std::string& what) {
  const double se_mean = width / std::sqrt(m.n);
  const double se_width = width / std::sqrt(2 * m.n);
  const double se_rho = (1 - rho * rho) / std::sqrt(m.n);
  EXPECT_NEAR(m.m1, mean, 5 * se_mean) << what;
  EXPECT_NEAR(m.m2, mean, 5 * se_mean) << what;
  EXPECT_NEAR(m.s1, width, 5 * se_width) << what;
  EXPECT_NEAR(m.s2, width, 5 * se_width) << what;
  EXPECT_NEAR(m.rho, rho, 5 * se_rho) << what;
}

}  // namespace

TEST(Toys, ExactClassCountsAndColumns) {
  for (const auto& name : toy_names()) {
    for (Index n : {Index(1), Index(2), Index(1001)}) {
      Dataset d = generate_toy(name, n, 3);
      ASSERT_EQ(d.events(), n) << name;
      const bool gauss = name.rfind("gauss-", 0) == 0;
      EXPECT_EQ(d.names(), (std::vector<std::string>{gauss ? "x1" : "x", gauss ? "x2" : "y", "label"})) << name;
      ASSERT_TRUE(d.label_column.has_value());
      double sig = 0;
      for (double l : d.get("label").values()) {
        ASSERT_TRUE(l == 0.0 || l == 1.0);
        sig += l;
      }
      EXPECT_EQ(sig, static_cast<double>(n / 2)) << name << " " << n;
    }
  }
}

TEST(Toys, ErrorsNameTheToys) {
  try {
    generate_toy("hawaii", 10, 1);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    for (const auto& n : toy_names()) EXPECT_NE(m.find(n), std::string::npos) << m;
  }
  EXPECT_THROW(generate_toy("product", 0, 1), Error);
  EXPECT_THROW(generate_toy("product", -5, 1), Error);
}

TEST(Toys, SameSeedSameDataDifferentSeedDifferent) {
  for (const auto& name : toy_names()) {
    Dataset a = generate_toy(name, 2000, 42), b = generate_toy(name, 2000, 42), c = generate_toy(name, 2000, 43);
    for (const auto& col : a.names()) EXPECT_EQ(a.get(col), b.get(col)) << name << " " << col;
    EXPECT_NE(a.get(a.names()[0]), c.get(a.names()[0])) << name;
    EXPECT_NE(a.get("label"), c.get("label")) << name;
  }
}

TEST(Toys, GoldenValuesPinTheGenerator) {
  // mt19937_64 and our transforms are fixed by the standard and IEEE 754; these values
  // must never change (a change would silently alter every published toy result).
  Dataset d = generate_toy("product", 4, 1);
  Dataset g = generate_toy("gauss-marginal", 4, 1);
  // Printed once with %.17g and pasted here. The uniform toys are exact (no libm); the
  // Gaussians go through std::log, whose last bit may differ between C libraries.
  EXPECT_EQ(d.get("x").values(), (std::vector<double>{-0.95795154316654596, 0.82271609582235361, -0.85114991985766664,
                                                      0.27046243662747216}));
  EXPECT_EQ(d.get("y").values(), (std::vector<double>{0.35089811378291946, 0.4707521324902324, -0.56984714870209663,
                                                      -0.089453193644654427}));
  EXPECT_EQ(d.get("label").values(), (std::vector<double>{1, 0, 0, 1}));
  const std::vector<double> gx1{1.3755659606878401, -1.2589413331766242, -0.26123060173514273, 0.77656966159430385};
  const std::vector<double> gx2{0.43774659972183194, -0.37543936287177304, -1.2248771040840927, 1.9259614986762674};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(g.get("x1")[static_cast<Index>(i)], gx1[i], 1e-14);
    EXPECT_NEAR(g.get("x2")[static_cast<Index>(i)], gx2[i], 1e-14);
  }
}

TEST(Toys, ShuffledClasses) {
  Dataset d = generate_toy("gauss-width", 20000, 5);
  const auto& l = d.get("label").values();
  double first_half = 0;
  int changes = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    if (i < l.size() / 2) first_half += l[i];
    if (i && l[i] != l[i - 1]) ++changes;
  }
  // 5000 expected signal in the first half; sd ~ sqrt(10000/4) = 50.
  EXPECT_NEAR(first_half, 5000, 250);
  // About half of neighbouring pairs differ (10000, sd ~ 70).
  EXPECT_NEAR(changes, 10000, 350);
}

TEST(Toys, ProductLabelRuleAndUniformity) {
  Dataset d = generate_toy("product", 200000, 11);
  const auto& x = d.get("x").values();
  const auto& y = d.get("y").values();
  const auto& l = d.get("label").values();
  double quad[2][2] = {{0, 0}, {0, 0}};  // [class][x > 0]
  double abs_x[2] = {0, 0}, abs_y[2] = {0, 0};
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_GE(x[i], -1.0);
    ASSERT_LE(x[i], 1.0);
    ASSERT_GE(y[i], -1.0);
    ASSERT_LE(y[i], 1.0);
    ASSERT_EQ(l[i], x[i] * y[i] < 0 ? 1.0 : 0.0) << "event " << i;
    const int c = static_cast<int>(l[i]);
    quad[c][x[i] > 0] += 1;
    abs_x[c] += std::abs(x[i]);
    abs_y[c] += std::abs(y[i]);
  }
  // Each class: both of its quadrants equally often (n = 100000, sd 158), |x|, |y| uniform
  // on [0, 1] (mean 1/2, sd of the mean 0.29 / sqrt(n) = 0.0009).
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(quad[c][0], 50000, 800);
    EXPECT_NEAR(quad[c][1], 50000, 800);
    EXPECT_NEAR(abs_x[c] / 100000, 0.5, 0.0046);
    EXPECT_NEAR(abs_y[c] / 100000, 0.5, 0.0046);
  }
}

TEST(Toys, IslandsMapIsFixedAndLabelsFollowIt) {
  // Land fraction of the unit square on a fine grid: the map alone, no seed involved.
  const int g = 1000;
  long land = 0;
  for (int i = 0; i < g; ++i)
    for (int j = 0; j < g; ++j) land += islands_land((i + 0.5) / g, (j + 0.5) / g);
  const double frac = static_cast<double>(land) / (g * g);
  EXPECT_GT(frac, 0.25);
  EXPECT_LT(frac, 0.40);
  // Pins the map itself: changing a coefficient changes this count.
  EXPECT_EQ(land, 316598L);
  EXPECT_FALSE(islands_land(-0.1, 0.5));
  EXPECT_FALSE(islands_land(0.5, 1.5));

  for (std::uint64_t seed : {1u, 2u, 99u}) {
    Dataset d = generate_toy("islands", 20000, seed);
    const auto& x = d.get("x").values();
    const auto& y = d.get("y").values();
    const auto& l = d.get("label").values();
    double sx = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(x[i] >= 0 && x[i] < 1 && y[i] >= 0 && y[i] < 1);
      ASSERT_EQ(l[i], islands_land(x[i], y[i]) ? 1.0 : 0.0) << "seed " << seed << " event " << i;
      if (l[i] == 1.0) sx += x[i];
    }
    // Land is spread over the square, not one corner (mean x of land points ~0.5).
    EXPECT_GT(sx / 10000, 0.35);
    EXPECT_LT(sx / 10000, 0.65);
  }
}

TEST(Toys, GaussianScenarios) {
  const Index n = 200000;
  {
    Dataset d = generate_toy("gauss-marginal", n, 21);
    expect_gauss(moments(d, "x1", "x2", 1), 0.5, 1, 0, "marginal signal");
    expect_gauss(moments(d, "x1", "x2", 0), -0.5, 1, 0, "marginal background");
  }
  {
    Dataset d = generate_toy("gauss-correlation", n, 22);
    expect_gauss(moments(d, "x1", "x2", 1), 0, 1, 0.7, "correlation signal");
    expect_gauss(moments(d, "x1", "x2", 0), 0, 1, -0.7, "correlation background");
  }
  {
    Dataset d = generate_toy("gauss-width", n, 23);
    expect_gauss(moments(d, "x1", "x2", 1), 0, 1, 0, "width signal");
    expect_gauss(moments(d, "x1", "x2", 0), 0, 2, 0, "width background");
  }
  {
    Dataset d = generate_toy("gauss-mixed", n, 24);
    expect_gauss(moments(d, "x1", "x2", 1), 0.5, 1, 0.5, "mixed signal");
    expect_gauss(moments(d, "x1", "x2", 0), -0.5, 1, -0.5, "mixed background");
  }
}

// ---- xaug-jets (Agarwal et al.): columns, physics, and the XAUG result ------------------
#include <fmt/format.h>

#include "unbox/explain/lrp.hpp"
#include "unbox/metrics.hpp"
#include "unbox/train.hpp"

TEST(ToysXaug, ColumnsAndPhysics) {
  Dataset d = generate_toy("xaug-jets", 2001, 4);
  const auto p = xaug_particle_columns();
  const auto x = xaug_expert_columns();
  ASSERT_EQ(p.size(), 100u);
  EXPECT_EQ(p[0], "p0_pt");
  EXPECT_EQ(p[99], "p19_theta");
  auto names = p;
  names.insert(names.end(), x.begin(), x.end());
  names.push_back("label");
  EXPECT_EQ(d.names(), names);
  double sig = 0;
  for (Index e = 0; e < d.events(); ++e) {
    double zsum = 0, pt = 0, z1 = 0;
    for (int i = 0; i < 20; ++i) {
      const double z = d.get(fmt::format("p{}_z", i))[e];
      ASSERT_GT(z, 0.0);
      zsum += z;
      if (i < 10) z1 += z;
      pt += d.get(fmt::format("p{}_pt", i))[e];
      ASSERT_LE(std::abs(d.get(fmt::format("p{}_phi", i))[e]), 3.14159265358979323846);
      ASSERT_GE(d.get(fmt::format("p{}_theta", i))[e], 0.0);
      if (i % 10) {
        ASSERT_LE(d.get(fmt::format("p{}_pt", i))[e], d.get(fmt::format("p{}_pt", i - 1))[e]);
      }
    }
    ASSERT_NEAR(zsum, 1.0, 1e-12);  // z = pT / jet pT
    ASSERT_GE(pt, 300.0 - 1e-9);
    ASSERT_LE(pt, 500.0 + 1e-9);
    // balance = softer / harder subjet pT, from the particles.
    ASSERT_NEAR(d.get("xaug_subjet_balance")[e], (1 - z1) / z1, 1e-9);
    ASSERT_GT(d.get("xaug_mass")[e], 0.0);
    sig += d.get("label")[e];
  }
  EXPECT_EQ(sig, 1000.0);
  EXPECT_EQ(generate_toy("xaug-jets", 50, 9).get("p3_eta"), generate_toy("xaug-jets", 50, 9).get("p3_eta"));
}

TEST(ToysXaug, XaugVariablesCarryTheRelevance) {
  // Dense networks on the particles alone and with the XAUG variables (small samples:
  // the study command runs the full version). LRP epsilon on test events.
  Dataset train_d = generate_toy("xaug-jets", 4000, 11), test_d = generate_toy("xaug-jets", 2000, 12);
  auto parts = xaug_particle_columns(), all = parts;
  for (const auto& c : xaug_expert_columns()) all.push_back(c);
  double aucs[2];
  Aggregation agg;
  for (int xa = 0; xa < 2; ++xa) {
    const auto& cols = xa ? all : parts;
    Network net = build_network(cols, parse_architecture("32,32"));
    TrainOptions o;
    o.epochs = 8;
    o.patience = 3;
    o.learning_rate = 2e-3;
    o.quiet = true;
    train(net, train_d.columns_matrix(cols), train_d.labels(), {}, o);
    Tensor s = evaluate(net, {test_d.columns_matrix(cols)}, {net.output_neuron()});
    aucs[xa] = auc(s.values(), test_d.labels());
    if (xa) {
      LrpOptions lo;
      lo.composite = lrp_single_rule(parse_lrp_rule("epsilon"));
      std::vector<Index> rows;
      for (Index i = 0; i < 500; ++i) rows.push_back(i);
      Dataset ex = test_d.subset(rows);
      auto r = lrp(net, Events(net, ex), lo).relevance;
      agg = aggregate(r.features, r.relevance, r.inputs, ex.labels(), {});
    }
  }
  EXPECT_LT(aucs[0], 0.99);
  EXPECT_GT(aucs[0], 0.6);  // the particles do carry information
  EXPECT_GE(aucs[1], aucs[0] - 0.005);
  RecordProperty("auc_particles", std::to_string(aucs[0]));
  RecordProperty("auc_xaug", std::to_string(aucs[1]));
  size_t best = 0;
  for (size_t j = 1; j < agg.mnr.size(); ++j)
    if (agg.mnr[j] > agg.mnr[best]) best = j;
  EXPECT_EQ(agg.features[best].rfind("xaug_", 0), 0u)
      << "top feature " << agg.features[best] << " AUCs " << aucs[0] << " " << aucs[1];
}
