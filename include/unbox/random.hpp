// The seeded random numbers of unbox: the same seed gives the same numbers on every
// platform and compiler. std::mt19937_64's sequence is fixed by the C++ standard; the
// std::*_distribution transforms and std::shuffle are not, so the draws below are our own.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace unbox {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}

  // An independent stream for item `index` of a seeded computation (an event, a chunk, a
  // bootstrap replica): its numbers depend only on (seed, index), so results do not depend
  // on the thread count or on how the work is cut. SplitMix64 finalizers decorrelate
  // neighbouring indices.
  static Rng stream(std::uint64_t seed, std::uint64_t index) { return Rng(mix(mix(seed) ^ (index + 1))); }

  std::uint64_t bits() { return engine_(); }
  // Uniform in [0, 1) on the 53-bit grid: every value is exactly representable.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Unbiased integer in [0, n), n > 0, by rejection of the incomplete last block.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = -n % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = engine_();
      if (r >= limit) return r % n;
    }
  }

  // The scaled index floor(n * uniform()), in [0, n), n > 0: one draw, bias below n / 2^53.
  // The stream of train()'s split and of ADO's pair sampling and split, kept so that their
  // seeded results stay what they were; new code draws with below().
  std::uint64_t index(std::uint64_t n) {
    const auto k = static_cast<std::uint64_t>(uniform() * static_cast<double>(n));
    return k < n ? k : n - 1;
  }

  // Standard normal, Marsaglia's polar method; the second variate of each pair is kept.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = uniform(-1.0, 1.0);
      v = uniform(-1.0, 1.0);
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  double normal(double mean, double sigma) { return mean + sigma * normal(); }

  // Standard normal by Box-Muller, cos branch only (two uniforms a variate, u1 > 0): the
  // stream of SmoothGrad's noise, kept so that seeded attributions stay what they were.
  double normal_box_muller() {
    double u1;
    do u1 = uniform();
    while (u1 == 0.0);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
  }

  // Fisher-Yates with our own unbiased index draw: the same permutation everywhere.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(below(i))]);
  }
  // Fisher-Yates drawing with index(): the permutation of train()'s split and the ADO search.
  template <class T>
  void shuffle_scaled(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(index(i))]);
  }

  std::mt19937_64& engine() { return engine_; }

  static std::uint64_t mix(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace unbox
