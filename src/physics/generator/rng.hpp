// Per-event random streams for the built-in generator (internal). Event i of a run with seed S
// draws from xoshiro256** seeded by splitmix64(S, i, stream): its numbers depend only on
// (S, i, stream), never on threads or chunking. All transforms are our own (the standard
// distributions are implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>

namespace unbox::physics::gen {

inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t event, std::uint64_t stream = 0) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL ^ (event + 0x632BE59BD9B4E019ULL) * 0xD1B54A32D192ED03ULL ^
                      (stream + 1) * 0x8CB92BA72F3D8DD7ULL;
    for (auto& v : s_) v = splitmix64(x);
  }
  std::uint64_t next() {
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3], s_[2] ^= t, s_[3] = rotl(s_[3], 45);
    return r;
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1].
  double uniform_pos() { return 1.0 - uniform(); }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double normal() {  // Box-Muller, one variate
    const double u1 = uniform_pos(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace unbox::physics::gen
