// The dense layer's product kernel (src/nn/dense_kernel.cpp) against a long-double reference
// on every shape class (row counts around the register tile, column counts around the SIMD
// width, all three modes), and the engine with the kernel against the previous Eigen path on
// random dense networks of every layer width: forward values, input gradients, parameter
// gradients, and Taylor derivatives.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "nn/dense_kernel.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/network.hpp"
#include "unbox/train.hpp"

namespace {

using namespace unbox;

std::vector<double> randoms(size_t n, std::mt19937_64& g) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(n);
  for (double& x : v) x = u(g);
  return v;
}

TEST(DenseKernel, MatchesLongDoubleReferenceOnEveryShape) {
  std::mt19937_64 g(8);
  for (Index rows : {1, 3, 4, 8, 9, 17, 64}) {
    for (Index k : {1, 2, 5, 19, 64, 130}) {
      for (Index n : {1, 2, 3, 4, 7, 8, 9, 16, 23, 24, 25, 33, 64, 129}) {
        for (int mode = 0; mode < 3; ++mode) {   // 0: bias, 1: no bias, 2: accumulate
          const Index ldx = k + 3, ldy = n + 2;  // strides wider than the rows
          auto x = randoms(static_cast<size_t>(rows * ldx), g);
          auto w = randoms(static_cast<size_t>(n * k), g);  // W [n x k]: P = W^T
          auto b = randoms(static_cast<size_t>(n), g);
          auto y = randoms(static_cast<size_t>(rows * ldy), g);
          const auto y0 = y;
          std::vector<double> p(static_cast<size_t>(k * detail::padded_columns(n)));
          detail::pack_transposed(w.data(), n, k, p.data());
          detail::dense_product(rows, k, n, x.data(), ldx, p.data(), mode == 0 ? b.data() : nullptr, y.data(), ldy,
                                mode == 2);
          for (Index r = 0; r < rows; ++r) {
            for (Index j = 0; j < n; ++j) {
              long double s = mode == 0 ? b[j] : mode == 2 ? y0[r * ldy + j] : 0.0L;
              long double mag = std::fabs(static_cast<double>(s));
              for (Index i = 0; i < k; ++i) {
                s += static_cast<long double>(x[r * ldx + i]) * w[j * k + i];
                mag += std::fabs(x[r * ldx + i] * w[j * k + i]);
              }
              ASSERT_NEAR(y[r * ldy + j], static_cast<double>(s), 4e-16 * (k + 2) * mag)
                  << rows << "x" << k << "x" << n << " mode " << mode;
            }
            // Padding between rows is untouched.
            for (Index j = n; j < ldy; ++j) ASSERT_EQ(y[r * ldy + j], y0[r * ldy + j]);
          }
        }
      }
    }
  }
}

TEST(DenseKernel, RowValuesDoNotDependOnTheTile) {
  // Each row computed alone (the 1-row path) gives the same bits as inside a block.
  std::mt19937_64 g(9);
  const Index rows = 21, k = 37, n = 29;
  auto x = randoms(static_cast<size_t>(rows * k), g), w = randoms(static_cast<size_t>(k * n), g),
       b = randoms(static_cast<size_t>(n), g);
  std::vector<double> p(static_cast<size_t>(k * detail::padded_columns(n)));
  detail::pack_rows(w.data(), k, n, p.data());
  std::vector<double> all(static_cast<size_t>(rows * n)), one(static_cast<size_t>(n));
  detail::dense_product(rows, k, n, x.data(), k, p.data(), b.data(), all.data(), n, false);
  for (Index r = 0; r < rows; ++r) {
    detail::dense_product(1, k, n, x.data() + r * k, k, p.data(), b.data(), one.data(), n, false);
    for (Index j = 0; j < n; ++j) ASSERT_EQ(one[j], all[r * n + j]) << r << "," << j;
  }
}

