// Approximate median significance (Roxlo & Reece eq. 5, from the Higgs ML challenge)
// and its scan over score thresholds.
#include <fmt/format.h>

#include <cmath>

#include "metrics/sorted_sums.hpp"
#include "unbox/metrics.hpp"

namespace unbox {

double ams(double s, double b, double br) {
  const double denom = b + br;
  if (!(denom > 0.0))
    throw Error(fmt::format("AMS needs b + br > 0 (b = {}, br = {}); negative weights can cause this", b, br));
  if (!(s > -denom)) throw Error(fmt::format("AMS needs s > -(b + br) (s = {}, b = {}, br = {})", s, b, br));
  // log1p keeps precision for s << b, where the bracket is a difference of nearly equal terms.
  const double radicand = 2.0 * ((s + denom) * std::log1p(s / denom) - s);
  // The bracket is >= 0 mathematically (convexity); round-off can make it -1e-17.
  return std::sqrt(radicand > 0.0 ? radicand : 0.0);
}

namespace {
void check_lumi(double lumi) {
  if (!(lumi > 0.0) || !std::isfinite(lumi))
    throw Error(fmt::format("luminosity must be a positive number, got {}", lumi));
}

AmsScan scan(const metrics_detail::SortedSums& g, double lumi, double br) {
  AmsScan out;
  out.thresholds = g.scores;
  out.values.resize(g.scores.size());
  bool first = true;
  for (size_t k = 0; k < g.scores.size(); ++k) {
    const double s = lumi * g.sig[k];
    const double b = lumi * g.bkg[k];
    const double v = ams(s, b, br);
    out.values[k] = v;
    // Strictly greater: among equal maxima keep the highest threshold (the tighter cut).
    if (first || v > out.best) {
      first = false;
      out.best = v;
      out.threshold = g.scores[k];
      out.s = s;
      out.b = b;
    }
  }
  return out;
}
}  // namespace

AmsScan ams_scan(std::span<const double> scores, std::span<const double> labels, std::span<const double> weights,
                 double lumi, double br) {
  check_lumi(lumi);
  return scan(metrics_detail::sorted_sums(scores, labels, weights, "AMS scan"), lumi, br);
}

AmsScan ams_scan(const ScoreRun& run, double lumi, double br) {
  check_lumi(lumi);
  return scan(metrics_detail::sorted_sums(run, "AMS scan"), lumi, br);
}

}  // namespace unbox
