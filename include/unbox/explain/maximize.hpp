// Activation maximization (Roxlo & Reece section 2.5): many starting points in the input
// box, batched projected gradient ascent (descent with `minimize`) in physical units until
// each point passes the activation threshold or runs out of steps; then 1-, 2- and 3-D
// histograms of the population ranked by the information among their variables.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

// Where starting points come from and which box clamps the points.
enum class BoxKind {
  DataRange,  // uniform in [min, max] of each input over the data (the paper)
  StdDev,     // uniform in mean +- k std of each input
  Sample,     // data events as starting points; the box is the data range
};

// ---- histograms of a population (declared first: a MaximizeResult holds them) --------

struct PopulationHistogram {
  std::vector<int> vars;  // 1 to 3 input indices
  std::vector<std::string> names;
  std::vector<double> lo, hi;  // axis ranges, equal-width bins
  Index bins = 0;              // per axis
  std::vector<double> counts;  // row-major over vars (first var slowest)
  double score = 0.0;          // nats: KL (1-D), MI (2-D), total correlation (3-D)
  nlohmann::json to_json() const;
};

struct HistogramOptions {
  Index bins = 20;   // 1-D and 2-D
  Index bins3 = 10;  // 3-D (20^3 cells would be mostly empty at 10^4 points)
  Index top = 20;    // kept per dimension (the paper's 20)
  bool converged_only = true;
};

struct PopulationHistograms {
  std::string population;  // "converged" or "all" (when nothing converged)
  Index points = 0;
  std::vector<PopulationHistogram> one, two, three;  // sorted by score, descending
  nlohmann::json to_json() const;
};

struct MaximizeOptions {
  std::string neuron = "output";  // the neuron maximized (or minimized)
  Index points = 10000;
  double threshold = 0.0;  // stop when activation >= threshold (<= with minimize)
  bool minimize = false;
  Index steps = 300;  // step limit per point
  // Adam on the inputs with a per-input step size `step_size` x (that input's data std),
  // so inputs of very different scales (GeV and radians) move at comparable rates.
  double step_size = 0.02;
  BoxKind box = BoxKind::DataRange;
  double box_k = 3.0;  // for BoxKind::StdDev
  // Inputs with at most `discrete_max_values` distinct values in the data (b-tags, signs)
  // are discrete. Held: they keep their sampled value (drawn from the data) and do not
  // move; otherwise they are continuous, as in the paper.
  bool hold_discrete = false;
  Index discrete_max_values = 3;
  // Beyond the paper: objective += plausibility x log p(x), p a diagonal-covariance
  // Gaussian mixture fitted by EM on the standardized data (so lambda is unit-free).
  double plausibility = 0.0;
  Index gmm_components = 8;
  Index gmm_iterations = 60;
  // With plausibility > 0: run again without it from the same starts, to compare.
  bool compare_without_plausibility = true;
  std::uint64_t seed = 1;
  Index batch = 256;  // points that step together (one tile through the network)
  // When set, the result also holds the ranked histograms of the population
  // (population_histograms with these options): table() and to_json() summarize them.
  std::optional<HistogramOptions> histograms;
  // Not used by the computation: a callback for progress (points finished so far).
  std::function<void(Index done)> progress;
};

// A diagonal-covariance Gaussian mixture on standardized inputs u = (x - mean) / std.
struct GaussianMixture {
  std::vector<double> mean, stddev;      // per input, the standardization
  std::vector<double> weight;            // [k]
  std::vector<std::vector<double>> mu;   // [k][d]
  std::vector<std::vector<double>> var;  // [k][d]
  // log p(u) and, when grad is given, d log p / d x (physical units) added scaled by `scale`.
  double log_density(const double* x, double* grad = nullptr, double scale = 1.0) const;
};
GaussianMixture fit_gaussian_mixture(const Tensor& data, Index components, Index iterations, std::uint64_t seed);

struct MaximizeResult {
  std::string neuron;
  std::vector<std::string> inputs;  // model order, as the model names them
  bool minimize = false;
  double threshold = 0.0;
  BoxKind box = BoxKind::DataRange;
  std::vector<double> lo, hi;           // the box
  std::vector<bool> discrete, held;     // per input
  Tensor start;                         // [K, d] starting points
  Tensor points;                        // [K, d] final points (physical units)
  std::vector<double> activation;       // [K]
  std::vector<Index> steps;             // [K]
  std::vector<std::uint8_t> converged;  // [K]
  std::vector<std::uint8_t> boundary;   // [K * d]: coordinate sits on the box boundary
  Index point_steps = 0;                // gradient steps taken in total
  double seconds = 0.0;
  double plausibility = 0.0;
  // Mean log-density (GMM) of the converged points, when a GMM was fitted.
  double mean_log_density = 0.0;
  // The same run without the plausibility term (plausibility > 0 and compare on).
  bool has_comparison = false;
  double converged_fraction_without = 0.0;
  double mean_log_density_without = 0.0;

  // The ranked histograms (MaximizeOptions::histograms set), else empty.
  std::optional<PopulationHistograms> histograms;
  // Where the caller wrote the population (to_dataset) and the histograms
  // (histograms_to_json): table() and to_json() name them when set.
  std::string population_file, histograms_file;

  Index size() const { return start.events(); }
  double converged_fraction() const;
  // The population file: inputs, activation, steps, converged, boundary_<input>.
  Dataset to_dataset() const;
  // Summary (no per-point data); with histograms, their top entries by dimension.
  nlohmann::json to_json() const;
  std::string table() const;
  // The histograms file: every kept histogram with its counts, and the neuron.
  nlohmann::json histograms_to_json() const;
  // The top `count` 2-D histograms as terminal heat maps ("" without histograms).
  std::string heat_maps(int count, bool ascii = false) const;
};

MaximizeResult maximize(const Network& model, const Events& events, const MaximizeOptions& options);

// ---- histograms of a population ----------------------------------------------------

// Equal-width histograms over the box; 1-D ranked by KL(population || starting points).
PopulationHistograms population_histograms(const MaximizeResult& r, const HistogramOptions& options);
// Same from bare points (rows [M, d]) with ranges; 1-D ranked by KL from uniform over the
// range (used when the starting points are not known, e.g. by caveman).
PopulationHistograms population_histograms(const Tensor& points, const std::vector<std::string>& names,
                                           const std::vector<double>& lo, const std::vector<double>& hi,
                                           const HistogramOptions& options);

// Information among the variables of a histogram, plug-in estimates in nats.
double mutual_information_2d(const std::vector<double>& counts, Index nx, Index ny);
double total_correlation_3d(const std::vector<double>& counts, Index nx, Index ny, Index nz);
// KL(p || q) of two 1-D count vectors; q is smoothed by half a count per bin.
double kl_divergence_1d(const std::vector<double>& p, const std::vector<double>& q);

// Compact terminal heat maps of 2-D histograms, side by side, shaded " ░▒▓█"
// (ascii: " .:#@"), y upward, x rightward, with the axis ranges.
std::string heat_map(const std::vector<PopulationHistogram>& hists, bool ascii = false, int per_row = 2);

}  // namespace unbox
