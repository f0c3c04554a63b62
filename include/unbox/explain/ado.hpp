// Decision ordering (Faucett, Thaler & Whiteson, arXiv:2010.11998): two discriminants f and
// g order a signal–background pair (x, x') the same way when (f(x) - f(x')) (g(x) - g(x')) > 0.
// DO(x, x') = Theta of that product, and the average decision ordering ADO is its average
// over all signal–background pairs, each pair weighted by w(x) w(x').
//
// Conventions (the paper is silent on them):
//  - a pair tied in f or in g (the product is exactly 0) counts one half;
//  - no flipping: a g that orders pairs the opposite way from f has ADO below one half,
//    and ADO(f, -f) = 0 for an f without ties;
//  - weights may be any finite numbers; the total weight W_sig * W_bkg must be positive.
//
// ado() is exact over all n_sig * n_bkg pairs in O(n log n): one sort by f, one by g and
// two sweeps with a Fenwick tree over g ranks. ado_on_pairs() restricts the average to a
// given list of pairs (the guided search's disordered pairs).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "unbox/core.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

struct AdoResult {
  double ado = 0.5;         // concordant + tied / 2
  double concordant = 0.0;  // weighted fraction of pairs ordered the same way
  double discordant = 0.0;  // weighted fraction ordered the opposite way
  double tied = 0.0;        // weighted fraction tied in f or in g
  Index n_signal = 0, n_background = 0;
  double w_signal = 0.0, w_background = 0.0;  // summed weights
  Index n_pairs = 0;                          // pairs averaged over (n_signal * n_background for ado())
  nlohmann::json to_json() const;
};

// ADO between f and g over all signal–background pairs. labels are 0/1 (Error otherwise),
// weights may be empty (all 1). NaN in f or g is an Error naming the event.
AdoResult ado(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
              std::span<const double> weights = {});

// A signal–background pair: indices of a signal event and of a background event.
using EventPair = std::pair<Index, Index>;

// ADO between f and g restricted to `pairs` (each weighted w_sig * w_bkg; weights may be
// empty). Indices are checked against the arrays; n_pairs is pairs.size() and
// n_signal/n_background stay 0.
AdoResult ado_on_pairs(std::span<const double> f, std::span<const double> g, std::span<const double> weights,
                       const std::vector<EventPair>& pairs);

// The signal–background pairs that f and g order strictly the opposite way (DO = 0; tied
// pairs are not included). `total` is their exact number (counted in O(n log n)). When
// total <= max_pairs and n_sig * n_bkg is small enough to loop over (<= 5e7) every one
// is returned, in (signal, background) index order; otherwise max_pairs pairs are drawn
// uniformly among them by seeded rejection sampling (with replacement), stopping after
// 2e8 draws (then fewer are returned). `sampled` says whether they were drawn.
struct DiscordantPairs {
  std::vector<EventPair> pairs;
  Index total = 0;
  bool sampled = false;
};
DiscordantPairs discordant_pairs(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
                                 Index max_pairs, std::uint64_t seed);

// The brute-force double loop (for tests and tiny inputs): O(n_sig * n_bkg).
AdoResult ado_brute_force(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
                          std::span<const double> weights = {});

// ---- the method on events -------------------------------------------------------------

// ADO of two discriminants named by column or neuron (column_or_neuron) on labelled events.
struct AdoOptions {
  std::string score;    // f: a data column, or a neuron of the model
  std::string against;  // g: likewise
  Index batch = 4096;
};

struct AdoComparison {
  std::string score, against, source;
  double auc_score = 0.0, auc_against = 0.0;
  AdoResult ado;
  std::string table() const;
  // {"ado", "score", "against", "auc_score", "auc_against", "concordant", "discordant", "tied",
  //  "n_signal", "n_background", "w_signal", "w_background", "n_pairs", "ties"}
  nlohmann::json to_json() const;
};

AdoComparison ado(const Network& model, const Events& events, const AdoOptions& options);
// Both discriminants are data columns.
AdoComparison ado(const Events& events, const AdoOptions& options);

}  // namespace unbox
