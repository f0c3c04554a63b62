// Histograms of columns and neurons by class, in quantile slices, with NMI (see
// histogram_view.hpp). Binning replicates numpy.histogram's equal-width path.
#include "unbox/explain/histogram_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "unbox/explain/mutual_info.hpp"

namespace unbox {

std::vector<double> histogram_edges(double lo, double hi, Index bins) {
  std::vector<double> e(static_cast<size_t>(bins + 1));
  const double step = (hi - lo) / static_cast<double>(bins);
  for (Index i = 0; i <= bins; ++i) e[static_cast<size_t>(i)] = static_cast<double>(i) * step + lo;
  e.back() = hi;
  return e;
}

Index histogram_bin(double v, const std::vector<double>& edges) {
  const Index n = static_cast<Index>(edges.size()) - 1;
  const double lo = edges.front(), hi = edges.back();
  if (!(v >= lo && v <= hi)) return -1;
  // numpy: floor((v - lo) * n / (hi - lo)), then corrected against the edges themselves.
  const double norm = static_cast<double>(n) / (hi - lo);
  Index i = static_cast<Index>((v - lo) * norm);
  if (i == n) --i;
  if (v < edges[static_cast<size_t>(i)]) --i;
  if (i < n - 1 && v >= edges[static_cast<size_t>(i + 1)]) ++i;
  return i;
}

namespace {

double quantile_linear(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= sorted.size()) return sorted.back();
  const double t = pos - static_cast<double>(i), a = sorted[i], b = sorted[i + 1];
  // numpy's _lerp: a + (b - a) t, from the upper end when t >= 0.5.
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

void check_axis(const Axis& a) {
  if (a.bins < 1 || a.bins > 100000) throw Error(fmt::format("'{}': {} bins; expected 1 to 100000", a.name, a.bins));
  if (a.lo && a.hi && !(*a.lo < *a.hi))
    throw Error(fmt::format("'{}': the range [{}, {}] is empty", a.name, *a.lo, *a.hi));
}

std::vector<double> edges_for(const Axis& a, std::span<const double> v, const std::vector<char>& ok) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (size_t e = 0; e < v.size(); ++e)
    if (ok[e]) {
      lo = std::min(lo, v[e]);
      hi = std::max(hi, v[e]);
    }
  if (!std::isfinite(lo)) lo = 0.0, hi = 1.0;
  if (lo == hi) lo -= 0.5, hi += 0.5;
  if (a.lo) lo = *a.lo;
  if (a.hi) hi = *a.hi;
  if (!(lo < hi)) throw Error(fmt::format("'{}': the range [{}, {}] is empty", a.name, lo, hi));
  return histogram_edges(lo, hi, a.bins);
}

void normalize(ClassHistogram& h) {
  double s = 0.0;
  for (double v : h.sum) s += v;
  h.normalized.assign(h.sum.size(), 0.0);
  if (s > 0)
    for (size_t i = 0; i < h.sum.size(); ++i) h.normalized[i] = h.sum[i] / s;
}

nlohmann::ordered_json num(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }

nlohmann::ordered_json class_json(const ClassHistogram& h, Index ybins) {
  nlohmann::ordered_json j;
  j["events"] = h.events;
  j["weight"] = h.weight;
  j["outside_weight"] = h.outside;
  auto grid = [&](const std::vector<double>& v) {
    if (ybins == 0) return nlohmann::ordered_json(v);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (size_t i = 0; i < v.size(); i += static_cast<size_t>(ybins))
      rows.push_back(std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(i),
                                         v.begin() + static_cast<std::ptrdiff_t>(i + static_cast<size_t>(ybins))));
    return rows;
  };
  j["sum_weights"] = grid(h.sum);
  j["normalized"] = grid(h.normalized);
  return j;
}

std::string bar(double frac, int width) {
  static const char* eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const int units = static_cast<int>(std::lround(std::clamp(frac, 0.0, 1.0) * width * 8));
  std::string s;
  for (int i = 0; i < units / 8; ++i) s += "█";
  s += eighths[units % 8];
  const int cells = units / 8 + (units % 8 ? 1 : 0);
  s += std::string(static_cast<size_t>(width - cells), ' ');
  return s;
}

}  // namespace

