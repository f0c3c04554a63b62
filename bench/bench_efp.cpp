// Energy flow polynomials up to d = 5 (all 102, or the 54 connected) on jets of 30
// particles, in jets per second, on 1 and 2 threads (and d <= 7 connected on 2 threads).
// 10k jets per iteration (100k would only make each iteration ten times longer; 1k for d <= 7);
// d <= 7 on 30 and 50 particles on 1 thread, and an A/B of the sharing of two-vertex intermediates.
// Filter with --benchmark_filter=Efp.
#include <benchmark/benchmark.h>

#include <ctime>

#include "physics/efp_internal.hpp"

#include <random>

#include "unbox/physics/efp.hpp"

using namespace unbox;

namespace {

struct Jets {
  Tensor pt, eta, phi;
};

Jets random_jets(Index n, Index p) {
  Jets j{Tensor({n, p}), Tensor({n, p}), Tensor({n, p})};
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  for (Index i = 0; i < n * p; ++i) {
    j.pt[i] = 1 + 100 * u(rng) * u(rng);
    j.eta[i] = 0.8 * (u(rng) - 0.5);
    j.phi[i] = 0.8 * (u(rng) - 0.5);
  }
  return j;
}

void BM_EfpValues(benchmark::State& state) {
  // d <= 7 includes the M^4 graphs (K4 and K4 plus an edge): 1000 jets per iteration there.
  const Index n = state.range(0) > 5 ? 1000 : 10000, p = state.range(3);
  const Jets jets = random_jets(n, p);
  const auto graphs = efp_graphs(static_cast<int>(state.range(0)), state.range(1) != 0);
  const int threads = thread_count();
  set_thread_count(static_cast<int>(state.range(2)));
  for (auto _ : state) benchmark::DoNotOptimize(efp_values(jets.pt, jets.eta, jets.phi, graphs, {}));
  set_thread_count(threads);
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["graphs"] = static_cast<double>(graphs.size());
}
// args: dmax, connected only, threads, particles per jet
BENCHMARK(BM_EfpValues)
    ->Args({5, 0, 1, 30})
    ->Args({5, 0, 2, 30})
    ->Args({5, 1, 1, 30})
    ->Args({7, 1, 2, 30})
    ->Args({7, 1, 1, 30})
    ->Args({7, 1, 1, 50});

// A/B in one process: all connected EFPs up to d = 7 with and without sharing two-vertex
// intermediates between graphs (efp_detail::share_pair_intermediates), 1 thread; rates by thread
// CPU time. Arg: particles per jet.
void BM_EfpShareAB(benchmark::State& state) {
  const Index n = 300, p = state.range(0);
  const Jets jets = random_jets(n, p);
  const auto graphs = efp_graphs(7, true);
  const int threads = thread_count();
  set_thread_count(1);
  auto cpu = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  double t_new = 0, t_old = 0;
  for (auto _ : state)
    for (bool share : {true, false}) {
      efp_detail::share_pair_intermediates = share;
      const double t0 = cpu();
      benchmark::DoNotOptimize(efp_values(jets.pt, jets.eta, jets.phi, graphs, {}));
      (share ? t_new : t_old) += cpu() - t0;
    }
  efp_detail::share_pair_intermediates = true;
  set_thread_count(threads);
  const double jets_done = static_cast<double>(state.iterations() * n);
  state.counters["new/s"] = jets_done / t_new;
  state.counters["old/s"] = jets_done / t_old;
  state.counters["new/old"] = t_old / t_new;
}
BENCHMARK(BM_EfpShareAB)->Arg(30)->Arg(50)->Unit(benchmark::kMillisecond);

}  // namespace
