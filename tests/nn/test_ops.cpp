// Every layer and activation: forward values against hand computations, and exact
// input gradients against central finite differences.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include "unbox/network.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

#include "test_util.hpp"

using namespace unbox;

namespace {

using test::random_tensor;

// Central differences of neuron `ref` with respect to every raw input value, compared
// with the reverse-mode gradient; relative error below 1e-6 (absolute for tiny values).
void check_gradients(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& ref, double h = 1e-5) {
  auto grads = input_gradient(net, inputs, ref);
  for (size_t k = 0; k < inputs.size(); ++k) {
    for (Index i = 0; i < inputs[k].size(); ++i) {
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[k][i] += h;
      minus[k][i] -= h;
      double fp = evaluate(net, plus, {ref})[i / inputs[k].per_event()];
      double fm = evaluate(net, minus, {ref})[i / inputs[k].per_event()];
      double fd = (fp - fm) / (2 * h);
      double g = grads[k][i];
      double err = std::abs(fd - g) / std::max(1.0, std::abs(g));
      EXPECT_LT(err, 1e-6) << "input " << k << " value " << i << ": fd " << fd << " vs exact " << g;
    }
  }
}

Network single_op_net(std::unique_ptr<Op> op, const Shape& in_shape) {
  Network net;
  int x = net.add_input("x", in_shape);
  net.add_node("op", std::move(op), {x});
  return net;
}

}  // namespace

TEST(Ops, DenseForwardMatchesHandComputation) {
  auto d = std::make_unique<Dense>(2, 3);
  d->weight() = Tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  d->bias() = Tensor({3}, {0.5, -1, 0});
  Network net = single_op_net(std::move(d), {2});
  Tensor x({2, 2}, {1, -1, 0.5, 2});
  Tensor y = evaluate(net, {x}, {{1, 0}, {1, 1}, {1, 2}});
  std::vector<double> expect = {1 - 2 + 0.5, 3 - 4 - 1, 5 - 6, 0.5 + 4 + 0.5, 1.5 + 8 - 1, 2.5 + 12};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(y[i], expect[static_cast<size_t>(i)]);
}

TEST(Ops, ActivationValuesAndGradients) {
  std::mt19937_64 rng(3);
  // Values of reference formulas at a few points (PyTorch's definitions).
  struct Case {
    Activation act;
    double z, f;
  };
  const double selu_l = 1.0507009873554804934193349852946, selu_a = 1.6732632423543772848170429916717;
  std::vector<Case> cases = {
      {Activation(ActivationKind::ReLU), -1.5, 0.0},
      {Activation(ActivationKind::ReLU), 2.0, 2.0},
      {Activation(ActivationKind::LeakyReLU, 0.1), -2.0, -0.2},
      {Activation(ActivationKind::Tanh), 0.3, std::tanh(0.3)},
      {Activation(ActivationKind::Sigmoid), -0.7, 1 / (1 + std::exp(0.7))},
      {Activation(ActivationKind::ELU, 1.0), -1.0, std::exp(-1.0) - 1},
      {Activation(ActivationKind::SELU), -0.5, selu_l * selu_a * (std::exp(-0.5) - 1)},
      {Activation(ActivationKind::SELU), 0.5, selu_l * 0.5},
      {Activation(ActivationKind::Softplus), 0.2, std::log(1 + std::exp(0.2))},
      {Activation(ActivationKind::Softplus), -40.0, std::log1p(std::exp(-40.0))},
      {Activation(ActivationKind::Identity), -3.0, -3.0},
  };
  for (auto& c : cases) EXPECT_NEAR(c.act.value(c.z), c.f, 1e-15) << c.act.type();
  // Gradients through each activation, away from kinks.
  for (auto kind : {ActivationKind::ReLU, ActivationKind::LeakyReLU, ActivationKind::Tanh, ActivationKind::Sigmoid,
                    ActivationKind::ELU, ActivationKind::SELU, ActivationKind::Softplus, ActivationKind::Identity}) {
    Network net = single_op_net(std::make_unique<Activation>(kind, 0.2), {5});
    Tensor x = random_tensor({7, 5}, rng, 2.0);
    for (double& v : x.values())
      if (std::abs(v) < 1e-3) v = 0.5;
    for (Index j = 0; j < 5; ++j) check_gradients(net, {x}, {1, j});
  }
}

