// ADO between two discriminants on 1M signal and 1M background events: exact over all
// 10^12 pairs by sorting and a Fenwick tree (continuous values, and values rounded to 1000
// levels so that ties are common). Also a PFN forward pass over 100k jets of 20 particles.
// Run with `build/unbox_bench --benchmark_filter='Ado|Pfn'`.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "unbox/explain/ado.hpp"
#include "unbox/ops.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

struct Events {
  std::vector<double> f, g, f_tied, g_tied, labels, weights;
};

const Events& events() {
  static const Events ev = [] {
    const size_t n = 2'000'000;
    Events e;
    std::mt19937_64 rng(1);
    auto u = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
    for (size_t i = 0; i < n; ++i) {
      const double y = i < n / 2 ? 1.0 : 0.0;
      const double a = u() + 0.3 * y, b = 0.7 * a + 0.3 * u();
      e.f.push_back(a);
      e.g.push_back(b);
      e.f_tied.push_back(std::round(a * 1000));
      e.g_tied.push_back(std::round(b * 1000));
      e.labels.push_back(y);
      e.weights.push_back(0.5 + u());
    }
    return e;
  }();
  return ev;
}

void BM_Ado1Mx1M(benchmark::State& state) {
  const Events& e = events();
  const bool ties = state.range(0) != 0, weighted = state.range(1) != 0;
  for (auto _ : state) {
    AdoResult r = ado(ties ? e.f_tied : e.f, ties ? e.g_tied : e.g, e.labels,
                      weighted ? std::span<const double>(e.weights) : std::span<const double>());
    benchmark::DoNotOptimize(r.ado);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(e.f.size()));
}
BENCHMARK(BM_Ado1Mx1M)->ArgNames({"ties", "weighted"})->Args({0, 0})->Args({1, 1})->Unit(benchmark::kMillisecond);

void BM_PfnForward100kJets(benchmark::State& state) {
  std::vector<std::string> names;
  for (int p = 0; p < 20; ++p)
    for (const char* f : {"pt", "eta", "phi", "z", "theta"}) names.push_back("p" + std::to_string(p) + "_" + f);
  Network net = build_network(names, parse_architecture("pfn:64,64,32:64,32", "relu", "sigmoid"));
  std::mt19937_64 rng(2);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        if (p.trainable)
          for (double& v : p.value->values()) v = (static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5) * 0.3;
  Tensor x({100000, 100});
  for (double& v : x.values()) v = static_cast<double>(rng() >> 11) * 0x1.0p-53 + 0.01;
  const NeuronRef out = net.resolve("output");
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(net, {x}, {out}));
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_PfnForward100kJets)->Unit(benchmark::kMillisecond);

}  // namespace
