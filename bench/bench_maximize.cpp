// Activation-maximization throughput: point-steps (one forward + backward pass and one
// Adam update of one point) per second, on the paper's network with 19 inputs and 100k
// starting points, on 1 and 2 threads. The threshold is out of reach so every point takes
// exactly `steps` steps and the work per iteration is fixed.
#include <benchmark/benchmark.h>

#include <random>

#include "unbox/explain/maximize.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

Network paper_network(const std::vector<std::string>& names) {
  Network net = build_network(names, parse_architecture("paper"));
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        if (p.trainable)
          for (double& v : p.value->values()) v = (static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5) * 0.6;
  return net;
}

void BM_MaximizePaper(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  std::vector<std::string> names;
  for (int i = 0; i < 19; ++i) names.push_back("f" + std::to_string(i));
  Network net = paper_network(names);
  Dataset data;
  std::mt19937_64 rng(2);
  for (const auto& n : names) {
    Tensor c({4096});
    for (Index e = 0; e < 4096; ++e) c[e] = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    data.add(n, std::move(c));
  }
  MaximizeOptions o;
  o.points = 100000;
  o.steps = 10;
  o.threshold = 1e300;
  const Events events(net, data);
  Index point_steps = 0;
  for (auto _ : state) {
    MaximizeResult r = maximize(net, events, o);
    point_steps += r.point_steps;
    benchmark::DoNotOptimize(r.points.data());
  }
  state.counters["point-steps/s"] = benchmark::Counter(static_cast<double>(point_steps), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MaximizePaper)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
