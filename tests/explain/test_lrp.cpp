// LRP: hand-derived relevances on a 2-3-1 network for every rule, LRP-0 = gradient x
// input on bias-free ReLU networks (dense and convolutional), conservation, the epsilon
// and bias bookkeeping, canonization, aggregation and mean +- std across models.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../test_util.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

// "x" + "3" (GCC 12 gives a false -Wrestrict on const char* + std::string&&).
std::string cat(const char* a, long i, const char* b = "") {
  std::string s(a);
  s += std::to_string(i);
  s += b;
  return s;
}

// x (2) -> Dense(3) -> ReLU -> Dense(1), no final activation (target: output).
//   W1 = [[1, -1], [2, 1], [-1, 3]], b1 = [0.5, -1, 0];  W2 = [[1, 2, -1]], b2 = 0.25.
// At x = (1, 2): z1 = (1 - 2 + 0.5, 2 + 2 - 1, -1 + 6) = (-0.5, 3, 5), a = (0, 3, 5),
// f = 0 + 6 - 5 + 0.25 = 1.25. Contributions to the output a_j w_j = (0, 6, -5).
Network net231() {
  SequentialBuilder b({"x1", "x2"});
  b.dense(3).activation(Activation(ActivationKind::ReLU)).dense(1);
  Network n = b.build();
  auto& d1 = static_cast<Dense&>(n.op(n.find_node("dense1")));
  auto& d2 = static_cast<Dense&>(n.op(n.find_node("dense2")));
  d1.weight() = Tensor({3, 2}, {1, -1, 2, 1, -1, 3});
  d1.bias() = Tensor({3}, {0.5, -1, 0});
  d2.weight() = Tensor({1, 3}, {1, 2, -1});
  d2.bias() = Tensor({1}, {0.25});
  return n;
}

// Event 0 is x = (1, 2); event 1, x = (-1, 0), only sets the data range for zbox.
std::vector<Tensor> events231() { return {Tensor({2, 2}, {1, 2, -1, 0})}; }

LrpRelevance run(const Network& n, const std::vector<Tensor>& x, LrpComposite c) {
  LrpOptions o;
  o.composite = std::move(c);
  return lrp(n, x, o);
}

LrpComposite rule(const std::string& r, double eps = 1e-6, double gamma = 0.25) {
  return lrp_single_rule(parse_lrp_rule(r, eps, gamma));
}

void expect_r(const LrpRelevance& r, double r1, double r2, const std::string& what) {
  EXPECT_NEAR(r.relevance.at(0, 0), r1, 1e-12) << what;
  EXPECT_NEAR(r.relevance.at(0, 1), r2, 1e-12) << what;
  // The report explains every lost bit of relevance.
  EXPECT_NEAR(r.output[0] - r.input_sum[0] - r.bias[0] - r.epsilon[0] - r.other[0], 0.0, 1e-12) << what;
}

}  // namespace

TEST(Lrp, HandDerived231Zero) {
  // Layer 2: R_j = a_j w_j (R / z = 1) = (0, 6, -5); bias absorbs 0.25.
  // Layer 1, neuron 2 (z = 3, R = 6, s = 2): x_i w_i2 s = (1*2*2, 2*1*2) = (4, 4), bias -1*2 = -2.
  //          neuron 3 (z = 5, R = -5, s = -1): (1*-1*-1, 2*3*-1) = (1, -6).  R = (5, -2).
  auto r = run(net231(), events231(), rule("0"));
  expect_r(r, 5, -2, "rule 0");
  EXPECT_NEAR(r.output[0], 1.25, 1e-15);
  EXPECT_NEAR(r.bias[0], 0.25 - 2.0, 1e-12);
  EXPECT_EQ(r.epsilon[0], 0.0);
  EXPECT_EQ(r.target, "output");
}

TEST(Lrp, HandDerived231Epsilon) {
  // eps = 0.1. Layer 2: s = 1.25 / 1.35, R = (0, 6s, -5s).
  // Layer 1: neuron 2: s2 = 6s / 3.1, R += (2, 2) s2; neuron 3: s3 = -5s / 5.1, R += (-1, 6) s3.
  const double s = 1.25 / 1.35, s2 = 6 * s / 3.1, s3 = -5 * s / 5.1;
  auto r = run(net231(), events231(), rule("epsilon", 0.1));
  expect_r(r, 2 * s2 - s3, 2 * s2 + 6 * s3, "epsilon");
  // Epsilon absorbs eps * s at each neuron with relevance: 0.1 (s + s2 + s3).
  EXPECT_NEAR(r.epsilon[0], 0.1 * (s + s2 + s3), 1e-12);
  EXPECT_NEAR(r.bias[0], 0.25 * s - 1.0 * s2, 1e-12);
}

TEST(Lrp, HandDerived231Gamma) {
  // gamma = 0.5: W1' = [[1.5, -1], [3, 1.5], [-1, 4.5]], b1' = [0.75, -1, 0]; W2' = [1.5, 3, -1], b2' = 0.375.
  // Layer 2: z' = 3*3 - 5 + 0.375 = 4.375, s = 1.25 / 4.375, R = (0, 9s, -5s).
  // Layer 1: neuron 2: z' = 3 + 3 - 1 = 5, R += (3, 3) 9s/5; neuron 3: z' = -1 + 9 = 8, R += (-1, 9) (-5s/8).
  const double s = 1.25 / 4.375, s2 = 9 * s / 5, s3 = -5 * s / 8;
  auto r = run(net231(), events231(), rule("gamma", 1e-6, 0.5));
  expect_r(r, 3 * s2 - s3, 3 * s2 + 9 * s3, "gamma");
}

TEST(Lrp, HandDerived231AlphaBeta) {
  // alpha2beta1. Layer 2: z+ = 6 + 0.25, z- = -5. R = (0, 2*6/6.25*1.25, -(-5)/(-5)*1.25) = (0, 2.4, -1.25).
  // Layer 1, neuron 2 (contributions (2, 2), bias -1): z+ = 4, z- = -1 (bias only): R += 2 (2, 2)/4 2.4 = (2.4, 2.4).
  //          neuron 3 (contributions (-1, 6), no bias): z+ = 6, z- = -1:
  //          R += 2 (0, 6)/6 (-1.25) - (-1, 0)/(-1) (-1.25) = (1.25, -2.5).  Total (3.65, -0.1).
  auto r = run(net231(), events231(), rule("alpha2beta1"));
  expect_r(r, 3.65, -0.1, "alpha2beta1");
  // alpha1beta0. Layer 2: R = (0, 6/6.25*1.25, 0) = (0, 1.2, 0); layer 1: (2, 2)/4 1.2 = (0.6, 0.6).
  r = run(net231(), events231(), rule("alpha1beta0"));
  expect_r(r, 0.6, 0.6, "alpha1beta0");
  EXPECT_NEAR(r.bias[0], 0.05, 1e-12);  // b2+ / z+ R = 0.25 / 6.25 * 1.25
  // zplus drops the bias: layer 2: R = (0, 1.25, 0); layer 1: (2, 2)/4 1.25.
  r = run(net231(), events231(), rule("zplus"));
  expect_r(r, 0.625, 0.625, "zplus");
  EXPECT_NEAR(r.input_sum[0], 1.25, 1e-12);
  // alpha3beta2 = alpha - beta = 1 family: layer 2: R = (0, 3*6/6.25*1.25, -2*1.25) = (0, 3.6, -2.5);
  // layer 1: neuron 2: 3 (2,2)/4 3.6 = (5.4, 5.4) (z- = -1 from the bias only);
  //          neuron 3: 3 (0, 6)/6 (-2.5) - 2 (-1, 0)/(-1) (-2.5) = (5, -7.5).  Total (10.4, -2.1).
  r = run(net231(), events231(), rule("alpha3beta2"));
  expect_r(r, 10.4, -2.1, "alpha3beta2");
}