Network random_network(std::mt19937_64& g, Index inputs, const std::string& arch, const std::string& act) {
  std::vector<std::string> names;
  for (Index i = 0; i < inputs; ++i) names.push_back(std::string("f").append(std::to_string(i)));
  Network net = build_network(names, parse_architecture(arch, act, "sigmoid"));
  std::uniform_real_distribution<double> u(-0.4, 0.4);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& prm : net.op(static_cast<int>(i)).parameters())
        if (prm.trainable)
          for (double& v : prm.value->values()) v = u(g);
  return net;
}

struct ReferenceDense {
  ReferenceDense() { detail::use_reference_dense = true; }
  ~ReferenceDense() { detail::use_reference_dense = false; }
};

void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double scale = 0;
  for (Index i = 0; i < b.size(); ++i) scale = std::max(scale, std::fabs(b.data()[i]));
  for (Index i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a.data()[i], b.data()[i], tol * (scale + 1e-300)) << what << " " << i;
}

TEST(DenseKernel, EngineMatchesEigenPathOnRandomNetworks) {
  std::mt19937_64 g(10);
  const struct {
    Index inputs;
    const char* arch;
    const char* act;
  } cases[] = {{19, "paper", "relu"},       {30, "128,64,32", "tanh"}, {3, "1,2,3,5,8,9,17", "elu"},
               {40, "33,7,65", "softplus"}, {1, "24,25,1", "sigmoid"}, {9, "130,4", "selu"}};
  for (const auto& c : cases) {
    Network net = random_network(g, c.inputs, c.arch, c.act);
    const Index events = 300;  // more than one tile of the engine, a partial last tile
    Tensor x({events, c.inputs});
    std::normal_distribution<double> nd;
    for (double& v : x.values()) v = nd(g);
    const NeuronRef out = net.resolve("output");
    const Tensor fast = evaluate(net, {x}, {out}, {.batch = 128});
    const auto gfast = input_gradient(net, {x}, out, {.batch = 128});
    TaylorOptions to;
    to.order = 2;
    const auto tfast = taylor(net, {x}, {}, {}, to);
    Tensor slow;
    std::vector<Tensor> gslow;
    {
      ReferenceDense ref;
      slow = evaluate(net, {x}, {out}, {.batch = 128});
      gslow = input_gradient(net, {x}, out, {.batch = 128});
      const auto tslow = taylor(net, {x}, {}, {}, to);
      ASSERT_EQ(tfast.features.size(), tslow.features.size());
      std::map<std::string, double> want;
      for (const auto& f : tslow.features) want[f.name] = f.value;
      for (const auto& f : tfast.features)
        EXPECT_NEAR(f.value, want.at(f.name), 1e-11 * (std::fabs(want.at(f.name)) + 1e-3)) << c.arch << " " << f.name;
    }
    expect_close(fast, slow, 1e-13, std::string(c.arch) + " forward");
    expect_close(gfast[0], gslow[0], 1e-12, std::string(c.arch) + " gradient");
  }
}

TEST(DenseKernel, TrainingMatchesEigenPath) {
  // One epoch from the same start: parameters after training agree to round-off.
  std::mt19937_64 g(11);
  Network a = random_network(g, 6, "16,8,4", "tanh");
  Network b = a;
  Tensor x({512, 6});
  std::normal_distribution<double> nd;
  for (double& v : x.values()) v = nd(g);
  std::vector<double> y(512);
  for (Index i = 0; i < 512; ++i) y[static_cast<size_t>(i)] = x.at(i, 0) * x.at(i, 1) > 0 ? 1.0 : 0.0;
  TrainOptions o;
  o.epochs = 2;
  o.validation_fraction = 0.0;
  o.quiet = true;
  train(a, x, y, {}, o);
  {
    ReferenceDense ref;
    train(b, x, y, {}, o);
  }
  for (size_t i = 0; i < a.nodes().size(); ++i)
    if (a.nodes()[i].op) {
      auto pa = a.op(static_cast<int>(i)).parameters(), pb = b.op(static_cast<int>(i)).parameters();
      for (size_t k = 0; k < pa.size(); ++k) expect_close(*pa[k].value, *pb[k].value, 1e-9, "parameter");
    }
}

}  // namespace
