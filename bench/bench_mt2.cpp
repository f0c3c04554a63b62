// mT2 evaluations per second (Lester-Nachman bisection to relative precision 1e-10):
// single events (massless visibles, mchi = 0 and 100 GeV; massive visibles) and the OpenMP
// batch over 100k events on 1 and 2 threads. Filter with --benchmark_filter=Mt2.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "unbox/physics/mt2.hpp"

using namespace unbox::physics;

namespace {

struct Events {
  std::vector<double> apt, aphi, am, bpt, bphi, bm, met, mphi;
};

Events make_events(std::size_t n, double mass) {
  std::mt19937_64 g(3);
  auto u = [&](double a, double b) { return a + (b - a) * static_cast<double>(g() >> 11) * 0x1.0p-53; };
  Events e;
  for (std::size_t i = 0; i < n; ++i) {
    e.apt.push_back(u(20, 200));
    e.aphi.push_back(u(-M_PI, M_PI));
    e.am.push_back(mass > 0 ? u(0, mass) : 0.0);
    e.bpt.push_back(u(20, 200));
    e.bphi.push_back(u(-M_PI, M_PI));
    e.bm.push_back(mass > 0 ? u(0, mass) : 0.0);
    e.met.push_back(u(50, 300));
    e.mphi.push_back(u(-M_PI, M_PI));
  }
  return e;
}

void BM_Mt2Single(benchmark::State& state) {
  const double mvis = static_cast<double>(state.range(0)), mchi = static_cast<double>(state.range(1));
  const Events e = make_events(1024, mvis);
  Mt2Options o;
  o.mchi_a = o.mchi_b = mchi;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t k = i++ & 1023;
    benchmark::DoNotOptimize(mt2(e.am[k], e.apt[k] * std::cos(e.aphi[k]), e.apt[k] * std::sin(e.aphi[k]), e.bm[k],
                                 e.bpt[k] * std::cos(e.bphi[k]), e.bpt[k] * std::sin(e.bphi[k]),
                                 e.met[k] * std::cos(e.mphi[k]), e.met[k] * std::sin(e.mphi[k]), o));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
// (visible mass range, mchi): massless leptons, mchi 0 and 100; massive (b-jet-like) visibles.
BENCHMARK(BM_Mt2Single)->Args({0, 0})->Args({0, 100})->Args({30, 0});

void BM_Mt2Batch(benchmark::State& state) {
  const std::size_t n = 100000;
  const Events e = make_events(n, 0.0);
  std::vector<double> out(n);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(state.range(0)));
#endif
  for (auto _ : state) {
    mt2_batch(n, e.apt.data(), e.aphi.data(), e.am.data(), e.bpt.data(), e.bphi.data(), e.bm.data(), e.met.data(),
              e.mphi.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Mt2Batch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
