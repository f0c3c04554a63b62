// Throughput of the engine on the paper's network (19 inputs, 11 hidden layers):
// forward pass and exact input gradients, in events per second, batch 4096, on 1 and
// 2 threads; and training steps. Run with `make bench`.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "nn/dense_kernel.hpp"

#include "unbox/explain/attribute.hpp"
#include "unbox/network.hpp"
#include "unbox/train.hpp"

#include "bench_util.hpp"

using namespace unbox;

namespace {

Network paper_network() {
  std::vector<std::string> names;
  for (int i = 0; i < 19; ++i) names.push_back(std::string("f").append(std::to_string(i)));
  Network net = build_network(names, parse_architecture("paper"));
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        if (p.trainable)
          for (double& v : p.value->values()) v = u(rng);
  return net;
}

using bench::random_events;

constexpr Index kEvents = 1 << 16;  // 16 batches of 4096

void BM_PaperForward(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  Network net = paper_network();
  const std::vector<Tensor> x{random_events(kEvents, 19)};  // built once: `{x}` in the loop would copy 10 MB
  NeuronRef out = net.resolve("output");
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(net, x, {out}, {.batch = 4096}));
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.counters["events/s/core"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kEvents) / static_cast<double>(state.range(0)),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PaperForward)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_PaperInputGradient(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  Network net = paper_network();
  const std::vector<Tensor> x{random_events(kEvents, 19)};
  NeuronRef out = net.resolve("output");
  for (auto _ : state) benchmark::DoNotOptimize(input_gradient(net, x, out, {.batch = 4096}));
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.counters["events/s/core"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kEvents) / static_cast<double>(state.range(0)),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PaperInputGradient)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// One epoch of training on 65536 events (batch 256, Adam), to watch the per-step overhead.
void BM_PaperTrainEpoch(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  Tensor x = random_events(kEvents, 19);
  std::vector<double> y(kEvents);
  for (Index i = 0; i < kEvents; ++i) y[static_cast<size_t>(i)] = x.at(i, 0) * x.at(i, 1) < 0 ? 1.0 : 0.0;
  TrainOptions o;
  o.epochs = 1;
  o.validation_fraction = 0.0;
  o.quiet = true;
  o.l1 = 1e-5;
  for (auto _ : state) {
    Network net = paper_network();
    train(net, x, y, {}, o);
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_PaperTrainEpoch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Integrated Gradients (64 Gauss-Legendre steps, zero baseline, the output's pre-activation)
// on 4096 events: 262144 gradients per iteration.
void BM_PaperIG(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  Network net = paper_network();
  Tensor x = random_events(4096, 19);
  AttributeOptions o;
  o.baseline = "zero";
  o.steps = 64;
  for (auto _ : state) benchmark::DoNotOptimize(attribute(net, {x}, o));
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_PaperIG)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// A/B in one process: each iteration runs the workload with the engine's dense kernel and with
// the previous Eigen GEMM path (detail::use_reference_dense), alternating, and reports both rates
// by thread CPU time and their ratio (new / old), so machine noise hits both alike.
// Arg: 0 forward, 1 input gradient, 2 training epoch; one thread.
void BM_PaperDenseAB(benchmark::State& state) {
  set_thread_count(1);
  Network net = paper_network();
  Tensor x = random_events(kEvents, 19);
  const std::vector<Tensor> xs{x};
  NeuronRef out = net.resolve("output");
  std::vector<double> y(kEvents);
  for (Index i = 0; i < kEvents; ++i) y[static_cast<size_t>(i)] = x.at(i, 0) * x.at(i, 1) < 0 ? 1.0 : 0.0;
  TrainOptions o;
  o.epochs = 1;
  o.validation_fraction = 0.0;
  o.quiet = true;
  auto work = [&] {
    switch (state.range(0)) {
      case 0:
        benchmark::DoNotOptimize(evaluate(net, xs, {out}, {.batch = 4096}));
        break;
      case 1:
        benchmark::DoNotOptimize(input_gradient(net, xs, out, {.batch = 4096}));
        break;
      default: {
        Network n = paper_network();
        train(n, x, y, {}, o);
      }
    }
  };
  auto cpu = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  double t_new = 0, t_old = 0;
  for (auto _ : state) {
    for (bool reference : {false, true}) {
      detail::use_reference_dense = reference;
      const double t0 = cpu();
      work();
      (reference ? t_old : t_new) += cpu() - t0;
    }
  }
  detail::use_reference_dense = false;
  const double n = static_cast<double>(state.iterations() * kEvents);
  state.counters["new/s"] = n / t_new;
  state.counters["old/s"] = n / t_old;
  state.counters["new/old"] = t_old / t_new;
}
BENCHMARK(BM_PaperDenseAB)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
