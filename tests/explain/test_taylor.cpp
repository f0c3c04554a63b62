// Exact input derivatives to third order against central finite differences of the
// exact lower order, the Taylor averages against a direct computation, and the rankings
// of the poster's four Gaussian toys.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "unbox/derivatives.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/ops.hpp"
#include "unbox/toys.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

void randomize(Network& net, std::uint64_t seed, double scale = 0.8) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = p.name == "std" ? 0.5 + std::abs(u(rng)) : u(rng);
}

Tensor random_tensor(Index rows, Index cols, std::uint64_t seed) {
  Tensor t({rows, cols});
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  for (double& v : t.values()) v = g(rng);
  return t;
}

double rel_norm(const std::vector<double>& got, const std::vector<double>& ref) {
  double d = 0, r = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    d += (got[i] - ref[i]) * (got[i] - ref[i]);
    r += ref[i] * ref[i];
  }
  return std::sqrt(d / std::max(r, 1e-300));
}

// Central differences of the exact (k-1)-th derivatives give the k-th; compared per
// tensor in relative norm. Raw units (physical) and the standardized ones (scaled).
void check_against_finite_differences(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& ref,
                                      double tol = 1e-7) {
  DerivativeOptions o3;
  o3.order = 3;
  o3.physical_units = true;
  InputDerivatives d = input_derivatives(net, inputs, ref, o3);
  const Index N = d.value.size(), n = d.first.per_event(), P2 = pair_count(n), P3 = triple_count(n);
  // Values agree with a plain forward pass.
  Tensor v = evaluate(net, inputs, {ref});
  for (Index e = 0; e < N; ++e) EXPECT_NEAR(d.value[e], v[e], 1e-14);
  // Flat variable j lives in input k at position j - offset.
  std::vector<std::pair<size_t, Index>> where;
  for (size_t k = 0; k < inputs.size(); ++k)
    for (Index j = 0; j < inputs[k].per_event(); ++j) where.push_back({k, j});
  ASSERT_EQ(static_cast<Index>(where.size()), n);
  const double h = 1e-5;
  std::vector<double> fd1, fd2, fd3, ex1, ex2, ex3;
  DerivativeOptions o2 = o3;
  for (Index var = 0; var < n; ++var) {
    std::vector<Tensor> plus = inputs, minus = inputs;
    auto [k, j] = where[static_cast<size_t>(var)];
    for (Index e = 0; e < N; ++e) {
      plus[k].at(e, j) += h;
      minus[k].at(e, j) -= h;
    }
    o2.order = 2;
    InputDerivatives dp = input_derivatives(net, plus, ref, o2), dm = input_derivatives(net, minus, ref, o2);
    for (Index e = 0; e < N; ++e) {
      fd1.push_back((dp.value[e] - dm.value[e]) / (2 * h));
      ex1.push_back(d.first.at(e, var));
      for (Index i = 0; i < n; ++i) {  // d/dx_var of g_i = H(min, max)
        fd2.push_back((dp.first.at(e, i) - dm.first.at(e, i)) / (2 * h));
        ex2.push_back(d.second.at(e, pair_index(std::min(i, var), std::max(i, var), n)));
      }
      for (Index i = 0; i < n; ++i)
        for (Index jj = i; jj < n; ++jj) {  // d/dx_var of H_ij = T(sorted i, jj, var)
          Index a[3] = {i, jj, var};
          std::sort(a, a + 3);
          Index pos = 0;
          auto tl = triple_list(n);
          for (Index t = 0; t < P3; ++t)
            if (tl[3 * t] == a[0] && tl[3 * t + 1] == a[1] && tl[3 * t + 2] == a[2]) pos = t;
          fd3.push_back((dp.second.at(e, pair_index(i, jj, n)) - dm.second.at(e, pair_index(i, jj, n))) / (2 * h));
          ex3.push_back(d.third.at(e, pos));
        }
    }
  }
  // The second-order-only path gives the same Hessian as the third-order one.
  {
    InputDerivatives d2 = input_derivatives(net, inputs, ref, DerivativeOptions{.order = 2, .physical_units = true});
    EXPECT_LT(rel_norm(d2.second.values(), d.second.values()), 1e-13);
    EXPECT_LT(rel_norm(d2.first.values(), d.first.values()), 1e-15);
  }
  EXPECT_LT(rel_norm(ex1, fd1), tol) << "gradient";
  EXPECT_LT(rel_norm(ex2, fd2), tol) << "Hessian";
  EXPECT_LT(rel_norm(ex3, fd3), tol) << "third order";
  // The Hessian and third order are not trivially zero in these networks.
  double s2 = 0, s3 = 0;
  for (Index i = 0; i < d.second.size(); ++i) s2 += std::abs(d.second[i]);
  for (Index i = 0; i < d.third.size(); ++i) s3 += std::abs(d.third[i]);
  EXPECT_GT(s2, 1e-3);
  EXPECT_GT(s3, 1e-3);
  (void)P2;
}