TEST(Ops, ActivationHigherDerivativesMatchFiniteDifferences) {
  for (auto kind : {ActivationKind::Tanh, ActivationKind::Sigmoid, ActivationKind::ELU, ActivationKind::SELU,
                    ActivationKind::Softplus}) {
    Activation a(kind, 0.7);
    for (double z : {-1.3, -0.2, 0.4, 1.7}) {
      double d1, d2, d3, p1, p2, p3, m1, m2, m3;
      const double h = 1e-5;
      a.derivatives(z, d1, d2, d3);
      a.derivatives(z + h, p1, p2, p3);
      a.derivatives(z - h, m1, m2, m3);
      EXPECT_NEAR(d1, (a.value(z + h) - a.value(z - h)) / (2 * h), 1e-8) << a.type();
      EXPECT_NEAR(d2, (p1 - m1) / (2 * h), 1e-8) << a.type();
      EXPECT_NEAR(d3, (p2 - m2) / (2 * h), 1e-8) << a.type();
    }
  }
}

TEST(Ops, SoftmaxValuesAndGradients) {
  std::mt19937_64 rng(5);
  Network net = single_op_net(std::make_unique<Softmax>(), {4});
  Tensor x({1, 4}, {1, 2, 3, 4});
  Tensor y = evaluate(net, {x}, {{1, 0}, {1, 3}});
  double z = std::exp(1) + std::exp(2) + std::exp(3) + std::exp(4);
  EXPECT_NEAR(y[0], std::exp(1) / z, 1e-15);
  EXPECT_NEAR(y[1], std::exp(4) / z, 1e-15);
  Tensor xr = random_tensor({6, 4}, rng, 3.0);
  for (Index j = 0; j < 4; ++j) check_gradients(net, {xr}, {1, j});
}

TEST(Ops, StandardizeIsInPhysicalUnits) {
  Network net = single_op_net(std::make_unique<Standardize>(Tensor({1, 2}, {10, -1}), Tensor({1, 2}, {2, 0.5})), {2});
  Tensor x({1, 2}, {14, 0});
  Tensor y = evaluate(net, {x}, {{1, 0}, {1, 1}});
  EXPECT_DOUBLE_EQ(y[0], 2.0);
  EXPECT_DOUBLE_EQ(y[1], 2.0);
  auto g = input_gradient(net, {x}, {1, 1});
  EXPECT_DOUBLE_EQ(g[0][0], 0.0);
  EXPECT_DOUBLE_EQ(g[0][1], 2.0);
}

TEST(Ops, ConcatAndAddInAGraphWithTwoInputs) {
  // A jet-tagger-like graph: low-level input -> dense, joined with expert variables later.
  std::mt19937_64 rng(11);
  Network net;
  int low = net.add_input("low", {3});
  int expert = net.add_input("expert", {2}, {"tau21", "mass"});
  auto d1 = std::make_unique<Dense>(3, 4);
  d1->weight() = random_tensor({4, 3}, rng);
  d1->bias() = random_tensor({4}, rng);
  int h = net.add_node("d1", std::move(d1), {low});
  int a = net.add_node("a1", std::make_unique<Activation>(ActivationKind::Tanh), {h});
  int c = net.add_node("join", std::make_unique<Concat>(0), {a, expert});
  auto d2 = std::make_unique<Dense>(6, 2);
  d2->weight() = random_tensor({2, 6}, rng);
  d2->bias() = random_tensor({2}, rng);
  int h2 = net.add_node("d2", std::move(d2), {c});
  auto d3 = std::make_unique<Dense>(2, 2);
  d3->weight() = random_tensor({2, 2}, rng);
  int skip = net.add_node("d3", std::move(d3), {h2});
  int sum = net.add_node("sum", std::make_unique<Binary>(BinaryKind::Add), {h2, skip});
  net.add_node("out", std::make_unique<Activation>(ActivationKind::Sigmoid), {sum});
  EXPECT_FALSE(net.is_plain_stack());
  EXPECT_THROW(net.resolve("L1N0"), Error);
  NeuronRef r = net.resolve("out[1]");
  Tensor xl = random_tensor({5, 3}, rng), xe = random_tensor({5, 2}, rng);
  // Concat forward: the join node holds tanh(d1) then the expert variables.
  Tensor joined = evaluate(net, {xl, xe}, {net.resolve("join[4]"), net.resolve("join[5]")});
  EXPECT_DOUBLE_EQ(joined[0], xe[0]);
  EXPECT_DOUBLE_EQ(joined[1], xe[1]);
  check_gradients(net, {xl, xe}, r);
  check_gradients(net, {xl, xe}, net.resolve("sum[0]"));
}

