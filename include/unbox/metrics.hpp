// Metrics for binary classifiers: ROC, AUC, signal efficiency at fixed background
// efficiency, and the approximate median significance (AMS, Roxlo & Reece eq. 5).
// Labels are 1 (signal) and 0 (background); a larger score is more signal-like.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "unbox/core.hpp"

namespace unbox {

struct RocCurve {
  // One point per distinct score threshold, from the highest threshold down, starting
  // at (0, 0): fpr[k], tpr[k] are the weighted fractions with score >= thresholds[k].
  // The same points as scikit-learn's roc_curve(drop_intermediate=False).
  std::vector<double> thresholds;
  std::vector<double> fpr;
  std::vector<double> tpr;
};

// Weighted ROC; `weights` may be empty (all 1). Ties are grouped into one point.
RocCurve roc_curve(std::span<const double> scores, std::span<const double> labels,
                   std::span<const double> weights = {});

// Weighted area under the ROC curve, ties counted one half (trapezoid over tied groups),
// O(n log n). Equals sklearn.metrics.roc_auc_score(labels, scores, sample_weight=weights).
double auc(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights = {});

// Signal efficiency at the given background efficiency, interpolated linearly on the ROC.
double sig_eff_at_bkg_eff(const RocCurve& roc, double bkg_eff);

// AMS = sqrt(2 ((s + b + br) ln(1 + s / (b + br)) - s)).
double ams(double s, double b, double br = 10.0);

struct AmsScan {
  double best = 0.0;       // the largest AMS over thresholds
  double threshold = 0.0;  // events with score >= threshold are selected
  double s = 0.0;          // selected signal and background (weights times lumi)
  double b = 0.0;
  std::vector<double> thresholds;  // every distinct score, descending
  std::vector<double> values;      // AMS when selecting score >= thresholds[k]
};

// Scan every distinct score as a threshold. s and b are lumi times the summed weights of
// the selected signal and background events (weights read as expected events per fb^-1).
AmsScan ams_scan(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights,
                 double lumi = 1.0, double br = 10.0);

// Events sorted by score, highest first, ties in event order: everything the ROC, the AUC
// and the AMS scan need, in a form that merges exactly. Runs over consecutive parts of a
// sample (chunks, files, MPI ranks) merged in order are the run of the whole sample, bit for
// bit, and so is every metric computed from it (the sums below add in the run's order).
struct ScoreRun {
  std::vector<double> scores;        // descending
  std::vector<std::uint8_t> labels;  // 1 signal, 0 background
  std::vector<double> weights;       // empty: every weight 1
  size_t size() const { return scores.size(); }
  // The run of `scores`: validated as the metrics validate (labels exactly 0 or 1, no NaN
  // score, finite weights; `what` names the caller in messages). `weights` may be empty.
  static ScoreRun sort(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights,
                       const std::string& what = "scores");
  // Merge in the run of later events (equal scores: this run's events first). Both weighted
  // or both not (Error otherwise; an empty run merges with either).
  void merge(const ScoreRun& later);
};
RocCurve roc_curve(const ScoreRun& run);
double auc(const ScoreRun& run);
AmsScan ams_scan(const ScoreRun& run, double lumi = 1.0, double br = 10.0);

}  // namespace unbox