TEST(Lrp, HandDerived231WSquareFlat) {
  // wsquare: layer 2: w^2 = (1, 4, 1) / 6 of 1.25 (the inactive neuron 1 gets its share too);
  // layer 1: neuron 1 (1, 1)/2, neuron 2 (4, 1)/5, neuron 3 (1, 9)/10.
  const double R1 = 1.25 / 6, R2 = 4 * 1.25 / 6, R3 = 1.25 / 6;
  auto r = run(net231(), events231(), rule("wsquare"));
  expect_r(r, 0.5 * R1 + 0.8 * R2 + 0.1 * R3, 0.5 * R1 + 0.2 * R2 + 0.9 * R3, "wsquare");
  // flat: 1/3 to each hidden neuron, each splits it in half.
  r = run(net231(), events231(), rule("flat"));
  expect_r(r, 0.625, 0.625, "flat");
}

TEST(Lrp, HandDerived231ZBoxAtTheInput) {
  // Rule 0 above, zbox at L1 with the data range l = (-1, 0), h = (1, 2).
  // Layer 2 (rule 0): R = (0, 6, -5).
  // Neuron 2, w = (2, 1): x w - l w+ - h w- = (2 + 2, 2 - 0) = (4, 2), sum 6: R += (4, 2).
  // Neuron 3, w = (-1, 3): (-1 - 0 + 1, 6 - 0 - 0) = (0, 6): R += (0, -5).  Total (4, -3).
  LrpComposite c = rule("0");
  add_lrp_overrides(c, "L1=zbox");
  auto r = run(net231(), events231(), c);
  expect_r(r, 4, -3, "zbox");
  EXPECT_EQ(r.layer_rules.size(), 2u);
  EXPECT_NE(r.layer_rules[0].find("zbox"), std::string::npos) << r.layer_rules[0];
  EXPECT_NE(r.layer_rules[1].find(": 0"), std::string::npos) << r.layer_rules[1];
}

namespace {
Network random_relu_net(Index in, std::vector<Index> widths, std::mt19937_64& rng, bool bias) {
  std::vector<std::string> f;
  for (Index i = 0; i < in; ++i) f.push_back(cat("x", i));
  SequentialBuilder b(f);
  for (Index w : widths) b.dense(w).activation(Activation(ActivationKind::ReLU));
  b.dense(1);
  Network n = b.build();
  for (size_t i = 0; i < n.nodes().size(); ++i)
    if (auto* d = dynamic_cast<Dense*>(n.nodes()[i].op.get())) {
      d->weight() = test::random_tensor(d->weight().shape(), rng);
      d->bias() = bias ? test::random_tensor(d->bias().shape(), rng, 0.3) : Tensor(d->bias().shape(), 0.0);
    }
  return n;
}
}  // namespace

TEST(Lrp, ZeroRuleIsGradientTimesInputOnBiasFreeReluNets) {
  std::mt19937_64 rng(5);
  Network n = random_relu_net(6, {10, 7}, rng, false);
  std::vector<Tensor> x{test::random_tensor({300, 6}, rng, 2.0)};
  auto r = run(n, x, rule("0"));
  auto g = input_gradient(n, x, n.resolve("output"));
  double max_rel = 0;
  for (Index e = 0; e < 300; ++e) {
    for (Index j = 0; j < 6; ++j) EXPECT_NEAR(r.relevance.at(e, j), g[0].at(e, j) * x[0].at(e, j), 1e-12);
    EXPECT_NEAR(r.input_sum[static_cast<size_t>(e)], r.output[static_cast<size_t>(e)], 1e-12);  // exact conservation
    max_rel = std::max(max_rel, std::abs(r.output[static_cast<size_t>(e)]));
  }
  EXPECT_GT(max_rel, 0.1);  // not a trivially zero network
  auto c = summarize_conservation(r);
  EXPECT_LT(c.mean_abs_error, 1e-13);
}

TEST(Lrp, ZPlusAndAlpha1Beta0ConserveOnBiasFreeNets) {
  std::mt19937_64 rng(7);
  Network n = random_relu_net(5, {8, 6}, rng, false);
  std::vector<Tensor> x{test::random_tensor({400, 5}, rng, 2.0)};
  for (const char* name : {"zplus", "alpha1beta0", "alpha2beta1", "wsquare", "flat"}) {
    auto r = run(n, x, rule(name));
    Index positive = 0;
    for (Index e = 0; e < 400; ++e) {
      const auto k = static_cast<size_t>(e);
      // The only relevance lost: an output with no positive contribution (f <= 0 under z+).
      // alpha2beta1 loses (or gains) beta R where a neuron has no negative part: only the
      // bookkeeping below holds for it.
      if (std::string(name) == "alpha2beta1") {
        ++positive;
      } else if (r.output[k] > 0 || std::string(name) == "wsquare" || std::string(name) == "flat") {
        EXPECT_NEAR(r.input_sum[k], r.output[k], 1e-12 * (1 + std::abs(r.output[k]))) << name << " event " << e;
        ++positive;
      }
      EXPECT_NEAR(r.output[k] - r.input_sum[k] - r.bias[k] - r.epsilon[k] - r.other[k], 0, 1e-12) << name;
    }
    EXPECT_GT(positive, 50) << name;
  }
}

TEST(Lrp, EpsilonAbsorbsWhatTheReportSays) {
  std::mt19937_64 rng(9);
  Network n = random_relu_net(4, {6, 5}, rng, true);
  std::vector<Tensor> x{test::random_tensor({200, 4}, rng, 1.0)};
  auto r0 = run(n, x, rule("epsilon", 0.5));
  double total_eps = 0;
  for (Index e = 0; e < 200; ++e) {
    const auto k = static_cast<size_t>(e);
    EXPECT_NEAR(r0.output[k] - r0.input_sum[k], r0.bias[k] + r0.epsilon[k] + r0.other[k], 1e-12);
    EXPECT_EQ(r0.other[k], 0.0);
    total_eps += std::abs(r0.epsilon[k]);
  }
  EXPECT_GT(total_eps, 1.0);  // a large epsilon really absorbs
  // Bias-free: all that is lost is epsilon's, and it shrinks with epsilon.
  Network nb = random_relu_net(4, {6, 5}, rng, false);
  auto r1 = run(nb, x, rule("epsilon", 1e-3));
  for (Index e = 0; e < 200; ++e) {
    const auto k = static_cast<size_t>(e);
    EXPECT_EQ(r1.bias[k], 0.0);
    EXPECT_NEAR(r1.output[k] - r1.input_sum[k], r1.epsilon[k], 1e-13);
  }
}

