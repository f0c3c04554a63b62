// Metrics for binary classifiers: ROC, AUC, signal efficiency at fixed background
// efficiency, and the approximate median significance (AMS, Roxlo & Reece eq. 5).
// Labels are 1 (signal) and 0 (background); a larger score is more signal-like.
#pragma once

#include <span>
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

}  // namespace unbox
