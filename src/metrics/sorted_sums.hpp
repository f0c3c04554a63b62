// Private to src/metrics: the one sort that ROC, AUC and the AMS scan share.
// Events are sorted by score, highest first, and grouped by identical score; for each
// group we keep the cumulative signal and background weight of all events with
// score >= that group's score. Every metric is then a single pass over the groups.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "unbox/metrics.hpp"

namespace unbox::metrics_detail {

struct SortedSums {
  std::vector<double> scores;  // distinct scores, descending
  std::vector<double> sig;     // cumulative signal weight with score >= scores[k]
  std::vector<double> bkg;     // cumulative background weight with score >= scores[k]
  double total_sig = 0.0;      // == sig.back() (kept separately for readability)
  double total_bkg = 0.0;
  long long n_sig = 0;  // unweighted event counts
  long long n_bkg = 0;
};

// Validates the inputs (equal lengths, labels exactly 0 or 1, no NaN scores or weights;
// `what` names the caller in error messages) and builds the groups. `weights` may be empty.
SortedSums sorted_sums(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights,
                       const std::string& what);
// The groups of a sorted run (ScoreRun::sort validated it); Error when it is empty.
SortedSums sorted_sums(const ScoreRun& run, const std::string& what);

}  // namespace unbox::metrics_detail
