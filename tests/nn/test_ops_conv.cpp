// Conv, pooling, BatchNorm, broadcasting arithmetic, PRelu, softmax along an axis, and
// shape ops: forward values against hand computations, input and parameter gradients
// against central finite differences, tangent maps against directional differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "unbox/network.hpp"
#include "unbox/ops.hpp"

#include "test_util.hpp"

using namespace unbox;

namespace {

using test::random_tensor;

Window window(std::vector<Index> k, std::vector<Index> s, std::vector<Index> p, std::vector<Index> d) {
  Window w;
  w.kernel = std::move(k), w.strides = std::move(s), w.pads = std::move(p), w.dilations = std::move(d);
  return w;
}

Network single(std::unique_ptr<Op> op, const Shape& in) {
  Network net;
  int x = net.add_input("x", in);
  net.add_node("op", std::move(op), {x});
  return net;
}

// Sum over events and outputs of w[j] * out[j]: a scalar that depends on every output.
double weighted_sum(const Network& net, const std::vector<Tensor>& inputs, const Tensor& w) {
  Workspace ws;
  std::vector<const Tensor*> p;
  for (auto& t : inputs) p.push_back(&t);
  net.forward(p, ws);
  const Tensor& y = ws.values[static_cast<size_t>(net.output_node())];
  double s = 0;
  for (Index i = 0; i < y.size(); ++i) s += w[i] * y[i];
  return s;
}

// Reverse-mode input and parameter gradients of weighted_sum against central
// differences (relative error < 1e-6).
void check_all_gradients(Network& net, std::vector<Tensor> inputs, std::mt19937_64& rng, double h = 1e-6) {
  Workspace ws;
  std::vector<const Tensor*> p;
  for (auto& t : inputs) p.push_back(&t);
  net.forward(p, ws);
  const int out = net.output_node();
  Tensor w = random_tensor(ws.values[static_cast<size_t>(out)].shape(), rng);
  auto pgrad = net.make_parameter_buffers();
  net.backward(ws, out, w, &pgrad);
  auto err = [](double fd, double g) { return std::abs(fd - g) / std::max(1.0, std::abs(g)); };
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor g = ws.grads[static_cast<size_t>(net.input_nodes()[k])];
    for (Index i = 0; i < inputs[k].size(); ++i) {
      auto plus = inputs, minus = inputs;
      plus[k][i] += h, minus[k][i] -= h;
      double fd = (weighted_sum(net, plus, w) - weighted_sum(net, minus, w)) / (2 * h);
      EXPECT_LT(err(fd, g[i]), 1e-6) << "input " << k << " element " << i << ": fd " << fd << " exact " << g[i];
    }
  }
  for (size_t n = 0; n < net.nodes().size(); ++n) {
    if (!net.nodes()[n].op) continue;
    auto params = net.op(static_cast<int>(n)).parameters();
    for (size_t q = 0; q < params.size(); ++q) {
      if (!params[q].trainable) continue;
      Tensor& v = *params[q].value;
      for (Index i = 0; i < v.size(); ++i) {
        const double keep = v[i];
        v[i] = keep + h;
        double fp = weighted_sum(net, inputs, w);
        v[i] = keep - h;
        double fm = weighted_sum(net, inputs, w);
        v[i] = keep;
        double fd = (fp - fm) / (2 * h), g = pgrad[n][q][i];
        EXPECT_LT(err(fd, g), 1e-6) << "parameter " << params[q].name << "[" << i << "]: fd " << fd << " exact " << g;
      }
    }
  }
}

// apply_tangent of the single op against (f(x + eps t) - f(x - eps t)) / (2 eps) for
// `components` random tangents per event.
void check_tangent(const Network& net, const Tensor& x, std::mt19937_64& rng, Index components = 2) {
  const Op& op = *net.node(1).op;
  Workspace ws;
  net.forward({&x}, ws);
  const Tensor& y = ws.values[1];
  Shape ts = x.shape();
  ts[0] *= components;
  Tensor t = random_tensor(ts, rng);
  Shape os = y.shape();
  os[0] *= components;
  Tensor tout(os);
  op.apply_tangent({&x}, y, {&t}, tout, components);
  const double eps = 1e-6;
  const Index pe = x.per_event(), po = y.per_event();
  for (Index c = 0; c < components; ++c) {
    Tensor xp = x, xm = x;
    for (Index e = 0; e < x.events(); ++e)
      for (Index j = 0; j < pe; ++j) {
        xp.at(e, j) += eps * t.at(e * components + c, j);
        xm.at(e, j) -= eps * t.at(e * components + c, j);
      }
    Workspace a, b;
    net.forward({&xp}, a);
    net.forward({&xm}, b);
    for (Index e = 0; e < x.events(); ++e)
      for (Index j = 0; j < po; ++j) {
        double fd = (a.values[1].at(e, j) - b.values[1].at(e, j)) / (2 * eps);
        EXPECT_NEAR(tout.at(e * components + c, j), fd, 1e-6 * std::max(1.0, std::abs(fd)))
            << op.type() << " event " << e << " component " << c << " output " << j;
      }
  }
}

