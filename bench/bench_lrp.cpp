// LRP throughput (events/s): the paper network (parse_architecture("paper"), 19 inputs,
// LeakyReLU, tanh output; epsilon everywhere and the epsilon-gamma-box composite) and the
// XAUG study's 1-D CNN on 20 particles x 5 quantities (+3 XAUG variables; epsilon, and the
// composite with zbox input and gamma on the convolutions), on 1 and 2 threads, 20k events.
// Filter with --benchmark_filter=Lrp.
#include <benchmark/benchmark.h>

#include <random>

#include "unbox/explain/lrp.hpp"
#include "unbox/studies/xaug_study.hpp"
#include "unbox/train.hpp"

#include "bench_util.hpp"

using namespace unbox;
using bench::feature_names;
using bench::glorot_randomize;
using bench::random_events;

namespace {

// Args: threads, composite (0: rule epsilon, 1: epsilon-gamma-box).
void run(benchmark::State& state, const Network& net, Index width) {
  set_thread_count(static_cast<int>(state.range(0)));
  const Index events = 20000;
  static Tensor x;
  x = random_events(events, width);
  LrpOptions o;
  o.composite = state.range(1) == 0 ? lrp_single_rule(parse_lrp_rule("epsilon")) : lrp_composite("epsilon-gamma-box");
  for (auto _ : state) benchmark::DoNotOptimize(lrp(net, {x}, o));
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * events), benchmark::Counter::kIsRate);
}

void BM_LrpPaper(benchmark::State& state) {
  static Network net = [] {
    Network n = build_network(feature_names(19), parse_architecture("paper"));
    glorot_randomize(n, 1);
    return n;
  }();
  run(state, net, 19);
}
BENCHMARK(BM_LrpPaper)->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LrpCnn1d(benchmark::State& state) {
  static Network net = [] {
    Network n = build_particle_cnn(feature_names(103), 20, 5, 1);
    glorot_randomize(n, 1);
    return n;
  }();
  run(state, net, 103);
}
BENCHMARK(BM_LrpCnn1d)->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
