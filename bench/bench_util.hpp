// Shared inputs of the benchmarks: standard-normal events and Glorot-uniform weights, seeded,
// so every benchmark measures the same data from run to run.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "unbox/network.hpp"
#include "unbox/tensor.hpp"

namespace unbox::bench {

// [n, width] standard-normal values (seed 2).
inline Tensor random_events(Index n, Index width) {
  Tensor x({n, width});
  std::mt19937_64 rng(2);
  std::normal_distribution<double> g;
  for (double& v : x.values()) v = g(rng);
  return x;
}

// f0, f1, ..., f(n-1)
inline std::vector<std::string> feature_names(Index n) {
  std::vector<std::string> f;
  for (Index i = 0; i < n; ++i) f.push_back(std::string("f").append(std::to_string(i)));
  return f;
}

// Every trainable "weight" tensor W (first dimension = outputs) drawn uniform in
// +-sqrt(6 / (fan_in + fan_out)): tanh units neither linear nor saturated.
inline void glorot_randomize(Network& net, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        if (p.trainable && p.name == "weight") {
          const double limit =
              std::sqrt(6.0 / static_cast<double>(p.value->size() / p.value->dim(0) + p.value->dim(0)));
          std::uniform_real_distribution<double> u(-limit, limit);
          for (double& v : p.value->values()) v = u(rng);
        }
}

}  // namespace unbox::bench
