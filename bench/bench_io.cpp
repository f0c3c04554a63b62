// CSV parsing throughput in MB/s: a file of 200k events x 20 columns written by unbox
// itself (shortest round-trip numbers, as real exports look), read back whole.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "unbox/data.hpp"

using namespace unbox;

namespace {
std::string make_csv() {
  auto path = (std::filesystem::temp_directory_path() / "unbox_bench_io.csv").string();
  if (std::filesystem::exists(path)) return path;
  Dataset d;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g(0.0, 50.0);
  const Index n = 200000;
  for (int c = 0; c < 20; ++c) {
    Tensor t({n});
    for (Index i = 0; i < n; ++i) t[i] = g(rng);
    d.add("c" + std::to_string(c), std::move(t));
  }
  write_csv(d, path);
  return path;
}

void BM_CsvRead(benchmark::State& state) {
  const std::string path = make_csv();
  const auto bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  int before = thread_count();
  set_thread_count(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(read_csv(path));
  set_thread_count(before);
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_CsvRead)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
}  // namespace