HistogramViewResult histogram_view(std::span<const double> x, std::span<const double> y, std::span<const double> slice,
                                   std::span<const double> labels, std::span<const double> weights,
                                   const HistogramViewOptions& o) {
  const size_t n = x.size();
  const bool two_d = o.y.has_value();
  const bool sliced = !o.slice_name.empty();
  check_axis(o.x);
  if (two_d) check_axis(*o.y);
  if (two_d && sliced) throw Error("slices are drawn for 1-D histograms only");
  if (sliced && o.slices < 1) throw Error(fmt::format("{} slices; expected at least 1", o.slices));
  if ((two_d && y.size() != n) || (sliced && slice.size() != n) || (!labels.empty() && labels.size() != n) ||
      (!weights.empty() && weights.size() != n))
    throw Error("histogram_view: columns of different lengths");

  HistogramViewResult r;
  r.x = o.x.name;
  r.events = static_cast<Index>(n);
  r.labelled = !labels.empty();
  std::vector<char> ok(n, 1);
  for (size_t e = 0; e < n; ++e) {
    const bool fin = std::isfinite(x[e]) && (!two_d || std::isfinite(y[e])) && (!sliced || std::isfinite(slice[e])) &&
                     (weights.empty() || std::isfinite(weights[e]));
    if (!fin) {
      ok[e] = 0;
      ++r.non_finite;
    }
  }
  r.x_edges = edges_for(o.x, x, ok);
  const Index xb = o.x.bins, yb = two_d ? o.y->bins : 0;
  if (two_d) {
    r.y = o.y->name;
    r.y_edges = edges_for(*o.y, y, ok);
  }
  // Bin of every event once: -1 outside the range or non-finite.
  std::vector<Index> bin(n, -1);
  for (size_t e = 0; e < n; ++e) {
    if (!ok[e]) continue;
    const Index ix = histogram_bin(x[e], r.x_edges);
    if (ix < 0) continue;
    if (!two_d) {
      bin[e] = ix;
      continue;
    }
    const Index iy = histogram_bin(y[e], r.y_edges);
    if (iy >= 0) bin[e] = ix * yb + iy;
  }
  const size_t cells = static_cast<size_t>(two_d ? xb * yb : xb);
  // cls: -1 any, 0 background, 1 signal; lo/hi: slice range.
  auto fill = [&](ClassHistogram& h, const std::string& name, int cls, const std::vector<char>* member) {
    h.name = name;
    h.sum.assign(cells, 0.0);
    for (size_t e = 0; e < n; ++e) {
      if (!ok[e] || (member && !(*member)[e])) continue;
      if (cls >= 0 && (labels[e] == 1.0) != (cls == 1)) continue;
      const double w = weights.empty() ? 1.0 : weights[e];
      ++h.events;
      h.weight += w;
      if (bin[e] < 0)
        h.outside += w;
      else
        h.sum[static_cast<size_t>(bin[e])] += w;
    }
    normalize(h);
  };
  fill(r.all, "all", -1, nullptr);
  if (r.labelled) {
    fill(r.signal, "signal", 1, nullptr);
    fill(r.background, "background", 0, nullptr);
    r.ratio.resize(cells);
    for (size_t i = 0; i < cells; ++i)
      r.ratio[i] = r.background.normalized[i] > 0 ? r.signal.normalized[i] / r.background.normalized[i]
                                                  : std::numeric_limits<double>::quiet_NaN();
  }
  if (sliced) {
    r.slice_name = o.slice_name;
    std::vector<double> sorted;
    sorted.reserve(n);
    for (size_t e = 0; e < n; ++e)
      if (ok[e]) sorted.push_back(slice[e]);
    if (sorted.empty()) throw Error(fmt::format("'{}': no finite values to slice", o.slice_name));
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> q(static_cast<size_t>(o.slices + 1));
    for (Index i = 0; i <= o.slices; ++i)
      q[static_cast<size_t>(i)] = quantile_linear(sorted, static_cast<double>(i) / static_cast<double>(o.slices));
    std::vector<char> member(n);
    for (Index s = o.slices - 1; s >= 0; --s) {  // highest first
      HistogramSlice sl;
      sl.lo = q[static_cast<size_t>(s)];
      sl.hi = q[static_cast<size_t>(s + 1)];
      const bool last = s == o.slices - 1;
      for (size_t e = 0; e < n; ++e)
        member[e] = ok[e] && slice[e] >= sl.lo && (slice[e] < sl.hi || (last && slice[e] <= sl.hi));
      const Index rank = o.slices - 1 - s;
      if (o.slices == 3)
        sl.label = rank == 0 ? "most signal-like" : rank == 1 ? "average" : "most background-like";
      else
        sl.label = fmt::format("slice {} of {} (highest first)", rank + 1, o.slices);
      fill(sl.all, sl.label, -1, &member);
      if (r.labelled) {
        fill(sl.signal, "signal", 1, &member);
        fill(sl.background, "background", 0, &member);
      }
      r.slices.push_back(std::move(sl));
    }
  }
  if (two_d) {
    std::vector<double> fx, fy;
    for (size_t e = 0; e < n; ++e)
      if (ok[e]) fx.push_back(x[e]), fy.push_back(y[e]);
    MutualInfoOptions mo;
    mo.bins = o.nmi_bins;
    if (fx.size() >= 2) r.nmi = normalized_mutual_info(fx, fy, mo);
    r.nmi_bins = o.nmi_bins;
  }
  return r;
}

