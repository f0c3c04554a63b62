// Throughput of the engine on the paper's network (19 inputs, 11 hidden layers):
// forward pass and exact input gradients, in events per second, batch 4096, on 1 and
// 2 threads; and training steps. Run with `make bench`.
#include <benchmark/benchmark.h>

#include <random>

#include "unbox/network.hpp"
#include "unbox/train.hpp"

#include "bench_util.hpp"

using namespace unbox;

namespace {

Network paper_network() {
  std::vector<std::string> names;
  for (int i = 0; i < 19; ++i) names.push_back("f" + std::to_string(i));
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
  Tensor x = random_events(kEvents, 19);
  NeuronRef out = net.resolve("output");
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(net, {x}, {out}, {.batch = 4096}));
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.counters["events/s/core"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kEvents) / static_cast<double>(state.range(0)),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PaperForward)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_PaperInputGradient(benchmark::State& state) {
  set_thread_count(static_cast<int>(state.range(0)));
  Network net = paper_network();
  Tensor x = random_events(kEvents, 19);
  NeuronRef out = net.resolve("output");
  for (auto _ : state) benchmark::DoNotOptimize(input_gradient(net, {x}, out, {.batch = 4096}));
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

}  // namespace

