// Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) and the
// aggregations of the XAUG poster (Agarwal et al., arXiv:2011.13466).
//
// One propagation through every linear layer (Dense, Conv 1-D/2-D, ParticleDense). A rule
// is data, as in Zennit (LrpRule below: input modifiers, parameter modifiers, a
// stabilizer and a combination); the rules built in (lrp_rules.cpp):
//   0          R_i = x_i sum_j w_ij R_j / z_j,  z_j = sum_i x_i w_ij + b_j  (no stabilizer:
//              a denominator that is exactly 0 gives 0, its relevance is dropped)
//   epsilon    z_j -> z_j + eps sign(z_j), sign(0) = +1, eps = 1e-6 by default
//   gamma      the generalized gamma rule (Montavon et al. 2019; Andeol et al. 2021; Zennit's
//              Gamma): where z_j > 0 the contributions that raise z_j are favoured,
//              x+ (w + gamma w+) + x- (w + gamma w-) (+ b + gamma b+); where z_j < 0 those that
//              lower it, x+ (w + gamma w-) + x- (w + gamma w+) (+ b + gamma b-). The
//              denominator has the sign of z_j and |den| >= |z_j|, so relevance cannot blow
//              up on signed inputs or negative outputs. gamma = 0.25 by default.
//   gamma-positive  the original gamma rule for positive inputs: w -> w + gamma w+,
//              b -> b + gamma b+ for every input sign (what "gamma" meant before issue 12). With signed
//              inputs its denominator can approach 0 and the relevance explode.
//   alphaAbetaB (alpha - beta = 1; alpha1beta0, alpha2beta1, ...): positive contributions
//              x+ w+ + x- w- (+ b+) and negative ones x+ w- + x- w+ (+ b-) propagated
//              separately, R_i = alpha R+_i - beta R-_i
//   zplus      alpha1beta0 without the bias
//   wsquare    R_i = sum_j w_ij^2 / sum_i w_ij^2 R_j (independent of x; bias ignored)
//   flat       as wsquare with all weights 1
//   zbox       z^B: R_i = sum_j (x_i w_ij - l_i w+_ij - h_i w-_ij) / sum_i(...) R_j with
//              [l, h] the data range of the layer's input (bias ignored)
// Other operations: activations (and PRelu) pass relevance unchanged; max pooling gives it
// to the winner; average pooling, Add, broadcasting Add/Sub and scaling by a constant
// split it in proportion to the contributions (LRP-0: R_k = x_k J_k^T (R / out), a
// constant term is a bias and absorbs its share); Concat, Reshape, Transpose and Pad move
// it with the values. Standardize passes relevance unchanged (decision: the relevance of a
// standardized value is the relevance of its raw column, measured against the training
// mean, the standardized zero). Canonization folds BatchNorm into the Dense or Conv layer
// feeding it; an unfolded BatchNorm is a per-channel linear layer with rule 0.
// Particle Flow Networks (ops/preprocess.hpp, ops/linear.hpp, ops/pooling.hpp): ParticleDense is a linear layer (same
// rules, counted as a layer Lk for composites and --layer-rule, a "dense" layer of a composite); ParticleStandardize
// passes relevance unchanged to the flat p{i}_{q} columns (like Standardize); ParticlePool (masked sum or mean) splits
// it in proportion, R_p = x_p / out * R (mean: the same proportions), padded particles get exactly 0 and the raw input
// it reads the mask from gets none; ReduceSum / ReduceMean split proportionally like average pooling. Softmax between
// the inputs and the target, products of two tensors and unknown operations are refused with an Error naming the
// operation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

// ---- rules as data -------------------------------------------------------------------
// A linear layer computes z_j = sum_i x_i w_ij + b_j. A rule is a list of terms, each
// grouped under one denominator:
//   term t:   input modifier m_t (x, x+, x-, ones, the data range's low or high bound),
//             parameter modifier f_t applied to the weights (and to the bias, or no bias),
//             a sign s_t (+1, or -1 to subtract the term);
//   group g:  D_gj = sum_{t in g} s_t (sum_i m_t(x)_i f_t(w)_ij + f_t(b)_j), stabilized as
//             D + eps sign(D) (sign(0) = +1); a gate (every output, or only outputs with
//             z_j > 0, or z_j < 0) and a weight c_g (alpha, -beta, 1).
//   R_i = sum_g c_g sum_j gate_gj R_j / D_gj sum_{t in g} s_t m_t(x)_i f_t(w)_ij
// The bias terms, the stabilizer, denominators that are exactly 0 and the relevance that
// the weights c_g do not hand on are booked in the conservation report. See
// docs/architecture.md for adding a rule.
enum class LrpInput { Identity, Positive, Negative, Ones, Low, High };
enum class LrpGate { All, PositiveOutput, NegativeOutput };

