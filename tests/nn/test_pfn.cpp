// Particle Flow Networks and the particle ops: exact input gradients against central
// finite differences, second derivatives (Taylor mode through ParticleStandardize,
// ParticleDense and the masked ParticlePool) against differences of the gradient, padded
// particles really ignored, permutation invariance, the model file round trip, the ONNX
// reductions against hand sums, and a PFN that learns a particle-level toy.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/metrics.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

constexpr Index kP = 5, kF = 3;

std::vector<std::string> particle_names(Index P) {
  std::vector<std::string> n;
  for (Index p = 0; p < P; ++p)
    for (const char* f : {"pt", "eta", "phi"}) n.push_back("p" + std::to_string(p) + "_" + f);
  return n;
}

// A PFN with random weights (tanh: smooth, so differences are accurate) and a set
// standardization.
Network random_pfn(std::mt19937_64& rng, bool mean = false) {
  Network net =
      build_particle_flow_network(particle_names(kP), {6, 4}, {5}, Activation(ActivationKind::Tanh), false, mean);
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    if (!net.nodes()[i].op) continue;
    for (auto& p : net.op(static_cast<int>(i)).parameters()) {
      if (p.name == "std") {
        for (double& v : p.value->values()) v = 0.5 + std::abs(test::random_tensor({1}, rng)[0]);
      } else {
        *p.value = test::random_tensor(p.value->shape(), rng, 0.8);
      }
    }
  }
  return net;
}

// Events of kP particles; particles 3 and 4 of every other event are padding (all zeros).
Tensor random_particles(Index n, std::mt19937_64& rng) {
  Tensor x = test::random_tensor({n, kP * kF}, rng, 1.5);
  for (Index e = 0; e < n; ++e) {
    for (Index p = 0; p < kP; ++p) x[e * kP * kF + p * kF] = 1.0 + std::abs(x[e * kP * kF + p * kF]);  // pt > 0
    if (e % 2 == 0)
      for (Index p = 3; p < kP; ++p)
        for (Index f = 0; f < kF; ++f) x[e * kP * kF + p * kF + f] = 0.0;
  }
  return x;
}

}  // namespace

TEST(Pfn, GridFromColumnNamesAndErrors) {
  Index P, F, m;
  particle_grid(particle_names(4), P, F, m);
  EXPECT_EQ(P, 4);
  EXPECT_EQ(F, 3);
  EXPECT_EQ(m, 0);
  particle_grid({"a_eta", "a_pt", "b_eta", "b_pt"}, P, F, m);
  EXPECT_EQ(m, 1);  // the mask is the feature named pt
  EXPECT_THROW(particle_grid({"a_eta", "a_pt", "b_pt", "b_eta"}, P, F, m), Error);
  EXPECT_THROW(particle_grid({"a_eta", "a_pt", "b_eta"}, P, F, m), Error);
  EXPECT_THROW(particle_grid({"x", "y"}, P, F, m), Error);
  Architecture a = parse_architecture("pfn:8,4:6", "relu", "sigmoid");
  EXPECT_EQ(a.pfn_phi, (std::vector<Index>{8, 4}));
  EXPECT_EQ(a.hidden, (std::vector<Index>{6}));
  EXPECT_THROW(parse_architecture("pfn:8,4", "relu", "sigmoid"), Error);
  EXPECT_THROW(parse_architecture("pfn::6", "relu", "sigmoid"), Error);
}

