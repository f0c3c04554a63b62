// What merge states compare to tell whether two results come from the same network.
#pragma once

#include <string>

#include "unbox/network.hpp"

namespace unbox {

// FNV-1a over every parameter value of the network, in node order ("fnv1a64:<hex>"): two
// results merge only when their networks compute the same function with the same numbers
// (an ONNX file and its native conversion give the same fingerprint).
std::string network_fingerprint(const Network& net);

}  // namespace unbox
