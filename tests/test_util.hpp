// Small helpers shared by the C++ tests.
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "unbox/tensor.hpp"

namespace unbox::test {

// Values uniform in [-scale, scale] (test data only: std distributions are fine here).
inline Tensor random_tensor(const Shape& s, std::mt19937_64& rng, double scale = 1.0) {
  Tensor t(s);
  std::uniform_real_distribution<double> u(-scale, scale);
  for (double& v : t.values()) v = u(rng);
  return t;
}

// Standard normals from our own transform (Box-Muller on 53-bit uniforms): fixed numbers
// on every platform, for tests that assert them.
inline std::vector<double> normals(Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto u = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  std::vector<double> out(static_cast<size_t>(n));
  for (auto& v : out) v = std::sqrt(-2.0 * std::log(u())) * std::cos(6.283185307179586 * u());
  return out;
}

}  // namespace unbox::test