TEST(Pfn, InputGradientEqualsFiniteDifferences) {
  std::mt19937_64 rng(1);
  for (bool mean : {false, true}) {
    Network net = random_pfn(rng, mean);
    Tensor x = random_particles(6, rng);
    const NeuronRef out = net.resolve("output:pre");
    Tensor g = input_gradient(net, {x}, out)[0];
    const double h = 1e-5;
    const Index n = kP * kF;
    // All shifted copies in one batch: rows 2 (e n + j) and 2 (e n + j) + 1 are x -+ h e_j.
    Tensor shifted({x.events() * n * 2, n});
    for (Index e = 0; e < x.events(); ++e)
      for (Index j = 0; j < n; ++j)
        for (Index s = 0; s < 2; ++s) {
          const Index row = 2 * (e * n + j) + s;
          for (Index k = 0; k < n; ++k) shifted.at(row, k) = x.at(e, k);
          shifted.at(row, j) += s == 0 ? -h : h;
        }
    const Tensor ys = evaluate(net, {shifted}, {out});
    for (Index e = 0; e < x.events(); ++e)
      for (Index j = 0; j < n; ++j) {
        const bool padded = x.at(e, j - j % kF) == 0.0;
        if (padded) {  // padding gets exactly no gradient (and its pt is the mask's discontinuity)
          EXPECT_EQ(g.at(e, j), 0.0);
          continue;
        }
        const double fd = (ys[2 * (e * n + j) + 1] - ys[2 * (e * n + j)]) / (2 * h);
        EXPECT_NEAR(g.at(e, j), fd, 1e-8 * std::max(1.0, std::abs(fd))) << "event " << e << " input " << j;
      }
  }
}

TEST(Pfn, SecondDerivativesThroughTheParticleOps) {
  std::mt19937_64 rng(2);
  Network net = random_pfn(rng);
  Tensor x = random_particles(3, rng);
  DerivativeOptions o;
  o.order = 2;
  o.physical_units = true;
  const NeuronRef out = net.resolve("output:pre");
  InputDerivatives d = input_derivatives(net, {x}, out, o);
  Tensor g = input_gradient(net, {x}, out)[0];
  const Index n = kP * kF;
  const double h = 1e-5;
  for (Index e = 0; e < x.events(); ++e) {
    for (Index j = 0; j < n; ++j) EXPECT_NEAR(d.first.at(e, j), g.at(e, j), 1e-12);
    for (Index j = 0; j < n; ++j) {
      if (x.at(e, j - j % kF) == 0.0) continue;
      Tensor xp = x.slice_events(e, 1), xm = x.slice_events(e, 1);
      xp[j] += h;
      xm[j] -= h;
      Tensor gp = input_gradient(net, {xp}, out)[0], gm = input_gradient(net, {xm}, out)[0];
      for (Index k = j; k < n; ++k) {
        const double fd = (gp[k] - gm[k]) / (2 * h);
        EXPECT_NEAR(d.second.at(e, pair_index(j, k, n)), fd, 1e-7) << "event " << e << " d2/d" << j << "d" << k;
      }
    }
  }
}

TEST(Pfn, PaddedParticlesAreIgnoredAndOrderDoesNotMatter) {
  std::mt19937_64 rng(3);
  Network net = random_pfn(rng);
  Tensor x = random_particles(8, rng);
  const NeuronRef out = net.resolve("output:pre");
  const Tensor y = evaluate(net, {x}, {out});
  // Padded particles (pt == 0) with arbitrary other features change nothing, bit for bit.
  Tensor junk = x;
  for (Index e = 0; e < x.events(); e += 2)
    for (Index p = 3; p < kP; ++p) {
      junk.at(e, p * kF + 1) = 7.5 * (p + 1);
      junk.at(e, p * kF + 2) = -3.25;
    }
  EXPECT_EQ(evaluate(net, {junk}, {out}).values(), y.values());
  // ...whereas the same values on a real particle do change the output.
  Tensor real = x;
  real.at(1, 3 * kF + 1) += 1.0;
  EXPECT_NE(evaluate(net, {real}, {out})[1], y[1]);
  // Any permutation of the particles (padding included) gives the same output.
  const std::vector<Index> perm{4, 2, 0, 3, 1};
  Tensor xp = x;
  for (Index e = 0; e < x.events(); ++e)
    for (Index p = 0; p < kP; ++p)
      for (Index f = 0; f < kF; ++f) xp.at(e, p * kF + f) = x.at(e, perm[static_cast<size_t>(p)] * kF + f);
  const Tensor yp = evaluate(net, {xp}, {out});
  for (Index e = 0; e < x.events(); ++e) EXPECT_NEAR(yp[e], y[e], 1e-12);
  // Standardization fitted on real particles only, one mean and std per feature.
  ParticleStandardize s(kP, kF, 0);
  Tensor data({2, kP * kF}, 0.0);
  for (Index p = 0; p < 2; ++p)
    for (Index f = 0; f < kF; ++f) data.at(0, p * kF + f) = data.at(1, p * kF + f) = f == 0 ? 2.0 + p : 10.0 * f + p;
  s.fit(data);
  EXPECT_DOUBLE_EQ(s.mean()[0], 2.5);  // the padded particles' zeros do not count
  EXPECT_DOUBLE_EQ(s.stddev()[0], 0.5);
  EXPECT_DOUBLE_EQ(s.mean()[2], 20.5);
}

