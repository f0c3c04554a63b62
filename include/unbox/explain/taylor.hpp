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
  bool physical_units = false;    // derivatives with respect to the raw data columns
  std::vector<std::string> columns;  // data columns feeding a flat input (default: by name)
  Index tile = 0;                 // events per tile (0: automatic)
};

struct TaylorFeature {
  std::string name;                    // "a", "a x b", "a x a x c"
  std::vector<std::string> variables;  // one per derivative index (length = order)
  std::vector<Index> indices;          // variable positions
  int order = 1;
  double value = 0;                    // weighted <|t|> over all events
  double share = 0;                    // value / sum of all values
  double signal = std::numeric_limits<double>::quiet_NaN();      // label 1 only
  double background = std::numeric_limits<double>::quiet_NaN();  // label 0 only
};

struct TaylorResult {
  std::string neuron;      // its name, e.g. "L2N0" or "output"
  std::string target;      // what it is, e.g. "L12N0 (after Tanh)"
  TaylorConvention convention = TaylorConvention::Monomial;
  bool physical_units = false;
  int order = 2;
  Index events = 0;
  double weight_sum = 0, weight_signal = 0, weight_background = 0;
  bool per_class = false;
  std::vector<std::string> variables;
  std::vector<TaylorFeature> features;  // sorted by value, largest first
  std::vector<std::string> notes;       // diagnostics (piecewise-linear networks, units)

  // The features in the top `percent` % of the ranking: the first ceil(percent/100 * F)
  // of the F features (at least one), as in the poster's "upper 5 % of features".
  Index top_count(double percent) const;
  // The variables those features involve, in order of first appearance in the ranking.
  std::vector<std::string> top_variables(double percent) const;
  // Ranked table (at most `rows` rows; 0: all) with shares and per-class values.
  std::string table(Index rows = 20, double top_percent = 0) const;
  // {"neuron", "convention", "units", "order", "events", "variables", "features": [...],
  //  "notes", and with top_percent > 0 "top": {"percent", "features", "variables"}}.
  nlohmann::json to_json(double top_percent = 0) const;
};

// Mean absolute Taylor coefficients over the events of `data` (its weight column and,
// when it has one, its label column for the per-class averages).
TaylorResult taylor(const Network& net, const Dataset& data, const TaylorOptions& options);
// Same on already gathered inputs; labels and weights may be empty.
TaylorResult taylor(const Network& net, const std::vector<Tensor>& inputs, std::span<const double> labels,
                    std::span<const double> weights, const TaylorOptions& options);

// Feature names as `unbox taylor` prints them, e.g. "x1 x x2".
std::string feature_name(const std::vector<std::string>& variables);

}  // namespace unbox
