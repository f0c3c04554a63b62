// LRP throughput (events/s): the paper network (parse_architecture("paper"), 19 inputs,
// LeakyReLU, tanh output; epsilon everywhere and the epsilon-gamma-box composite) and the
// XAUG study's 1-D CNN on 20 particles x 5 quantities (+3 XAUG variables; epsilon, and the
// composite with zbox input and gamma on the convolutions), on 1 and 2 threads, 20k events.
// Filter with --benchmark_filter=Lrp.
#include <benchmark/benchmark.h>

#include <random>

#include "unbox/explain/lrp.hpp"
#include "unbox/explain/xaug_study.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {

void randomize(Network& net, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        if (p.trainable && p.name == "weight") {
          const double limit = std::sqrt(6.0 / static_cast<double>(p.value->size() / p.value->dim(0) + p.value->dim(0)));
          std::uniform_real_distribution<double> u(-limit, limit);
          for (double& v : p.value->values()) v = u(rng);
        }
}

Tensor random_events(Index n, Index width) {
  Tensor x({n, width});
  std::mt19937_64 rng(2);
  std::normal_distribution<double> g;
  for (double& v : x.values()) v = g(rng);
  return x;
}

std::vector<std::string> names(Index n) {
  std::vector<std::string> f;
  for (Index i = 0; i < n; ++i) f.push_back("f" + std::to_string(i));
  return f;
}

// Args: threads, composite (0: rule epsilon, 1: epsilon-gamma-box).
void run(benchmark::State& state, const Network& net, Index width) {
  set_thread_count(static_cast<int>(state.range(0)));
  const Index events = 20000;
  static Tensor x;
  x = random_events(events, width);
  LrpOptions o;
  o.composite = state.range(1) == 0 ? lrp_single_rule(parse_lrp_rule("epsilon")) : lrp_composite("epsilon-gamma-box");
  for (auto _ : state) benchmark::DoNotOptimize(lrp(net, {x}, o));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(state.iterations() * events),
                                                  benchmark::Counter::kIsRate);
}

void BM_LrpPaper(benchmark::State& state) {
  static Network net = [] {
    Network n = build_network(names(19), parse_architecture("paper"));
    randomize(n, 1);
    return n;
  }();
  run(state, net, 19);
}
BENCHMARK(BM_LrpPaper)->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LrpCnn1d(benchmark::State& state) {
  static Network net = [] {
    Network n = build_particle_cnn(names(103), 20, 5, 1);
    randomize(n, 1);
    return n;
  }();
  run(state, net, 103);
}
BENCHMARK(BM_LrpCnn1d)->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