nlohmann::ordered_json HistogramViewResult::to_json() const {
  nlohmann::ordered_json j;
  j["type"] = "histogram";
  j["dimensions"] = y.empty() ? 1 : 2;
  j["x"] = {{"name", x}, {"edges", x_edges}};
  if (!y.empty()) j["y"] = {{"name", y}, {"edges", y_edges}};
  j["events"] = events;
  j["non_finite_events"] = non_finite;
  const Index yb = y.empty() ? 0 : static_cast<Index>(y_edges.size()) - 1;
  nlohmann::ordered_json classes;
  classes["all"] = class_json(all, yb);
  if (labelled) {
    classes["signal"] = class_json(signal, yb);
    classes["background"] = class_json(background, yb);
  }
  j["classes"] = classes;
  if (labelled) {
    nlohmann::ordered_json rj = nlohmann::ordered_json::array();
    if (yb == 0) {
      for (double v : ratio) rj.push_back(num(v));
    } else {
      for (size_t i = 0; i < ratio.size(); i += static_cast<size_t>(yb)) {
        nlohmann::ordered_json row = nlohmann::ordered_json::array();
        for (size_t k = 0; k < static_cast<size_t>(yb); ++k) row.push_back(num(ratio[i + k]));
        rj.push_back(row);
      }
    }
    j["ratio"] = rj;
  }
  if (!slices.empty()) {
    nlohmann::ordered_json sj = nlohmann::ordered_json::array();
    for (const auto& s : slices) {
      nlohmann::ordered_json o;
      o["label"] = s.label;
      o["lo"] = s.lo;
      o["hi"] = s.hi;
      o["all"] = class_json(s.all, 0);
      if (labelled) {
        o["signal"] = class_json(s.signal, 0);
        o["background"] = class_json(s.background, 0);
      }
      sj.push_back(o);
    }
    j["slices_of"] = slice_name;
    j["slices"] = sj;
  }
  if (!y.empty()) {
    j["nmi"] = nmi ? num(*nmi) : nlohmann::ordered_json();
    j["nmi_bins"] = nmi_bins;
  }
  j["log_y"] = log_y;
  j["provenance"] = provenance;
  return j;
}

std::string HistogramViewResult::table() const {
  std::string out;
  if (y.empty()) {
    auto block = [&](const std::string& title, const ClassHistogram& a, const ClassHistogram* s,
                     const ClassHistogram* b) {
      out += title;
      double top = 0.0;
      for (double v : a.normalized) top = std::max(top, v);
      if (s)
        for (size_t i = 0; i < s->normalized.size(); ++i) top = std::max({top, s->normalized[i], b->normalized[i]});
      if (s)
        out += fmt::format("  {:>23}  {:<20} {:>7}  {:<20} {:>7}  {:>6}\n", x, "signal", "", "background", "", "ratio");
      else
        out += fmt::format("  {:>23}  {:<20} {:>7}\n", x, "all events", "");
      for (size_t i = 0; i + 1 < x_edges.size(); ++i) {
        const std::string range =
            fmt::format("[{:.4g}, {:.4g}{}", x_edges[i], x_edges[i + 1], i + 2 == x_edges.size() ? "]" : ")");
        if (s) {
          const double rs = s->normalized[i], rb = b->normalized[i];
          out += fmt::format("  {:>23}  {} {:7.4f}  {} {:7.4f}  {:>6}\n", range, bar(top > 0 ? rs / top : 0, 20), rs,
                             bar(top > 0 ? rb / top : 0, 20), rb,
                             rb > 0 ? fmt::format("{:.3g}", rs / rb) : std::string("-"));
        } else {
          const double v = a.normalized[i];
          out += fmt::format("  {:>23}  {} {:7.4f}\n", range, bar(top > 0 ? v / top : 0, 20), v);
        }
      }
    };
    if (labelled)
      block(fmt::format("{} (each class normalized to 1; signal {} events, background {} events)\n", x, signal.events,
                        background.events),
            all, &signal, &background);
    else
      block(fmt::format("{} (normalized to 1; {} events)\n", x, all.events), all, nullptr, nullptr);
    for (const auto& s : slices) {
      const std::string title = fmt::format("\n{} for the {} events ({} in [{:.4g}, {:.4g}]: {} events)\n", x, s.label,
                                            slice_name, s.lo, s.hi, s.all.events);
      block(title, s.all, nullptr, nullptr);
    }
  } else {
    // 2-D: y rows from the top, x columns; shading by the all-events density.
    static const char* shades[] = {" ", "░", "▒", "▓", "█"};
    const size_t xb = x_edges.size() - 1, yb = y_edges.size() - 1;
    double top = 0.0;
    for (double v : all.normalized) top = std::max(top, v);
    out += fmt::format("{} (rows, top = {:.4g}) against {} (columns, {:.4g} to {:.4g}); {} events{}\n", y,
                       y_edges.back(), x, x_edges.front(), x_edges.back(), all.events,
                       nmi ? fmt::format("; NMI {:.4f} ({} equal-frequency bins)", *nmi, nmi_bins) : std::string());
    for (size_t iy = yb; iy-- > 0;) {
      out += fmt::format("  {:>10.4g} │", y_edges[iy]);
      for (size_t ix = 0; ix < xb; ++ix) {
        const double v = all.normalized[ix * yb + iy];
        const int k = v <= 0 || top <= 0 ? 0 : std::clamp(1 + static_cast<int>(3.999 * v / top), 1, 4);
        out += shades[k];
      }
      out += "\n";
    }
    out += "  " + std::string(10, ' ') + " └" + std::string(xb, '-') + "\n";
  }
  return out;
}

}  // namespace unbox
