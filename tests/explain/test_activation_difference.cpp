// Activation difference: the analytic value for a linear neuron, a trained network that
// uses only x1 and x2, earlier layers through the network's tail, determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "explain/convention_util.hpp"
#include "test_util.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/train.hpp"

using unbox::test::labelled_events;
using unbox::test::mi_options;
using unbox::test::normals;
using unbox::test::with_neuron;
using unbox::test::with_population;

using namespace unbox;

namespace {

// Five standard-normal inputs x1..x5; label = (x1 + x2 > 0), i.e. only x1 and x2 matter.
Dataset five_inputs(Index n, std::uint64_t seed) {
  Dataset d;
  d.source = "five";
  std::vector<double> label(static_cast<size_t>(n));
  std::vector<std::vector<double>> x;
  for (int i = 0; i < 5; ++i) x.push_back(normals(n, seed * 10 + static_cast<std::uint64_t>(i)));
  for (Index e = 0; e < n; ++e)
    label[static_cast<size_t>(e)] = x[0][static_cast<size_t>(e)] + x[1][static_cast<size_t>(e)] > 0;
  for (int i = 0; i < 5; ++i) d.add("x" + std::to_string(i + 1), Tensor({n}, x[static_cast<size_t>(i)]));
  d.add("label", Tensor({n}, label));
  return d;
}

std::vector<std::string> names5() { return {"x1", "x2", "x3", "x4", "x5"}; }

Dense& dense(Network& net, int id) { return static_cast<Dense&>(net.op(id)); }

}  // namespace

TEST(ActivationDifference, LinearNeuronMatchesTheAnalyticValue) {
  // z = 3 x1 (no activation): |z(x) - z(x')| / sigma = |x1 - x1'|, whose mean for two
  // independent standard normals is 2/sqrt(pi); the other inputs have AD exactly 0.
  Network net = SequentialBuilder(names5()).dense(1).build();
  dense(net, 1).weight().fill(0.0);
  dense(net, 1).weight()[0] = 3.0;
  Dataset data = five_inputs(40000, 1);
  ActivationDifferenceOptions o;
  o.samples = 20000;
  ActivationDifferenceResult r = activation_difference(net, Events(net, data), with_neuron(o, "output"));
  ASSERT_EQ(r.ranking.size(), 5u);
  EXPECT_EQ(r.ranking[0].variable, "x1");
  EXPECT_NEAR(r.ranking[0].ad, 2.0 / std::sqrt(M_PI), 0.03);
  // The bootstrap error is the standard error of the mean: sd(|x - x'|) / sqrt(S).
  const double se = std::sqrt(2.0 - 4.0 / M_PI) / std::sqrt(20000.0);
  EXPECT_NEAR(r.ranking[0].err, se, 0.3 * se);
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(r.ranking[i].ad, 0.0);
    EXPECT_EQ(r.ranking[i].err, 0.0);
  }
  EXPECT_NEAR(r.sigma, 3.0, 0.05);
}

TEST(ActivationDifference, TrainedNetworkUsesOnlyX1AndX2) {
  Dataset data = five_inputs(20000, 2);
  Network net = build_network(names5(), parse_architecture("16,8", "relu", "sigmoid"));
  TrainOptions t;
  t.epochs = 15;  // ~1 s; the weights of x3..x5 need some epochs to fade
  t.seed = 3;
  t.l1 = 1e-4;
  t.quiet = true;
  train(net, data.columns_matrix(names5()), data.get("label").values(), {}, t);
  Dataset test = five_inputs(20000, 3);
  ActivationDifferenceOptions o;
  o.samples = 10000;
  o.bootstrap = 50;
  ActivationDifferenceResult r = activation_difference(net, Events(net, test), with_neuron(o, "output"));
  ASSERT_EQ(r.ranking.size(), 5u);
  std::vector<std::string> top = {r.ranking[0].variable, r.ranking[1].variable};
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<std::string>{"x1", "x2"}));
  EXPECT_GT(r.ranking[1].ad, 0.3);
  for (size_t i = 2; i < 5; ++i) EXPECT_LT(r.ranking[i].ad, 0.05) << r.ranking[i].variable;
  auto j = r.to_json();
  EXPECT_EQ(j["neuron"], "output");
  EXPECT_EQ(j["ranking"].size(), 5u);
  for (size_t i = 1; i < 5; ++i)
    EXPECT_GE(j["ranking"][i - 1]["ad"].get<double>(), j["ranking"][i]["ad"].get<double>());
}

