// Taylor coefficients (exact derivatives to second and third order, averaged over the
// events) in events per second: a 30-input tanh network (hidden 128,64,32, sigmoid
// output) and the paper's network (19 inputs, LeakyReLU hidden layers, tanh output),
// on 1 and 2 threads. Compare with bench/taylor_torch.py (PyTorch, same networks).
// Second order runs on 100k events; smooth third order on 10k (it is ~30x slower per
// event), which does not change events/s. Filter with --benchmark_filter=Taylor.
#include <benchmark/benchmark.h>

#include <ctime>
#include <random>

#include "nn/dense_kernel.hpp"

#include "unbox/explain/taylor.hpp"
#include "unbox/train.hpp"

#include "bench_util.hpp"

using namespace unbox;

namespace {

Network make_network(const std::string& arch, const std::string& act, const std::string& out, Index n) {
  Network net = build_network(bench::feature_names(n), parse_architecture(arch, act, out));
  bench::glorot_randomize(net, 1);
  return net;
}

using bench::random_events;

// Args: threads, order, events.
void run(benchmark::State& state, const Network& net, Index width) {
  set_thread_count(static_cast<int>(state.range(0)));
  const Index events = state.range(2);
  Tensor x = random_events(events, width);
  TaylorOptions o;
  o.order = static_cast<int>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(taylor(net, {x}, {}, {}, o));
  state.SetItemsProcessed(state.iterations() * events);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * events), benchmark::Counter::kIsRate);
}

void BM_TaylorTanh30(benchmark::State& state) {
  static const Network net = make_network("128,64,32", "tanh", "sigmoid", 30);
  run(state, net, 30);
}
BENCHMARK(BM_TaylorTanh30)
    ->Args({1, 2, 100000})
    ->Args({2, 2, 100000})
    ->Args({1, 3, 10000})
    ->Args({2, 3, 10000})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_TaylorPaper(benchmark::State& state) {
  static const Network net = make_network("paper", "relu", "sigmoid", 19);
  run(state, net, 19);
}
BENCHMARK(BM_TaylorPaper)
    ->Args({1, 2, 100000})
    ->Args({2, 2, 100000})
    ->Args({1, 3, 100000})
    ->Args({2, 3, 100000})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// A/B in one process: the tanh network's Taylor coefficients with the engine's dense kernel and
// with the previous Eigen path (detail::use_reference_dense), alternating, 1 thread, rates by
// thread CPU time. Arg: order (2: 20k events, 3: 2k events).
void BM_TaylorDenseAB(benchmark::State& state) {
  static const Network net = make_network("128,64,32", "tanh", "sigmoid", 30);
  set_thread_count(1);
  const Index events = state.range(0) == 2 ? 20000 : 2000;
  Tensor x = random_events(events, 30);
  TaylorOptions o;
  o.order = static_cast<int>(state.range(0));
  auto cpu = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  double t_new = 0, t_old = 0;
  for (auto _ : state)
    for (bool reference : {false, true}) {
      detail::use_reference_dense = reference;
      const double t0 = cpu();
      benchmark::DoNotOptimize(taylor(net, {x}, {}, {}, o));
      (reference ? t_old : t_new) += cpu() - t0;
    }
  detail::use_reference_dense = false;
  const double n = static_cast<double>(state.iterations() * events);
  state.counters["new/s"] = n / t_new;
  state.counters["old/s"] = n / t_old;
  state.counters["new/old"] = t_old / t_new;
}
BENCHMARK(BM_TaylorDenseAB)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