struct LrpTerm {
  LrpInput input = LrpInput::Identity;
  std::function<double(double)> param;  // weight (and bias) modifier; empty: unchanged
  bool bias = true;                     // the term carries f(b); false: no bias
  int group = 0;
  double sign = 1.0;
};

struct LrpGroup {
  double weight = 1.0;  // c_g: alpha, -beta, 1
  LrpGate gate = LrpGate::All;
};

struct LrpRule {
  std::string label;  // "epsilon", "alpha2beta1", ... as parse_lrp_rule reads it
  std::vector<LrpTerm> terms;
  std::vector<LrpGroup> groups{LrpGroup{}};
  double epsilon = 0.0;  // stabilizer of the denominators
  std::string name() const { return label; }
  bool uses_bounds() const;  // a term reads the data range (zbox)
};

// The rules built in (lrp_rules.cpp), each a few lines of data.
namespace lrp_rules {
LrpRule zero();
LrpRule epsilon(double eps = 1e-6);
LrpRule gamma(double gamma = 0.25);           // generalized, signed inputs and outputs
LrpRule gamma_positive(double gamma = 0.25);  // w + gamma w+ everywhere
LrpRule alpha_beta(double alpha, double beta);
LrpRule zplus();
LrpRule wsquare();
LrpRule flat();
LrpRule zbox();
}  // namespace lrp_rules

// "0", "epsilon", "gamma", "gamma-positive", "alpha1beta0", "alpha2beta1", "alphaAbetaB"
// (alpha - beta = 1), "zplus", "wsquare", "flat", "zbox". Unknown: Error listing the names.
LrpRule parse_lrp_rule(const std::string& name, double epsilon = 1e-6, double gamma = 0.25);

// Which rule each linear layer (Dense, Conv) gets.
struct LrpComposite {
  std::string name;                          // preset name or "rule:R"
  std::optional<LrpRule> all;                // --rule R: every layer (nothing else at the input)
  LrpRule input, dense, conv;                // the first linear layer(s); other Dense; other Conv
  std::map<std::string, LrpRule> overrides;  // by layer name (Lk) or node name
  // The rule of one linear layer: `all`, else by position (an input layer: no linear
  // layer before it) and type, then an override by layer name, then by node name.
  const LrpRule& rule_for(bool input_layer, bool conv, const std::string& layer, const std::string& node) const;
};
// Presets: epsilon-gamma-box (zbox input, gamma conv, epsilon dense; the default),
// epsilon-plus (zplus conv, epsilon dense and input), epsilon-plus-flat (flat input),
// epsilon-alpha2beta1 (alpha2beta1 conv), box-alpha1beta0-epsilon (zbox input,
// alpha1beta0 conv, epsilon dense). Unknown: Error listing them.
LrpComposite lrp_composite(const std::string& name, double epsilon = 1e-6, double gamma = 0.25);
LrpComposite lrp_single_rule(const LrpRule& rule);
std::vector<std::string> lrp_composite_names();
// "L1=zplus,L3=epsilon,conv2=flat" onto a composite.
void add_lrp_overrides(LrpComposite& c, const std::string& spec, double epsilon = 1e-6, double gamma = 0.25);

// Copy of `net` with every BatchNorm that follows a Dense or Conv (whose output feeds only
// it) folded into that layer. Same function, fewer ops.
Network canonize(const Network& net);

// The data range at the input of every zbox layer (its node name -> per-element low and
// high), which the zbox rule reads. Ranges over disjoint events merge exactly (min, max), so
// a run over chunks or MPI ranks finds the whole sample's range in a first pass.
struct LrpBounds {
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> range;
  bool empty() const { return range.empty(); }
  void merge(const LrpBounds& other);
  nlohmann::json to_json() const;
  static LrpBounds from_json(const nlohmann::json& j);
  std::string fingerprint() const;  // "" when empty
};

struct LrpOptions {
  LrpComposite composite = lrp_composite("epsilon-gamma-box");
  std::string neuron;  // "" = output:pre (the logit before a final sigmoid/tanh/softmax)
  bool canonize = true;
  Index batch = 1024;
  double epsilon = 1e-6;              // the epsilon the composite was built with (reported in the result)
  Index bins = 10;                    // profile bins of the aggregation
  Index rows = 15;                    // rows of table() (0: all)
  std::vector<std::string> profiles;  // inputs whose profile table table() prints
  LrpBounds bounds;                   // zbox ranges to use (empty: from the events at hand)
  ProgressCallback progress;          // not used by the computation: events (or steps) done, for a bar
};

