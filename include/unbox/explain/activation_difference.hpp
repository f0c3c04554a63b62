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
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

struct ActivationDifferenceOptions {
  int layer = 0;          // 0: the model inputs; k >= 1: the neurons of hidden layer Lk
  Index samples = 20000;  // events sampled (all events when the data has fewer)
  Index bootstrap = 200;  // bootstrap replicas for the uncertainty (0: none)
  std::uint64_t seed = 1;
  std::string neuron = "output";  // the neuron explained
  Index batch = 1024;             // events per evaluation batch
  Index top = 0;                  // rows of table() (0: all)
  ProgressCallback progress;  // not used by the computation: events (or steps) done, for a bar
};

struct ActivationDifferenceEntry {
  std::string variable;  // input feature name, or LkNj
  double ad = 0.0;
  double err = 0.0;  // bootstrap standard deviation of the mean
};

struct ActivationDifferenceResult {
  std::string neuron;
  int layer = 0;
  Index samples = 0, bootstrap = 0, events = 0;
  std::uint64_t seed = 1;
  double sigma = 0.0;                              // sigma_z over the data
  std::vector<ActivationDifferenceEntry> ranking;  // sorted by ad, descending

  // {"neuron", "layer", "ranking": [{"variable", "ad", "err"}...], ...}
  nlohmann::json to_json() const;
  // Ranked table like the paper's Tables 1-4 (`top` <= 0: every entry).
  std::string table(Index top) const;
  std::string table() const { return table(top); }
  Index top = 0;  // rows of table() (0: all)
};

// The part of a plain stack after layer `layer` (its post-activation output) up to and
// including node `last`: a new Network whose single input is that layer's values (named
// "L<k>", features "L<k>N<j>"), the ops copied. Error when `last` is not after the layer.
Network network_from_layer(const Network& net, int layer, int last);

ActivationDifferenceResult activation_difference(const Network& model, const Events& events,
                                                 const ActivationDifferenceOptions& options = {});

// The mergeable sums behind the AD means: per variable the sum of |z(x) - z(x with x_i
// swapped)| / sigma over the sampled events, and their number.
struct ActivationDifferenceAccumulator {
  std::vector<double> sum;
  Index count = 0;
  explicit ActivationDifferenceAccumulator(Index variables = 0) : sum(static_cast<size_t>(variables), 0.0) {}
  // `rows` sampled events of d values, row-major [rows, variables].
  void add(const double* d, Index rows);
  void merge(const ActivationDifferenceAccumulator& other);
  std::vector<double> mean() const;
};

}  // namespace unbox