Network stack(Index n, const std::string& hidden, const std::string& act, const std::string& out, std::uint64_t seed) {
  std::vector<std::string> names;
  for (Index i = 0; i < n; ++i) names.push_back("v" + std::to_string(i));
  Network net = build_network(names, parse_architecture(hidden, act, out));
  randomize(net, seed);
  return net;
}

}  // namespace

TEST(Taylor, IndexingIsLexicographic) {
  EXPECT_EQ(pair_count(4), 10);
  EXPECT_EQ(triple_count(4), 20);
  EXPECT_EQ(pair_index(0, 0, 4), 0);
  EXPECT_EQ(pair_index(0, 3, 4), 3);
  EXPECT_EQ(pair_index(1, 1, 4), 4);
  EXPECT_EQ(pair_index(3, 3, 4), 9);
  auto t = triple_list(3);
  ASSERT_EQ(t.size(), 30u);
  EXPECT_EQ((std::vector<Index>(t.begin() + 3, t.begin() + 6)), (std::vector<Index>{0, 0, 1}));
  EXPECT_EQ((std::vector<Index>(t.end() - 3, t.end())), (std::vector<Index>{2, 2, 2}));
}

class SmoothNetworks : public ::testing::TestWithParam<std::string> {};

TEST_P(SmoothNetworks, DerivativesMatchFiniteDifferences) {
  Network net = stack(3, "6,5", GetParam(), "sigmoid", 11);
  Tensor x = random_tensor(7, 3, 5);
  check_against_finite_differences(net, {x}, net.resolve("output"));
  check_against_finite_differences(net, {x}, net.resolve("L2N3"));  // a hidden neuron
  check_against_finite_differences(net, {x}, net.resolve("output:pre"));
}
INSTANTIATE_TEST_SUITE_P(Activations, SmoothNetworks, ::testing::Values("tanh", "elu", "softplus", "sigmoid", "selu"));