TEST(Ops, ConcatAlongAnInnerAxis) {
  Network net;
  int a = net.add_input("a", {2, 2});
  int b = net.add_input("b", {2, 1});
  net.add_node("c", std::make_unique<Concat>(1), {a, b});
  EXPECT_EQ(net.node(2).shape, (Shape{2, 3}));
  Tensor xa({1, 2, 2}, {1, 2, 3, 4}), xb({1, 2, 1}, {5, 6});
  Tensor y = evaluate(net, {xa, xb}, {{2, 0}, {2, 1}, {2, 2}, {2, 3}, {2, 4}, {2, 5}});
  std::vector<double> expect = {1, 2, 5, 3, 4, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[i], expect[static_cast<size_t>(i)]);
  std::mt19937_64 rng(2);
  check_gradients(net, {random_tensor({3, 2, 2}, rng), random_tensor({3, 2, 1}, rng)}, {2, 4});
}

TEST(Ops, PaperNetworkGradientsOfEveryLayer) {
  std::vector<std::string> names;
  for (int i = 0; i < 19; ++i) names.push_back("f" + std::to_string(i));
  Network net = build_network(names, parse_architecture("paper"));
  std::mt19937_64 rng(7);
  for (auto& node : net.nodes())
    if (node.op)
      for (auto& p : const_cast<Op&>(*node.op).parameters())
        if (p.trainable) *p.value = random_tensor(p.value->shape(), rng, 0.6);
  static_cast<Standardize&>(net.op(1)) = Standardize(random_tensor({1, 19}, rng, 5), Tensor({1, 19}, 3.0));
  Tensor x = random_tensor({4, 19}, rng, 4.0);
  for (const char* n : {"L1N5", "L1N5:pre", "L5N3", "L11N1", "L12N0:pre", "output", "output:pre"})
    check_gradients(net, {x}, net.resolve(n));
}

// Affine ops: the tangent map is the op's linear part, f(x + t) - f(x), applied to
// `components` tangents per event laid out event-major.
TEST(Ops, AffineTangentMapsAreTheLinearPart) {
  std::mt19937_64 rng(21);
  const Index B = 3, C = 4;
  auto check = [&](std::unique_ptr<Op> op, const std::vector<Shape>& shapes) {
    std::vector<Tensor> x, t;
    std::vector<const Tensor*> xp, tp;
    for (const Shape& s : shapes) {
      Shape bs{B}, cs{B * C};
      bs.insert(bs.end(), s.begin(), s.end());
      cs.insert(cs.end(), s.begin(), s.end());
      x.push_back(random_tensor(bs, rng));
      t.push_back(random_tensor(cs, rng));
    }
    for (auto& v : x) xp.push_back(&v);
    for (auto& v : t) tp.push_back(&v);
    ASSERT_EQ(op->derivative_kind(), Op::DerivativeKind::Affine);
    Shape os = op->infer_shape(shapes);
    Shape bo{B}, co{B * C};
    bo.insert(bo.end(), os.begin(), os.end());
    co.insert(co.end(), os.begin(), os.end());
    Tensor y(bo), tout(co);
    op->forward(xp, y);
    op->apply_tangent(xp, y, tp, tout, C);
    // Reference: for event e and component c, f(x_e + t_ec) - f(x_e).
    for (Index e = 0; e < B; ++e)
      for (Index c = 0; c < C; ++c) {
        std::vector<Tensor> xs;
        std::vector<const Tensor*> xsp;
        for (size_t k = 0; k < shapes.size(); ++k) {
          Tensor one = x[k].slice_events(e, 1);
          Tensor tt = t[k].slice_events(e * C + c, 1);
          for (Index i = 0; i < one.size(); ++i) one[i] += tt[i];
          xs.push_back(one);
        }
        for (auto& v : xs) xsp.push_back(&v);
        Shape b1{1};
        b1.insert(b1.end(), os.begin(), os.end());
        Tensor y1(b1);
        op->forward(xsp, y1);
        for (Index i = 0; i < y1.size(); ++i)
          EXPECT_NEAR(tout.at(e * C + c, i), y1[i] - y.at(e, i), 1e-12) << op->type();
      }
  };
  auto d = std::make_unique<Dense>(3, 2);
  d->weight() = random_tensor({2, 3}, rng);
  d->bias() = random_tensor({2}, rng);
  check(std::move(d), {{3}});
  check(std::make_unique<Standardize>(random_tensor({1, 3}, rng), Tensor({1, 3}, {0.5, 2, 3})), {{3}});
  check(std::make_unique<Concat>(0), {{2}, {3}});
  check(std::make_unique<Binary>(BinaryKind::Add), {{2, 2}, {2, 2}});
}

