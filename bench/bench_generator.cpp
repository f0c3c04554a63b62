// The built-in generator's throughput on one thread, t tbar at 13 TeV with the default options
// (generator cuts, ISR, fragmentation, B decays): events written per second from nothing to
// features (reconstruction, CMS detector, cms selection, the stop-dilepton inputs), and the
// generation alone (parton level + hadrons, no features). Items = events written. The set-up
// (cross sections, the unweighting maximum) is outside the timed loop.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <benchmark/benchmark.h>

#include "unbox/core.hpp"
#include "unbox/physics/generator.hpp"

namespace {

using namespace unbox::physics;

constexpr std::int64_t kEvents = 2000;

const Generator& ttbar() {
  static Generator g([] {
    GeneratorOptions o;
    o.seed = 3;
    return o;
  }());
  return g;
}

void BM_GeneratorTtbarToFeatures(benchmark::State& state) {
  unbox::set_thread_count(1);
  FeatureOptions fo;
  fo.detector = DetectorOptions::cms();
  fo.selection = "cms";
  fo.quiet = true;
  for (auto _ : state) {
    FeatureResult r = ttbar().run_features(kEvents, fo, false);
    benchmark::DoNotOptimize(r.data.events());
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_GeneratorTtbarToFeatures)->Unit(benchmark::kMillisecond);

void BM_GeneratorTtbarEvents(benchmark::State& state) {
  unbox::set_thread_count(1);
  for (auto _ : state) {
    std::int64_t n = 0;
    ttbar().run(kEvents, [&](const GeneratedEvent& e) { n += static_cast<std::int64_t>(e.event.final_state.size()); });
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_GeneratorTtbarEvents)->Unit(benchmark::kMillisecond);

}  // namespace
