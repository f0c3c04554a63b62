// Gradient attributions beside LRP (Captum's set), all batched through input_gradient:
// saliency (the gradient), gradient x input, Integrated Gradients (Gauss-Legendre
// quadrature on the straight path, completeness error per event) and SmoothGrad.
// Attributions are with respect to the raw data columns (physical units).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/network.hpp"

namespace unbox {

enum class AttributionMethod { Saliency, GradXInput, IntegratedGradients, SmoothGrad };
// "saliency", "grad-x-input", "ig", "smoothgrad"; unknown: Error listing them.
AttributionMethod parse_attribution_method(const std::string& name);
std::string attribution_method_name(AttributionMethod m);

struct AttributeOptions {
  AttributionMethod method = AttributionMethod::IntegratedGradients;
  std::string neuron;  // "" = the LRP default target (output:pre before a final activation)
  // Integrated Gradients: "zero", "mean" (the data mean, the default) or "event:K" (event K
  // of the data); steps = Gauss-Legendre points on [0, 1].
  std::string baseline = "mean";
  Index steps = 64;
  // SmoothGrad: samples per event, noise std as a fraction of each input's std in the data.
  Index samples = 25;
  double noise = 0.1;
  std::uint64_t seed = 1;
  Index batch = 512;                  // events whose interpolated copies go through together
  Index bins = 10;                    // profile bins of the aggregation
  Index rows = 15;                    // rows of table() (0: all)
  std::vector<std::string> profiles;  // inputs whose profile table table() prints
  // For runs over chunks or MPI ranks, from a first pass over all events (InputMoments):
  // the IG baseline per input ("mean"), SmoothGrad's noise std per input element, and the
  // number of the first event here among all (SmoothGrad seeds every event by its number).
  // Empty: from the events at hand.
  std::vector<std::vector<double>> baseline_values, noise_sigma;
  Index first_event = 0;
  ProgressCallback progress;  // not used by the computation: events (or steps) done, for a bar
};

// Per input element: the event count, mean and sum of squared deviations of the inputs
// (what IG's mean baseline and SmoothGrad's noise read); parts merge (Chan et al.'s pairwise
// update), so a first pass over chunks or ranks gives the whole sample's.
struct InputMoments {
  double n = 0;
  std::vector<std::vector<double>> mean, m2;  // [input][element]
  void add(const std::vector<Tensor>& inputs);
  void merge(const InputMoments& other);
  // The options' baseline_values (IG with baseline "mean") and noise_sigma (SmoothGrad).
  void apply(AttributeOptions& options) const;
  nlohmann::json to_json() const;
  static InputMoments from_json(const nlohmann::json& j);
};

struct Attribution {
  std::string method, target, baseline;
  std::vector<std::string> features;  // one per input element (as LrpRelevance)
  Tensor scores;                      // [N, features]
  Tensor inputs;                      // [N, features]
  // Integrated Gradients: f(x), f(baseline) and sum(attributions) - (f(x) - f(baseline)).
  std::vector<double> f_x, f_baseline, completeness_error;
  std::vector<std::vector<double>> baseline_values, noise_sigma;  // as used (IG, SmoothGrad)
};

Attribution attribute(const Network& net, const std::vector<Tensor>& inputs, const AttributeOptions& options);

// Attributions on events, aggregated as LRP's (see LrpResult): what `unbox attribute` prints.
struct AttributionResult {
  std::string method, target, note, baseline;
  std::vector<std::string> models;
  Index events = 0, steps = 0, samples = 0;
  double noise = 0;
  std::uint64_t seed = 1;
  Attribution attribution;  // per event (the first model)
  std::vector<double> labels;
  // Integrated Gradients' completeness (sum A = f(x) - f(baseline)) on the first model:
  // mean and max of |error|, max of |error| / (|f(x) - f(baseline)| + |f(x)|).
  double mean_abs_completeness = 0, max_abs_completeness = 0, max_relative_completeness = 0;
  std::vector<Aggregation> per_model;
  AggregateSummary summary;
  Index rows = 15;
  std::vector<std::string> profiles;
  // The merge state, per model (as LrpResult's): the sums behind the means, the network's
  // fingerprint and a fingerprint of the data-derived baseline and noise; with IG the
  // completeness sums (first model). No profiles in streamed or merged results.
  std::vector<RelevanceAccumulator> sums;
  std::vector<std::string> fingerprints, data_keys;
  double completeness_sum = 0, completeness_events = 0;
  bool streamed = false;

  bool integrated_gradients() const { return method == "ig"; }
  std::string table() const;
  nlohmann::json to_json() const;  // with "state": {"method": "attribute", "key", "sums"}
  // The result rebuilt from to_json()'s state (means recomputed, no profiles): Error otherwise.
  static AttributionResult from_json(const nlohmann::json& j);
  // A_<feature> (and f_x, f_baseline, completeness_error for IG; label) per event.
  Dataset per_event_dataset() const;
};

AttributionResult attribute(const Network& model, const Events& events, const AttributeOptions& options);
// Mean +- std over several models' results on the same events.
AttributionResult combine(std::vector<AttributionResult> per_model);
// Sums of one model over one part of the events (as lrp_part): no per-event values, no profiles.
AttributionResult attribute_part(const Network& model, const Events& events, const AttributeOptions& options);
// Add the sums of `later` (same models and options: Error naming the first difference).
void merge(AttributionResult& into, const AttributionResult& later);

// Gauss-Legendre nodes and weights on [0, 1] (n points; exact for polynomials of degree 2n - 1).
void gauss_legendre01(Index n, std::vector<double>& nodes, std::vector<double>& weights);

}  // namespace unbox