std::unique_ptr<Conv> random_conv(Index cin, Index cout, Window w, Index groups, std::mt19937_64& rng) {
  auto c = std::make_unique<Conv>(cin, cout, std::move(w), groups);
  c->weight() = random_tensor(c->weight().shape(), rng);
  c->bias() = random_tensor(c->bias().shape(), rng);
  return c;
}

}  // namespace

TEST(OpsConv, Conv1DForwardMatchesHandComputation) {
  // One channel, kernel [1, 2, -1], stride 2, pad 1 each side, bias 0.5 on x = 1..5.
  auto c = std::make_unique<Conv>(1, 1, window({3}, {2}, {1, 1}, {1}));
  c->weight() = Tensor({1, 1, 3}, {1, 2, -1});
  c->bias() = Tensor({1}, {0.5});
  Network net = single(std::move(c), {1, 5});
  EXPECT_EQ(net.node(1).shape, (Shape{1, 3}));
  Tensor x({1, 1, 5}, {1, 2, 3, 4, 5});
  Workspace ws;
  net.forward({&x}, ws);
  // padded: 0 1 2 3 4 5 0; windows at 0, 2, 4.
  EXPECT_DOUBLE_EQ(ws.values[1][0], 0 + 2 * 1 - 2 + 0.5);
  EXPECT_DOUBLE_EQ(ws.values[1][1], 2 + 2 * 3 - 4 + 0.5);
  EXPECT_DOUBLE_EQ(ws.values[1][2], 4 + 2 * 5 - 0 + 0.5);
}

TEST(OpsConv, Conv2DForwardMatchesDirectSum) {
  std::mt19937_64 rng(1);
  Window w = window({2, 3}, {2, 1}, {1, 0, 0, 2}, {1, 2});
  auto c = random_conv(4, 6, w, 2, rng);
  const Tensor W = c->weight(), b = c->bias();
  Network net = single(std::move(c), {4, 5, 6});
  Tensor x = random_tensor({2, 4, 5, 6}, rng);
  Workspace ws;
  net.forward({&x}, ws);
  const Shape os = net.node(1).shape;
  ASSERT_EQ(os, (Shape{6, 3, 4}));  // H: (5+1-2)/2+1 = 3, W: (6+2-5)/1+1 = 4
  for (Index e = 0; e < 2; ++e)
    for (Index o = 0; o < 6; ++o)
      for (Index oh = 0; oh < 3; ++oh)
        for (Index ow = 0; ow < 4; ++ow) {
          double s = b[o];
          const Index g = o / 3;
          for (Index ci = 0; ci < 2; ++ci)
            for (Index i = 0; i < 2; ++i)
              for (Index j = 0; j < 3; ++j) {
                Index h = oh * 2 - 1 + i, ww = ow - 0 + j * 2;
                if (h < 0 || h >= 5 || ww < 0 || ww >= 6) continue;
                s += W[((o * 2 + ci) * 2 + i) * 3 + j] * x[((e * 4 + g * 2 + ci) * 5 + h) * 6 + ww];
              }
          EXPECT_NEAR(ws.values[1][((e * 6 + o) * 3 + oh) * 4 + ow], s, 1e-13);
        }
}

TEST(OpsConv, ConvGradientsAndTangents) {
  std::mt19937_64 rng(2);
  {
    Network net = single(random_conv(2, 3, window({3}, {2}, {2, 1}, {2}), 1, rng), {2, 9});
    check_all_gradients(net, {random_tensor({3, 2, 9}, rng)}, rng);
    check_tangent(net, random_tensor({3, 2, 9}, rng), rng);
  }
  {
    Network net = single(random_conv(4, 4, window({2, 3}, {1, 2}, {1, 1, 0, 1}, {2, 1}), 4, rng), {4, 5, 6});
    check_all_gradients(net, {random_tensor({2, 4, 5, 6}, rng)}, rng);
    check_tangent(net, random_tensor({2, 4, 5, 6}, rng), rng);
  }
}

