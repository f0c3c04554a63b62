// Energy flow polynomials up to d = 5 (all 102, or the 54 connected) on jets of 30
// particles, in jets per second, on 1 and 2 threads (and d <= 7 connected on 2 threads).
// 10k jets per iteration (100k would only make each iteration ten times longer; 1k for d <= 7).
// Filter with --benchmark_filter=Efp.
#include <benchmark/benchmark.h>

#include <random>

#include "unbox/explain/efp.hpp"

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
  const Index n = state.range(0) > 5 ? 1000 : 10000, p = 30;
  const Jets jets = random_jets(n, p);
  const auto graphs = efp_graphs(static_cast<int>(state.range(0)), state.range(1) != 0);
  const int threads = thread_count();
  set_thread_count(static_cast<int>(state.range(2)));
  for (auto _ : state) benchmark::DoNotOptimize(efp_values(jets.pt, jets.eta, jets.phi, graphs, {}));
  set_thread_count(threads);
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["graphs"] = static_cast<double>(graphs.size());
}
// args: dmax, connected only, threads
BENCHMARK(BM_EfpValues)
    ->Args({5, 0, 1})
    ->Args({5, 0, 2})
    ->Args({5, 1, 1})
    ->Args({7, 1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
