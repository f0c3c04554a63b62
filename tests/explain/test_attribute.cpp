// Gradient attributions: Gauss-Legendre nodes, IG completeness on tanh networks, saliency
// against finite differences, IG on a linear model, SmoothGrad's limits and determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../test_util.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {
Network tanh_net(Index in, std::mt19937_64& rng, bool sigmoid_out) {
  std::vector<std::string> f;
  for (Index i = 0; i < in; ++i) f.push_back("x" + std::to_string(i));
  SequentialBuilder b(f);
  b.standardize()
      .dense(12)
      .activation(Activation(ActivationKind::Tanh))
      .dense(8)
      .activation(Activation(ActivationKind::Tanh));
  b.dense(1);
  if (sigmoid_out) b.activation(Activation(ActivationKind::Sigmoid));
  Network n = b.build();
  for (size_t i = 0; i < n.nodes().size(); ++i)
    if (auto* d = dynamic_cast<Dense*>(n.nodes()[i].op.get())) {
      d->weight() = test::random_tensor(d->weight().shape(), rng, 1.2);
      d->bias() = test::random_tensor(d->bias().shape(), rng, 0.5);
    }
  return n;
}
}  // namespace

TEST(Attribute, GaussLegendreIsExactForPolynomials) {
  std::vector<double> x, w;
  gauss_legendre01(3, x, w);
  // Known 3-point rule on [-1, 1]: 0, +-sqrt(3/5); weights 8/9, 5/9 (halved on [0, 1]).
  EXPECT_NEAR(x[1], 0.5, 1e-15);
  EXPECT_NEAR(x[0], 0.5 * (1 - std::sqrt(0.6)), 1e-15);
  EXPECT_NEAR(w[1], 4.0 / 9, 1e-15);
  EXPECT_NEAR(w[0], 5.0 / 18, 1e-15);
  for (Index n : {5, 32, 256}) {
    gauss_legendre01(n, x, w);
    // int_0^1 t^k dt = 1 / (k + 1) for k <= 2n - 1.
    for (int k : {0, 1, 7, 9}) {
      double s = 0;
      for (size_t i = 0; i < x.size(); ++i) s += w[i] * std::pow(x[i], k);
      EXPECT_NEAR(s, 1.0 / (k + 1), 1e-13) << n << " " << k;
    }
  }
}

TEST(Attribute, IntegratedGradientsCompletenessOnTanhNetworks) {
  std::mt19937_64 rng(21);
  for (int trial = 0; trial < 3; ++trial) {
    Network n = tanh_net(5, rng, true);
    std::vector<Tensor> x{test::random_tensor({60, 5}, rng, 2.5)};
    for (const char* base : {"zero", "mean", "event:3"}) {
      AttributeOptions o;
      o.baseline = base;
      o.steps = 256;
      auto a = attribute(n, x, o);
      EXPECT_EQ(a.target, "output:pre");
      for (Index e = 0; e < 60; ++e) {
        const auto k = static_cast<size_t>(e);
        double sum = 0;
        for (Index j = 0; j < 5; ++j) sum += a.scores.at(e, j);
        const double bound = 1e-4 * (std::abs(a.f_x[k] - a.f_baseline[k]) + std::abs(a.f_x[k]));
        EXPECT_LE(std::abs(sum - (a.f_x[k] - a.f_baseline[k])), bound) << base << " event " << e;
        EXPECT_NEAR(a.completeness_error[k], sum - (a.f_x[k] - a.f_baseline[k]), 1e-15);
      }
    }
  }
}

