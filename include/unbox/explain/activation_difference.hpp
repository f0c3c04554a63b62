// Activation difference (Roxlo & Reece section 2.4, eq. 2):
//   AD_i(z) = (1/sigma_z) < |z(x) - z(x_/i, x_i')| >,
// x sampled from the data, x_i' drawn from the marginal of x_i (the value of another
// random event; the paper's approximation p(x_i | x_/i) ~ p(x_i)), sigma_z the standard
// deviation of z over the whole data set. The x may be the model inputs (layer L0) or the
// post-activation neurons of an earlier hidden layer Lk, in which case z is evaluated by
// the tail of the network from that layer on. Uncertainties by bootstrap over the sampled
// events. Seeded: the same seed gives the same numbers on any number of threads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/network.hpp"

namespace unbox {

struct ActivationDifferenceOptions {
  int layer = 0;               // 0: the model inputs; k >= 1: the neurons of hidden layer Lk
  Index samples = 20000;       // events sampled (all events when the data has fewer)
  Index bootstrap = 200;       // bootstrap replicas for the uncertainty (0: none)
  std::uint64_t seed = 1;
  std::vector<std::string> columns;  // data columns feeding the model input (as gather_inputs)
  EvalOptions eval{.batch = 1024};
};

struct ActivationDifferenceEntry {
  std::string variable;  // input feature name, or LkNj
  double ad = 0.0;
  double err = 0.0;      // bootstrap standard deviation of the mean
};

struct ActivationDifferenceResult {
  std::string neuron;
  int layer = 0;
  Index samples = 0, bootstrap = 0, events = 0;
  std::uint64_t seed = 1;
  double sigma = 0.0;    // sigma_z over the data
  std::vector<ActivationDifferenceEntry> ranking;  // sorted by ad, descending

  // {"neuron", "layer", "ranking": [{"variable", "ad", "err"}...], ...}
  nlohmann::ordered_json to_json() const;
  // Ranked table like the paper's Tables 1-4 (`top` <= 0: every entry).
  std::string table(Index top = 0) const;
};

// The part of a plain stack after layer `layer` (its post-activation output) up to and
// including node `last`: a new Network whose single input is that layer's values (named
// "L<k>", features "L<k>N<j>"), the ops copied. Error when `last` is not after the layer.
Network network_from_layer(const Network& net, int layer, int last);

ActivationDifferenceResult activation_difference(const Network& net, const Dataset& data, const std::string& neuron,
                                                 const ActivationDifferenceOptions& options = {});

}  // namespace unbox