namespace {
// flat [2 * 8] -> Reshape [2, 8] -> Conv(2 -> 3, k 3, pad 1) [-> BatchNorm] -> ReLU -> pool(k 2) ->
// Reshape [12] -> Dense 1.
Network conv_net(std::mt19937_64& rng, bool batchnorm, PoolKind pool, bool bias) {
  Network n;
  std::vector<std::string> f;
  for (int i = 0; i < 16; ++i) f.push_back(cat("v", i));
  int x = n.add_input("x", {16}, f);
  int h = n.add_node("img", std::make_unique<Reshape>(Shape{2, 8}), {x});
  auto conv = std::make_unique<Conv>(2, 3, Window{{3}, {1}, {1, 1}, {1}, false});
  conv->weight() = test::random_tensor(conv->weight().shape(), rng);
  conv->bias() = bias ? test::random_tensor({3}, rng, 0.2) : Tensor({3}, 0.0);
  h = n.add_node("conv", std::move(conv), {h});
  if (batchnorm) {
    auto bn = std::make_unique<BatchNorm>(3);
    bn->scale() = Tensor({3}, {1.5, 0.7, -0.9});
    bn->bias() = Tensor({3}, {0.1, -0.2, 0.3});
    bn->mean() = Tensor({3}, {0.05, -0.1, 0.2});
    bn->var() = Tensor({3}, {0.8, 1.3, 2.0});
    h = n.add_node("bn", std::move(bn), {h});
  }
  h = n.add_node("relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
  h = n.add_node("pool", std::make_unique<Pool>(pool, Window{{2}, {2}, {0, 0}, {1}, false}), {h});
  h = n.add_node("flat", std::make_unique<Reshape>(Shape{12}), {h});
  auto d = std::make_unique<Dense>(12, 1);
  d->weight() = test::random_tensor({1, 12}, rng);
  d->bias() = bias ? Tensor({1}, {0.1}) : Tensor({1}, 0.0);
  h = n.add_node("dense", std::move(d), {h});
  n.set_output(h);
  return n;
}
}  // namespace

TEST(Lrp, ConvPoolingZeroRuleIsGradientTimesInput) {
  for (PoolKind pool : {PoolKind::Max, PoolKind::Average}) {
    std::mt19937_64 rng(11);
    Network n = conv_net(rng, false, pool, false);
    std::vector<Tensor> x{test::random_tensor({100, 16}, rng, 1.5)};
    auto r = run(n, x, rule("0"));
    auto g = input_gradient(n, x, n.resolve("output"));
    for (Index e = 0; e < 100; ++e) {
      for (Index j = 0; j < 16; ++j) EXPECT_NEAR(r.relevance.at(e, j), g[0].at(e, j) * x[0].at(e, j), 1e-12);
      EXPECT_NEAR(r.input_sum[static_cast<size_t>(e)], r.output[static_cast<size_t>(e)], 1e-12);
    }
  }
}

TEST(Lrp, CanonizationEqualsTheFoldedNetwork) {
  std::mt19937_64 rng(13);
  Network n = conv_net(rng, true, PoolKind::Max, true);
  // The folded equivalent built by hand: w' = w g / sqrt(v + eps), b' = (b - m) g / sqrt(v + eps) + beta.
  std::mt19937_64 rng2(13);
  Network folded = conv_net(rng2, false, PoolKind::Max, true);
  {
    const auto& bn = static_cast<const BatchNorm&>(n.op(n.find_node("bn")));
    auto& c = static_cast<Conv&>(folded.op(folded.find_node("conv")));
    for (Index o = 0; o < 3; ++o) {
      const double a = bn.scale()[o] / std::sqrt(bn.var()[o] + bn.epsilon());
      for (Index k = 0; k < 6; ++k) c.weight()[o * 6 + k] *= a;
      c.bias()[o] = (c.bias()[o] - bn.mean()[o]) * a + bn.bias()[o];
    }
  }
  std::vector<Tensor> x{test::random_tensor({64, 16}, rng, 1.0)};
  Tensor y1 = evaluate(n, x, {n.resolve("output")}), y2 = evaluate(folded, x, {folded.resolve("output")});
  for (Index e = 0; e < 64; ++e) ASSERT_NEAR(y1[e], y2[e], 1e-12);
  for (const char* name : {"epsilon", "alpha2beta1", "zplus", "gamma"}) {
    auto a = run(n, x, rule(name));
    auto b = run(folded, x, rule(name));
    for (Index k = 0; k < a.relevance.size(); ++k) EXPECT_NEAR(a.relevance[k], b.relevance[k], 1e-11) << name;
    EXPECT_EQ(a.layer_rules.size(), 2u);  // the BatchNorm is gone
  }
  // Unfolded, BatchNorm is a per-channel linear layer with rule 0: relevances differ
  // from the folded ones under alpha-beta (its shift is a bias of its own).
  LrpOptions o;
  o.composite = rule("alpha2beta1");
  o.canonize = false;
  auto u = lrp(n, x, o);
  auto f = run(n, x, rule("alpha2beta1"));
  double diff = 0;
  for (Index k = 0; k < u.relevance.size(); ++k) diff += std::abs(u.relevance[k] - f.relevance[k]);
  EXPECT_GT(diff, 1e-6);
  for (size_t e = 0; e < u.output.size(); ++e)
    EXPECT_NEAR(u.output[e] - u.input_sum[e] - u.bias[e] - u.epsilon[e] - u.other[e], 0, 1e-12);
}

TEST(Lrp, DefaultTargetIsThePreActivationAndSoftmaxInsideIsRefused) {
  SequentialBuilder b({"a", "b"});
  b.standardize()
      .dense(3)
      .activation(Activation(ActivationKind::Tanh))
      .dense(1)
      .activation(Activation(ActivationKind::Sigmoid));
  Network n = b.build();
  std::string note;
  EXPECT_EQ(default_target(n, &note), "output:pre");
  EXPECT_NE(note.find("Sigmoid"), std::string::npos) << note;
  // A library message speaks of the option by its meaning, never by a CLI flag.
  EXPECT_NE(note.find("the neuron 'output' explains the post-activation value"), std::string::npos) << note;
  EXPECT_EQ(note.find("--"), std::string::npos) << note;
  std::mt19937_64 rng(3);
  std::vector<Tensor> x{test::random_tensor({10, 2}, rng)};
  auto r = run(n, x, rule("epsilon"));
  EXPECT_EQ(r.target, "output:pre");
  Tensor logit = evaluate(n, x, {n.resolve("output:pre")});
  for (Index e = 0; e < 10; ++e) EXPECT_EQ(r.output[static_cast<size_t>(e)], logit[e]);
  // A softmax in the middle: Error naming the op.
  SequentialBuilder s({"a", "b"});
  s.dense(3).softmax().dense(1);
  Network ns = s.build();
  try {
    run(ns, x, rule("epsilon"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'Softmax'"), std::string::npos) << e.what();
  }
  // A product of two tensors: Error naming the op, not a crash.
  Network nm;
  int in = nm.add_input("x", {2}, {"a", "b"});
  int m = nm.add_node("mul", std::make_unique<Binary>(BinaryKind::Mul), {in, in});
  int d = nm.add_node("d", std::make_unique<Dense>(2, 1), {m});
  nm.set_output(d);
  try {
    run(nm, x, rule("0"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'Binary'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_lrp_rule("alpha2beta2"), Error);
  EXPECT_THROW(parse_lrp_rule("nonsense"), Error);
  EXPECT_THROW(lrp_composite("nonsense"), Error);
}

TEST(Lrp, ThreadCountDoesNotChangeRelevances) {
  std::mt19937_64 rng(17);
  Network n = random_relu_net(5, {16, 8}, rng, true);
  std::vector<Tensor> x{test::random_tensor({3000, 5}, rng, 1.0)};
  LrpOptions o;
  o.composite = lrp_composite("epsilon-gamma-box");
  o.batch = 100;
  const int t = thread_count();
  set_thread_count(1);
  auto a = lrp(n, x, o);
  set_thread_count(2);
  auto b = lrp(n, x, o);
  set_thread_count(t);
  EXPECT_EQ(a.relevance, b.relevance);
}

TEST(Lrp, AggregationMatchesBruteForceAndModelsCombine) {
  // Two events, three features named like a particle list (p0_z, p0_theta, p1_z).
  Tensor s({3, 3}, {2, -4, 1, 0, 0, 0, -1, 0.5, 0.25});
  Tensor x({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  std::vector<double> labels{1, 0, 0};
  auto a = aggregate({"p0_z", "p0_theta", "p1_z"}, s, x, labels, AggregationOptions{2, 10});
  // Event 0 normalized: (0.5, 1, 0.25); event 1 has no relevance (skipped); event 2: (1, 0.5, 0.25).
  EXPECT_NEAR(a.mnr[0], 0.75, 1e-15);
  EXPECT_NEAR(a.mnr[1], 0.75, 1e-15);
  EXPECT_NEAR(a.mnr[2], 0.25, 1e-15);
  EXPECT_NEAR(a.mnr_class[1][1], 1.0, 1e-15);
  EXPECT_NEAR(a.mnr_class[0][0], 1.0, 1e-15);
  EXPECT_NEAR(a.mean[1], -3.5 / 3, 1e-15);
  ASSERT_EQ(a.map_rows.size(), 2u);
  ASSERT_EQ(a.map_cols.size(), 2u);               // z, theta
  EXPECT_NEAR(a.map[0][0 * 2 + 0], 0.75, 1e-15);  // p0 z
  EXPECT_NEAR(a.map[0][1 * 2 + 0], 0.25, 1e-15);  // p1 z
  EXPECT_NEAR(mnr_share(a, "p1_"), 0.25 / 1.75, 1e-15);
  // Profiles: two bins; every event lands in one and the counts add up.
  double count = 0;
  for (double c : a.profile_count[0]) count += c;
  EXPECT_EQ(count, 3.0);
  // Three "models": mean and sample std per feature.
  Tensor s2 = s, s3 = s;
  s2[0] = 4;   // event 0 normalized: (1, 1, 0.25)
  s3[2] = -4;  // event 0: (0.5, 1, 1)
  auto b = aggregate({"p0_z", "p0_theta", "p1_z"}, s2, x, labels, AggregationOptions{2, 10});
  auto c = aggregate({"p0_z", "p0_theta", "p1_z"}, s3, x, labels, AggregationOptions{2, 10});
  auto sum = combine({a, b, c});
  EXPECT_EQ(sum.models, 3);
  const double m0[3] = {0.75, 1.0, 0.75}, m2[3] = {0.25, 0.25, 0.625};
  auto mean_sd = [](const double* v, double& m, double& sd) {
    m = (v[0] + v[1] + v[2]) / 3;
    sd = std::sqrt(((v[0] - m) * (v[0] - m) + (v[1] - m) * (v[1] - m) + (v[2] - m) * (v[2] - m)) / 2);
  };
  double m, sd;
  mean_sd(m0, m, sd);
  EXPECT_NEAR(sum.mean.mnr[0], m, 1e-15);
  EXPECT_NEAR(sum.std.mnr[0], sd, 1e-15);
  mean_sd(m2, m, sd);
  EXPECT_NEAR(sum.mean.mnr[2], m, 1e-15);
  EXPECT_NEAR(sum.std.mnr[2], sd, 1e-15);
  auto j = sum.to_json();
  EXPECT_NEAR(j["mean_normalized_relevance"]["p1_z"].get<double>(), m, 1e-15);
  EXPECT_NEAR(j["mean_normalized_relevance_std"]["p1_z"].get<double>(), sd, 1e-15);
  EXPECT_THROW(combine({a, aggregate({"a", "b", "c"}, s, x, labels, {})}), Error);
}

// ---------------------------------------------------------------- Particle Flow Networks

namespace {
// A bias-free ReLU PFN on 6 particles x (pt, eta, phi): ParticleStandardize (non-trivial
// mean and std) -> ParticleDense 8 -> ReLU -> ParticleDense 6 -> ReLU -> ParticlePool ->
// Dense 5 -> ReLU -> Dense 1 (-> sigmoid; the target is output:pre).
Network bias_free_pfn(std::mt19937_64& rng, bool mean) {
  std::vector<std::string> f;
  for (int i = 0; i < 6; ++i)
    for (const char* q : {"pt", "eta", "phi"}) f.push_back(cat("p", i, "_") + q);
  Network n = build_particle_flow_network(f, {8, 6}, {5}, Activation(ActivationKind::ReLU), false, mean);
  for (size_t i = 0; i < n.nodes().size(); ++i) {
    Op* op = n.nodes()[i].op.get();
    if (auto* d = dynamic_cast<Dense*>(op)) {
      d->weight() = test::random_tensor(d->weight().shape(), rng);
      d->bias().fill(0.0);
    } else if (auto* pd = dynamic_cast<ParticleDense*>(op)) {
      pd->weight() = test::random_tensor(pd->weight().shape(), rng);
      pd->bias().fill(0.0);
    } else if (auto* ps = dynamic_cast<ParticleStandardize*>(op)) {
      ps->mean() = Tensor({3}, {1.5, -0.2, 0.3});
      ps->stddev() = Tensor({3}, {2.0, 0.7, 1.3});
    }
  }
  return n;
}

// Events with 1..6 real particles; padded particles have pt exactly 0 and junk elsewhere.
Tensor pfn_events(Index N, std::mt19937_64& rng, std::vector<bool>& padded) {
  Tensor x = test::random_tensor({N, 18}, rng, 2.0);
  padded.assign(static_cast<size_t>(N * 6), false);
  for (Index e = 0; e < N; ++e) {
    const Index real = 1 + static_cast<Index>(rng() % 6);
    for (Index p = real; p < 6; ++p) {
      x[e * 18 + p * 3] = 0.0;
      padded[static_cast<size_t>(e * 6 + p)] = true;
    }
  }
  return x;
}
}  // namespace

TEST(Lrp, PfnZeroRuleIsGradientTimesInputAndPaddingGetsNothing) {
  for (bool mean : {false, true}) {
    std::mt19937_64 rng(mean ? 21 : 22);
    Network n = bias_free_pfn(rng, mean);
    std::vector<bool> padded;
    std::vector<Tensor> x{pfn_events(200, rng, padded)};
    auto r = run(n, x, rule("0"));
    ASSERT_EQ(r.features.size(), 18u);
    EXPECT_EQ(r.features[4], "p1_eta");
    auto g = input_gradient(n, x, n.resolve("output:pre"));
    const double mu[3] = {1.5, -0.2, 0.3};
    double max_rel = 0;
    Index n_padded = 0;
    for (Index e = 0; e < 200; ++e) {
      for (Index j = 0; j < 18; ++j) {
        // Standardize passes relevance: the input is the standardized value, so gradient x
        // input is d f / d raw * (raw - mean).
        EXPECT_NEAR(r.relevance.at(e, j), g[0].at(e, j) * (x[0].at(e, j) - mu[j % 3]), 1e-12) << e << " " << j;
        if (padded[static_cast<size_t>(e * 6 + j / 3)]) {
          EXPECT_EQ(r.relevance.at(e, j), 0.0) << "padded particle, event " << e << " column " << j;
          ++n_padded;
        }
      }
      EXPECT_NEAR(r.input_sum[static_cast<size_t>(e)], r.output[static_cast<size_t>(e)], 1e-12);
      EXPECT_NEAR(r.bias[static_cast<size_t>(e)], 0.0, 1e-12);  // round-off of the pool split
      max_rel = std::max(max_rel, std::abs(r.output[static_cast<size_t>(e)]));
    }
    EXPECT_GT(n_padded, 300);
    EXPECT_GT(max_rel, 0.1);
    // The two ParticleDense layers count as layers L1, L2 (graph order), then the Dense ones.
    ASSERT_EQ(r.layer_rules.size(), 4u);
    EXPECT_EQ(r.layer_rules[0], "L1 (ParticleDense 'phi1'): 0");
    EXPECT_EQ(r.layer_rules[1], "L2 (ParticleDense 'phi2'): 0");
    EXPECT_EQ(r.layer_rules[3], "L4 (Dense 'dense_out'): 0");
  }
}

TEST(Lrp, PfnEveryRuleAndCompositeKeepsTheBooksAndZPlusConserves) {
  std::mt19937_64 rng(23);
  Network n = bias_free_pfn(rng, false);
  std::vector<bool> padded;
  std::vector<Tensor> x{pfn_events(300, rng, padded)};
  std::vector<std::pair<std::string, LrpComposite>> cases;
  for (const char* name : {"epsilon", "gamma", "alpha1beta0", "alpha2beta1", "zplus", "wsquare", "flat", "zbox"})
    cases.emplace_back(name, rule(name));
  for (const auto& c : lrp_composite_names()) cases.emplace_back(c, lrp_composite(c, 1e-6, 0.25));
  LrpComposite over = rule("epsilon");
  add_lrp_overrides(over, "L2=zplus,dense1=gamma", 1e-6, 0.25);
  cases.emplace_back("overrides", over);
  for (const auto& [name, comp] : cases) {
    auto r = run(n, x, comp);
    Index conserved = 0;
    for (Index e = 0; e < 300; ++e) {
      const auto k = static_cast<size_t>(e);
      EXPECT_NEAR(r.output[k] - r.input_sum[k] - r.bias[k] - r.epsilon[k] - r.other[k], 0, 1e-12) << name;
      if ((name == "zplus" || name == "alpha1beta0") && r.output[k] > 0) {
        EXPECT_NEAR(r.input_sum[k], r.output[k], 1e-12 * (1 + std::abs(r.output[k]))) << name << " event " << e;
        ++conserved;
      }
      for (Index j = 0; j < 18; ++j) {
        if (padded[static_cast<size_t>(e * 6 + j / 3)]) {
          EXPECT_EQ(r.relevance.at(e, j), 0.0) << name;
        }
      }
    }
    if (name == "zplus" || name == "alpha1beta0") {
      EXPECT_GT(conserved, 50) << name;
    }
    if (name == "epsilon-gamma-box") {
      // phi1 is the input layer (zbox); the other ParticleDense and the Dense layers are dense.
      EXPECT_EQ(r.layer_rules[0], "L1 (ParticleDense 'phi1'): zbox");
      EXPECT_EQ(r.layer_rules[1], "L2 (ParticleDense 'phi2'): epsilon");
    }
    if (name == "overrides") {
      EXPECT_EQ(r.layer_rules[1], "L2 (ParticleDense 'phi2'): zplus");
      EXPECT_EQ(r.layer_rules[2], "L3 (Dense 'dense1'): gamma");
    }
  }
}

TEST(Lrp, ReduceMeanAndSumSplitLikeAveragePooling) {
  // flat [4 * 3] -> Reshape [4, 3] -> ParticleDense 5 -> ReLU -> ReduceMean/Sum over the
  // particles -> Dense 1, bias-free: LRP-0 = gradient x input, exact conservation.
  for (ReduceKind kind : {ReduceKind::Mean, ReduceKind::Sum}) {
    std::mt19937_64 rng(31);
    std::vector<std::string> f;
    for (int i = 0; i < 12; ++i) f.push_back(cat("x", i));
    Network n;
    int last = n.add_input("x", {12}, f);
    last = n.add_node("reshape", std::make_unique<Reshape>(Shape{4, 3}), {last});
    auto pd = std::make_unique<ParticleDense>(3, 5);
    pd->weight() = test::random_tensor({5, 3}, rng);
    pd->bias().fill(0.0);
    last = n.add_node("phi", std::move(pd), {last});
    last = n.add_node("relu", std::make_unique<Activation>(ActivationKind::ReLU), {last});
    last = n.add_node("reduce", std::make_unique<Reduce>(kind, std::vector<Index>{0}, false), {last});
    auto d = std::make_unique<Dense>(5, 1);
    d->weight() = test::random_tensor({1, 5}, rng);
    d->bias().fill(0.0);
    last = n.add_node("out", std::move(d), {last});
    n.set_output(last);
    std::vector<Tensor> x{test::random_tensor({150, 12}, rng, 2.0)};
    auto r = run(n, x, rule("0"));
    auto g = input_gradient(n, x, n.resolve("output"));
    double max_rel = 0;
    for (Index e = 0; e < 150; ++e) {
      for (Index j = 0; j < 12; ++j) EXPECT_NEAR(r.relevance.at(e, j), g[0].at(e, j) * x[0].at(e, j), 1e-12);
      EXPECT_NEAR(r.input_sum[static_cast<size_t>(e)], r.output[static_cast<size_t>(e)], 1e-12);
      max_rel = std::max(max_rel, std::abs(r.output[static_cast<size_t>(e)]));
    }
    EXPECT_GT(max_rel, 0.1);
  }
}

// ---- the generalized gamma rule ------------------------------------------------------

namespace {
// x (3, signed) -> Dense(4) -> Tanh (signed hidden values) -> Dense(1), no final
// activation: the output is negative for some events.
Network signed_net(bool bias) {
  SequentialBuilder b({"a", "b", "c"});
  b.dense(4).activation(Activation(ActivationKind::Tanh)).dense(1);
  Network n = b.build();
  auto& d1 = static_cast<Dense&>(n.op(n.find_node("dense1")));
  auto& d2 = static_cast<Dense&>(n.op(n.find_node("dense2")));
  d1.weight() = Tensor({4, 3}, {0.9, -1.2, 0.4, -0.7, 0.5, 1.1, 1.3, 0.8, -0.6, -0.2, -0.9, 0.3});
  d1.bias() = bias ? Tensor({4}, {0.3, -0.4, 0.1, -0.2}) : Tensor({4}, 0.0);
  d2.weight() = Tensor({1, 4}, {1.4, -2.1, 0.7, -1.6});
  d2.bias() = Tensor({1}, {bias ? -0.15 : 0.0});
  return n;
}

// The generalized gamma rule on one dense layer, from its definition (Zennit's Gamma):
// with g(w) = w + gamma w+, h(w) = w + gamma w-,
//   z_j > 0: R_i += R_j (x+_i g(w_ij) + x-_i h(w_ij)) / (sum_i [x+_i g(w_ij) + x-_i h(w_ij)] + g(b_j))
//   z_j < 0: R_i += R_j (x+_i h(w_ij) + x-_i g(w_ij)) / (sum_i [x+_i h(w_ij) + x-_i g(w_ij)] + h(b_j))
// `absorbed` gets the bias shares.
std::vector<double> gamma_layer(const std::vector<double>& x, const Tensor& w, const Tensor& b,
                                const std::vector<double>& R, double gamma, double& absorbed) {
  const size_t in = x.size(), out = R.size();
  auto g = [&](double v) { return v + gamma * std::max(v, 0.0); };
  auto h = [&](double v) { return v + gamma * std::min(v, 0.0); };
  std::vector<double> Rin(in, 0.0);
  for (size_t j = 0; j < out; ++j) {
    double z = b[static_cast<Index>(j)];
    for (size_t i = 0; i < in; ++i) z += x[i] * w[static_cast<Index>(j * in + i)];
    if (z == 0) continue;
    std::vector<double> c(in);
    double den = z > 0 ? g(b[static_cast<Index>(j)]) : h(b[static_cast<Index>(j)]);
    const double bias_part = den;
    for (size_t i = 0; i < in; ++i) {
      const double wij = w[static_cast<Index>(j * in + i)];
      const double xp = std::max(x[i], 0.0), xn = std::min(x[i], 0.0);
      c[i] = z > 0 ? xp * g(wij) + xn * h(wij) : xp * h(wij) + xn * g(wij);
      den += c[i];
    }
    for (size_t i = 0; i < in; ++i) Rin[i] += R[j] * c[i] / den;
    absorbed += R[j] * bias_part / den;
  }
  return Rin;
}
}  // namespace

TEST(Lrp, GeneralizedGammaOnSignedInputsMatchesTheDefinition) {
  for (bool bias : {true, false}) {
    Network n = signed_net(bias);
    const auto& d1 = static_cast<const Dense&>(n.op(n.find_node("dense1")));
    const auto& d2 = static_cast<const Dense&>(n.op(n.find_node("dense2")));
    std::mt19937_64 rng(41);
    const Index N = 64;
    std::vector<Tensor> x{test::random_tensor({N, 3}, rng, 2.0)};
    const double gamma = 0.3;
    auto r = run(n, x, rule("gamma", 1e-6, gamma));
    Index negative = 0;
    for (Index e = 0; e < N; ++e) {
      std::vector<double> xe{x[0].at(e, 0), x[0].at(e, 1), x[0].at(e, 2)}, a(4);
      double f = d2.bias()[0];
      for (Index j = 0; j < 4; ++j) {
        double z = d1.bias()[j];
        for (Index i = 0; i < 3; ++i) z += d1.weight()[j * 3 + i] * xe[static_cast<size_t>(i)];
        a[static_cast<size_t>(j)] = std::tanh(z);
        f += d2.weight()[j] * a[static_cast<size_t>(j)];
      }
      negative += f < 0;
      double absorbed = 0;
      auto Ra = gamma_layer(a, d2.weight(), d2.bias(), {f}, gamma, absorbed);  // tanh passes relevance
      auto Rx = gamma_layer(xe, d1.weight(), d1.bias(), Ra, gamma, absorbed);
      const auto k = static_cast<size_t>(e);
      ASSERT_NEAR(r.output[k], f, 1e-14);
      for (Index i = 0; i < 3; ++i)
        EXPECT_NEAR(r.relevance.at(e, i), Rx[static_cast<size_t>(i)], 1e-12) << "event " << e << " input " << i;
      EXPECT_NEAR(r.bias[k], absorbed, 1e-12) << e;
      EXPECT_EQ(r.other[k], 0.0) << e;  // no pre-activation is exactly 0
      // Conservation: the output is the input relevances plus what the biases absorbed
      // (exactly the input relevances without biases).
      EXPECT_NEAR(r.output[k], r.input_sum[k] + r.bias[k], 1e-12) << e;
      if (!bias) {
        EXPECT_NEAR(r.input_sum[k], f, 1e-12) << e;
      }
    }
    EXPECT_GT(negative, 10);  // negative outputs are exercised
    EXPECT_LT(negative, N - 10);
  }
}

TEST(Lrp, GammaPositiveIsTheOldRuleAndAgreesOnPositiveInputs) {
  // The hand-derived 2-3-1 case (positive inputs, every neuron with relevance at z > 0):
  // the old rule, now gamma-positive, and the generalized gamma give the same numbers.
  const double s = 1.25 / 4.375, s2 = 9 * s / 5, s3 = -5 * s / 8;
  auto old = run(net231(), events231(), rule("gamma-positive", 1e-6, 0.5));
  expect_r(old, 3 * s2 - s3, 3 * s2 + 9 * s3, "gamma-positive");
  EXPECT_EQ(old.layer_rules[0], "L1 (Dense 'dense1'): gamma-positive");
  // On signed inputs and negative outputs the old rule's denominators are not those of
  // the definition: the rules differ, and only the old one can blow up.
  Network n = signed_net(true);
  std::mt19937_64 rng(41);
  std::vector<Tensor> x{test::random_tensor({64, 3}, rng, 2.0)};
  auto a = run(n, x, rule("gamma", 1e-6, 0.3)), b = run(n, x, rule("gamma-positive", 1e-6, 0.3));
  double diff = 0;
  for (Index k = 0; k < a.relevance.size(); ++k) diff += std::abs(a.relevance[k] - b.relevance[k]);
  EXPECT_GT(diff, 1e-3);
  // gamma-positive by hand on event 0: layer 2 with w' = w + 0.3 w+, b' = b + 0.3 b+ (b < 0).
  {
    const auto& d1 = static_cast<const Dense&>(n.op(n.find_node("dense1")));
    const auto& d2 = static_cast<const Dense&>(n.op(n.find_node("dense2")));
    auto gp = [](double w) { return w + 0.3 * std::max(w, 0.0); };
    std::vector<double> xe{x[0].at(0, 0), x[0].at(0, 1), x[0].at(0, 2)}, a1(4), R1(4, 0.0), Rx(3, 0.0);
    double f = d2.bias()[0];
    for (Index j = 0; j < 4; ++j) {
      double z = d1.bias()[j];
      for (Index i = 0; i < 3; ++i) z += d1.weight()[j * 3 + i] * xe[static_cast<size_t>(i)];
      a1[static_cast<size_t>(j)] = std::tanh(z);
      f += d2.weight()[j] * a1[static_cast<size_t>(j)];
    }
    double den = gp(d2.bias()[0]);
    for (Index j = 0; j < 4; ++j) den += a1[static_cast<size_t>(j)] * gp(d2.weight()[j]);
    for (Index j = 0; j < 4; ++j) {
      const auto uj = static_cast<size_t>(j);
      R1[uj] = a1[uj] * gp(d2.weight()[j]) * f / den;
    }
    for (Index j = 0; j < 4; ++j) {
      double dj = gp(d1.bias()[j]);
      for (Index i = 0; i < 3; ++i) dj += xe[static_cast<size_t>(i)] * gp(d1.weight()[j * 3 + i]);
      for (Index i = 0; i < 3; ++i) {
        const auto ui = static_cast<size_t>(i);
        Rx[ui] += xe[ui] * gp(d1.weight()[j * 3 + i]) * R1[static_cast<size_t>(j)] / dj;
      }
    }
    for (Index i = 0; i < 3; ++i) EXPECT_NEAR(b.relevance.at(0, i), Rx[static_cast<size_t>(i)], 1e-12) << i;
  }
  EXPECT_THROW(parse_lrp_rule("gamma", 1e-6, -1), Error);
  EXPECT_THROW(parse_lrp_rule("gamma-positive", 1e-6, -1), Error);
}

TEST(Lrp, ARuleIsData) {
  // A rule not built in, written as data: epsilon with the bias left out of the
  // denominators (Zennit's Epsilon(zero_params=["bias"])). On a bias-free network it is
  // the epsilon rule; with biases nothing is absorbed by them.
  LrpRule r;
  r.label = "epsilon-nobias";
  r.terms = {LrpTerm{.input = LrpInput::Identity, .param = {}, .bias = false}};
  r.epsilon = 1e-3;
  std::mt19937_64 rng(5);
  std::vector<Tensor> x{test::random_tensor({50, 4}, rng, 1.0)};
  Network nb = random_relu_net(4, {6, 5}, rng, false);
  auto a = run(nb, x, lrp_single_rule(r)), b = run(nb, x, rule("epsilon", 1e-3));
  for (Index k = 0; k < a.relevance.size(); ++k) EXPECT_NEAR(a.relevance[k], b.relevance[k], 1e-14);
  Network n = random_relu_net(4, {6, 5}, rng, true);
  auto c = run(n, x, lrp_single_rule(r));
  for (size_t e = 0; e < c.output.size(); ++e) {
    EXPECT_EQ(c.bias[e], 0.0);
    EXPECT_NEAR(c.output[e] - c.input_sum[e] - c.epsilon[e] - c.other[e], 0.0, 1e-12);
  }
  EXPECT_EQ(c.layer_rules[0].substr(c.layer_rules[0].size() - 14), "epsilon-nobias");
}

TEST(Lrp, AttributeAndLrpNameTensorInputsAlike) {
  // A 1-D CNN on a tensor input img [2, 8], a PFN on a tensor input particles [6, 3] and
  // a PFN on flat p{i}_{q} columns: lrp and attribute give the same feature names
  // (img[c,i], particles[p,q], the columns) and so the same relevance-map keys and shapes.
  std::mt19937_64 rng(77);
  std::vector<std::pair<Network, std::vector<Tensor>>> cases;
  {
    Network n;
    int h = n.add_input("img", {2, 8});
    auto conv = std::make_unique<Conv>(2, 3, Window{{3}, {1}, {1, 1}, {1}, false});
    conv->weight() = test::random_tensor(conv->weight().shape(), rng);
    h = n.add_node("conv", std::move(conv), {h});
    h = n.add_node("relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
    h = n.add_node("flat", std::make_unique<Reshape>(Shape{24}), {h});
    auto d = std::make_unique<Dense>(24, 1);
    d->weight() = test::random_tensor({1, 24}, rng);
    n.add_node("out", std::move(d), {h});
    cases.emplace_back(std::move(n), std::vector<Tensor>{test::random_tensor({40, 16}, rng, 1.0)});
  }
  {
    Network n;
    int h = n.add_input("particles", {6, 3});
    auto pd = std::make_unique<ParticleDense>(3, 5);
    pd->weight() = test::random_tensor({5, 3}, rng);
    h = n.add_node("phi", std::move(pd), {h});
    h = n.add_node("relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
    h = n.add_node("sum", std::make_unique<Reduce>(ReduceKind::Sum, std::vector<Index>{0}, false), {h});
    auto d = std::make_unique<Dense>(5, 1);
    d->weight() = test::random_tensor({1, 5}, rng);
    n.add_node("out", std::move(d), {h});
    cases.emplace_back(std::move(n), std::vector<Tensor>{test::random_tensor({40, 18}, rng, 1.0)});
  }
  {
    std::vector<bool> padded;
    Tensor x = pfn_events(40, rng, padded);
    cases.emplace_back(bias_free_pfn(rng, false), std::vector<Tensor>{x});
  }
  const std::vector<std::string> first = {"img[0,0]", "particles[0,0]", "p0_pt"};
  const std::vector<std::string> last = {"img[1,7]", "particles[5,2]", "p5_phi"};
  const std::vector<size_t> rows = {2, 6, 6}, cols = {8, 3, 3};
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& [net, x] = cases[c];
    auto r = run(net, x, rule("epsilon"));
    AttributeOptions ao;
    ao.method = AttributionMethod::GradXInput;
    auto a = attribute(net, x, ao);
    ASSERT_EQ(r.features, a.features) << c;
    EXPECT_EQ(r.features.front(), first[c]);
    EXPECT_EQ(r.features.back(), last[c]);
    EXPECT_EQ(r.relevance.shape(), a.scores.shape());
    AggregationOptions go;
    auto ra = aggregate(r.features, r.relevance, r.inputs, {}, go);
    auto aa = aggregate(a.features, a.scores, a.inputs, {}, go);
    EXPECT_EQ(ra.map_rows.size(), rows[c]) << c;
    EXPECT_EQ(ra.map_cols.size(), cols[c]) << c;
    EXPECT_EQ(ra.map_rows, aa.map_rows) << c;
    EXPECT_EQ(ra.map_cols, aa.map_cols) << c;
    ASSERT_EQ(ra.map.size(), aa.map.size());
    for (size_t k = 0; k < ra.map.size(); ++k) EXPECT_EQ(ra.map[k].size(), aa.map[k].size());
  }
}

namespace {
// Plain stack: Dense -> LeakyReLU(0.1) per width, then Dense(1) (the target, no final activation),
// weights uniform in +-sqrt(6 / fan-in) (the signal keeps its size through deep stacks), biases in +-0.3.
Network random_leaky_net(Index in, const std::vector<Index>& widths, std::mt19937_64& rng) {
  std::vector<std::string> f;
  for (Index i = 0; i < in; ++i) f.push_back(cat("x", i));
  SequentialBuilder b(f);
  for (Index w : widths) b.dense(w).activation(Activation(ActivationKind::LeakyReLU, 0.1));
  b.dense(1);
  Network n = b.build();
  for (size_t i = 0; i < n.nodes().size(); ++i)
    if (auto* d = dynamic_cast<Dense*>(n.nodes()[i].op.get())) {
      d->weight() = test::random_tensor(d->weight().shape(), rng, std::sqrt(6.0 / static_cast<double>(d->in())));
      d->bias() = test::random_tensor(d->bias().shape(), rng, 0.3);
    }
  return n;
}

// LRP-epsilon written out per event from its definition, one scalar loop per layer (no tiles, no
// kernel): R_i = sum_j a_i w_ji R_j / (z_j + eps sign z_j), with the bias, epsilon and
// zero-denominator shares summed per event.
struct NaiveEps {
  std::vector<double> relevance, bias, epsilon, other;
};
NaiveEps naive_epsilon(const Network& n, const Tensor& x, double eps) {
  std::vector<const Dense*> dense;
  for (const Node& nd : n.nodes())
    if (auto* d = dynamic_cast<const Dense*>(nd.op.get())) dense.push_back(d);
  const Index N = x.events(), F = x.per_event();
  NaiveEps out;
  out.relevance.assign(static_cast<size_t>(N * F), 0.0);
  out.bias.assign(static_cast<size_t>(N), 0.0);
  out.epsilon.assign(static_cast<size_t>(N), 0.0);
  out.other.assign(static_cast<size_t>(N), 0.0);
  for (Index e = 0; e < N; ++e) {
    std::vector<std::vector<double>> a{std::vector<double>(x.data() + e * F, x.data() + (e + 1) * F)}, z;
    for (size_t l = 0; l < dense.size(); ++l) {
      const Dense& d = *dense[l];
      std::vector<double> zl(static_cast<size_t>(d.out()));
      for (Index j = 0; j < d.out(); ++j) {
        double v = d.bias()[j];
        for (Index i = 0; i < d.in(); ++i) v += d.weight()[j * d.in() + i] * a.back()[static_cast<size_t>(i)];
        zl[static_cast<size_t>(j)] = v;
      }
      z.push_back(zl);
      std::vector<double> al = zl;
      for (double& v : al) v = std::max(v, 0.1 * v);
      a.push_back(al);
    }
    std::vector<double> R = z.back();  // the target: the last Dense's value
    for (size_t l = dense.size(); l-- > 0;) {
      const Dense& d = *dense[l];
      std::vector<double> Rin(static_cast<size_t>(d.in()), 0.0);
      for (Index j = 0; j < d.out(); ++j) {
        const double zj = z[l][static_cast<size_t>(j)], st = zj >= 0 ? eps : -eps, den = zj + st;
        const double Rj = R[static_cast<size_t>(j)];
        if (den == 0.0) {
          out.other[static_cast<size_t>(e)] += Rj;
          continue;
        }
        const double q = Rj / den;
        out.bias[static_cast<size_t>(e)] += q * d.bias()[j];
        out.epsilon[static_cast<size_t>(e)] += q * st;
        for (Index i = 0; i < d.in(); ++i)
          Rin[static_cast<size_t>(i)] += a[l][static_cast<size_t>(i)] * d.weight()[j * d.in() + i] * q;
      }
      R = Rin;  // through the activation below unchanged
    }
    std::copy(R.begin(), R.end(), out.relevance.begin() + e * F);
  }
  return out;
}
}  // namespace

// The engine's fast paths (the kernel forward with z kept, relevance buffers assigned instead of
// zero-filled, activations passing their buffer on, the one-pass epsilon arithmetic) against
// LRP-epsilon written out per event, on stacks with every kind of layer width (1 to 130: one SIMD
// vector, several, padded tails) and event counts that leave odd tiles; 1 and 2 threads give the
// same bits.
TEST(Lrp, EpsilonFastPathMatchesTheDefinitionOnEveryLayerShape) {
  std::mt19937_64 rng(31);
  struct Case {
    Index in;
    std::vector<Index> widths;
  };
  const std::vector<Case> cases{
      {19, {130, 64, 33, 17, 16, 9, 8, 7, 5, 4, 3, 2, 1}}, {1, {1, 24, 2}}, {130, {127, 31, 15, 6}}, {8, {16, 8}}};
  for (const Case& c : cases) {
    Network n = random_leaky_net(c.in, c.widths, rng);
    for (Index events : {1, 7, 257, 300}) {
      std::vector<Tensor> x{test::random_tensor({events, c.in}, rng, 2.0)};
      const NaiveEps ref = naive_epsilon(n, x[0], 0.05);
      LrpOptions o;
      o.composite = rule("epsilon", 0.05);
      o.batch = events == 300 ? 100 : 4096;
      const int t = thread_count();
      set_thread_count(1);
      const LrpRelevance r = lrp(n, x, o);
      set_thread_count(2);
      const LrpRelevance r2 = lrp(n, x, o);
      set_thread_count(t);
      EXPECT_EQ(r.relevance, r2.relevance) << c.in << " inputs, " << events << " events";
      EXPECT_EQ(r.epsilon, r2.epsilon);
      double scale = 0;
      for (double v : ref.relevance) scale = std::max(scale, std::abs(v));
      // Not a network that hands nothing on (one event of the deep narrow stack may carry little).
      ASSERT_GT(scale, events > 7 ? 1e-3 : 0.0) << c.in << " inputs, " << events << " events";
      for (Index e = 0; e < events; ++e) {
        const auto ue = static_cast<size_t>(e);
        for (Index j = 0; j < c.in; ++j)
          ASSERT_NEAR(r.relevance.at(e, j), ref.relevance[static_cast<size_t>(e * c.in + j)], 1e-11 * scale)
              << c.in << " inputs, event " << e << " of " << events << ", input " << j;
        EXPECT_NEAR(r.bias[ue], ref.bias[ue], 1e-11 * (1 + std::abs(ref.bias[ue])));
        EXPECT_NEAR(r.epsilon[ue], ref.epsilon[ue], 1e-11 * (1 + std::abs(ref.epsilon[ue])));
        EXPECT_EQ(r.other[ue], ref.other[ue]);
        EXPECT_NEAR(r.output[ue] - r.input_sum[ue], r.bias[ue] + r.epsilon[ue] + r.other[ue], 1e-11 * (1 + scale));
      }
    }
  }
}
