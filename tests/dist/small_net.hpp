// The dist tests' network: the 3-input 6,5 tanh net with a sigmoid output, every parameter
// drawn uniformly from [-range, range] (the standardization's std from 0.5 + |u|), seeded.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "unbox/train.hpp"

namespace unbox::test {

inline Network small_net(std::uint64_t seed, double range) {
  Network net = build_network({"a", "b", "c"}, parse_architecture("6,5", "tanh", "sigmoid"));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-range, range);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op)
      for (auto& p : net.op(static_cast<int>(i)).parameters())
        for (double& v : p.value->values()) v = p.name == "std" ? 0.5 + std::abs(u(rng)) : u(rng);
  return net;
}

}  // namespace unbox::test