TEST(OpsConv, PoolingValues) {
  Tensor x({1, 1, 6}, {1, 5, 2, 8, 3, 0});
  {  // max, kernel 2, stride 2
    Network net = single(std::make_unique<Pool>(PoolKind::Max, window({2}, {2}, {0, 0}, {1})), {1, 6});
    Workspace ws;
    net.forward({&x}, ws);
    EXPECT_EQ(ws.values[1].values(), (std::vector<double>{5, 8, 3}));
  }
  {  // average, kernel 3, stride 2, pad 1: with and without the padding in the count
    for (bool include : {false, true}) {
      Network net = single(std::make_unique<Pool>(PoolKind::Average, window({3}, {2}, {1, 1}, {1}), include), {1, 6});
      Workspace ws;
      net.forward({&x}, ws);
      ASSERT_EQ(net.node(1).shape, (Shape{1, 3}));
      EXPECT_DOUBLE_EQ(ws.values[1][0], include ? 6.0 / 3 : 6.0 / 2);
      EXPECT_DOUBLE_EQ(ws.values[1][1], 15.0 / 3);
      EXPECT_DOUBLE_EQ(ws.values[1][2], 11.0 / 3);  // 8 + 3 + 0
    }
  }
  {  // ceil mode adds a partial window at the end
    Window w = window({2}, {2}, {0, 0}, {1});
    w.ceil_mode = true;
    Tensor x5({1, 1, 5}, {1, 5, 2, 8, 3});
    Network net = single(std::make_unique<Pool>(PoolKind::Max, w), {1, 5});
    Workspace ws;
    net.forward({&x5}, ws);
    EXPECT_EQ(ws.values[1].values(), (std::vector<double>{5, 8, 3}));
  }
}

TEST(OpsConv, PoolingGradientsAndTangents) {
  std::mt19937_64 rng(3);
  for (auto kind : {PoolKind::Max, PoolKind::Average})
    for (bool include : {false, true}) {
      Network n1 = single(std::make_unique<Pool>(kind, window({3}, {2}, {1, 1}, {2}), include), {2, 9});
      check_all_gradients(n1, {random_tensor({2, 2, 9}, rng)}, rng);
      check_tangent(n1, random_tensor({2, 2, 9}, rng), rng);
      Network n2 =
          single(std::make_unique<Pool>(kind, window({2, 3}, {2, 1}, {1, 0, 1, 1}, {1, 1}), include), {2, 5, 4});
      check_all_gradients(n2, {random_tensor({2, 2, 5, 4}, rng)}, rng);
      check_tangent(n2, random_tensor({2, 2, 5, 4}, rng), rng);
    }
}

TEST(OpsConv, BatchNormValuesGradientsTangents) {
  std::mt19937_64 rng(4);
  auto bn = std::make_unique<BatchNorm>(3, 1e-3);
  bn->scale() = Tensor({3}, {2, -1, 0.5});
  bn->bias() = Tensor({3}, {0.1, 0.2, 0.3});
  bn->mean() = Tensor({3}, {1, 0, -1});
  bn->var() = Tensor({3}, {4, 0.25, 1});
  Network net = single(std::move(bn), {3, 2});
  Tensor x({1, 3, 2}, {1, 3, 0.5, -0.5, -1, 1});
  Workspace ws;
  net.forward({&x}, ws);
  EXPECT_NEAR(ws.values[1][1], (3 - 1) / std::sqrt(4.001) * 2 + 0.1, 1e-15);
  EXPECT_NEAR(ws.values[1][2], (0.5 - 0) / std::sqrt(0.251) * -1 + 0.2, 1e-15);
  EXPECT_NEAR(ws.values[1][5], (1 + 1) / std::sqrt(1.001) * 0.5 + 0.3, 1e-15);
  check_all_gradients(net, {random_tensor({2, 3, 2}, rng)}, rng);
  check_tangent(net, random_tensor({2, 3, 2}, rng), rng);
}

