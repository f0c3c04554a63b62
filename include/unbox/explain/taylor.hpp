// Taylor-expansion analysis (Wunsch, Friese, Wolf, Quast 2018; the KIT tayloranalysis
// package): expand the network around every event and rank the features of the input
// space (single variables, pairs, triples) by the mean absolute Taylor coefficient,
// <|t_i|>, <|t_ij|>, <|t_ijk|>, weighted by the event weights, overall and per class.
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

// monomial: the coefficients of the Taylor monomials, as tayloranalysis computes them:
//   t_i = df/dx_i, t_ii = (1/2) d2f/dx_i2, t_ij = d2f/dx_i dx_j (i != j), and at third
//   order the derivative divided by the product of n! over repeated indices.
// derivative: the plain derivatives (t_ii = d2f/dx_i2), as in Wunsch et al. 2018.
enum class TaylorConvention { Monomial, Derivative };
std::string convention_name(TaylorConvention c);
TaylorConvention parse_convention(const std::string& text);

struct TaylorOptions {
  std::string neuron = "output";  // any neuron name; "output" is after the output activation
  int order = 2;                  // highest order, 1..3
  TaylorConvention convention = TaylorConvention::Monomial;
  bool physical_units = false;  // derivatives with respect to the raw data columns
  Index batch = 0;              // events per tile of the derivative engine (0: automatic)
  bool per_event = false;       // also keep every event's coefficients (TaylorResult::coefficients)
  Index rows = 20;              // rows of table() (0: all)
  double top_percent = 0;       // > 0: table() and to_json() name the top features and their variables
  ProgressCallback progress;    // not used by the computation: events (or steps) done, for a bar
};

struct TaylorFeature {
  std::string name;                    // "a", "a x b", "a x a x c"
  std::vector<std::string> variables;  // one per derivative index (length = order)
  std::vector<Index> indices;          // variable positions
  int order = 1;
  double value = 0;                                              // weighted <|t|> over all events
  double share = 0;                                              // value / sum of all values
  double signal = std::numeric_limits<double>::quiet_NaN();      // label 1 only
  double background = std::numeric_limits<double>::quiet_NaN();  // label 0 only
};

// The mergeable sums behind the Taylor means: for every feature (engine order: first
// order, then pairs i <= j, then triples) the sums of w |d| of the plain derivatives over
// all events, signal and background events, and the three weight sums (the convention's
// factors are applied when the means are formed). Tiles of any size are added; two
// accumulators over disjoint events merge into the one over both.
struct TaylorAccumulator {
  Index variables = 0, pairs = 0, triples = 0;
  std::vector<double> all, signal, background;  // [variables + pairs + triples]
  double weight = 0, weight_signal = 0, weight_background = 0;

  TaylorAccumulator() = default;
  TaylorAccumulator(Index variables, int order);
  Index features() const { return variables + pairs + triples; }
  // The events tile.begin .. tile.begin + tile.count - 1; `labels` (empty: no classes) and
  // `weights` (empty: 1) are indexed by event number.
  void add(const DerivativeTile& tile, std::span<const double> labels, std::span<const double> weights);
  void merge(const TaylorAccumulator& other);
};

struct TaylorResult {
  std::string neuron;  // its name, e.g. "L2N0" or "output"
  std::string target;  // what it is, e.g. "L12N0 (after Tanh)"
  TaylorConvention convention = TaylorConvention::Monomial;
  bool physical_units = false;
  int order = 2;
  Index events = 0;
  double weight_sum = 0, weight_signal = 0, weight_background = 0;
  bool per_class = false;
  std::vector<std::string> variables;
  std::vector<TaylorFeature> features;  // sorted by value, largest first
  std::vector<std::string> notes;       // diagnostics (piecewise-linear networks, units)
  TaylorAccumulator sums;               // the sums behind the means (what a merge needs)
  std::string model;                    // fingerprint of the network's parameters: merges need the same
  Index rows = 20;                      // table() rows (from the options)
  double top_percent = 0;               // from the options

  // With TaylorOptions::per_event: the neuron's value [N] and every event's coefficients
  // [N, F] in engine order (first order, then pairs i <= j, then triples i <= j <= k),
  // convention factors applied, named by coefficient_names (as feature_name).
  Tensor value;
  Tensor coefficients;
  std::vector<std::string> coefficient_names;

  // The features in the top `percent` % of the ranking: the first ceil(percent/100 * F)
  // of the F features (at least one), as in the poster's "upper 5 % of features".
  Index top_count(double percent) const;
  // The variables those features involve, in order of first appearance in the ranking.
  std::vector<std::string> top_variables(double percent) const;
  // Ranked table (at most `rows` rows; 0: all) with shares and per-class values.
  std::string table() const { return table(rows, top_percent); }
  std::string table(Index rows, double top_percent = 0) const;
  // {"neuron", "convention", "units", "order", "events", "variables", "features": [...],
  //  "notes", and with top_percent > 0 "top": {"percent", "features", "variables"},
  //  "state": {"method": "taylor", "key": {what must agree to merge}, "sums": {...}}}.
  nlohmann::json to_json() const { return to_json(top_percent); }
  nlohmann::json to_json(double top_percent) const;
  // Every event's coefficients as a dataset: the neuron's value, then t(<feature>) columns.
  Dataset per_event_dataset() const;
  // The result rebuilt from to_json()'s "state" (sums, variables, options): Error otherwise.
  static TaylorResult from_json(const nlohmann::json& j);
};

// The result over `into`'s events and then `other`'s (disjoint events, the same neuron,
// convention, units, order and variables; Error naming what differs): sums added in that
// order, means recomputed. Per-event values are dropped.
void merge(TaylorResult& into, const TaylorResult& other);

// Mean absolute Taylor coefficients over the events (their weights and, when they have
// labels, the per-class averages).
TaylorResult taylor(const Network& model, const Events& events, const TaylorOptions& options);
// Same on already gathered inputs; labels and weights may be empty.
TaylorResult taylor(const Network& net, const std::vector<Tensor>& inputs, std::span<const double> labels,
                    std::span<const double> weights, const TaylorOptions& options);

// `taylor select`: the variables involved in the top `top_percent` % of the features.
struct TaylorSelectOptions {
  TaylorOptions taylor;
  double top_percent = 5;  // in (0, 100]
  Index top = 0;           // > 0: the top N features instead of a percentage
};
struct TaylorSelection {
  std::string neuron;
  TaylorConvention convention = TaylorConvention::Monomial;
  int order = 2;
  double percent = 0;
  Index features = 0, total_features = 0;  // features in the top percent, features in all
  std::vector<std::string> selected, inverted, variables, notes;
  std::string table() const;
  nlohmann::json to_json() const;  // {"neuron", "convention", "percent", "features", "selected", "inverted"}
};
TaylorSelection taylor_select(const Network& model, const Events& events, const TaylorSelectOptions& options);

// Feature names as `unbox taylor` prints them, e.g. "x1 x x2".
std::string feature_name(const std::vector<std::string>& variables);

}  // namespace unbox
