// Energy flow polynomials: enumeration counts against the published numbers, graph
// properties against brute force over all colourings and elimination orders, and every
// EFP up to d = 5 against the brute-force nested sum over all vertex assignments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <random>
#include <set>

#include "physics/efp_internal.hpp"
#include "test_util.hpp"
#include "unbox/physics/efp.hpp"

using namespace unbox;

namespace {

struct Jet {
  std::vector<double> pt, eta, phi;
};

// The definition, summed over all n-tuples of particles (cost M^n).
double brute_force(const Jet& jet, const EfpGraph& g, double kappa, double beta) {
  std::vector<double> z;
  std::vector<size_t> idx;
  for (size_t i = 0; i < jet.pt.size(); ++i)
    if (jet.pt[i] > 0) idx.push_back(i);
  const size_t m = idx.size();
  double s = 0;
  for (size_t i : idx) s += std::pow(jet.pt[i], kappa);
  for (size_t i : idx) z.push_back(std::pow(jet.pt[i], kappa) / s);
  std::vector<double> th(m * m);
  for (size_t a = 0; a < m; ++a)
    for (size_t b = 0; b < m; ++b) {
      double de = jet.eta[idx[a]] - jet.eta[idx[b]];
      double dp = jet.phi[idx[a]] - jet.phi[idx[b]];
      while (dp > std::numbers::pi) dp -= 2 * std::numbers::pi;
      while (dp <= -std::numbers::pi) dp += 2 * std::numbers::pi;
      th[a * m + b] = std::pow(std::sqrt(de * de + dp * dp), beta);
    }
  if (g.n == 0) return 1.0;
  std::vector<size_t> t(static_cast<size_t>(g.n), 0);
  double total = 0;
  while (true) {
    double term = 1;
    for (size_t v : t) term *= z[v];
    for (auto [a, b] : g.edges) term *= th[t[a] * m + t[b]];
    total += term;
    size_t k = t.size();
    while (k > 0 && ++t[k - 1] == m) t[--k] = 0;
    if (k == 0) break;
  }
  return total;
}

Jet random_jet(std::mt19937_64& rng, int particles, int padding) {
  std::uniform_real_distribution<double> u(0, 1);
  Jet j;
  for (int i = 0; i < particles + padding; ++i) {
    bool pad = i % 3 == 1 && padding-- > 0;  // padding interleaved with particles
    if (pad) --i;
    j.pt.push_back(pad ? 0.0 : 1 + 50 * u(rng));
    j.eta.push_back(pad ? 0.0 : 0.8 * (u(rng) - 0.5));
    // phi around pi so that some pairs need the wrap-around
    j.phi.push_back(pad ? 0.0 : std::remainder(std::numbers::pi + 0.8 * (u(rng) - 0.5), 2 * std::numbers::pi));
  }
  return j;
}

std::array<Tensor, 3> to_tensors(const std::vector<Jet>& jets) {
  size_t p = 0;
  for (const auto& j : jets) p = std::max(p, j.pt.size());
  const Index n = static_cast<Index>(jets.size()), pp = static_cast<Index>(p);
  Tensor pt({n, pp}), eta({n, pp}), phi({n, pp});
  for (Index e = 0; e < n; ++e)
    for (size_t i = 0; i < jets[e].pt.size(); ++i) {
      pt.at(e, static_cast<Index>(i)) = jets[e].pt[i];
      eta.at(e, static_cast<Index>(i)) = jets[e].eta[i];
      phi.at(e, static_cast<Index>(i)) = jets[e].phi[i];
    }
  return {pt, eta, phi};
}

// Simple-graph adjacency of a graph, for the brute-force property checks.
std::vector<std::set<int>> adjacency(const EfpGraph& g) {
  std::vector<std::set<int>> adj(static_cast<size_t>(g.n));
  for (auto [a, b] : g.edges) adj[a].insert(b), adj[b].insert(a);
  return adj;
}

int brute_chromatic(const EfpGraph& g) {
  if (g.d == 0) return 0;
  for (int k = 1;; ++k) {
    std::vector<int> c(static_cast<size_t>(g.n), 0);
    while (true) {
      bool ok = true;
      for (auto [a, b] : g.edges) ok = ok && c[a] != c[b];
      if (ok) return k;
      size_t i = 0;
      while (i < c.size() && ++c[i] == k) c[i++] = 0;
      if (i == c.size()) break;
    }
  }
}

// max over steps of 1 + |neighbours at elimination|, minimized over all n! orders.
int brute_ve(const EfpGraph& g) {
  std::vector<int> order(static_cast<size_t>(g.n));
  std::iota(order.begin(), order.end(), 0);
  int best = 1 << 30;
  do {
    auto adj = adjacency(g);
    int worst = 0;
    for (int v : order) {
      worst = std::max(worst, 1 + static_cast<int>(adj[v].size()));
      for (int a : adj[v])
        for (int b : adj[v])
          if (a != b) adj[a].insert(b);
      for (int a : adj[v]) adj[a].erase(v);
      adj[v].clear();
    }
    best = std::min(best, worst);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

bool has_repeated_edge(const EfpGraph& g) {
  for (size_t i = 1; i < g.edges.size(); ++i)
    if (g.edges[i] == g.edges[i - 1]) return true;
  return false;
}

}  // namespace

TEST(EfpGraphs, PublishedCounts) {
  auto all5 = efp_graphs(5, false), conn5 = efp_graphs(5, true);
  EXPECT_EQ(all5.size(), 102u);
  EXPECT_EQ(conn5.size(), 54u);
  auto all7 = efp_graphs(7, false), conn7 = efp_graphs(7, true);
  EXPECT_EQ(all7.size(), 1000u);
  EXPECT_EQ(conn7.size(), 490u);
  std::vector<int> per_d(8, 0);
  for (const auto& g : conn7) ++per_d[static_cast<size_t>(g.d)];
  EXPECT_EQ(per_d, (std::vector<int>{1, 1, 2, 5, 12, 33, 103, 333}));
  // Stable ids: positions in the full list, the same for every dmax; d = 0 is id 0.
  for (size_t i = 0; i < all7.size(); ++i) EXPECT_EQ(all7[i].id, static_cast<int>(i));
  for (size_t i = 0; i < all5.size(); ++i) EXPECT_EQ(all5[i].edges, all7[i].edges);
  for (const auto& g : conn5) EXPECT_EQ(all7[static_cast<size_t>(g.id)].edges, g.edges);
  EXPECT_EQ(all7[0].d, 0);
  EXPECT_EQ(all7[0].n, 0);
  EXPECT_TRUE(all7[0].connected);
  EXPECT_EQ(efp_column_name(all7[17]), "efp_17");
  EXPECT_THROW(efp_graphs(8, false), Error);
  EXPECT_THROW(efp_graphs(-1, false), Error);
}

TEST(EfpGraphs, WellFormed) {
  for (const auto& g : efp_graphs(7, false)) {
    EXPECT_EQ(static_cast<int>(g.edges.size()), g.d);
    std::vector<int> deg(static_cast<size_t>(g.n), 0);
    for (auto [a, b] : g.edges) {
      ASSERT_LT(a, b);
      ASSERT_LT(b, g.n);
      ++deg[a], ++deg[b];
    }
    for (int x : deg) EXPECT_GT(x, 0) << "graph " << g.id << " has a vertex without edges";
    EXPECT_TRUE(std::is_sorted(g.edges.begin(), g.edges.end()));
  }
}

TEST(EfpGraphs, HandCheckedProperties) {
  auto all = efp_graphs(7, false);
  auto find = [&](int n, int d, bool simple, auto pred) {
    std::vector<EfpGraph> hits;
    for (const auto& g : all)
      if (g.n == n && g.d == d && g.connected && (!simple || !has_repeated_edge(g)) && pred(g)) hits.push_back(g);
    EXPECT_EQ(hits.size(), 1u) << "n " << n << " d " << d;
    return hits.empty() ? EfpGraph{} : hits[0];
  };
  auto any = [](const EfpGraph&) { return true; };
  auto two_regular = [](const EfpGraph& g) {
    std::vector<int> deg(static_cast<size_t>(g.n), 0);
    for (auto [a, b] : g.edges) ++deg[a], ++deg[b];
    return std::all_of(deg.begin(), deg.end(), [](int x) { return x == 2; });
  };
  EfpGraph edge = find(2, 1, true, any);
  EXPECT_EQ(edge.chromatic_number, 2);
  EXPECT_EQ(edge.ve_complexity, 2);
  EfpGraph double_edge = find(2, 2, false, any);
  EXPECT_EQ(double_edge.edges, (std::vector<std::pair<int, int>>{{0, 1}, {0, 1}}));
  EXPECT_EQ(double_edge.ve_complexity, 2);
  EfpGraph triangle = find(3, 3, true, any);
  EXPECT_EQ(triangle.chromatic_number, 3);
  EXPECT_EQ(triangle.ve_complexity, 3);
  EfpGraph square = find(4, 4, true, two_regular);
  EXPECT_EQ(square.chromatic_number, 2);
  EXPECT_EQ(square.ve_complexity, 3);  // M^3 although 2-colourable
  EfpGraph pentagon = find(5, 5, true, two_regular);
  EXPECT_EQ(pentagon.chromatic_number, 3);
  EXPECT_EQ(pentagon.ve_complexity, 3);
  EfpGraph k4 = find(4, 6, true, any);
  EXPECT_EQ(k4.chromatic_number, 4);
  EXPECT_EQ(k4.ve_complexity, 4);
  EfpGraph star = find(8, 7, true, [](const EfpGraph& g) { return g.edges.back().first == 0; });
  EXPECT_EQ(star.chromatic_number, 2);
  EXPECT_EQ(star.ve_complexity, 2);
  // Disconnected: the maximum over the components.
  for (const auto& g : all)
    if (g.d == 4 && g.n == 5 && !g.connected && !has_repeated_edge(g) &&
        std::count_if(g.edges.begin(), g.edges.end(), [](auto e) { return e.first == 0; }) == 2) {
      // triangle + single edge
      EXPECT_EQ(g.chromatic_number, 3);
      EXPECT_EQ(g.ve_complexity, 3);
    }
}

TEST(EfpGraphs, PropertiesMatchBruteForce) {
  // Every connected graph up to d = 6 (n <= 7): chromatic number over all colourings,
  // VE complexity over all n! elimination orders.
  for (const auto& g : efp_graphs(6, true)) {
    if (g.d == 0) continue;
    EXPECT_EQ(g.chromatic_number, brute_chromatic(g)) << "graph " << g.id;
    EXPECT_EQ(g.ve_complexity, brute_ve(g)) << "graph " << g.id;
  }
}

TEST(EfpValues, EveryGraphUpToD5MatchesNestedSum) {
  std::mt19937_64 rng(7);
  std::vector<Jet> small, larger;
  for (int j = 0; j < 3; ++j) small.push_back(random_jet(rng, 4, 2));
  for (int j = 0; j < 2; ++j) larger.push_back(random_jet(rng, 7, 2));
  auto graphs = efp_graphs(5, false);
  for (auto [kappa, beta] : {std::pair{1.0, 1.0}, std::pair{0.5, 2.0}, std::pair{2.0, 0.7}}) {
    EfpOptions opt;
    opt.kappa = kappa;
    opt.beta = beta;
    for (const auto* jets : {&small, &larger}) {
      auto [pt, eta, phi] = to_tensors(*jets);
      Tensor v = efp_values(pt, eta, phi, graphs, opt);
      ASSERT_EQ(v.shape(), (Shape{static_cast<Index>(jets->size()), 102}));
      for (size_t e = 0; e < jets->size(); ++e)
        for (size_t g = 0; g < graphs.size(); ++g) {
          if (jets == &larger && graphs[g].n > 6) continue;  // 7^n terms: kept to n <= 6
          const double ref = brute_force((*jets)[e], graphs[g], kappa, beta);
          EXPECT_NEAR(v.at(static_cast<Index>(e), static_cast<Index>(g)), ref, 1e-10 * std::abs(ref))
              << "graph " << g << " jet " << e << " kappa " << kappa << " beta " << beta;
        }
    }
  }
}

TEST(EfpValues, DegreeSixAndSevenSpotChecks) {
  // The M^4 graphs (K4 and K4 plus an edge) and a few others of d = 6, 7 on a 5-particle jet.
  std::mt19937_64 rng(3);
  std::vector<Jet> jets{random_jet(rng, 5, 1)};
  auto [pt, eta, phi] = to_tensors(jets);
  std::vector<EfpGraph> pick;
  for (const auto& g : efp_graphs(7, true))
    if (g.d >= 6 && (g.ve_complexity == 4 || g.id % 37 == 0) && g.n <= 7) pick.push_back(g);
  ASSERT_GE(pick.size(), 5u);
  Tensor v = efp_values(pt, eta, phi, pick, {});
  for (size_t g = 0; g < pick.size(); ++g) {
    const double ref = brute_force(jets[0], pick[g], 1.0, 1.0);
    EXPECT_NEAR(v.at(0, static_cast<Index>(g)), ref, 1e-10 * std::abs(ref)) << "graph " << pick[g].id;
  }
}

TEST(EfpValues, AllConnectedGraphsUpToD7MatchNestedSum) {
  // All 490 connected graphs of d <= 7 in one call, so that the shared one- and two-vertex
  // intermediates and the GEMM form of the M^4 steps are all exercised, on a 5-particle jet (and
  // a 6-particle one for graphs of up to 6 vertices), against the definition; with the sharing
  // of two-vertex intermediates turned off the values are the same bits.
  std::mt19937_64 rng(21);
  std::vector<Jet> jets{random_jet(rng, 5, 1), random_jet(rng, 6, 2)};
  auto [pt, eta, phi] = to_tensors(jets);
  const auto graphs = efp_graphs(7, true);
  ASSERT_EQ(graphs.size(), 490u);
  EfpOptions opt;
  opt.kappa = 0.5;
  opt.beta = 2.0;
  const Tensor v = efp_values(pt, eta, phi, graphs, opt);
  efp_detail::share_pair_intermediates = false;
  const Tensor unshared = efp_values(pt, eta, phi, graphs, opt);
  efp_detail::share_pair_intermediates = true;
  for (size_t e = 0; e < jets.size(); ++e)
    for (size_t g = 0; g < graphs.size(); ++g) {
      const Index ei = static_cast<Index>(e), gi = static_cast<Index>(g);
      EXPECT_EQ(v.at(ei, gi), unshared.at(ei, gi)) << "graph " << graphs[g].id;
      if (e == 1 && graphs[g].n > 6) continue;
      const double ref = brute_force(jets[e], graphs[g], opt.kappa, opt.beta);
      EXPECT_NEAR(v.at(ei, gi), ref, 1e-10 * std::abs(ref)) << "graph " << graphs[g].id << " jet " << e;
    }
}

TEST(EfpValues, HandComputedThreeParticleJet) {
  // pT 1, 2, 1; Delta R 0.3 (0-1), 0.4 (0-2), 0.5 (1-2), across the phi = +-pi boundary.
  const double pi = std::numbers::pi;
  Tensor pt({1, 4}, std::vector<double>{1, 0, 2, 1});
  Tensor eta({1, 4}, std::vector<double>{0, 9, 0.3, 0});
  Tensor phi({1, 4}, std::vector<double>{pi - 0.1, 9, pi - 0.1, -pi + 0.3});
  auto all = efp_graphs(3, true);
  std::vector<EfpGraph> g;
  for (const auto& x : all)
    if ((x.d == 1) || (x.d == 3 && x.n == 3 && !has_repeated_edge(x)) || x.d == 0) g.push_back(x);
  ASSERT_EQ(g.size(), 3u);
  Tensor v = efp_values(pt, eta, phi, g, {});
  // z = 1/4, 1/2, 1/4.
  EXPECT_DOUBLE_EQ(v.at(0, 0), 1.0);
  EXPECT_NEAR(v.at(0, 1), 2 * (0.125 * 0.3 + 0.0625 * 0.4 + 0.125 * 0.5), 1e-15);  // = 0.25
  EXPECT_NEAR(v.at(0, 2), 6 * (0.25 * 0.5 * 0.25) * 0.3 * 0.4 * 0.5, 1e-15);       // = 0.01125
}

TEST(EfpValues, BetaTwoEdgeIsTwiceTheWeightedVariance) {
  // sum_ij z_i z_j [(eta_i - eta_j)^2 + (phi_i - phi_j)^2] = 2 (Var_z eta + Var_z phi), exactly.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  const Index n = 4, p = 25;
  Tensor pt({n, p}), eta({n, p}), phi({n, p});
  for (Index i = 0; i < n * p; ++i) pt[i] = 0.5 + 10 * u(rng), eta[i] = u(rng) - 0.5, phi[i] = 0.3 + u(rng);
  EfpOptions opt;
  opt.beta = 2;
  opt.kappa = 1.5;
  Tensor v = efp_values(pt, eta, phi, {efp_graphs(1, true)[1]}, opt);
  for (Index e = 0; e < n; ++e) {
    double s = 0, me = 0, mp = 0, ve = 0, vp = 0;
    for (Index j = 0; j < p; ++j) s += std::pow(pt.at(e, j), 1.5);
    for (Index j = 0; j < p; ++j) {
      const double z = std::pow(pt.at(e, j), 1.5) / s;
      me += z * eta.at(e, j), mp += z * phi.at(e, j);
    }
    for (Index j = 0; j < p; ++j) {
      const double z = std::pow(pt.at(e, j), 1.5) / s;
      ve += z * (eta.at(e, j) - me) * (eta.at(e, j) - me), vp += z * (phi.at(e, j) - mp) * (phi.at(e, j) - mp);
    }
    EXPECT_NEAR(v.at(e, 0), 2 * (ve + vp), 1e-13);
  }
}

TEST(EfpValues, PaddingOrderAndThreadsDoNotMatter) {
  std::mt19937_64 rng(5);
  std::vector<Jet> jets;
  for (int j = 0; j < 300; ++j) jets.push_back(random_jet(rng, 3 + j % 9, 0));
  // Same jets, particles reversed and zero-pT padding appended.
  std::vector<Jet> padded = jets;
  for (auto& j : padded) {
    std::reverse(j.pt.begin(), j.pt.end());
    std::reverse(j.eta.begin(), j.eta.end());
    std::reverse(j.phi.begin(), j.phi.end());
    for (int k = 0; k < 5; ++k) j.pt.push_back(0), j.eta.push_back(3.0), j.phi.push_back(-1.0);
  }
  auto graphs = efp_graphs(5, false);
  auto [pt, eta, phi] = to_tensors(jets);
  auto [pt2, eta2, phi2] = to_tensors(padded);
  const int threads = thread_count();
  set_thread_count(1);
  Tensor one = efp_values(pt, eta, phi, graphs, {});
  set_thread_count(2);
  Tensor two = efp_values(pt, eta, phi, graphs, {});
  set_thread_count(threads);
  EXPECT_EQ(one, two);  // each jet is computed on one thread: bit-identical
  Tensor pad = efp_values(pt2, eta2, phi2, graphs, {});
  for (Index i = 0; i < one.size(); ++i) EXPECT_NEAR(pad[i], one[i], 1e-12 * std::abs(one[i]) + 1e-300);
  // An all-padding jet: 1 for d = 0, 0 otherwise.
  Tensor z({1, 3}, 0.0);
  Tensor empty = efp_values(z, z, z, graphs, {});
  EXPECT_EQ(empty[0], 1.0);
  for (Index g = 1; g < empty.size(); ++g) EXPECT_EQ(empty[g], 0.0);
}

TEST(EfpValues, ClearErrors) {
  Tensor pt({1, 2}, std::vector<double>{1, -1}), a({1, 2}, 0.0);
  auto g = efp_graphs(2, false);
  try {
    efp_values(pt, a, a, g, {});
    FAIL() << "negative pT accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("jet 0, particle 1"), std::string::npos) << e.what();
  }
  Tensor ok({1, 2}, std::vector<double>{1, 2});
  EfpOptions bad;
  bad.beta = 0;
  EXPECT_THROW(efp_values(ok, a, a, g, bad), Error);
  EXPECT_THROW(efp_values(ok, Tensor({1, 3}), a, g, {}), Error);
}