TEST(OpsConv, BinaryBroadcastingValuesAndGradients) {
  std::mt19937_64 rng(5);
  // Two tensors [2, 3] and [3]: y = a - b with b broadcast over the first axis.
  Network net;
  int a = net.add_input("a", {2, 3});
  int b = net.add_input("b", {3});
  net.add_node("sub", std::make_unique<Binary>(BinaryKind::Sub), {a, b});
  Tensor ta({1, 2, 3}, {1, 2, 3, 4, 5, 6}), tb({1, 3}, {10, 20, 30});
  Workspace ws;
  net.forward({&ta, &tb}, ws);
  EXPECT_EQ(ws.values[2].values(), (std::vector<double>{-9, -18, -27, -6, -15, -24}));
  for (auto kind : {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Div}) {
    Network n2;
    int x = n2.add_input("x", {2, 3});
    int y = n2.add_input("y", {2, 1});
    n2.add_node("op", std::make_unique<Binary>(kind), {x, y});
    Tensor tx = random_tensor({3, 2, 3}, rng), ty = random_tensor({3, 2, 1}, rng);
    for (double& v : ty.values()) v += v < 0 ? -0.5 : 0.5;  // away from zero for Div
    check_all_gradients(n2, {tx, ty}, rng);
    for (auto side : {Binary::ConstSide::Left, Binary::ConstSide::Right}) {
      Tensor c = random_tensor({1, 3}, rng);
      for (double& v : c.values()) v += v < 0 ? -0.5 : 0.5;
      Network n3 = single(std::make_unique<Binary>(kind, c, side), {2, 3});
      Tensor xin = random_tensor({2, 2, 3}, rng);
      for (double& v : xin.values()) v += v < 0 ? -0.5 : 0.5;
      check_all_gradients(n3, {xin}, rng);
      if (n3.node(1).op->derivative_kind() == Op::DerivativeKind::Affine) check_tangent(n3, xin, rng);
    }
  }
}

TEST(OpsConv, PReluSoftmaxAxisShapes) {
  std::mt19937_64 rng(6);
  {
    Network net = single(std::make_unique<PRelu>(Tensor({1, 2, 1}, {0.25, -0.5})), {2, 3});
    Tensor x({1, 2, 3}, {-1, 2, -3, -4, 5, 0.5});
    Workspace ws;
    net.forward({&x}, ws);
    EXPECT_EQ(ws.values[1].values(), (std::vector<double>{-0.25, 2, -0.75, 2, 5, 0.5}));
    check_all_gradients(net, {random_tensor({3, 2, 3}, rng)}, rng);
    check_tangent(net, random_tensor({3, 2, 3}, rng), rng);
  }
  for (bool log : {false, true})
    for (bool flatten : {false, true}) {
      Network net = single(std::make_unique<Softmax>(0, flatten, log), {3, 2});
      Tensor x({1, 3, 2}, {1, 2, 3, 4, 5, 7});
      Workspace ws;
      net.forward({&x}, ws);
      // Softmax over axis 0 of column 0 (values 1, 3, 5), or over all six values.
      double z = flatten ? std::exp(1) + std::exp(2) + std::exp(3) + std::exp(4) + std::exp(5) + std::exp(7)
                         : std::exp(1) + std::exp(3) + std::exp(5);
      double want = std::exp(3) / z;
      EXPECT_NEAR(ws.values[1][2], log ? std::log(want) : want, 1e-14);
      check_all_gradients(net, {random_tensor({2, 3, 2}, rng, 3.0)}, rng);
    }
  {
    Network net = single(std::make_unique<Transpose>(std::vector<Index>{2, 0, 1}), {2, 3, 4});
    EXPECT_EQ(net.node(1).shape, (Shape{4, 2, 3}));
    Tensor x = random_tensor({2, 2, 3, 4}, rng);
    Workspace ws;
    net.forward({&x}, ws);
    // y[k, i, j] = x[i, j, k]
    EXPECT_EQ(ws.values[1][((1 * 4 + 3) * 2 + 1) * 3 + 2], x[((1 * 2 + 1) * 3 + 2) * 4 + 3]);
    check_all_gradients(net, {x}, rng);
    check_tangent(net, x, rng);
  }
  {
    Network net = single(std::make_unique<Pad>(std::vector<Index>{0, 1, 1, 2}), {2, 3});
    ASSERT_EQ(net.node(1).shape, (Shape{3, 6}));
    Tensor x({1, 2, 3}, {1, 2, 3, 4, 5, 6});
    Workspace ws;
    net.forward({&x}, ws);
    EXPECT_EQ(ws.values[1].values(), (std::vector<double>{0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0}));
    check_all_gradients(net, {random_tensor({2, 2, 3}, rng)}, rng);
    check_tangent(net, random_tensor({2, 2, 3}, rng), rng);
  }
  {
    Network net = single(std::make_unique<Reshape>(Shape{6}), {2, 3});
    check_all_gradients(net, {random_tensor({2, 2, 3}, rng)}, rng);
  }
}