TEST(Attribute, SaliencyMatchesFiniteDifferencesAndGradXInput) {
  std::mt19937_64 rng(23);
  Network n = tanh_net(4, rng, true);
  std::vector<Tensor> x{test::random_tensor({20, 4}, rng, 1.5)};
  AttributeOptions o;
  o.method = AttributionMethod::Saliency;
  auto s = attribute(n, x, o);
  o.method = AttributionMethod::GradXInput;
  auto gx = attribute(n, x, o);
  const NeuronRef ref = n.resolve("output:pre");
  const double h = 1e-5;
  // Central differences, all perturbed events in one batch: row (e * 4 + j) * 2 + {0: +h, 1: -h}.
  Tensor pm({20 * 4 * 2, 4});
  for (Index e = 0; e < 20; ++e)
    for (Index j = 0; j < 4; ++j)
      for (Index k = 0; k < 2; ++k) {
        const Index row = (e * 4 + j) * 2 + k;
        for (Index i = 0; i < 4; ++i) pm.at(row, i) = x[0].at(e, i);
        pm.at(row, j) += k == 0 ? h : -h;
      }
  Tensor f = evaluate(n, {pm}, {ref});
  for (Index e = 0; e < 20; ++e)
    for (Index j = 0; j < 4; ++j) {
      const double fd = (f[(e * 4 + j) * 2] - f[(e * 4 + j) * 2 + 1]) / (2 * h);
      EXPECT_NEAR(s.scores.at(e, j), fd, 1e-7);
      EXPECT_NEAR(gx.scores.at(e, j), s.scores.at(e, j) * x[0].at(e, j), 1e-15);
    }
}

TEST(Attribute, IntegratedGradientsOnALinearModelIsExact) {
  SequentialBuilder b({"a", "b", "c"});
  b.dense(1);
  Network n = b.build();
  auto& d = static_cast<Dense&>(n.op(n.find_node("dense1")));
  d.weight() = Tensor({1, 3}, {0.5, -2, 3});
  d.bias() = Tensor({1}, {7});
  std::vector<Tensor> x{Tensor({2, 3}, {1, 2, 3, -1, 0, 4})};
  AttributeOptions o;
  o.steps = 2;
  o.baseline = "mean";  // (0, 1, 3.5)
  auto a = attribute(n, x, o);
  EXPECT_NEAR(a.scores.at(0, 0), 0.5 * 1, 1e-15);
  EXPECT_NEAR(a.scores.at(0, 1), -2 * 1, 1e-15);
  EXPECT_NEAR(a.scores.at(0, 2), 3 * -0.5, 1e-15);
  EXPECT_NEAR(a.scores.at(1, 0), 0.5 * -1, 1e-15);
  o.baseline = "event:7";
  EXPECT_THROW(attribute(n, x, o), Error);
  EXPECT_THROW(parse_attribution_method("lime"), Error);
}

TEST(Attribute, SmoothGradLimitsAndDeterminism) {
  std::mt19937_64 rng(29);
  Network n = tanh_net(3, rng, false);
  std::vector<Tensor> x{test::random_tensor({50, 3}, rng, 1.0)};
  AttributeOptions o;
  o.method = AttributionMethod::SmoothGrad;
  o.noise = 0.0;
  o.samples = 4;
  auto s0 = attribute(n, x, o);
  o.method = AttributionMethod::Saliency;
  auto sal = attribute(n, x, o);
  for (Index k = 0; k < s0.scores.size(); ++k) EXPECT_NEAR(s0.scores[k], sal.scores[k], 1e-15);
  o.method = AttributionMethod::SmoothGrad;
  o.noise = 0.3;
  o.samples = 20;
  o.batch = 7;  // blocks do not change the result
  auto a = attribute(n, x, o);
  o.batch = 512;
  auto b = attribute(n, x, o);
  EXPECT_EQ(a.scores, b.scores);
  double diff = 0;
  for (Index k = 0; k < a.scores.size(); ++k) diff += std::abs(a.scores[k] - sal.scores[k]);
  EXPECT_GT(diff, 1e-3);  // noise changes the gradient average
  o.seed = 2;
  auto c = attribute(n, x, o);
  EXPECT_NE(a.scores, c.scores);
}
