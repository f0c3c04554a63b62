// Built-in toy data sets: the product and islands toys of Roxlo & Reece section 2.5,
// and the four Gaussian scenarios of the Taylor-expansion poster (Wunsch et al.).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unbox/data.hpp"

namespace unbox {

// Names: product, islands, gauss-marginal, gauss-correlation, gauss-width, gauss-mixed.
std::vector<std::string> toy_names();
// Exactly events/2 signal (label 1) and events - events/2 background (label 0) events,
// shuffled; columns as documented plus "label". Same seed, same data.
// Unknown name: Error listing the known names.
Dataset generate_toy(const std::string& name, Index events, std::uint64_t seed);
// The islands map: true when (x, y) in the unit square is on land.
bool islands_land(double x, double y);

}  // namespace unbox