// Per-event relevances and the conservation report.
struct LrpRelevance {
  std::string target;                    // neuron name explained, e.g. "output:pre"
  std::vector<std::string> features;     // one per input element (flat inputs: column names;
                                         // tensor inputs: name[i,j,...])
  std::vector<std::string> layer_rules;  // "L1 (Dense): epsilon" ...
  Tensor relevance;                      // [N, features]
  Tensor inputs;                         // [N, features] the input values
  std::vector<double> output;            // relevance at the target (its value), per event
  std::vector<double> input_sum;         // sum of input relevances, per event
  std::vector<double> bias;              // absorbed by bias terms, per event
  std::vector<double> epsilon;           // absorbed by the epsilon stabilizer, per event
  std::vector<double> other;             // dropped at zero denominators or by beta with no
                                         // negative part, per event
  LrpBounds bounds;                      // the zbox ranges used (empty: no zbox layer)
};

// Relevance of one neuron for every event (batched, parallel; no dependence on threads).
// The same on input tensors already gathered (one per input node).
LrpRelevance lrp(const Network& net, const std::vector<Tensor>& inputs, const LrpOptions& options);

// The target an explanation uses by default: output:pre when the output node is an
// activation (sigmoid, tanh, softmax), else output. `note` says what was chosen.
std::string default_target(const Network& net, std::string* note = nullptr);

struct ConservationSummary {
  double mean_abs_error = 0;  // mean |output relevance - sum of input relevances|
  double mean_abs_bias = 0, mean_abs_epsilon = 0, mean_abs_other = 0;
  double max_abs_unexplained = 0;  // max |output - sum - bias - epsilon - other| (round-off)
  double mean_output = 0;
  nlohmann::json to_json() const;
};
ConservationSummary summarize_conservation(const LrpRelevance& r);
// The zbox ranges lrp() would read on these inputs (empty without a zbox layer): one forward
// pass. Merged over every chunk or rank and passed in LrpOptions::bounds, the chunks see the
// whole sample's range.
LrpBounds lrp_bounds(const Network& net, const std::vector<Tensor>& inputs, const LrpOptions& options);

// The mergeable sums behind a ConservationSummary.
struct ConservationAccumulator {
  double events = 0, abs_error = 0, abs_bias = 0, abs_epsilon = 0, abs_other = 0, output = 0;
  double max_abs_unexplained = 0;
  void add(const LrpRelevance& r);
  void merge(const ConservationAccumulator& other);
  ConservationSummary finish() const;
  nlohmann::json to_json() const;
  static ConservationAccumulator from_json(const nlohmann::json& j);
};

// ---- aggregation (shared with the gradient attributions) ----------------------------
struct AggregationOptions {
  Index bins = 10;  // profile bins (equal width between the 1% and 99% quantiles)
  Index top = 10;   // rows in the terminal table
};

// One model's aggregates of per-event scores S [N, F] (relevances or attributions).
struct Aggregation {
  std::vector<std::string> features;
  std::vector<double> mnr;                     // mean normalized relevance per feature
  std::vector<std::vector<double>> mnr_class;  // [class 0, class 1][feature] (empty: no labels)
  std::vector<double> mean;                    // mean signed score per feature
  // Profiles: per feature, bin edges (bins + 1), mean score and event count per bin.
  std::vector<std::vector<double>> profile_edges, profile_mean, profile_count;
  // Maps for particle-list or image inputs: per class (-1 = all events, 0, 1), the mean
  // absolute normalized score laid out [rows, cols] (particles x quantities).
  std::vector<std::string> map_rows, map_cols;
  std::vector<std::vector<double>> map;  // [all, class 0, class 1][rows * cols]
};
struct RelevanceAccumulator;
Aggregation aggregate(const std::vector<std::string>& features, const Tensor& scores, const Tensor& inputs,
                      const std::vector<double>& labels, const AggregationOptions& options);
// The same, also returning the sums behind the means (`sums`, for a merge state).
Aggregation aggregate(const std::vector<std::string>& features, const Tensor& scores, const Tensor& inputs,
                      const std::vector<double>& labels, const AggregationOptions& options, RelevanceAccumulator& sums);

