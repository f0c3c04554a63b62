// Histograms of an activation-maximization population (Roxlo & Reece section 2.5 and
// appendix A): every 1-, 2- and 3-variable combination, ranked by the information among
// its variables, and the terminal heat map.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "unbox/explain/maximize.hpp"

namespace unbox {

double mutual_information_2d(const std::vector<double>& c, Index nx, Index ny) {
  std::vector<double> px(static_cast<size_t>(nx), 0.0), py(static_cast<size_t>(ny), 0.0);
  double n = 0;
  for (Index i = 0; i < nx; ++i)
    for (Index j = 0; j < ny; ++j) {
      const double v = c[static_cast<size_t>(i * ny + j)];
      px[static_cast<size_t>(i)] += v;
      py[static_cast<size_t>(j)] += v;
      n += v;
    }
  if (n <= 0) return 0.0;
  double mi = 0;
  for (Index i = 0; i < nx; ++i)
    for (Index j = 0; j < ny; ++j) {
      const double v = c[static_cast<size_t>(i * ny + j)];
      if (v > 0) mi += v / n * std::log(v * n / (px[static_cast<size_t>(i)] * py[static_cast<size_t>(j)]));
    }
  return std::max(0.0, mi);
}

double total_correlation_3d(const std::vector<double>& c, Index nx, Index ny, Index nz) {
  std::vector<double> px(static_cast<size_t>(nx), 0.0), py(static_cast<size_t>(ny), 0.0),
      pz(static_cast<size_t>(nz), 0.0);
  double n = 0;
  for (Index i = 0; i < nx; ++i)
    for (Index j = 0; j < ny; ++j)
      for (Index k = 0; k < nz; ++k) {
        const double v = c[static_cast<size_t>((i * ny + j) * nz + k)];
        px[static_cast<size_t>(i)] += v;
        py[static_cast<size_t>(j)] += v;
        pz[static_cast<size_t>(k)] += v;
        n += v;
      }
  if (n <= 0) return 0.0;
  double tc = 0;
  for (Index i = 0; i < nx; ++i)
    for (Index j = 0; j < ny; ++j)
      for (Index k = 0; k < nz; ++k) {
        const double v = c[static_cast<size_t>((i * ny + j) * nz + k)];
        if (v > 0)
          tc += v / n *
                std::log(v * n * n /
                         (px[static_cast<size_t>(i)] * py[static_cast<size_t>(j)] * pz[static_cast<size_t>(k)]));
      }
  return std::max(0.0, tc);
}

double kl_divergence_1d(const std::vector<double>& p, const std::vector<double>& q) {
  const double np = std::accumulate(p.begin(), p.end(), 0.0);
  const double nq = std::accumulate(q.begin(), q.end(), 0.0) + 0.5 * static_cast<double>(q.size());
  if (np <= 0) return 0.0;
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0) kl += p[i] / np * std::log((p[i] / np) / ((q[i] + 0.5) / nq));
  return std::max(0.0, kl);
}

