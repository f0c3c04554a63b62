// The network fingerprint of merge states (fingerprint.hpp).
#include "unbox/explain/fingerprint.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace unbox {

std::string network_fingerprint(const Network& net) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const Node& node : net.nodes()) {
    if (!node.op) continue;
    for (const Parameter& p : node.op->parameters()) {
      const auto* bytes = reinterpret_cast<const unsigned char*>(p.value->data());
      const size_t n = static_cast<size_t>(p.value->size()) * sizeof(double);
      for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
    }
  }
  return fmt::format("fnv1a64:{:016x}", h);
}

}  // namespace unbox