TEST(Pfn, ModelFileRoundTrip) {
  std::mt19937_64 rng(4);
  Network net = random_pfn(rng, true);
  Tensor x = random_particles(10, rng);
  const std::string path = ::testing::TempDir() + "pfn_roundtrip.unbox";
  save_network(net, path);
  Network back = load_network(path);
  EXPECT_EQ(evaluate(back, {x}, {back.resolve("output")}).values(),
            evaluate(net, {x}, {net.resolve("output")}).values());
}

TEST(Pfn, ReduceOpsAgainstHandSums) {
  std::mt19937_64 rng(5);
  Tensor x = test::random_tensor({2, 3, 4}, rng);
  Reduce sum1(ReduceKind::Sum, {0}, false), mean1(ReduceKind::Mean, {1}, true);
  EXPECT_EQ(sum1.infer_shape({{3, 4}}), (Shape{4}));
  EXPECT_EQ(mean1.infer_shape({{3, 4}}), (Shape{3, 1}));
  Tensor ys({2, 4}), ym({2, 3, 1});
  sum1.forward({&x}, ys);
  mean1.forward({&x}, ym);
  for (Index e = 0; e < 2; ++e) {
    for (Index j = 0; j < 4; ++j) EXPECT_NEAR(ys.at(e, j), x.at(e, j) + x.at(e, 4 + j) + x.at(e, 8 + j), 1e-15);
    for (Index i = 0; i < 3; ++i) {
      double s = 0;
      for (Index j = 0; j < 4; ++j) s += x.at(e, i * 4 + j);
      EXPECT_NEAR(ym.at(e, i), s / 4, 1e-15);
    }
  }
  // Backward is the transpose: <g, R x> == <R^T g, x>.
  Tensor g = test::random_tensor({2, 3, 1}, rng), gx({2, 3, 4}, 0.0);
  mean1.backward({&x}, ym, g, {&gx}, nullptr);
  double lhs = 0, rhs = 0;
  for (Index i = 0; i < g.size(); ++i) lhs += g[i] * ym[i];
  for (Index i = 0; i < x.size(); ++i) rhs += gx[i] * x[i];
  EXPECT_NEAR(lhs, rhs, 1e-13);
}

TEST(Pfn, LearnsAParticleToy) {
  // Signal: one hard particle carries most of the pT; background: pT shared evenly. The
  // number of real particles varies (padding), and the order of particles is random.
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const Index n = 2000;
  Tensor x({n, kP * kF}, 0.0);
  std::vector<double> y(static_cast<size_t>(n));
  for (Index e = 0; e < n; ++e) {
    const bool sig = e % 2 == 0;
    y[static_cast<size_t>(e)] = sig;
    const Index real = 2 + static_cast<Index>(u(rng) * 3.99);
    for (Index p = 0; p < real; ++p) {
      const double pt = sig && p == 0 ? 5.0 + 3.0 * u(rng) : 0.5 + 2.0 * u(rng);
      x.at(e, p * kF) = pt;
      x.at(e, p * kF + 1) = u(rng) - 0.5;
      x.at(e, p * kF + 2) = u(rng) - 0.5;
    }
  }
  Network net = build_network(particle_names(kP), parse_architecture("pfn:16,8:8", "relu", "sigmoid"));
  TrainOptions o;
  o.epochs = 15;
  o.quiet = true;
  o.learning_rate = 3e-3;
  TrainResult r = train(net, x, y, {}, o);
  EXPECT_GT(r.best_val_auc, 0.9);
  // The standardization was fitted on real particles: pT mean is well above zero.
  bool fitted = false;
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (auto* s = dynamic_cast<ParticleStandardize*>(net.nodes()[i].op.get())) fitted = s->mean()[0] > 1.0;
  EXPECT_TRUE(fitted);
}