namespace {
// Rewrites a model file's JSON header (magic, length, header, tensors, CRC-32), as a file
// written before a change of type names would hold it.
void rewrite_header(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t len;
  std::memcpy(&len, file.data() + 8, 8);
  nlohmann::json header = nlohmann::json::parse(file.substr(16, len));
  const std::string rest = file.substr(16 + len, file.size() - 16 - len - 4);  // the tensors
  edit(header);
  const std::string h = header.dump();
  std::string out = file.substr(0, 8);
  const std::uint64_t n = h.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += h + rest;
  const auto crc =
      static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  std::ofstream(path, std::ios::binary) << out;
}
}  // namespace

// Add (n-ary sum) and SoftmaxAxis were merged into Binary and Softmax. A model file that
// names the old types loads (registry aliases) and gives the numbers of the formulas.
TEST(Ops, OldAddAndSoftmaxAxisModelFilesLoadAndGiveTheSameOutputs) {
  Network net;
  const int x = net.add_input("x", {3, 2});
  const int sum = net.add_node("sum", std::make_unique<Binary>(BinaryKind::Add), {x, x, x});
  const int col = net.add_node("col", std::make_unique<Softmax>(0, false, false), {sum});  // down the columns
  const int row = net.add_node("row", std::make_unique<Softmax>(), {col});                 // along the rows
  const int lsm = net.add_node("lsm", std::make_unique<Softmax>(1, false, true), {row});   // log, along the rows
  net.set_output(lsm);
  const std::string path = ::testing::TempDir() + "old_types.unbox";
  save_network(net, path);
  rewrite_header(path, [](nlohmann::json& h) {
    for (auto& node : h["nodes"]) {
      if (node["type"] == "Binary") node["type"] = "Add", node["attributes"] = nlohmann::json::object();
      if (node["name"] == "col") node["type"] = "SoftmaxAxis";
    }
  });
  const Network old = load_network(path);
  EXPECT_EQ(old.node(sum).op->type(), "Binary");
  EXPECT_EQ(old.node(col).op->type(), "Softmax");

  // The formulas, written out: s = 3x; c = softmax over axis 0; r = softmax over axis 1; log-softmax of r.
  const Tensor in({2, 3, 2}, {0.5, -1, 2, 0.25, -0.75, 1.5, 1, 2, 3, -4, 0, 0.125});
  for (int node : {sum, col, row, lsm}) {
    std::vector<NeuronRef> refs;
    for (Index j = 0; j < 6; ++j) refs.push_back({node, j});
    const Tensor got = evaluate(old, {in}, refs), now = evaluate(net, {in}, refs);
    for (Index e = 0; e < 2; ++e) {
      double v[3][2], c[3][2], r[3][2], l[3][2];
      for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 2; ++k) v[i][k] = 3 * in[e * 6 + i * 2 + k];
      for (int k = 0; k < 2; ++k) {
        double z = 0;
        for (int i = 0; i < 3; ++i) z += std::exp(v[i][k]);
        for (int i = 0; i < 3; ++i) c[i][k] = std::exp(v[i][k]) / z;
      }
      for (int i = 0; i < 3; ++i) {
        const double z = std::exp(c[i][0]) + std::exp(c[i][1]);
        for (int k = 0; k < 2; ++k) r[i][k] = std::exp(c[i][k]) / z;
        const double lz = std::log(std::exp(r[i][0]) + std::exp(r[i][1]));
        for (int k = 0; k < 2; ++k) l[i][k] = r[i][k] - lz;
      }
      const auto& want = node == sum ? v : node == col ? c : node == row ? r : l;
      for (int j = 0; j < 6; ++j) {
        EXPECT_NEAR(got[e * 6 + j], want[j / 2][j % 2], 1e-14) << "node " << node << " event " << e;
        EXPECT_EQ(got[e * 6 + j], now[e * 6 + j]);
      }
    }
  }
  // Saved again, the file names the one op of each kind.
  save_network(old, path);
  std::ifstream f(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("SoftmaxAxis"), std::string::npos);
  EXPECT_EQ(text.find("\"Add\""), text.find("\"op\":\"Add\"") + 5);
}
