// Per-event random numbers for the detector models: a SplitMix64 stream seeded from
// (seed, event index), so every event's draws are fixed whatever the thread or reading
// order. Internal to src/physics/.
#pragma once

#include <cmath>
#include <cstdint>

namespace unbox::physics::detail {

// SplitMix64 finaliser.
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class EventRandom {
 public:
  EventRandom(std::uint64_t seed, std::int64_t index)
      : state_(mix64(mix64(seed) ^ static_cast<std::uint64_t>(index))) {}
  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // 53-bit uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Box-Muller, both values used.
  double gaussian() {
    if (have_) {
      have_ = false;
      return spare_;
    }
    double u1;
    do u1 = uniform();
    while (u1 <= 0.0);
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1)), t = 2.0 * M_PI * u2;
    spare_ = r * std::sin(t);
    have_ = true;
    return r * std::cos(t);
  }
  // Delphes' LogNormal(mean, sigma): a log-normal variable with this mean and standard
  // deviation (0 for mean <= 0), from the standard normal g.
  static double log_normal(double mean, double sigma, double g) {
    if (!(mean > 0)) return 0.0;
    double b = std::sqrt(std::log1p(sigma * sigma / (mean * mean)));
    double a = std::log(mean) - 0.5 * b * b;
    return std::exp(a + b * g);
  }

 private:
  std::uint64_t state_;
  bool have_ = false;
  double spare_ = 0;
};

}  // namespace unbox::physics::detail