TEST(Taylor, ConcatenatedSideInputMatchesFiniteDifferences) {
  // x -> Standardize -> Dense(5) -> tanh ; concat with a raw side input s -> Dense(4)
  // -> softplus -> Dense(1) -> sigmoid; and an Add of two branches.
  Network net;
  int x = net.add_input("x", {3}, {"a", "b", "c"});
  int s = net.add_input("s", {2}, {"s1", "s2"});
  int st = net.add_node("std", std::make_unique<Standardize>(Shape{3}), {x});
  int d1 = net.add_node("d1", std::make_unique<Dense>(3, 5), {st});
  int a1 = net.add_node("a1", std::make_unique<Activation>(ActivationKind::Tanh), {d1});
  int cat = net.add_node("cat", std::make_unique<Concat>(0), {a1, s});
  int d2 = net.add_node("d2", std::make_unique<Dense>(7, 4), {cat});
  int a2 = net.add_node("a2", std::make_unique<Activation>(ActivationKind::Softplus), {d2});
  int d3 = net.add_node("d3", std::make_unique<Dense>(7, 4), {cat});
  int a3 = net.add_node("a3", std::make_unique<Activation>(ActivationKind::ELU, 1.0), {d3});
  int sum = net.add_node("sum", std::make_unique<Binary>(BinaryKind::Add), {a2, a3});
  int d4 = net.add_node("d4", std::make_unique<Dense>(4, 1), {sum});
  net.add_node("out", std::make_unique<Activation>(ActivationKind::Sigmoid), {d4});
  randomize(net, 3, 1.0);
  Tensor xv = random_tensor(6, 3, 8), sv = random_tensor(6, 2, 9);
  check_against_finite_differences(net, {xv, sv}, net.resolve("out[0]"));
  // Standardized units: variables of x scale by its std, the side input (no
  // Standardize) stays raw.
  DerivativeOptions raw{.order = 3, .physical_units = true}, stdu{.order = 3, .physical_units = false};
  auto r = input_derivatives(net, {xv, sv}, net.resolve("out[0]"), raw);
  auto z = input_derivatives(net, {xv, sv}, net.resolve("out[0]"), stdu);
  const auto& sd = static_cast<const Standardize&>(*net.node(st).op).stddev();
  std::vector<double> scale = {sd[0], sd[1], sd[2], 1.0, 1.0};
  EXPECT_EQ(z.plan.variables, (std::vector<std::string>{"a", "b", "c", "s1", "s2"}));
  for (Index e = 0; e < 6; ++e) {
    EXPECT_NEAR(z.first.at(e, 1), r.first.at(e, 1) * scale[1], 1e-15);
    EXPECT_NEAR(z.second.at(e, pair_index(0, 3, 5)), r.second.at(e, pair_index(0, 3, 5)) * scale[0], 1e-15);
    EXPECT_NEAR(z.third.at(e, 0), r.third.at(e, 0) * scale[0] * scale[0] * scale[0], 1e-14);
  }
  (void)cat;
}

TEST(Taylor, ReluNetworkTakesTheShortcutAndSaysSo) {
  Network net = stack(3, "8,6", "relu", "sigmoid", 4);
  Tensor x = random_tensor(9, 3, 6);
  check_against_finite_differences(net, {x}, net.resolve("output"));
  auto plan = plan_derivatives(net, net.resolve("output"), {.order = 2});
  EXPECT_TRUE(plan.piecewise_linear_hidden);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("only repeats its gradient"), std::string::npos);
  // Hessian = f''(z) g g^T exactly.
  auto d = input_derivatives(net, {x}, net.resolve("output"), {.order = 2, .physical_units = true});
  auto g = input_derivatives(net, {x}, net.resolve("output:pre"), {.order = 2, .physical_units = true});
  Tensor zpre = evaluate(net, {x}, {net.resolve("output:pre")});
  for (Index e = 0; e < 9; ++e) {
    double s = 1 / (1 + std::exp(-zpre[e])), f2 = s * (1 - s) * (1 - 2 * s);
    EXPECT_NEAR(d.second.at(e, pair_index(0, 2, 3)), f2 * g.first.at(e, 0) * g.first.at(e, 2), 1e-14);
    EXPECT_EQ(g.second.at(e, pair_index(0, 2, 3)), 0.0);  // the logit of a ReLU net: zero a.e.
  }
  // A ReLU network with one smooth layer in the middle takes the general path.
  Network mixed;
  int in = mixed.add_input("x", {3});
  int d1 = mixed.add_node("d1", std::make_unique<Dense>(3, 6), {in});
  int a1 = mixed.add_node("a1", std::make_unique<Activation>(ActivationKind::ReLU), {d1});
  int d2 = mixed.add_node("d2", std::make_unique<Dense>(6, 5), {a1});
  int a2 = mixed.add_node("a2", std::make_unique<Activation>(ActivationKind::Tanh), {d2});
  int d3 = mixed.add_node("d3", std::make_unique<Dense>(5, 4), {a2});
  int a3 = mixed.add_node("a3", std::make_unique<Activation>(ActivationKind::LeakyReLU, 0.1), {d3});
  int d4 = mixed.add_node("d4", std::make_unique<Dense>(4, 1), {a3});
  mixed.add_node("out", std::make_unique<Activation>(ActivationKind::Sigmoid), {d4});
  randomize(mixed, 12, 1.0);
  EXPECT_FALSE(plan_derivatives(mixed, mixed.resolve("out[0]"), {}).piecewise_linear_hidden);
  check_against_finite_differences(mixed, {x}, mixed.resolve("out[0]"));
}