TEST(OpsConv, CnnWithSideInputSavesAndLoadsBitExactly) {
  std::mt19937_64 rng(7);
  Network net;
  int img = net.add_input("image", {2, 6, 5});
  int side = net.add_input("side", {3});
  int c = net.add_node("conv", random_conv(2, 3, window({3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}), 1, rng), {img});
  auto bn = std::make_unique<BatchNorm>(3);
  bn->scale() = random_tensor({3}, rng);
  bn->mean() = random_tensor({3}, rng);
  int b = net.add_node("bn", std::move(bn), {c});
  int r = net.add_node("relu", std::make_unique<PRelu>(Tensor({1, 1}, {0.1})), {b});
  int p =
      net.add_node("pool", std::make_unique<Pool>(PoolKind::Max, window({2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1})), {r});
  int f = net.add_node("flat", std::make_unique<Reshape>(Shape{3 * 3 * 2}), {p});
  int j = net.add_node("join", std::make_unique<Concat>(0), {f, side});
  auto d = std::make_unique<Dense>(21, 1);
  d->weight() = random_tensor({1, 21}, rng);
  net.add_node("dense", std::move(d), {j});
  std::vector<Tensor> in = {random_tensor({3, 2, 6, 5}, rng), random_tensor({3, 3}, rng)};
  check_all_gradients(net, in, rng);
  const std::string path = testing::TempDir() + "/cnn_side.unbox";
  save_network(net, path);
  Network back = load_network(path);
  std::remove(path.c_str());
  Tensor y1 = evaluate(net, in, {{net.output_node(), 0}}), y2 = evaluate(back, in, {{back.output_node(), 0}});
  EXPECT_EQ(y1.values(), y2.values());
}

// Dense, Conv and ParticleDense behind the one LinearOp interface: its weight and bias are
// the op's own, and the map is linear in the weight (a clone with the weights doubled and no
// bias gives 2 (y - b)), which the LRP rule engine relies on.
TEST(OpsConv, LinearOpIsTheWeightBiasAndMapOfDenseConvAndParticleDense) {
  std::mt19937_64 rng(21);
  struct Case {
    std::unique_ptr<LinearOp> op;
    Shape in;
    Index channels, per_channel;
  };
  std::vector<Case> cases;
  {
    auto d = std::make_unique<Dense>(3, 4);
    d->weight() = random_tensor({4, 3}, rng);
    d->bias() = random_tensor({4}, rng);
    cases.push_back({std::move(d), {3}, 4, 3});
  }
  cases.push_back({random_conv(2, 4, window({3}, {1}, {1, 1}, {1}), 2, rng), {2, 6}, 4, 3});  // groups 2: 1 x 3
  {
    auto p = std::make_unique<ParticleDense>(3, 2);
    p->weight() = random_tensor({2, 3}, rng);
    p->bias() = random_tensor({2}, rng);
    cases.push_back({std::move(p), {5, 3}, 2, 3});
  }
  for (Case& c : cases) {
    LinearOp& lin = *c.op;
    EXPECT_TRUE(lin.is_layer());
    EXPECT_EQ(lin.derivative_kind(), Op::DerivativeKind::Affine);
    EXPECT_EQ(lin.out_channels(), c.channels) << lin.type();
    EXPECT_EQ(lin.weights_per_channel(), c.per_channel) << lin.type();
    EXPECT_EQ(lin.bias().size(), c.channels);
    std::unique_ptr<Op> doubled = lin.clone();
    auto& d = dynamic_cast<LinearOp&>(*doubled);
    for (double& w : d.weight().values()) w *= 2;
    d.bias().fill(0.0);
    Shape xs{3};
    xs.insert(xs.end(), c.in.begin(), c.in.end());
    const Tensor x = random_tensor(xs, rng);
    const Network a = single(lin.clone(), c.in), b = single(std::move(doubled), c.in);
    Workspace wa, wb;
    a.forward({&x}, wa);
    b.forward({&x}, wb);
    const Tensor& ya = wa.values[1];
    const Tensor& yb = wb.values[1];
    const Index per = ya.per_event();
    // The bias of output element j: channel j (Dense, ParticleDense: last axis) or j / spatial (Conv).
    for (Index e = 0; e < 3; ++e)
      for (Index j = 0; j < per; ++j) {
        const Index ch = lin.type() == "Conv" ? j / (per / c.channels) : j % c.channels;
        EXPECT_NEAR(yb[e * per + j], 2 * (ya[e * per + j] - lin.bias()[ch]), 1e-12) << lin.type();
      }
  }
}
