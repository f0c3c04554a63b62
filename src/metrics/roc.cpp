// ROC curve, AUC and signal efficiency at fixed background efficiency.
//
// Everything is computed from one sort by score followed by sums in a fixed order
// (descending score, then event index), so results are identical for any number of
// threads and any platform's std::sort. Sums are compensated (Neumaier) because
// weighted samples of millions of events with weights spanning orders of magnitude
// are common in HEP, and the ROC's last point should be exactly (1, 1).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "metrics/sorted_sums.hpp"
#include "unbox/metrics.hpp"

namespace unbox {

namespace metrics_detail {

namespace {

// Neumaier's variant of Kahan summation: also correct when the addend is larger than the sum.
struct CompensatedSum {
  double sum = 0.0;
  double c = 0.0;
  void add(double x) {
    double t = sum + x;
    if (std::abs(sum) >= std::abs(x))
      c += (sum - t) + x;
    else
      c += (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + c; }
};

}  // namespace

SortedSums sorted_sums(const ScoreRun& run, const std::string& what) {
  const size_t n = run.size();
  if (n == 0) throw Error(fmt::format("{}: no events", what));
  SortedSums out;
  CompensatedSum sig, bkg;
  size_t i = 0;
  while (i < n) {
    const double s = run.scores[i];
    for (; i < n && run.scores[i] == s; ++i) {
      const double w = run.weights.empty() ? 1.0 : run.weights[i];
      if (run.labels[i] == 1) {
        sig.add(w);
        ++out.n_sig;
      } else {
        bkg.add(w);
        ++out.n_bkg;
      }
    }
    out.scores.push_back(s);
    out.sig.push_back(sig.value());
    out.bkg.push_back(bkg.value());
  }
  out.total_sig = out.sig.back();
  out.total_bkg = out.bkg.back();
  return out;
}

SortedSums sorted_sums(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights,
                       const std::string& what) {
  return sorted_sums(ScoreRun::sort(scores, labels, weights, what), what);
}

}  // namespace metrics_detail

ScoreRun ScoreRun::sort(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights,
                        const std::string& what) {
  const size_t n = scores.size();
  if (labels.size() != n) throw Error(fmt::format("{}: {} scores but {} labels", what, n, labels.size()));
  if (!weights.empty() && weights.size() != n)
    throw Error(fmt::format("{}: {} scores but {} weights", what, n, weights.size()));
  if (n == 0) throw Error(fmt::format("{}: no events", what));
  require_binary_labels(labels, what + ": the labels");
  for (size_t i = 0; i < n; ++i) {
    // NaN would break the strict weak ordering of the sort (undefined behaviour).
    if (std::isnan(scores[i])) throw Error(fmt::format("{}: score of event {} is NaN", what, i + 1));
    if (!weights.empty() && !std::isfinite(weights[i]))
      throw Error(fmt::format("{}: weight of event {} is {}", what, i + 1, weights[i]));
  }
  // Sort (score, index) pairs: contiguous keys sort faster than an index array with
  // indirect comparisons, and the index makes the order total, hence reproducible.
  struct Key {
    double score;
    std::int64_t index;
  };
  std::vector<Key> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = {scores[i], static_cast<std::int64_t>(i)};
  std::sort(keys.begin(), keys.end(),
            [](const Key& a, const Key& b) { return a.score > b.score || (a.score == b.score && a.index < b.index); });
  ScoreRun run;
  run.scores.resize(n);
  run.labels.resize(n);
  if (!weights.empty()) run.weights.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const auto e = static_cast<size_t>(keys[i].index);
    run.scores[i] = keys[i].score;
    run.labels[i] = labels[e] == 1.0 ? 1 : 0;
    if (!weights.empty()) run.weights[i] = weights[e];
  }
  return run;
}

void ScoreRun::merge(const ScoreRun& later) {
  if (later.size() == 0) return;
  if (size() == 0) {
    *this = later;
    return;
  }
  if (weights.empty() != later.weights.empty())
    throw Error("cannot merge the scores of weighted and unweighted events");
  const bool w = !weights.empty();
  ScoreRun out;
  const size_t n = size() + later.size();
  out.scores.reserve(n), out.labels.reserve(n);
  if (w) out.weights.reserve(n);
  size_t i = 0, j = 0;
  auto take = [&](const ScoreRun& r, size_t& k) {
    out.scores.push_back(r.scores[k]);
    out.labels.push_back(r.labels[k]);
    if (w) out.weights.push_back(r.weights[k]);
    ++k;
  };
  // The earlier events win ties: the order of one sort over the whole sample (score, then event).
  while (i < size() && j < later.size()) {
    if (later.scores[j] > scores[i])
      take(later, j);
    else
      take(*this, i);
  }
  while (i < size()) take(*this, i);
  while (j < later.size()) take(later, j);
  *this = std::move(out);
}

namespace {

using metrics_detail::SortedSums;

void require_both_classes(const SortedSums& g, const char* what) {
  if (g.n_sig == 0 || g.n_bkg == 0)
    throw Error(fmt::format("{} needs both signal and background events (got {} signal, {} background)", what, g.n_sig,
                            g.n_bkg));
  // With negative weights a class can sum to zero; the fractions would then be 0/0.
  if (g.total_sig == 0.0 || g.total_bkg == 0.0)
    throw Error(fmt::format("{}: the {} weights sum to zero", what, g.total_sig == 0.0 ? "signal" : "background"));
}

RocCurve roc_from(const SortedSums& g) {
  require_both_classes(g, "ROC");
  RocCurve roc;
  const size_t m = g.scores.size();
  roc.thresholds.reserve(m + 1);
  roc.fpr.reserve(m + 1);
  roc.tpr.reserve(m + 1);
  // The first point selects nothing. Its threshold is +inf (as in scikit-learn >= 1.3;
  // 1.2 used max + 1, which equals max for scores beyond 2^53 and so selects something).
  roc.thresholds.push_back(std::numeric_limits<double>::infinity());
  roc.fpr.push_back(0.0);
  roc.tpr.push_back(0.0);
  for (size_t k = 0; k < m; ++k) {
    roc.thresholds.push_back(g.scores[k]);
    roc.fpr.push_back(g.bkg[k] / g.total_bkg);
    roc.tpr.push_back(g.sig[k] / g.total_sig);
  }
  return roc;
}

double auc_from(const SortedSums& g) {
  require_both_classes(g, "AUC");
  // Sum over groups of (background weight in group) x (signal weight ranked above it
  // + half the signal weight tied with it): the weighted Mann-Whitney count, which is
  // exactly the trapezoid area under the grouped ROC.
  double area = 0.0, c = 0.0;  // Neumaier, inline to keep the loop tight
  double sig_prev = 0.0, bkg_prev = 0.0;
  for (size_t k = 0; k < g.scores.size(); ++k) {
    const double dsig = g.sig[k] - sig_prev;
    const double dbkg = g.bkg[k] - bkg_prev;
    const double x = dbkg * (sig_prev + 0.5 * dsig);
    const double t = area + x;
    c += std::abs(area) >= std::abs(x) ? (area - t) + x : (x - t) + area;
    area = t;
    sig_prev = g.sig[k];
    bkg_prev = g.bkg[k];
  }
  return (area + c) / (g.total_sig * g.total_bkg);
}

}  // namespace

RocCurve roc_curve(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights) {
  return roc_from(metrics_detail::sorted_sums(scores, labels, weights, "ROC"));
}
RocCurve roc_curve(const ScoreRun& run) { return roc_from(metrics_detail::sorted_sums(run, "ROC")); }

double auc(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights) {
  return auc_from(metrics_detail::sorted_sums(scores, labels, weights, "AUC"));
}
double auc(const ScoreRun& run) { return auc_from(metrics_detail::sorted_sums(run, "AUC")); }

double sig_eff_at_bkg_eff(const RocCurve& roc, double bkg_eff) {
  if (roc.fpr.empty() || roc.fpr.size() != roc.tpr.size())
    throw Error("signal efficiency at background efficiency: empty or malformed ROC curve");
  if (!(bkg_eff >= 0.0 && bkg_eff <= 1.0))
    throw Error(fmt::format("background efficiency must be between 0 and 1, got {}", bkg_eff));
  // Points with the same fpr form vertical steps; take the highest tpr reached at
  // fpr <= bkg_eff (the best cut allowed), then interpolate towards the next point.
  // A linear scan rather than a binary search: with negative weights fpr need not be monotone.
  size_t j = 0;
  while (j < roc.fpr.size() && roc.fpr[j] <= bkg_eff) ++j;
  if (j == 0) return 0.0;  // only with negative weights: no point at or below bkg_eff
  const size_t k = j - 1;
  if (j == roc.fpr.size() || roc.fpr[k] == bkg_eff) return roc.tpr[k];
  const double f = (bkg_eff - roc.fpr[k]) / (roc.fpr[j] - roc.fpr[k]);
  return roc.tpr[k] + f * (roc.tpr[j] - roc.tpr[k]);
}

}  // namespace unbox