TEST(Taylor, SoftmaxIsRefusedAboveFirstOrder) {
  std::vector<std::string> names = {"a", "b"};
  SequentialBuilder b(names);
  b.standardize().dense(4).activation(Activation(ActivationKind::Tanh)).dense(2).softmax();
  Network net = b.build();
  randomize(net, 2);
  Tensor x = random_tensor(4, 2, 1);
  try {
    input_derivatives(net, {x}, net.resolve("output"), {.order = 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Softmax"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("order 2"), std::string::npos) << e.what();
  }
  // First order works (reverse mode through the softmax) and matches input_gradient.
  auto d = input_derivatives(net, {x}, net.resolve("output"), {.order = 1, .physical_units = true});
  auto g = input_gradient(net, {x}, net.resolve("output"))[0];
  for (Index i = 0; i < g.size(); ++i) EXPECT_NEAR(d.first[i], g[i], 1e-15);
  // The logit below it is fine at third order.
  check_against_finite_differences(net, {x}, net.resolve("output:pre"));
}

TEST(Taylor, WeightedAndPerClassAveragesMatchADirectComputation) {
  Network net = stack(3, "5", "tanh", "sigmoid", 21);
  const Index N = 5000;  // spans several accumulation chunks
  Tensor x = random_tensor(N, 3, 22);
  std::vector<double> labels(N), weights(N);
  std::mt19937_64 rng(3);
  for (Index e = 0; e < N; ++e) {
    labels[static_cast<size_t>(e)] = static_cast<double>(rng() % 2);
    weights[static_cast<size_t>(e)] = 0.1 + static_cast<double>(rng() % 100) / 50.0;
  }
  for (auto conv : {TaylorConvention::Monomial, TaylorConvention::Derivative}) {
    TaylorOptions o;
    o.order = 3;
    o.convention = conv;
    TaylorResult r = taylor(net, {x}, labels, weights, o);
    ASSERT_EQ(r.features.size(), 3u + 6u + 10u);
    EXPECT_TRUE(r.per_class);
    auto d = input_derivatives(net, {x}, net.resolve("output"), {.order = 3});
    // Direct: loop over events for a few features.
    auto direct = [&](const std::vector<Index>& idx, int cls) {
      double s = 0, w = 0;
      const Index n = 3;
      for (Index e = 0; e < N; ++e) {
        if (cls >= 0 && labels[static_cast<size_t>(e)] != cls) continue;
        double t;
        if (idx.size() == 1)
          t = d.first.at(e, idx[0]);
        else if (idx.size() == 2)
          t = d.second.at(e, pair_index(idx[0], idx[1], n));
        else {
          auto tl = triple_list(n);
          Index pos = 0;
          for (Index k = 0; k < triple_count(n); ++k)
            if (tl[3 * k] == idx[0] && tl[3 * k + 1] == idx[1] && tl[3 * k + 2] == idx[2]) pos = k;
          t = d.third.at(e, pos);
        }
        double fac = 1;
        if (conv == TaylorConvention::Monomial) {
          if (idx.size() == 2 && idx[0] == idx[1]) fac = 0.5;
          if (idx.size() == 3)
            fac = (idx[0] == idx[1] && idx[1] == idx[2]) ? 1.0 / 6 : (idx[0] == idx[1] || idx[1] == idx[2]) ? 0.5 : 1.0;
        }
        s += weights[static_cast<size_t>(e)] * std::abs(fac * t);
        w += weights[static_cast<size_t>(e)];
      }
      return s / w;
    };
    int checked = 0;
    double total = 0;
    for (const auto& f : r.features) total += f.value;
    for (const auto& f : r.features) {
      EXPECT_NEAR(f.value, direct(f.indices, -1), 1e-12 * std::abs(f.value)) << f.name;
      EXPECT_NEAR(f.signal, direct(f.indices, 1), 1e-12 * std::abs(f.signal)) << f.name;
      EXPECT_NEAR(f.background, direct(f.indices, 0), 1e-12 * std::abs(f.background)) << f.name;
      EXPECT_NEAR(f.share, f.value / total, 1e-15);
      EXPECT_EQ(f.variables.size(), static_cast<size_t>(f.order));
      ++checked;
    }
    EXPECT_EQ(checked, 19);
    for (size_t i = 1; i < r.features.size(); ++i) EXPECT_GE(r.features[i - 1].value, r.features[i].value);
    // Weights matter: unit weights give different numbers.
    TaylorResult u = taylor(net, {x}, labels, {}, o);
    EXPECT_NE(u.features[0].value, r.features[0].value);
  }
}

TEST(Taylor, ResultsDoNotDependOnTheThreadCount) {
  Network net = stack(4, "16,8", "elu", "sigmoid", 5);
  Tensor x = random_tensor(5000, 4, 6);
  TaylorOptions o;
  o.order = 3;
  int before = thread_count();
  set_thread_count(1);
  auto a = taylor(net, {x}, {}, {}, o);
  set_thread_count(2);
  auto b = taylor(net, {x}, {}, {}, o);
  set_thread_count(before);
  ASSERT_EQ(a.features.size(), b.features.size());
  for (size_t i = 0; i < a.features.size(); ++i) {
    EXPECT_EQ(a.features[i].name, b.features[i].name);
    EXPECT_EQ(a.features[i].value, b.features[i].value);  // bit-identical
  }
}

TEST(Taylor, TopPercentAndJson) {
  Network net = stack(4, "6", "tanh", "sigmoid", 7);
  Tensor x = random_tensor(300, 4, 8);
  TaylorResult r = taylor(net, {x}, {}, {}, TaylorOptions{});
  ASSERT_EQ(r.features.size(), 14u);
  EXPECT_EQ(r.top_count(5), 1);   // ceil(0.7)
  EXPECT_EQ(r.top_count(10), 2);  // ceil(1.4)
  EXPECT_EQ(r.top_count(100), 14);
  auto vars = r.top_variables(100);
  EXPECT_EQ(vars.size(), 4u);
  auto j = r.to_json(10);
  EXPECT_EQ(j["convention"], "monomial");
  EXPECT_EQ(j["neuron"], "output");
  EXPECT_EQ(j["features"].size(), 14u);
  EXPECT_EQ(j["features"][0]["variables"].size(), j["features"][0]["order"].get<size_t>());
  EXPECT_EQ(j["top"]["features"].size(), 2u);
  EXPECT_THROW(r.top_count(0), Error);
  EXPECT_THROW(parse_convention("taylor"), Error);
}

// --- the poster's toys: a small tanh network on each scenario ----------------------

namespace {
TaylorResult toy_ranking(const std::string& toy, TaylorConvention conv, std::uint64_t seed = 1) {
  Dataset data = generate_toy(toy, 12000, seed);
  Network net = build_network({"x1", "x2"}, parse_architecture("32,32", "tanh", "sigmoid"));
  TrainOptions o;
  o.epochs = 6;
  o.batch = 128;
  o.learning_rate = 4e-3;
  o.seed = seed;
  o.quiet = true;
  train(net, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
  Dataset test = generate_toy(toy, 4000, seed + 100);
  test.label_column = "label";
  TaylorOptions t;
  t.convention = conv;
  return taylor(net, Events(net, test), t);
}
std::vector<std::string> top_names(const TaylorResult& r, size_t k) {
  std::vector<std::string> v;
  for (size_t i = 0; i < k; ++i) v.push_back(r.features[i].name);
  std::sort(v.begin(), v.end());
  return v;
}
}  // namespace

TEST(TaylorToys, MarginalRanksFirstOrderFirst) {
  auto r = toy_ranking("gauss-marginal", TaylorConvention::Monomial);
  EXPECT_EQ(top_names(r, 2), (std::vector<std::string>{"x1", "x2"})) << r.table();
}

TEST(TaylorToys, CorrelationRanksTheMixedTermFirst) {
  auto r = toy_ranking("gauss-correlation", TaylorConvention::Monomial);
  EXPECT_EQ(r.features[0].name, "x1 x x2") << r.table();
}

TEST(TaylorToys, WidthRanksTheDiagonalSecondOrderFirst) {
  auto r = toy_ranking("gauss-width", TaylorConvention::Derivative);
  EXPECT_EQ(top_names(r, 2), (std::vector<std::string>{"x1 x x1", "x2 x x2"})) << r.table();
}

TEST(TaylorToys, MixedShowsBothKinds) {
  auto r = toy_ranking("gauss-mixed", TaylorConvention::Monomial);
  auto top = top_names(r, 3);
  EXPECT_TRUE(std::find(top.begin(), top.end(), "x1 x x2") != top.end()) << r.table();
  EXPECT_TRUE(std::find(top.begin(), top.end(), "x1") != top.end()) << r.table();
  EXPECT_TRUE(std::find(top.begin(), top.end(), "x2") != top.end()) << r.table();
}

// A 1-D convolution with smooth activations, max pooling (piecewise linear: it routes the
// tangents and adjoints of the winner) and a reshape, with a concatenated side input.
TEST(Taylor, ConvolutionMaxPoolAndSideInputMatchFiniteDifferences) {
  Network net;
  int img = net.add_input("img", {2, 6});
  int side = net.add_input("side", {2}, {"s1", "s2"});
  Window w;
  w.kernel = {3};
  w.strides = {1};
  w.pads = {0, 0};
  w.dilations = {1};
  int conv = net.add_node("conv", std::make_unique<Conv>(2, 3, w), {img});
  int a1 = net.add_node("a1", std::make_unique<Activation>(ActivationKind::Softplus), {conv});
  Window p;
  p.kernel = {2};
  p.strides = {2};
  p.pads = {0, 0};
  p.dilations = {1};
  int pool = net.add_node("pool", std::make_unique<Pool>(PoolKind::Max, p), {a1});
  int flat = net.add_node("flat", std::make_unique<Reshape>(Shape{6}), {pool});
  int cat = net.add_node("cat", std::make_unique<Concat>(0), {flat, side});
  int d1 = net.add_node("d1", std::make_unique<Dense>(8, 4), {cat});
  int a2 = net.add_node("a2", std::make_unique<Activation>(ActivationKind::Tanh), {d1});
  int d2 = net.add_node("d2", std::make_unique<Dense>(4, 1), {a2});
  net.add_node("out", std::make_unique<Activation>(ActivationKind::Sigmoid), {d2});
  randomize(net, 31, 1.0);
  Tensor x({5, 2, 6});
  std::mt19937_64 rng(4);
  std::normal_distribution<double> g;
  for (double& v : x.values()) v = g(rng);
  Tensor s = random_tensor(5, 2, 9);
  check_against_finite_differences(net, {x, s}, net.resolve("out[0]"));
  auto plan = plan_derivatives(net, net.resolve("out[0]"), {});
  EXPECT_EQ(plan.variables.size(), 14u);
  EXPECT_EQ(plan.variables[0], "img[0]");
  EXPECT_EQ(plan.variables[13], "s2");
}