// Mean and standard deviation (n - 1) across models of the same architecture.
// The mergeable sums behind an Aggregation's means (mean normalized relevance per feature
// and class, mean signed score, maps): tiles of events are added, accumulators over
// disjoint events merge, finish() divides. (Profiles need quantiles of the whole data and
// are not part of it.)
struct RelevanceAccumulator {
  Index features = 0;
  bool classes = false, has_map = false;
  std::vector<std::string> map_rows, map_cols;
  std::vector<Index> cell;
  std::vector<double> mnr, mean;
  std::vector<std::vector<double>> mnr_class, map;
  double events = 0, used = 0;
  double class_events[2] = {0, 0};

  RelevanceAccumulator() = default;
  RelevanceAccumulator(const std::vector<std::string>& features, bool classes);
  // `count` events of scores [count, features] (row-major) and, with classes, their labels.
  void add(const double* scores, Index count, const double* labels = nullptr);
  void merge(const RelevanceAccumulator& other);
  // Fill mnr, mnr_class, mean, map_rows, map_cols, map of `a`.
  void finish(Aggregation& a) const;
  nlohmann::json to_json() const;  // the sums (features and layout come from the result)
  // The sums of to_json() for these features: Error when they do not fit.
  static RelevanceAccumulator from_json(const nlohmann::json& j, const std::vector<std::string>& features,
                                        bool classes);
};

struct AggregateSummary {
  Index models = 0;
  Aggregation mean, std;  // std fields empty when models == 1
  std::string table(Index rows) const;
  // The profile of one feature: mean score per bin of its value (+- std across models).
  // Unknown feature: Error listing a few names.
  std::string profile_table(const std::string& feature) const;
  nlohmann::json to_json() const;
};
AggregateSummary combine(const std::vector<Aggregation>& per_model);

// Share of the total mean normalized relevance held by features whose name starts with
// `prefix` (e.g. "xaug_").
double mnr_share(const Aggregation& a, const std::string& prefix);

// ---- the method's result ---------------------------------------------------------

// LRP on events: the relevances of the first model's events, its conservation report and
// the aggregation; combine() of several results (trainings of one architecture) gives mean
// +- std across them. table() and to_json() are what `unbox lrp` prints.
struct LrpResult {
  std::string target, note, composite;
  std::vector<std::string> models;  // one name per model (set by the caller; default "model")
  std::vector<std::string> layer_rules;
  double epsilon = 1e-6;
  bool canonized = true;
  Index events = 0;
  LrpRelevance relevance;                         // per event (the first model)
  std::vector<double> labels;                     // per event (empty without labels)
  std::vector<ConservationSummary> conservation;  // per model
  std::vector<Aggregation> per_model;
  AggregateSummary summary;
  Index rows = 15;
  std::vector<std::string> profiles;
  // The merge state, per model: the sums behind the means and the conservation report, the
  // network's fingerprint and the zbox ranges used. Profiles need quantiles of the whole
  // sample and are not part of it: a streamed or merged result has none (`streamed`).
  std::vector<RelevanceAccumulator> sums;
  std::vector<ConservationAccumulator> conservation_sums;
  std::vector<std::string> fingerprints;
  std::vector<LrpBounds> bounds;
  bool streamed = false;

  std::string table() const;
  nlohmann::json to_json() const;  // with "state": {"method": "lrp", "key", "sums"}
  // The result rebuilt from to_json()'s state (means recomputed, no profiles): Error otherwise.
  static LrpResult from_json(const nlohmann::json& j);
  // R_<feature>, R_output, R_input_sum, R_bias, R_epsilon, R_other (and label) per event.
  Dataset per_event_dataset() const;
};

LrpResult lrp(const Network& model, const Events& events, const LrpOptions& options);
// Mean +- std over several models' results on the same events (the first keeps its per-event values).
LrpResult combine(std::vector<LrpResult> per_model);
// Sums of one model over one part of the events (a chunk, a file, an MPI rank's range): no
// per-event values kept, no profiles (`streamed` set). Parts merged in event order equal
// lrp() on all events up to summation order (bit for bit when the parts are added in one
// accumulator, as a run over chunks does).
LrpResult lrp_part(const Network& model, const Events& events, const LrpOptions& options);
// Add the sums of `later` (a part over later events; same models, options and zbox ranges:
// Error naming the first difference) and recompute the means.
void merge(LrpResult& into, const LrpResult& later);

// Per-event scores [N, features] as columns PREFIX<feature> of a new dataset.
Dataset score_columns(const std::string& prefix, const std::vector<std::string>& features, const Tensor& scores);
// The feature names of events' inputs, concatenated (flat inputs: data columns; tensors: NAME[i,j]).
std::vector<std::string> event_feature_names(const Events& events);

}  // namespace unbox
