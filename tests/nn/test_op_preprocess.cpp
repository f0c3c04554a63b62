// ClipMinMax (clip at mean -+ 3 std, min-max to [0, 1]) and Slice: values, exact
// derivatives (zero beyond the clip), fitting inside train(), the model file round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "../test_util.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using namespace unbox;

TEST(OpPreprocess, ClipMinMaxValuesAndDerivatives) {
  // One feature: 0..99 plus an outlier at 1000. mean and std by hand (population std).
  std::vector<double> v;
  for (int i = 0; i < 100; ++i) v.push_back(i);
  v.push_back(1000);
  Tensor x({101, 1}, v);
  double m = 0, s = 0;
  for (double a : v) m += a / 101;
  for (double a : v) s += (a - m) * (a - m) / 101;
  s = std::sqrt(s);
  ClipMinMax op({1});
  op.fit(x);
  EXPECT_NEAR(op.lo()[0], m - 3 * s, 1e-9);
  EXPECT_NEAR(op.hi()[0], m + 3 * s, 1e-9);
  EXPECT_EQ(op.min()[0], 0.0);                // min of the clipped data
  EXPECT_NEAR(op.max()[0], m + 3 * s, 1e-9);  // the outlier is clipped
  Tensor y({101, 1});
  op.forward({&x}, y);
  EXPECT_EQ(y[0], 0.0);
  EXPECT_NEAR(y[100], 1.0, 1e-15);
  EXPECT_NEAR(y[50], 50 / (m + 3 * s), 1e-12);
  // Gradient: 1 / (max - min) inside the clip, 0 beyond it (the outlier).
  Tensor g({101, 1}, 1.0), gin({101, 1}, 0.0);
  op.backward({&x}, y, g, {&gin}, nullptr);
  EXPECT_NEAR(gin[50], 1 / (m + 3 * s), 1e-15);
  EXPECT_EQ(gin[100], 0.0);
  // Taylor-mode tangent agrees.
  Tensor t({101, 1}, 1.0), tout({101, 1});
  op.apply_tangent({&x}, y, {&t}, tout, 1);
  EXPECT_EQ(tout[50], gin[50]);
  EXPECT_EQ(tout[100], 0.0);
}

TEST(OpPreprocess, TrainFitsClipMinMaxAndModelFileRoundTrip) {
  std::mt19937_64 rng(3);
  Tensor x = test::random_tensor({400, 3}, rng, 2.0);
  x.at(0, 1) = 50;  // an outlier
  std::vector<double> y(400);
  for (Index e = 0; e < 400; ++e) y[static_cast<size_t>(e)] = x.at(e, 0) + x.at(e, 2) > 0 ? 1 : 0;
  Architecture arch = parse_architecture("8");
  arch.preprocess = "clip3-minmax";
  Network net = build_network({"a", "b", "c"}, arch);
  ASSERT_EQ(net.node(1).op->type(), "ClipMinMax");
  TrainOptions o;
  o.epochs = 2;
  o.quiet = true;
  o.validation_fraction = 0.25;
  train(net, x, y, {}, o);
  const auto& op = static_cast<const ClipMinMax&>(*net.node(1).op);
  // Fitted on the training split: its clip is mean -+ 3 std of those events.
  auto val = validation_events(400, o);
  std::vector<bool> held(400, false);
  for (Index i : val) held[static_cast<size_t>(i)] = true;
  double m = 0, s = 0, n = 0;
  for (Index e = 0; e < 400; ++e)
    if (!held[static_cast<size_t>(e)]) m += x.at(e, 1), n += 1;
  m /= n;
  for (Index e = 0; e < 400; ++e)
    if (!held[static_cast<size_t>(e)]) s += (x.at(e, 1) - m) * (x.at(e, 1) - m);
  s = std::sqrt(s / n);
  EXPECT_NEAR(op.hi()[1], m + 3 * s, 1e-9);
  const std::string path = ::testing::TempDir() + "clip.unbox";
  save_network(net, path);
  Network back = load_network(path);
  std::remove(path.c_str());
  EXPECT_EQ(evaluate(net, {x}, {net.output_neuron()}), evaluate(back, {x}, {back.output_neuron()}));
  arch.preprocess = "whiten";
  EXPECT_THROW(build_network({"a"}, arch), Error);
}

TEST(OpPreprocess, SliceForwardBackward) {
  Slice op(1, 2);
  EXPECT_EQ(op.infer_shape({{4}}), (Shape{2}));
  EXPECT_THROW(op.infer_shape({{2}}), Error);
  Tensor x({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), y({2, 2});
  op.forward({&x}, y);
  EXPECT_EQ(y.values(), (std::vector<double>{2, 3, 6, 7}));
  Tensor g({2, 2}, {1, 1, 1, 1}), gin({2, 4}, 0.0);
  op.backward({&x}, y, g, {&gin}, nullptr);
  EXPECT_EQ(gin.values(), (std::vector<double>{0, 1, 1, 0, 0, 1, 1, 0}));
}
