#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "unbox/data.hpp"
#include "unbox/naming.hpp"
#include "unbox/network.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {
std::vector<std::string> names(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(std::string("f").append(std::to_string(i)));
  return v;
}
void randomize(Network& net, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = p.name == "std" ? 1.0 + std::abs(u(rng)) : u(rng);
}
}  // namespace

TEST(Network, PaperNamesFollowRoxloReece) {
  Network net = build_network(names(19), parse_architecture("paper"));
  auto layers = net.layers();
  ASSERT_EQ(layers.size(), 13u);  // L0 + 11 hidden + output
  EXPECT_EQ(layers[1].width, 128);
  EXPECT_EQ(layers[11].width, 2);
  EXPECT_EQ(layers[12].width, 1);
  EXPECT_EQ(layers[1].activation, "LeakyReLU(0.1)");
  EXPECT_EQ(layers[12].activation, "Tanh");
  EXPECT_EQ(net.neuron_name(net.resolve("L2N12")), "L2N12");
  EXPECT_EQ(net.neuron_name(net.resolve("L12N0:pre")), "L12N0:pre");
  EXPECT_EQ(net.resolve("output"), net.resolve("L12N0"));
  EXPECT_EQ(net.resolve("output:pre"), net.resolve("L12N0:pre"));
  EXPECT_EQ(net.resolve("L0N3").node, 0);  // raw input, before Standardize
  EXPECT_EQ(net.resolve("dense2[12]"), net.resolve("L2N12:pre"));
  // 19*128+128 + 128*64+64 + ... + 2*1+1
  EXPECT_EQ(net.parameter_count(), 13694 + 128 + 64 + 32 + 16 + 16 + 8 + 8 + 4 + 4 + 2 + 2 + 1);
  EXPECT_THROW(net.resolve("L13N0"), Error);
  EXPECT_THROW(net.resolve("L2N64"), Error);
  EXPECT_THROW(net.resolve("L2X3"), Error);
  EXPECT_THROW(net.resolve("nonode[0]"), Error);
}

TEST(Network, SaveLoadRoundTripIsBitExact) {
  Network net = build_network(names(5), parse_architecture("16,8", "elu(0.5)", "sigmoid"));
  randomize(net, 9);
  net.metadata["note"] = "hello";
  auto path = (std::filesystem::temp_directory_path() / "unbox_roundtrip.unbox").string();
  save_network(net, path);
  Network back = load_network(path);
  ASSERT_EQ(back.nodes().size(), net.nodes().size());
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    EXPECT_EQ(back.nodes()[i].name, net.nodes()[i].name);
    if (!net.nodes()[i].op) continue;
    auto a = net.nodes()[i].op->parameter_values(), b = back.nodes()[i].op->parameter_values();
    ASSERT_EQ(a.size(), b.size());
    for (size_t p = 0; p < a.size(); ++p) EXPECT_TRUE(*a[p] == *b[p]);
  }
  EXPECT_EQ(back.feature_names(0), names(5));
  EXPECT_EQ(back.metadata["note"], "hello");
  EXPECT_EQ(back.layers()[1].activation, "ELU(0.5)");
  // Saving again gives the same bytes.
  auto path2 = path + "2";
  save_network(back, path2);
  std::ifstream f1(path, std::ios::binary), f2(path2, std::ios::binary);
  std::string s1((std::istreambuf_iterator<char>(f1)), {}), s2((std::istreambuf_iterator<char>(f2)), {});
  EXPECT_EQ(s1, s2);
  // A truncated or corrupted file is a clear error.
  {
    std::ofstream t(path2, std::ios::binary | std::ios::trunc);
    t.write(s1.data(), static_cast<std::streamsize>(s1.size() / 2));
  }
  try {
    load_network(path2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a valid unbox model"), std::string::npos) << e.what();
  }
  std::string corrupt = s1;
  corrupt[corrupt.size() - 100] ^= 1;
  {
    std::ofstream t(path2, std::ios::binary | std::ios::trunc);
    t.write(corrupt.data(), static_cast<std::streamsize>(corrupt.size()));
  }
  EXPECT_THROW(load_network(path2), Error);
  EXPECT_THROW(load_network(path + ".missing"), Error);
  std::filesystem::remove(path);
  std::filesystem::remove(path2);
}

TEST(Network, EvaluateDoesNotDependOnBatchOrThreads) {
  Network net = build_network(names(6), parse_architecture("32,16", "tanh", "sigmoid"));
  randomize(net, 4);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-2, 2);
  Tensor x({1001, 6});
  for (double& v : x.values()) v = u(rng);
  NeuronRef r = net.resolve("L2N3");
  Tensor a = evaluate(net, {x}, {r}, {.batch = 4096});
  Tensor b = evaluate(net, {x}, {r}, {.batch = 7});
  for (Index i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-13);
  int before = thread_count();
  set_thread_count(1);
  Tensor c = evaluate(net, {x}, {r}, {.batch = 64});
  set_thread_count(2);
  Tensor d = evaluate(net, {x}, {r}, {.batch = 64});
  set_thread_count(before);
  EXPECT_TRUE(c == d);
}

TEST(Network, GatherInputsByNameAndErrors) {
  Network net = build_network({"a", "b"}, parse_architecture("4"));
  Dataset data;
  data.source = "d.csv";
  data.add("b", Tensor({2}, {3, 4}));
  data.add("a", Tensor({2}, {1, 2}));
  data.add("label", Tensor({2}, {0, 1}));
  auto in = gather_inputs(net, data);
  EXPECT_EQ(in[0].at(1, 0), 2.0);
  EXPECT_EQ(in[0].at(1, 1), 4.0);
  data.remove("a");
  try {
    gather_inputs(net, data);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'a'"), std::string::npos);
  }
  auto mapped = gather_inputs(net, data, {"label", "b"});
  EXPECT_EQ(mapped[0].at(0, 1), 3.0);
  EXPECT_THROW(gather_inputs(net, data, {"b"}), Error);
}