TEST(ActivationDifference, TailNetworkReproducesTheNeuron) {
  Network net = build_network(names5(), parse_architecture("6,5,4", "leakyrelu", "tanh"));
  std::mt19937_64 rng(4);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op && net.nodes()[i].op->is_layer())
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5;
  Dataset data = five_inputs(3000, 4);
  auto inputs = gather_inputs(net, data);
  const auto layers = net.layers();
  for (int k = 1; k <= 2; ++k) {
    std::vector<NeuronRef> lk;
    for (Index j = 0; j < layers[static_cast<size_t>(k)].width; ++j)
      lk.push_back({layers[static_cast<size_t>(k)].post_node, j});
    Tensor h = evaluate(net, inputs, lk);
    NeuronRef target = net.resolve("L3N2");
    Network tail = network_from_layer(net, k, target.node);
    EXPECT_EQ(tail.feature_names(0)[1], "L" + std::to_string(k) + "N1");
    Tensor a = evaluate(net, inputs, {target});
    Tensor b = evaluate(tail, {h}, {{tail.output_node(), target.index}});
    EXPECT_EQ(a.values(), b.values());
  }
  EXPECT_THROW(network_from_layer(net, 3, net.resolve("L3N2").node), Error);
  EXPECT_THROW(network_from_layer(net, 9, net.output_node()), Error);
}

TEST(ActivationDifference, EarlierLayerFindsTheConnectedNeurons) {
  // L2N0 reads only L1N0 and L1N2: the other neurons of L1 have AD exactly 0.
  Network net = build_network(names5(), parse_architecture("4,2", "relu", "sigmoid"));
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op && net.nodes()[i].op->is_layer())
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5;
  const int l2 = net.layers()[2].pre_node;
  Tensor& w = dense(net, l2).weight();  // [2, 4]
  w[0] = 1.0, w[1] = 0.0, w[2] = -0.7, w[3] = 0.0;
  dense(net, l2).bias()[0] = 5.0;  // keep the ReLU open
  Dataset data = five_inputs(5000, 5);
  ActivationDifferenceOptions o;
  o.layer = 1;
  o.samples = 2000;
  o.bootstrap = 20;
  ActivationDifferenceResult r = activation_difference(net, Events(net, data), with_neuron(o, "L2N0"));
  ASSERT_EQ(r.ranking.size(), 4u);
  std::vector<std::string> top = {r.ranking[0].variable, r.ranking[1].variable};
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<std::string>{"L1N0", "L1N2"}));
  EXPECT_GT(r.ranking[1].ad, 0.0);
  EXPECT_EQ(r.ranking[2].ad, 0.0);
  EXPECT_EQ(r.ranking[3].ad, 0.0);
  o.layer = 2;  // not before L2N0
  EXPECT_THROW(activation_difference(net, Events(net, data), with_neuron(o, "L2N0")), Error);
}

TEST(ActivationDifference, SameSeedSameNumbersOnAnyThreadCount) {
  Network net = build_network(names5(), parse_architecture("8,4", "tanh", "sigmoid"));
  std::mt19937_64 rng(6);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op && net.nodes()[i].op->is_layer())
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5;
  Dataset data = five_inputs(6000, 6);
  ActivationDifferenceOptions o;
  o.samples = 3000;
  o.bootstrap = 30;
  o.seed = 11;
  const int before = thread_count();
  set_thread_count(1);
  auto a = activation_difference(net, Events(net, data), with_neuron(o, "output")).to_json();
  set_thread_count(2);
  auto b = activation_difference(net, Events(net, data), with_neuron(o, "output")).to_json();
  o.seed = 12;
  auto c = activation_difference(net, Events(net, data), with_neuron(o, "output")).to_json();
  set_thread_count(before);
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_NE(a.dump(), c.dump());
}
