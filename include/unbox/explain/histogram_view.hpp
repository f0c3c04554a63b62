// Data views for the paper's figures: 1-D and 2-D histograms of columns or neurons for
// signal, background and their ratio, each normalized per class (Roxlo & Reece Figures 16,
// 26, 27); a variable in quantile slices of another (Figure 20); two variables' NMI
// (Figure 9). Binning follows numpy.histogram exactly (equal-width bins, the last bin
// closed), so a result can be checked bin by bin against NumPy.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "unbox/core.hpp"

namespace unbox {

struct Axis {
  std::string name;
  Index bins = 40;
  // Range; unset: min and max of the finite values (numpy's default, +-0.5 when equal).
  std::optional<double> lo, hi;
};

// Equal-width edges as numpy.linspace(lo, hi, bins + 1).
std::vector<double> histogram_edges(double lo, double hi, Index bins);
// numpy.histogram's bin of v for those edges: -1 outside [lo, hi] (the last bin is closed).
Index histogram_bin(double v, const std::vector<double>& edges);

struct HistogramViewOptions {
  Axis x;
  std::optional<Axis> y;   // 2-D when set
  std::string slice_name;  // slices of this variable (1-D only); "" = none
  Index slices = 3;        // equal-population slices by numpy.quantile (linear)
  Index nmi_bins = 20;     // 2-D: equal-frequency bins of the NMI (as unbox mi)
};

// Per-class weighted contents: raw sums of weights, and normalized to unit sum over the
// bins (numpy: h / h.sum()). For 2-D, index ix * ybins + iy.
struct ClassHistogram {
  std::string name;      // "all", "signal", "background", or a slice's label
  Index events = 0;      // events of this class (finite, inside or outside the range)
  double weight = 0.0;   // their total weight
  double outside = 0.0;  // weight outside the range (underflow + overflow)
  std::vector<double> sum;
  std::vector<double> normalized;
};

struct HistogramSlice {
  std::string label;          // "most signal-like" ... "most background-like" (by position)
  double lo = 0.0, hi = 0.0;  // the slice variable's range [lo, hi) (last closed)
  ClassHistogram all, signal, background;
};

struct HistogramViewResult {
  std::string x, y;  // y empty for 1-D
  std::vector<double> x_edges, y_edges;
  bool labelled = false;  // signal/background/ratio present
  Index events = 0;       // events given
  Index non_finite = 0;   // events skipped: a non-finite value of x, y or the slice variable
  ClassHistogram all, signal, background;
  // signal.normalized / background.normalized per bin; NaN (JSON null) where background is 0.
  std::vector<double> ratio;
  // Slices (1-D): of `slice_name`, highest values first (for a discriminant, the most
  // signal-like events first), quantile boundaries as numpy.quantile.
  std::string slice_name;
  std::vector<HistogramSlice> slices;
  // 2-D: normalized mutual information of x and y (all events; unbox mi's eq. 1 estimator).
  std::optional<double> nmi;
  Index nmi_bins = 0;
  // Display hint for the report: a logarithmic vertical axis.
  bool log_y = false;
  // Provenance for captions: data file, cuts with their event counts, weight column, model.
  nlohmann::ordered_json provenance = nlohmann::ordered_json::object();

  // {"type": "histogram", "dimensions", "x": {"name", "edges"}, ["y"], "classes": {...},
  //  "ratio", "slices", "nmi", "provenance"}; NaN as null.
  nlohmann::ordered_json to_json() const;
  // Terminal view: Unicode bars per bin (1-D; signal and background side by side) or a
  // shaded grid of the signal/background ratio (2-D).
  std::string table() const;
};

// `x` (and `y`, `slice` when the options ask for them) hold one value per event; `labels`
// is empty (no classes) or 0/1 per event; `weights` empty (1) or per event.
HistogramViewResult histogram_view(std::span<const double> x, std::span<const double> y, std::span<const double> slice,
                                   std::span<const double> labels, std::span<const double> weights,
                                   const HistogramViewOptions& options);

}  // namespace unbox