namespace {
// An op that fails on a chosen value, to check errors inside parallel batches.
class FailOn final : public Op {
 public:
  std::string type() const override { return "FailOn"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<FailOn>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override { return in[0]; }
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override {
    for (Index i = 0; i < in[0]->size(); ++i) {
      if ((*in[0])[i] == 13.0) throw Error("unlucky value");
      out[i] = (*in[0])[i];
    }
  }
  void backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor&, const std::vector<Tensor*>&,
                std::vector<Tensor>*) const override {}
};
}  // namespace

TEST(Network, ErrorsInsideParallelBatchesReachTheCaller) {
  Network net;
  int x = net.add_input("x", {1});
  net.add_node("f", std::make_unique<FailOn>(), {x});
  Tensor data({20000, 1});
  for (Index i = 0; i < data.size(); ++i) data[i] = static_cast<double>(i % 1000) + 0.5;
  EXPECT_NO_THROW(evaluate(net, {data}, {{1, 0}}, {.batch = 512}));
  data[17777] = 13.0;
  EXPECT_THROW(evaluate(net, {data}, {{1, 0}}, {.batch = 512}), Error);
}

TEST(Network, BatchNormFoldsIntoItsLayerAndOutputNamesEveryClass) {
  // x [3] -> Dense 4 -> BatchNorm -> ReLU -> Dense 5 -> Softmax: L1 = ReLU(BN(W1 x + b1)),
  // L1:pre = BN(W1 x + b1), L2 = the softmax, L2:pre the logits.
  Network n;
  int h = n.add_input("x", {3}, {"a", "b", "c"});
  auto d1 = std::make_unique<Dense>(3, 4);
  d1->weight() = Tensor({4, 3}, {0.5, -1, 0.2, 1.1, 0.3, -0.4, -0.7, 0.9, 0.6, 0.25, -0.5, 1.3});
  d1->bias() = Tensor({4}, {0.1, -0.2, 0.3, 0.05});
  const int dense1 = h = n.add_node("dense1", std::move(d1), {h});
  auto bn = std::make_unique<BatchNorm>(4);
  bn->scale() = Tensor({4}, {1.5, 0.7, -0.9, 1.0});
  bn->bias() = Tensor({4}, {0.1, -0.2, 0.3, 0.0});
  bn->mean() = Tensor({4}, {0.05, -0.1, 0.2, 0.4});
  bn->var() = Tensor({4}, {0.8, 1.3, 2.0, 0.5});
  const int bnode = h = n.add_node("bn", std::move(bn), {h});
  const int relu = h = n.add_node("relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
  auto d2 = std::make_unique<Dense>(4, 5);
  for (Index k = 0; k < 20; ++k) d2->weight()[k] = 0.1 * static_cast<double>(k % 7) - 0.3;
  const int dense2 = h = n.add_node("dense2", std::move(d2), {h});
  const int soft = n.add_node("softmax", std::make_unique<Softmax>(), {h});
  n.set_output(soft);
  const auto layers = n.layers();
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1].pre_node, bnode);
  EXPECT_EQ(layers[1].post_node, relu);
  EXPECT_EQ(layers[1].parameters, 3 * 4 + 4 + 2 * 4);
  EXPECT_EQ(layer_op_node(n, layers[1]), dense1);
  EXPECT_EQ(n.resolve("L1N2"), (NeuronRef{relu, 2}));
  EXPECT_EQ(n.resolve("L1N2:pre"), (NeuronRef{bnode, 2}));
  EXPECT_EQ(n.resolve("L2N3"), (NeuronRef{soft, 3}));
  EXPECT_EQ(n.resolve("output[3]"), (NeuronRef{soft, 3}));
  EXPECT_EQ(n.resolve("output[3]:pre"), (NeuronRef{dense2, 3}));
  EXPECT_EQ(n.neuron_name({bnode, 1}), "L1N1:pre");
  EXPECT_THROW(n.resolve("output"), Error);  // five classes: name one
  EXPECT_THROW(n.resolve("output[5]"), Error);
  EXPECT_EQ(expand_output_neurons(n, {"output", "L1N0"}),
            (std::vector<std::string>{"output[0]", "output[1]", "output[2]", "output[3]", "output[4]", "L1N0"}));
  EXPECT_EQ(output_aliases(n),
            "'output' = L2N0 .. L2N4 (output[j] = the j-th of 5 values, one per class), "
            "'output:pre' = L2N0:pre .. L2N4:pre");
  // The values, by hand.
  const std::vector<double> x{0.7, -1.2, 0.4};
  Tensor v =
      evaluate(n, {Tensor({1, 3}, x)},
               {n.resolve("L1N0"), n.resolve("L1N1"), n.resolve("L1N2"), n.resolve("L1N3"), n.resolve("L1N2:pre")});
  const auto& w = static_cast<const Dense&>(n.op(dense1));
  const auto& b = static_cast<const BatchNorm&>(n.op(bnode));
  double pre2 = 0;
  for (Index j = 0; j < 4; ++j) {
    double z = w.bias()[j];
    for (Index i = 0; i < 3; ++i) z += w.weight()[j * 3 + i] * x[static_cast<size_t>(i)];
    const double y = (z - b.mean()[j]) / std::sqrt(b.var()[j] + b.epsilon()) * b.scale()[j] + b.bias()[j];
    if (j == 2) pre2 = y;
    EXPECT_NEAR(v.at(0, j), std::max(y, 0.0), 1e-14) << j;
  }
  EXPECT_NEAR(v.at(0, 4), pre2, 1e-14);
}