namespace {

// Bin index of every point for every input, for a given bin count.
std::vector<std::uint16_t> bin_indices(const Tensor& pts, const std::vector<double>& lo, const std::vector<double>& hi,
                                       Index bins) {
  const Index m = pts.events(), d = pts.per_event();
  std::vector<std::uint16_t> out(static_cast<size_t>(m * d));
  for (Index p = 0; p < m; ++p)
    for (Index i = 0; i < d; ++i) {
      const double w = hi[static_cast<size_t>(i)] - lo[static_cast<size_t>(i)];
      Index b = w > 0 ? static_cast<Index>(
                            std::floor((pts[p * d + i] - lo[static_cast<size_t>(i)]) / w * static_cast<double>(bins)))
                      : 0;
      out[static_cast<size_t>(p * d + i)] = static_cast<std::uint16_t>(std::clamp<Index>(b, 0, bins - 1));
    }
  return out;
}

PopulationHistogram fill(const std::vector<int>& vars, const std::vector<std::uint16_t>& idx, Index m, Index d,
                         Index bins, const std::vector<std::string>& names, const std::vector<double>& lo,
                         const std::vector<double>& hi) {
  PopulationHistogram h;
  h.vars = vars;
  h.bins = bins;
  for (int v : vars) {
    h.names.push_back(names[static_cast<size_t>(v)]);
    h.lo.push_back(lo[static_cast<size_t>(v)]);
    h.hi.push_back(hi[static_cast<size_t>(v)]);
  }
  Index cells = 1;
  for (size_t k = 0; k < vars.size(); ++k) cells *= bins;
  h.counts.assign(static_cast<size_t>(cells), 0.0);
  for (Index p = 0; p < m; ++p) {
    Index c = 0;
    for (int v : vars) c = c * bins + idx[static_cast<size_t>(p * d + v)];
    h.counts[static_cast<size_t>(c)] += 1.0;
  }
  return h;
}

double score_of(const PopulationHistogram& h, const std::vector<double>* reference) {
  switch (h.vars.size()) {
    case 1:
      if (reference) return kl_divergence_1d(h.counts, *reference);
      return kl_divergence_1d(h.counts, std::vector<double>(h.counts.size(), 1.0));
    case 2:
      return mutual_information_2d(h.counts, h.bins, h.bins);
    default:
      return total_correlation_3d(h.counts, h.bins, h.bins, h.bins);
  }
}

// Every combination of `k` of `d` inputs, in lexicographic order.
std::vector<std::vector<int>> combinations(int d, int k) {
  std::vector<std::vector<int>> out;
  std::vector<int> c(static_cast<size_t>(k));
  std::function<void(int, int)> rec = [&](int start, int depth) {
    if (depth == k) {
      out.push_back(c);
      return;
    }
    for (int i = start; i < d; ++i) {
      c[static_cast<size_t>(depth)] = i;
      rec(i + 1, depth + 1);
    }
  };
  rec(0, 0);
  return out;
}

// Rank all k-combinations and keep the top ones; `reference` (1-D only) holds the
// starting points' bin indices for the KL divergence.
std::vector<PopulationHistogram> ranked(int k, const Tensor& pts, const std::vector<std::string>& names,
                                        const std::vector<double>& lo, const std::vector<double>& hi, Index bins,
                                        Index top, const Tensor* start) {
  const Index m = pts.events(), d = pts.per_event();
  auto combos = combinations(static_cast<int>(d), k);
  if (combos.empty() || m == 0) return {};
  auto idx = bin_indices(pts, lo, hi, bins);
  std::vector<std::uint16_t> sidx;
  if (start) sidx = bin_indices(*start, lo, hi, bins);
  std::vector<double> scores(combos.size());
  // Scores first (one histogram in memory per thread), then the winners again in full.
#pragma omp parallel for schedule(dynamic, 4)
  for (Index c = 0; c < static_cast<Index>(combos.size()); ++c) {
    auto h = fill(combos[static_cast<size_t>(c)], idx, m, d, bins, names, lo, hi);
    std::vector<double> ref;
    if (start) ref = fill(combos[static_cast<size_t>(c)], sidx, start->events(), d, bins, names, lo, hi).counts;
    scores[static_cast<size_t>(c)] = score_of(h, start ? &ref : nullptr);
  }
  std::vector<size_t> order(combos.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: equal scores keep the input order, so tables never depend on sort internals.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<PopulationHistogram> out;
  for (size_t r = 0; r < order.size() && static_cast<Index>(r) < top; ++r) {
    auto h = fill(combos[order[r]], idx, m, d, bins, names, lo, hi);
    h.score = scores[order[r]];
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

PopulationHistograms population_histograms(const Tensor& points, const std::vector<std::string>& names,
                                           const std::vector<double>& lo, const std::vector<double>& hi,
                                           const HistogramOptions& o) {
  PopulationHistograms out;
  out.population = "given";
  out.points = points.events();
  out.one = ranked(1, points, names, lo, hi, o.bins, o.top, nullptr);
  out.two = ranked(2, points, names, lo, hi, o.bins, o.top, nullptr);
  out.three = ranked(3, points, names, lo, hi, o.bins3, o.top, nullptr);
  return out;
}

PopulationHistograms population_histograms(const MaximizeResult& r, const HistogramOptions& o) {
  const Index d = static_cast<Index>(r.inputs.size());
  std::vector<Index> rows;
  if (o.converged_only)
    for (Index p = 0; p < r.size(); ++p)
      if (r.converged[static_cast<size_t>(p)]) rows.push_back(p);
  PopulationHistograms out;
  out.population = "converged";
  if (rows.empty()) {  // nothing passed the threshold: show where the points went anyway
    out.population = "all";
    for (Index p = 0; p < r.size(); ++p) rows.push_back(p);
  }
  Tensor pts = r.points.gather_events(rows);
  out.points = pts.events();
  out.one = ranked(1, pts, r.inputs, r.lo, r.hi, o.bins, o.top, &r.start);
  out.two = ranked(2, pts, r.inputs, r.lo, r.hi, o.bins, o.top, nullptr);
  out.three = ranked(3, pts, r.inputs, r.lo, r.hi, o.bins3, o.top, nullptr);
  (void)d;
  return out;
}

nlohmann::json PopulationHistogram::to_json() const {
  nlohmann::json j;
  j["variables"] = names;
  j["score"] = score;
  j["lo"] = lo;
  j["hi"] = hi;
  j["bins"] = bins;
  j["counts"] = counts;
  return j;
}

nlohmann::json PopulationHistograms::to_json() const {
  nlohmann::json j;
  j["population"] = population;
  j["points"] = points;
  j["layout"] = "counts are row-major over the variables (first variable slowest); equal-width bins over [lo, hi]";
  auto arr = [](const std::vector<PopulationHistogram>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& h : v) a.push_back(h.to_json());
    return a;
  };
  j["one"] = {{"score", "kl_divergence_from_start"}, {"histograms", arr(one)}};
  j["two"] = {{"score", "mutual_information"}, {"histograms", arr(two)}};
  j["three"] = {{"score", "total_correlation"}, {"histograms", arr(three)}};
  return j;
}

std::string heat_map(const std::vector<PopulationHistogram>& hists, bool ascii, int per_row) {
  static const char* kUnicode[] = {" ", "░", "▒", "▓", "█"};
  static const char* kAscii[] = {" ", ".", ":", "#", "@"};
  const char* const* shade = ascii ? kAscii : kUnicode;
  std::string out;
  per_row = std::max(1, per_row);
  for (size_t first = 0; first < hists.size(); first += static_cast<size_t>(per_row)) {
    const size_t last = std::min(hists.size(), first + static_cast<size_t>(per_row));
    // Each panel: a title, `bins` rows of 2 characters per cell between bars, an x-axis line.
    std::vector<std::vector<std::string>> panels;
    std::vector<int> widths;
    for (size_t h = first; h < last; ++h) {
      const PopulationHistogram& p = hists[h];
      if (p.vars.size() != 2) continue;
      const Index b = p.bins;
      const int width = static_cast<int>(2 * b + 2);
      std::vector<std::string> lines;
      // x is the first variable (columns), y the second (rows, upward).
      lines.push_back(fmt::format(
          "{:<{}}", fmt::format("#{} {} vs {}", h + 1, p.names[1], p.names[0]).substr(0, static_cast<size_t>(width)),
          width));
      lines.push_back(fmt::format("{:<{}}",
                                  fmt::format("MI {:.3f} nats; {} up to {:.4g}", p.score, p.names[1], p.hi[1])
                                      .substr(0, static_cast<size_t>(width)),
                                  width));
      double mx = 0;
      for (double c : p.counts) mx = std::max(mx, c);
      for (Index row = b - 1; row >= 0; --row) {
        std::string l = "|";
        for (Index col = 0; col < b; ++col) {
          const double c = p.counts[static_cast<size_t>(col * b + row)];
          // sqrt scale: boundary piles would otherwise wash out the interior.
          int level = 0;
          if (c > 0 && mx > 0) level = std::clamp(static_cast<int>(std::ceil(4.0 * std::sqrt(c / mx))), 1, 4);
          l += shade[level];
          l += shade[level];
        }
        l += "|";
        lines.push_back(l);
      }
      lines.push_back(fmt::format(
          "{:<{}}", fmt::format("{} from {:.4g}", p.names[1], p.lo[1]).substr(0, static_cast<size_t>(width)), width));
      lines.push_back(fmt::format("{:<{}}",
                                  fmt::format("{} from {:.4g} to {:.4g} ->", p.names[0], p.lo[0], p.hi[0])
                                      .substr(0, static_cast<size_t>(width)),
                                  width));
      panels.push_back(std::move(lines));
      widths.push_back(width);
    }
    if (panels.empty()) continue;
    size_t rows = 0;
    for (const auto& pl : panels) rows = std::max(rows, pl.size());
    for (size_t r = 0; r < rows; ++r) {
      std::string line;
      for (size_t k = 0; k < panels.size(); ++k) {
        if (k) line += "   ";
        line += r < panels[k].size() ? panels[k][r] : std::string(static_cast<size_t>(widths[k]), ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    out += "\n";
  }
  return out;
}

}  // namespace unbox
