// Feature-building throughput from a HepMC3 file: reading alone, reading + reconstruction
// (isolation, FastJet anti-kT with ghosts, MET), and the whole `unbox physics features`
// pipeline (detector response, selection, stop-dilepton features). Items = events.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "../tests/physics/hepmc_samples.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/reader.hpp"
#include "unbox/physics/reconstruct.hpp"

namespace {

constexpr int kEvents = 2000;

const std::string& sample() {
  static std::string path = [] {
    std::string p = (std::filesystem::temp_directory_path() / "unbox-bench-physics.hepmc").string();
    unbox::test_samples::write_ttbar_hepmc(p, kEvents, 1);
    return p;
  }();
  return path;
}

void BM_HepMC3Read(benchmark::State& state) {
  const std::string& path = sample();
  for (auto _ : state) {
    auto r = unbox::physics::open_events(path);
    unbox::physics::GenEvent e;
    std::int64_t n = 0;
    while (r->next(e)) n += static_cast<std::int64_t>(e.final_state.size());
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_HepMC3Read)->Unit(benchmark::kMillisecond);

void BM_HepMC3ReadReconstruct(benchmark::State& state) {
  const std::string& path = sample();
  for (auto _ : state) {
    auto r = unbox::physics::open_events(path);
    unbox::physics::GenEvent e;
    size_t jets = 0;
    while (r->next(e)) jets += unbox::physics::reconstruct(e).jets.size();
    benchmark::DoNotOptimize(jets);
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_HepMC3ReadReconstruct)->Unit(benchmark::kMillisecond);

void BM_PhysicsFeatures(benchmark::State& state) {
  const std::string& path = sample();
  unbox::physics::FeatureOptions o;
  o.quiet = true;
  for (auto _ : state) {
    auto r = unbox::physics::build_features(path, o);
    benchmark::DoNotOptimize(r.data.events());
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_PhysicsFeatures)->Unit(benchmark::kMillisecond);

}  // namespace
