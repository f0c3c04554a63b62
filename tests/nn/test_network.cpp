#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "unbox/data.hpp"
#include "unbox/network.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {
std::vector<std::string> names(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back("f" + std::to_string(i));
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
