// Caveman variables (Roxlo & Reece section 2.6 and appendix A): crude, human-readable
// approximations of a neuron built from the islands of its activation-maximization
// population. Islands are found with DBSCAN in the top 1-, 2- and 3-variable histograms;
// interior islands become sigmoid(second-degree polynomial) terms, islands touching the
// box boundary first-degree polynomials with cross terms (unclamped); the terms are
// combined linearly, fitted to the neuron's activation on data with an L1 penalty that
// leaves a chosen number of terms. Also the paper's baseline, a linear combination of
// the top inputs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

// DBSCAN on points in the unit cube [0, 1]^dim (rows of `points`, dim 1 to 3), grid-
// accelerated. Returns a cluster id per point (0, 1, ...; -1 for noise), clusters numbered
// in order of their first core point.
std::vector<int> dbscan(const std::vector<double>& points, int dim, double eps, Index min_points);

// One term: a polynomial in physical units over 1 to 3 inputs, passed through a sigmoid
// (interior island), used bare (boundary island), or a single input (linear baseline).
struct CavemanTerm {
  enum class Kind { Interior, Boundary, Linear };
  Kind kind = Kind::Interior;
  std::vector<std::string> variables;
  double constant = 0.0;
  std::vector<double> linear;  // per variable
  struct Quad {
    int i, j;  // indices into variables, i <= j
    double c;
  };
  std::vector<Quad> quadratic;
  double coefficient = 0.0;      // weight in the linear combination
  Index cluster_points = 0;      // population points of the island (0 for linear)
  double histogram_score = 0.0;  // information of the histogram it came from (nats)

  // Value for one event, given the values of `variables` in order.
  double value(const double* x) const;
  std::string polynomial_text() const;
  std::string text() const;  // "sigmoid(...)", "(...)" or the variable name
  nlohmann::json to_json() const;
  static CavemanTerm from_json(const nlohmann::json& j);
};

// A saved caveman variable: intercept + sum of coefficient x term.
struct CavemanVariable {
  std::string neuron;
  double intercept = 0.0;
  std::vector<CavemanTerm> terms;

  std::string formula() const;  // readable, physical units
  // Values for every event; reads the columns the terms name (Error naming a missing one).
  std::vector<double> evaluate(const Dataset& data) const;
  nlohmann::json to_json() const;
  static CavemanVariable from_json(const nlohmann::json& j);
};

struct CavemanOptions {
  std::string neuron = "output";  // the neuron approximated
  Dataset population;             // its maximization population (unbox maximize's points: the input columns, converged)
  Index terms = 5;                // terms the L1 penalty leaves
  Index histograms_per_dim = 5;   // top histograms of each dimension searched for islands (paper: 20)
  Index max_clusters = 3;         // islands per histogram, largest first
  Index cluster_points = 4000;    // population points used for clustering (a seeded subsample)
  // DBSCAN's eps is set so a uniform population would put `expected_neighbours` points in
  // a ball; a point is core when its ball holds `density_factor` times that (the
  // "variant": eps and minPts scale with the population and the histogram's dimension).
  // Islands are separated by (nearly) empty space, as in the paper's histograms; a
  // factor above 1 would keep only the piles along threshold contours and drop the
  // interiors where starting points were already above threshold.
  double expected_neighbours = 10.0;
  double density_factor = 0.5;
  double min_cluster_fraction = 0.02;  // smaller islands are dropped
  Index fit_iterations = 600;          // Adam steps fitting each island's function
  double fit_learning_rate = 0.1;
  Index fit_events = 50000;  // data events for the linear combination (the rest test it)
  std::uint64_t seed = 1;
  ProgressCallback progress;  // not used by the computation: events (or steps) done, for a bar
};

struct CavemanResult {
  CavemanVariable variable;
  CavemanVariable linear;  // baseline: linear combination of the top inputs
  double auc = 0.0;        // on the held-out events
  double neuron_auc = 0.0;
  double linear_auc = 0.0;
  double correlation = 0.0;  // Pearson correlation of the variable with the neuron (held out)
  double linear_correlation = 0.0;
  Index candidates = 0;  // island terms before the L1 selection
  Index population_points = 0;
  Index fit_events = 0, test_events = 0;
  // ROC curves on the held-out events (empty without both classes), thinned to at most
  // ~200 points each, for the report's plot of the variable against its neuron.
  struct Curve {
    std::vector<double> fpr, tpr;
  };
  Curve roc, neuron_roc, linear_roc;
  nlohmann::json to_json() const;
  std::string table() const;
};

// `population` is a maximize --out file for `neuron` (its converged points are used).
CavemanResult caveman(const Network& model, const Events& events, const CavemanOptions& options);

}  // namespace unbox
