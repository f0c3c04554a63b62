// Small helpers shared by the C++ tests.
#pragma once

#include <random>

#include "unbox/tensor.hpp"

namespace unbox::test {

// Values uniform in [-scale, scale] (test data only: std distributions are fine here).
inline Tensor random_tensor(const Shape& s, std::mt19937_64& rng, double scale = 1.0) {
  Tensor t(s);
  std::uniform_real_distribution<double> u(-scale, scale);
  for (double& v : t.values()) v = u(rng);
  return t;
}

}  // namespace unbox::test
