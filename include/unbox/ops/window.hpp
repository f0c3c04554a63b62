// The sliding window of a convolution or pooling over 1 or 2 spatial axes.
#pragma once

#include <random>

#include "unbox/network.hpp"

namespace unbox {

// The sliding window of a convolution or pooling over 1 or 2 spatial axes. Pads are
// explicit (auto_pad is resolved by the caller, who knows the input shape).
struct Window {
  std::vector<Index> kernel, strides, pads /* begin..., end... */, dilations;
  bool ceil_mode = false;  // pooling only
  Index spatial() const { return static_cast<Index>(kernel.size()); }
  // Output length along spatial axis d for input length n; Error when the window does not fit.
  Index out_size(Index d, Index n) const;
  nlohmann::json to_json() const;
  static Window from_json(const nlohmann::json& a, Index spatial);
  void check(const std::string& what) const;  // sizes positive, 1 or 2 axes
};

}  // namespace unbox
