// The dense layer's product kernel (src/nn/dense_kernel.cpp) against a long-double reference
// on every shape class (row counts around the register tile, column counts around the SIMD
// width, all three modes), and the engine with the kernel against the previous Eigen path on
// random dense networks of every layer width: forward values, input gradients, parameter
// gradients, and Taylor derivatives.
#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "nn/dense_kernel.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/network.hpp"
#include "unbox/ops.hpp"
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

// dense_product_keep (LRP's forward: a Dense kept with its activation stored in the same pass):
// the values the same bits as dense_product without activation, the activated values the same
// bits as the Activation op applied to them, on every shape class; signed zeros through the kink.
// dense_product_scaled (LRP's x * J^T s): the bits of dense_product's values times the scale.
TEST(DenseKernel, KeepStoresTheValueAndItsActivationBitForBit) {
  std::mt19937_64 g(21);
  for (Index rows : {1, 3, 8, 9, 17, 255}) {
    for (Index k : {1, 2, 19, 64, 130}) {
      for (Index n : {1, 2, 3, 4, 7, 8, 9, 16, 17, 33, 64, 128, 130}) {
        for (int kind = 0; kind < 3; ++kind) {  // None, ReLU, LeakyReLU(0.1)
          auto x = randoms(static_cast<size_t>(rows * k), g);
          if (rows * k > 3) x[3] = 0.0;
          auto w = randoms(static_cast<size_t>(n * k), g);
          auto b = randoms(static_cast<size_t>(n), g);
          b[0] = 0.0;  // with x = 0 rows: exact zeros into the activation
          std::vector<double> p(static_cast<size_t>(k * detail::padded_columns(n)));
          detail::pack_transposed(w.data(), n, k, p.data());
          std::vector<double> want(static_cast<size_t>(rows * n)), y(want.size()), a(want.size());
          detail::dense_product(rows, k, n, x.data(), k, p.data(), b.data(), want.data(), n, false);
          const auto sk = kind == 0   ? detail::StoreActivation::None
                          : kind == 1 ? detail::StoreActivation::ReLU
                                      : detail::StoreActivation::LeakyReLU;
          detail::dense_product_keep(rows, k, n, x.data(), k, p.data(), b.data(), y.data(), a.data(), n, sk, 0.1);
          Tensor z({rows, n}, want), act({rows, n});
          const Activation op(kind == 0   ? ActivationKind::Identity
                              : kind == 1 ? ActivationKind::ReLU
                                          : ActivationKind::LeakyReLU,
                              0.1);
          op.forward({&z}, act);
          if (kind == 0) {  // dense_product_scaled: S .* (X P) without bias, the bits of the product times S
            std::vector<double> plain(want.size()), scaled(want.size());
            const auto sc = randoms(want.size(), g);
            detail::dense_product(rows, k, n, x.data(), k, p.data(), nullptr, plain.data(), n, false);
            detail::dense_product_scaled(rows, k, n, x.data(), k, p.data(), sc.data(), scaled.data(), n);
            for (size_t q = 0; q < want.size(); ++q)
              ASSERT_EQ(std::bit_cast<uint64_t>(scaled[q]), std::bit_cast<uint64_t>(sc[q] * plain[q]))
                  << rows << "x" << k << "x" << n << " scaled";
          }
          for (size_t q = 0; q < want.size(); ++q) {
            ASSERT_EQ(std::bit_cast<uint64_t>(y[q]), std::bit_cast<uint64_t>(want[q]))
                << rows << "x" << k << "x" << n << " kind " << kind;
            ASSERT_EQ(std::bit_cast<uint64_t>(a[q]), std::bit_cast<uint64_t>(act[static_cast<Index>(q)]))
                << rows << "x" << k << "x" << n << " kind " << kind;
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

// evaluate() fuses each Dense with a following ReLU / LeakyReLU / Identity into the kernel's store.
// Its values are the same bits as the unfused op-by-op pass (Network::forward), for every neuron
// (post-activation, pre-activation: then that Dense is not fused; several at once, from several
// layers), on random networks of every layer width, tiles and thread counts.
TEST(DenseKernel, FusedForwardIsBitIdenticalToTheOpPath) {
  std::mt19937_64 g(12);
  const struct {
    Index inputs;
    const char* arch;
    const char* act;
  } cases[] = {{19, "paper", "leakyrelu"},      {5, "1,2,3,5,8,9,17", "relu"},    {40, "33,7,65", "leakyrelu(0.3)"},
               {9, "130,4", "identity"},        {3, "24,25,1", "leakyrelu(1.5)"}, {30, "128,64,32", "tanh"},
               {1, "16,16,8,8", "leakyrelu(0)"}};
  for (const auto& c : cases) {
    Network net = random_network(g, c.inputs, c.arch, c.act);
    const Index events = 300;
    Tensor x({events, c.inputs});
    std::normal_distribution<double> nd;
    for (double& v : x.values()) v = nd(g);
    x.values()[7] = 0.0;  // a zero input: signed zeros through the kinks
    // Every neuron of every layer, post- and pre-activation, plus the output.
    std::vector<NeuronRef> all;
    for (const LayerInfo& l : net.layers())
      for (Index j = 0; j < l.width; j += std::max<Index>(1, l.width - 1)) {  // first and last neuron
        all.push_back({l.post_node, j});
        if (l.pre_node != l.post_node) all.push_back({l.pre_node, j});
      }
    all.push_back(net.resolve("output"));
    Workspace ws;
    net.forward({&x}, ws);
    const int before = omp_get_max_threads();
    for (int threads : {1, 2}) {
      set_thread_count(threads);
      // Each neuron alone (its layer's Dense fused unless it is the Dense's own value), then all at once.
      for (const NeuronRef& r : all) {
        if (threads == 2) break;  // once is enough
        const Tensor v = evaluate(net, {x}, {r}, {.batch = 128});
        const Tensor& want = ws.values[static_cast<size_t>(r.node)];
        for (Index e = 0; e < events; ++e)
          ASSERT_EQ(v[e], want[e * want.per_event() + r.index]) << c.arch << " " << net.neuron_name(r) << " " << e;
      }
      const Tensor v = evaluate(net, {x}, all, {.batch = 100});
      for (size_t j = 0; j < all.size(); ++j) {
        const Tensor& want = ws.values[static_cast<size_t>(all[j].node)];
        for (Index e = 0; e < events; ++e)
          ASSERT_EQ(v[e * static_cast<Index>(all.size()) + static_cast<Index>(j)],
                    want[e * want.per_event() + all[j].index])
              << c.arch << " " << net.neuron_name(all[j]);
      }
    }
    set_thread_count(before);
  }
}

// The second-order engine assembles the Hessian with the kernel (per event J^T diag(c) J on the
// upper triangle; one GEMM over the events where J is the same for all, the first layer's). Its
// Hessian equals the third-order path's (which forms the pair products J_i J_j explicitly and
// sums them against c) on random smooth networks of wide and odd layer widths, with the
// standardizing first op, a side input joining later (a J shared by the events meeting one that
// is not), on 1 and 2 threads with the same bits.
TEST(DenseKernel, SecondOrderHessianMatchesTheThirdOrderPath) {
  std::mt19937_64 g(13);
  const struct {
    Index inputs;
    const char* arch;
    const char* act;
  } cases[] = {{30, "128,64,32", "tanh"}, {11, "9,17,3", "elu"}, {19, "33,1,24", "softplus"}, {2, "130", "sigmoid"}};
  for (const auto& c : cases) {
    Network net = random_network(g, c.inputs, c.arch, c.act);
    const Index events = 21;
    Tensor x({events, c.inputs});
    std::normal_distribution<double> nd;
    for (double& v : x.values()) v = nd(g);
    const NeuronRef out = net.resolve("output");
    DerivativeOptions o2{.order = 2}, o3{.order = 3};
    const int before = omp_get_max_threads();
    set_thread_count(1);
    const InputDerivatives d2 = input_derivatives(net, {x}, out, o2);
    set_thread_count(2);
    const InputDerivatives d2b = input_derivatives(net, {x}, out, o2);
    set_thread_count(before);
    const InputDerivatives d3 = input_derivatives(net, {x}, out, o3);
    expect_close(d2.second, d3.second, 1e-13, std::string(c.arch) + " Hessian");
    for (Index i = 0; i < d2.second.size(); ++i) ASSERT_EQ(d2.second[i], d2b.second[i]) << c.arch;
    double size = 0;
    for (Index i = 0; i < d2.second.size(); ++i) size += std::fabs(d2.second[i]);
    EXPECT_GT(size, 1e-3) << c.arch;  // not trivially zero
  }
  // A side input concatenated after the first smooth layer.
  Network net;
  const int a = net.add_input("a", {4}), b = net.add_input("b", {3});
  auto d1 = std::make_unique<Dense>(4, 12);
  const int h1 = net.add_node("d1", std::move(d1), {a});
  const int t1 = net.add_node("t1", std::make_unique<Activation>(ActivationKind::Tanh), {h1});
  const int cat = net.add_node("cat", std::make_unique<Concat>(), {t1, b});
  const int h2 = net.add_node("d2", std::make_unique<Dense>(15, 5), {cat});
  const int t2 = net.add_node("t2", std::make_unique<Activation>(ActivationKind::Softplus), {h2});
  net.add_node("d3", std::make_unique<Dense>(5, 1), {t2});
  (void)t2;
  std::uniform_real_distribution<double> u(-0.7, 0.7);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& prm : net.op(static_cast<int>(i)).parameters())
        for (double& v : prm.value->values()) v = u(g);
  Tensor xa({9, 4}), xb({9, 3});
  for (double& v : xa.values()) v = u(g);
  for (double& v : xb.values()) v = u(g);
  const NeuronRef out{net.output_node(), 0};
  const InputDerivatives d2 = input_derivatives(net, {xa, xb}, out, DerivativeOptions{.order = 2});
  const InputDerivatives d3 = input_derivatives(net, {xa, xb}, out, DerivativeOptions{.order = 3});
  expect_close(d2.second, d3.second, 1e-13, "side input Hessian");
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
