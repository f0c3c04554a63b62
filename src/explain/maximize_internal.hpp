// Small helpers shared by maximize.cpp and caveman.cpp (not public API).
#pragma once

#include <cstdint>
#include <random>

#include "unbox/core.hpp"

namespace unbox::detail {

// Reproducible everywhere: std::mt19937_64's sequence is fixed by the standard, the
// std::*_distribution transforms are not, so we use our own.
class SeededRng {
 public:
  explicit SeededRng(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Unbiased integer in [0, n) by rejection.
  Index below(Index n) {
    const auto un = static_cast<std::uint64_t>(n);
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % un;
    std::uint64_t r;
    do r = engine_();
    while (r >= limit);
    return static_cast<Index>(r % un);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace unbox::detail
