// Classifier performance of a score on labelled events: AUC, ROC, signal efficiency at
// fixed background efficiencies, event counts and weight sums, and (with weights) the AMS
// scan of Roxlo & Reece. The score is a neuron of the model (`neuron`) or a data column
// (`score`). `unbox eval` prints this result.
#pragma once
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "unbox/events.hpp"
#include "unbox/metrics.hpp"
#include "unbox/network.hpp"

namespace unbox {

struct EvalMetricsOptions {
  std::string neuron = "output";  // with a model: the neuron used as the score
  std::string score;              // a data column used as the score instead (no model needed)
  double lumi = 1.0;              // fb^-1, for the AMS (s, b = lumi x weights)
  double br = 10.0;               // AMS regularization b_r
  std::vector<double> background_efficiencies = {0.01, 0.1};
  Index batch = 4096;
  ProgressCallback progress;  // not used by the computation: events (or steps) done, for a bar
};

// The mergeable counts and weight sums per class.
struct EvalAccumulator {
  Index n_signal = 0, n_background = 0;
  double sum_w_signal = 0.0, sum_w_background = 0.0;
  // Labels (0/1) and weights (empty: 1) of `count` events.
  void add(const double* labels, const double* weights, Index count);
  void merge(const EvalAccumulator& other);
};

struct EvalResult {
  std::string score_name, source;
  double auc = 0.0;
  EvalAccumulator counts;
  std::vector<double> background_efficiencies, signal_efficiencies;
  bool weighted = false;
  AmsScan ams;
  double lumi = 1.0, br = 10.0;
  RocCurve roc;
  std::vector<std::string> notes;  // e.g. a saturated tanh output
  // The merge state: every event's (score, label, weight) sorted by score (exact AUC, ROC
  // and AMS need them all), the model's fingerprint ("" for a data column) and the events
  // a tanh/sigmoid output saturates (`saturation`: "tanh", "sigmoid" or "").
  ScoreRun run;
  std::string model, saturation;
  Index saturated = 0;
  bool complete = true;  // false: no metrics (a part before finish(), or one class only)

  std::string table() const;
  // {"score", "auc", "n_signal", "n_background", "sum_w_signal", "sum_w_background",
  //  "sig_eff_at_bkg_eff": {"0.01", "0.1"}, with weights "ams": {...}}; with `state` also
  //  "state": {"method": "eval", "key": {what must agree to merge}, "run": {"scores",
  //  "labels" (a string of 0 and 1), "weights"}, ...}: 3 numbers per event, so the CLI
  //  writes it to result files (--out) and leaves it off the terminal.
  nlohmann::json to_json(bool state = false) const;
  // The result rebuilt from to_json(true)'s state (metrics recomputed): Error otherwise.
  static EvalResult from_json(const nlohmann::json& j);
  // thresholds, fpr, tpr
  Dataset roc_dataset() const;
};

EvalResult eval(const Network& model, const Events& events, const EvalMetricsOptions& options);
// The score is a column of the events' data (options.score).
EvalResult eval(const Events& events, const EvalMetricsOptions& options);
// On given scores.
EvalResult eval_scores(std::span<const double> scores, const Events& events, const std::string& score_name,
                       const EvalMetricsOptions& options);

// eval over one part of the events (a chunk, a file, an MPI rank's range): the sorted run,
// the counts and the options, no metrics yet (a part may hold one class only). Parts merged
// in event order and then finished equal eval() on all the events, bit for bit (the merged
// run is the whole sample's sort). `model` null: the score is the column options.score.
EvalResult eval_part(const Network* model, const Events& events, const EvalMetricsOptions& options);
// Merge the part over later events into `into` (Error when the score, weighting, AMS
// options, efficiencies or model differ), then finish() computes the metrics.
void merge(EvalResult& into, const EvalResult& later);
// The parts in event order merged into one (pairwise: O(events log parts)), not finished.
EvalResult merge(std::vector<EvalResult> parts);
// `partial`: a part of one class only (a file of signal or of background, for unbox merge)
// is kept without metrics (`complete` false) instead of being an Error.
void finish(EvalResult& r, bool partial = false);

}  // namespace unbox
