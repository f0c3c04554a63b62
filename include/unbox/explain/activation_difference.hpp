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
#include "unbox/random.hpp"

namespace unbox {

struct ActivationDifferenceOptions {
  int layer = 0;          // 0: the model inputs; k >= 1: the neurons of hidden layer Lk
  Index samples = 20000;  // events sampled (all events when the data has fewer)
  Index bootstrap = 200;  // bootstrap replicas for the uncertainty (0: none)
  std::uint64_t seed = 1;
  std::string neuron = "output";  // the neuron explained
  Index batch = 1024;             // events per evaluation batch
  Index top = 0;                  // rows of table() (0: all)
  ProgressCallback progress;      // not used by the computation: events (or steps) done, for a bar
};

struct ActivationDifferenceEntry {
  std::string variable;  // input feature name, or LkNj
  double ad = 0.0;
  double err = 0.0;  // bootstrap standard deviation of the mean
};

// The mergeable sums of an activation difference over a part of the sample (a chunk, a
// rank, a file): the moments of z over the part's events, and over the part's sampled
// events the sums of w |z(x) - z(x with x_i swapped)| per variable i and, per bootstrap
// replica b, of w m_b |...| (m_b: the event's multiplicity in replica b), where w = N/S is
// the events per sampled event of the sample the part's events were drawn from. Parts
// merge by adding (the moments by Chan's formula); AD_i = ad_i / (events sigma_z).
struct ActivationDifferenceSums {
  Index events = 0, samples = 0;
  double z_mean = 0.0, z_m2 = 0.0;  // mean of z and sum of squared deviations over the events
  std::vector<double> ad;           // [variables]
  std::vector<double> replicas;     // [bootstrap, variables] (empty: fewer than 2 replicas)
  void merge(const ActivationDifferenceSums& other);
};

struct ActivationDifferenceResult {
  std::string neuron;
  int layer = 0;
  Index samples = 0, bootstrap = 0, events = 0;
  std::uint64_t seed = 1;
  double sigma = 0.0;                              // sigma_z over the data
  std::vector<ActivationDifferenceEntry> ranking;  // sorted by ad, descending
  // What a merge needs: the variables in their own order, the sums, the requested number
  // of sampled events and a fingerprint of the network's parameters.
  std::vector<std::string> variables;
  ActivationDifferenceSums sums;
  Index requested_samples = 0;
  std::string model;

  // {"neuron", "layer", "ranking": [{"variable", "ad", "err"}...], ...,
  //  "state": {"method": "ad", "key": {what must agree to merge}, "sums": {...}}}
  nlohmann::json to_json() const;
  // The result rebuilt from to_json()'s "state": Error without one.
  static ActivationDifferenceResult from_json(const nlohmann::json& j);
  // Ranked table like the paper's Tables 1-4 (`top` <= 0: every entry).
  std::string table(Index top) const;
  std::string table() const { return table(top); }
  Index top = 0;  // rows of table() (0: all)
};

// `other`'s sums added to `into`'s (results of the same neuron, layer, variables, options
// and network: Error naming the first difference), the ranking recomputed.
void merge(ActivationDifferenceResult& into, const ActivationDifferenceResult& other);

// The part of a plain stack after layer `layer` (its post-activation output) up to and
// including node `last`: a new Network whose single input is that layer's values (named
// "L<k>", features "L<k>N<j>"), the ops copied. Error when `last` is not after the layer.
Network network_from_layer(const Network& net, int layer, int last);

ActivationDifferenceResult activation_difference(const Network& model, const Events& events,
                                                 const ActivationDifferenceOptions& options = {});

// The activation difference of a sample read in parts (chunks, MPI ranks). Every random
// choice (the sampled events, the donors of the swapped values, the bootstrap) is drawn from
// the seed and the sample's event count N alone, exactly as activation_difference() draws
// them, so any chunking and any number of ranks use the same events. Pass 1: add() every
// part of the sample this process reads (events [first, first + size) of the N): the moments
// of z, and the sampled events' values and donor values that fall in the part. Between
// processes, collected() / fill() exchange those values. Pass 2: result() of sampled events
// [begin, end) (a share per rank): a result whose sums merge into the whole one.
// Memory: 2 x samples x variables doubles (the sampled rows and their donors) plus indices.
class ActivationDifferenceRun {
 public:
  ActivationDifferenceRun(const Network& model, const ActivationDifferenceOptions& options, Index total_events);
  void add(const Events& part, Index first);
  Index samples() const { return samples_; }
  // (position, value) pairs of the values this process holds; fill() takes other processes'.
  std::vector<double> collected() const;
  void fill(const std::vector<double>& pairs);
  ActivationDifferenceResult result(Index begin, Index end) const;

 private:
  const Network* net_;
  ActivationDifferenceOptions o_;
  Index total_ = 0, samples_ = 0, n_ = 0;
  NeuronRef ref_, target_;
  Network sub_;
  bool tail_ = false;
  std::vector<NeuronRef> layer_refs_;
  std::vector<std::string> names_;
  std::string source_;
  std::vector<std::pair<Index, Index>> pick_at_, donor_at_;  // (event, position) sorted by event
  std::vector<double> base_, donor_;                         // [samples, variables]
  std::vector<std::uint8_t> have_base_, have_donor_;
  Rng bootstrap_rng_;
  ActivationDifferenceSums z_;  // the z moments of the events added
};

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
