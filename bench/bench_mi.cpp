// The MI matrix of the paper's network (19 inputs, 11 hidden layers: 285 neurons with the
// output) against 20 variables (the 19 inputs and one derived column) on 1M events:
// forward passes, binning every column once, and the 5700 joint histograms. Run with
// `build/unbox_bench --benchmark_filter=Mi`.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "unbox/explain/mutual_info.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

constexpr Index kEvents = 1000000;

Network paper_network(const std::vector<std::string>& names) {
  Network net = build_network(names, parse_architecture("paper"));
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op && net.nodes()[i].op->is_layer())
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = (static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5) * 0.6;
  return net;
}

const Dataset& events() {
  static const Dataset d = [] {
    Dataset data;
    data.source = "bench";
    std::mt19937_64 rng(2);
    auto u = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
    std::vector<double> sum(kEvents, 0.0);
    for (int i = 0; i < 19; ++i) {
      Tensor c({kEvents});
      for (Index e = 0; e < kEvents; ++e) {
        c[e] = std::sqrt(-2.0 * std::log(u())) * std::cos(6.283185307179586 * u());
        sum[static_cast<size_t>(e)] += c[e] * c[e];
      }
      data.add("f" + std::to_string(i), std::move(c));
    }
    data.add("mt2", Tensor({kEvents}, sum));  // a derived, nonlinear variable
    return data;
  }();
  return d;
}

void BM_MiMatrixPaperNetwork(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  std::vector<std::string> inputs, variables;
  for (int i = 0; i < 19; ++i) inputs.push_back("f" + std::to_string(i));
  variables = inputs;
  variables.push_back("mt2");
  Network net = paper_network(inputs);
  const Dataset& data = events();
  Index pairs = 0;
  const Events bound(net, data);
  MutualInfoOptions o;
  o.variables = variables;
  for (auto _ : state) {
    MutualInfoResult r = mutual_info(net, bound, o);
    pairs = static_cast<Index>(r.neurons.size() * r.variables.size());
    benchmark::DoNotOptimize(r.nmi.data());
  }
  state.counters["pairs"] = static_cast<double>(pairs);
  state.counters["pair-events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * pairs * kEvents), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MiMatrixPaperNetwork)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
