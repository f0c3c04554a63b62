// Built-in toy data sets: the product and islands toys of Roxlo & Reece section 2.5,
// and the four Gaussian scenarios of the Taylor-expansion poster (Wunsch et al.).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unbox/data.hpp"

namespace unbox {

// Names: product, islands, gauss-marginal, gauss-correlation, gauss-width, gauss-mixed
// (two columns each: x, y or x1, x2).
std::vector<std::string> toy_names();
// Jet toys (many columns): xaug-jets, the XAUG toy of Agarwal et al. (arXiv:2011.13466):
// 20 particles per jet, 0-9 in the harder subjet and 10-19 in the softer one (each sorted
// by pT), columns p{i}_pt (GeV), p{i}_eta, p{i}_phi, p{i}_z (pT / jet pT), p{i}_theta
// (distance to its subjet axis) for i = 0..19, then the expert variables
// xaug_subjet_balance (softer / harder subjet pT), xaug_subjet_dr (subjet separation),
// xaug_mass (jet mass, GeV), then label. Signal (1) draws z and theta from normal
// distributions, background (0) from exponential ones.
std::vector<std::string> jet_toy_names();
std::vector<std::string> xaug_particle_columns();  // the 100 p{i}_* names in order
std::vector<std::string> xaug_expert_columns();    // the xaug_* names in order
// Exactly events/2 signal (label 1) and events - events/2 background (label 0) events,
// shuffled; columns as documented plus "label". Same seed, same data.
// Unknown name: Error listing the known names (both lists).
Dataset generate_toy(const std::string& name, Index events, std::uint64_t seed);
// The islands map: true when (x, y) in the unit square is on land.
bool islands_land(double x, double y);

}  // namespace unbox
