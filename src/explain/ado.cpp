// Decision ordering and its average over signal–background pairs, exact in O(n log n).
//
// With S = sum over pairs of w_s w_b sgn(f_s - f_b) sgn(g_s - g_b) (concordant minus
// discordant weight) and U the weight of pairs tied in neither f nor g (concordant plus
// discordant), concordant = (U + S) / 2 and discordant = (U - S) / 2.
//  - S: sweep the events by increasing f; a Fenwick tree over the ranks of g holds the
//    weights of the background events already passed (smaller f), and each signal event
//    adds w_s (weight below its g - weight above its g). A second sweep by decreasing f
//    subtracts the same for backgrounds with larger f. Events of equal f form one group:
//    the group's signals are queried before its backgrounds enter the tree, so pairs tied
//    in f contribute nothing.
//  - U = W_sig W_bkg - T_f - T_g + T_fg, where T_f sums W_sig W_bkg within groups of
//    equal f (likewise g, and equal f and g together).
// All sums run in one fixed order (the sort is by value, then event index), so the result
// does not depend on the platform's sort or on threads.
#include "unbox/explain/ado.hpp"
#include "unbox/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "unbox/random.hpp"

namespace unbox {

namespace {

void check_inputs(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
                  std::span<const double> w) {
  const size_t n = f.size();
  if (g.size() != n || labels.size() != n)
    throw Error(
        fmt::format("ADO: {} values of f, {} of g and {} labels; they must be equal", n, g.size(), labels.size()));
  if (!w.empty() && w.size() != n) throw Error(fmt::format("ADO: {} events but {} weights", n, w.size()));
  require_binary_labels(labels, "ADO: the labels");
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(f[i]) || std::isnan(g[i]))
      throw Error(fmt::format("ADO: event {} has a NaN discriminant value", i + 1));
    if (!w.empty() && !std::isfinite(w[i])) throw Error(fmt::format("ADO: weight of event {} is {}", i + 1, w[i]));
  }
}

struct Fenwick {
  std::vector<double> t;
  explicit Fenwick(size_t n) : t(n + 1, 0.0) {}
  void add(size_t i, double v) {  // i is 0-based
    for (++i; i < t.size(); i += i & (~i + 1)) t[i] += v;
  }
  double prefix(size_t n) const {  // sum of the first n entries
    double s = 0;
    for (; n > 0; n -= n & (~n + 1)) s += t[n];
    return s;
  }
};

struct Sums {
  double s = 0;      // concordant minus discordant weight
  double u = 0;      // weight of pairs tied in neither f nor g
  double total = 0;  // W_sig * W_bkg
  double ws = 0, wb = 0;
  Index ns = 0, nb = 0;
};

Sums pair_sums(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
               std::span<const double> w) {
  const size_t n = f.size();
  auto weight = [&](size_t i) { return w.empty() ? 1.0 : w[i]; };
  Sums r;
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] == 1.0) {
      r.ws += weight(i);
      ++r.ns;
    } else {
      r.wb += weight(i);
      ++r.nb;
    }
  }
  r.total = r.ws * r.wb;
  if (n == 0) return r;

  // Dense ranks of g, and the weight of pairs tied in g.
  // (Contiguous (key, index) records sort several times faster than an index array with
  // indirect comparisons.)
  std::vector<std::pair<double, size_t>> by_g(n);
  for (size_t i = 0; i < n; ++i) by_g[i] = {g[i], i};
  std::sort(by_g.begin(), by_g.end());
  std::vector<size_t> rank(n);
  size_t ranks = 0;
  double tied_g = 0;
  for (size_t k = 0; k < n;) {
    size_t e = k;
    double gs = 0, gb = 0;
    while (e < n && by_g[e].first == by_g[k].first) {
      rank[by_g[e].second] = ranks;
      (labels[by_g[e].second] == 1.0 ? gs : gb) += weight(by_g[e].second);
      ++e;
    }
    tied_g += gs * gb;
    ++ranks;
    k = e;
  }
  by_g.clear();
  by_g.shrink_to_fit();

  // Events by (f, g rank, index): groups of equal f, and inside them groups of equal g.
  struct Key {
    double f;
    size_t rank, index;
    bool operator<(const Key& o) const {
      if (f != o.f) return f < o.f;
      if (rank != o.rank) return rank < o.rank;
      return index < o.index;
    }
  };
  std::vector<Key> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = {f[i], rank[i], i};
  std::sort(keys.begin(), keys.end());
  std::vector<size_t> order(n);
  for (size_t k = 0; k < n; ++k) order[k] = keys[k].index;
  keys.clear();
  keys.shrink_to_fit();
  double tied_f = 0, tied_fg = 0;
  std::vector<size_t> group_start;  // start of each f group in `order`
  for (size_t k = 0; k < n;) {
    group_start.push_back(k);
    size_t e = k;
    double fs = 0, fb = 0;
    while (e < n && f[order[e]] == f[order[k]]) {
      size_t e2 = e;
      double s2 = 0, b2 = 0;
      while (e2 < n && f[order[e2]] == f[order[k]] && rank[order[e2]] == rank[order[e]]) {
        (labels[order[e2]] == 1.0 ? s2 : b2) += weight(order[e2]);
        ++e2;
      }
      tied_fg += s2 * b2;
      fs += s2;
      fb += b2;
      e = e2;
    }
    tied_f += fs * fb;
    k = e;
  }
  group_start.push_back(n);
  r.u = r.total - tied_f - tied_g + tied_fg;

  // Sweep up (backgrounds with smaller f, sign +1) and down (larger f, sign -1).
  const size_t groups = group_start.size() - 1;
  for (int dir = 0; dir < 2; ++dir) {
    Fenwick tree(ranks);
    double inserted = 0, acc = 0;
    for (size_t gi = 0; gi < groups; ++gi) {
      const size_t grp = dir == 0 ? gi : groups - 1 - gi;
      const size_t b0 = group_start[grp], b1 = group_start[grp + 1];
      for (size_t k = b0; k < b1; ++k) {
        const size_t i = order[k];
        if (labels[i] != 1.0) continue;
        const double below = tree.prefix(rank[i]);
        const double above = inserted - tree.prefix(rank[i] + 1);
        acc += weight(i) * (below - above);
      }
      for (size_t k = b0; k < b1; ++k) {
        const size_t i = order[k];
        if (labels[i] == 1.0) continue;
        tree.add(rank[i], weight(i));
        inserted += weight(i);
      }
    }
    r.s += dir == 0 ? acc : -acc;
  }
  return r;
}

AdoResult finish(double s, double u, double total) {
  if (!(total > 0))
    throw Error(
        fmt::format("ADO: the pairs' total weight is {}; ADO needs signal and background events with "
                    "positive total weight",
                    total));
  AdoResult r;
  r.tied = std::clamp((total - u) / total, 0.0, 1.0);
  // Round-off of weighted sums may leave a fraction a few ulps below 0: clamp.
  r.concordant = std::clamp(0.5 * (u + s) / total, 0.0, 1.0 - r.tied);
  r.discordant = std::clamp(0.5 * (u - s) / total, 0.0, 1.0 - r.tied);
  r.ado = std::clamp(r.concordant + 0.5 * r.tied, 0.0, 1.0);
  return r;
}

}  // namespace

nlohmann::json AdoResult::to_json() const {
  nlohmann::json j;
  j["ado"] = ado;
  j["concordant"] = concordant;
  j["discordant"] = discordant;
  j["tied"] = tied;
  j["n_signal"] = n_signal;
  j["n_background"] = n_background;
  j["w_signal"] = w_signal;
  j["w_background"] = w_background;
  j["n_pairs"] = n_pairs;
  return j;
}

AdoResult ado(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
              std::span<const double> weights) {
  check_inputs(f, g, labels, weights);
  const Sums s = pair_sums(f, g, labels, weights);
  if (s.ns == 0 || s.nb == 0)
    throw Error(fmt::format("ADO needs signal and background events; got {} signal and {} background", s.ns, s.nb));
  AdoResult r = finish(s.s, s.u, s.total);
  r.n_signal = s.ns;
  r.n_background = s.nb;
  r.w_signal = s.ws;
  r.w_background = s.wb;
  r.n_pairs = s.ns * s.nb;
  return r;
}

AdoResult ado_brute_force(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
                          std::span<const double> weights) {
  check_inputs(f, g, labels, weights);
  auto weight = [&](size_t i) { return weights.empty() ? 1.0 : weights[i]; };
  double conc = 0, disc = 0, tied = 0, ws = 0, wb = 0;
  Index ns = 0, nb = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (labels[i] != 1.0) {
      wb += weight(i);
      ++nb;
      continue;
    }
    ws += weight(i);
    ++ns;
    for (size_t j = 0; j < f.size(); ++j) {
      if (labels[j] == 1.0) continue;
      const double p = (f[i] - f[j]) * (g[i] - g[j]);
      const double w = weight(i) * weight(j);
      if (f[i] == f[j] || g[i] == g[j])
        tied += w;
      else if (p > 0)
        conc += w;
      else
        disc += w;
    }
  }
  const double total = ws * wb;
  AdoResult r = finish(conc - disc, conc + disc, total);
  r.tied = tied / total;
  r.n_signal = ns;
  r.n_background = nb;
  r.w_signal = ws;
  r.w_background = wb;
  r.n_pairs = ns * nb;
  return r;
}

AdoResult ado_on_pairs(std::span<const double> f, std::span<const double> g, std::span<const double> weights,
                       const std::vector<EventPair>& pairs) {
  const auto n = static_cast<Index>(f.size());
  if (static_cast<Index>(g.size()) != n) throw Error(fmt::format("ADO: {} values of f but {} of g", n, g.size()));
  if (!weights.empty() && static_cast<Index>(weights.size()) != n)
    throw Error(fmt::format("ADO: {} events but {} weights", n, weights.size()));
  if (pairs.empty()) throw Error("ADO on pairs: the list of pairs is empty");
  double conc = 0, disc = 0, tied = 0;
  for (const auto& [s, b] : pairs) {
    if (s < 0 || s >= n || b < 0 || b >= n)
      throw Error(fmt::format("ADO on pairs: pair ({}, {}) is outside the {} events", s, b, n));
    const auto si = static_cast<size_t>(s), bi = static_cast<size_t>(b);
    if (std::isnan(f[si]) || std::isnan(g[si]) || std::isnan(f[bi]) || std::isnan(g[bi]))
      throw Error(fmt::format("ADO on pairs: pair ({}, {}) has a NaN discriminant value", s, b));
    const double w = weights.empty() ? 1.0 : weights[si] * weights[bi];
    const double df = f[si] - f[bi], dg = g[si] - g[bi];
    if (df == 0 || dg == 0)
      tied += w;
    else if ((df > 0) == (dg > 0))
      conc += w;
    else
      disc += w;
  }
  const double total = conc + disc + tied;
  AdoResult r = finish(conc - disc, conc + disc, total);
  r.n_pairs = static_cast<Index>(pairs.size());
  return r;
}

DiscordantPairs discordant_pairs(std::span<const double> f, std::span<const double> g, std::span<const double> labels,
                                 Index max_pairs, std::uint64_t seed) {
  check_inputs(f, g, labels, {});
  if (max_pairs <= 0) throw Error("discordant pairs: the maximum number of pairs must be positive");
  const Sums s = pair_sums(f, g, labels, {});
  DiscordantPairs out;
  out.total = std::llround(0.5 * (s.u - s.s));  // unit weights: exact integers below 2^53
  if (out.total == 0) return out;
  std::vector<Index> sig, bkg;
  for (size_t i = 0; i < f.size(); ++i) (labels[i] == 1.0 ? sig : bkg).push_back(static_cast<Index>(i));
  auto discordant = [&](Index a, Index b) {
    const double df = f[static_cast<size_t>(a)] - f[static_cast<size_t>(b)];
    const double dg = g[static_cast<size_t>(a)] - g[static_cast<size_t>(b)];
    return (df > 0 && dg < 0) || (df < 0 && dg > 0);
  };
  const double all_pairs = static_cast<double>(sig.size()) * static_cast<double>(bkg.size());
  if (out.total <= max_pairs && all_pairs <= 5e7) {
    out.pairs.reserve(static_cast<size_t>(out.total));
    for (Index a : sig)
      for (Index b : bkg)
        if (discordant(a, b)) out.pairs.emplace_back(a, b);
    return out;
  }
  out.sampled = true;
  Rng rng(seed);
  auto pick = [&](const std::vector<Index>& v) { return v[static_cast<size_t>(rng.index(v.size()))]; };
  out.pairs.reserve(static_cast<size_t>(max_pairs));
  for (Index draws = 0; draws < 200'000'000 && static_cast<Index>(out.pairs.size()) < max_pairs; ++draws) {
    const Index a = pick(sig), b = pick(bkg);
    if (discordant(a, b)) out.pairs.emplace_back(a, b);
  }
  return out;
}

namespace {
AdoComparison compare(const Network* model, const Events& events, const AdoOptions& o) {
  if (o.score.empty() || o.against.empty())
    throw Error("ADO needs two discriminants: a score and one to compare it against (data columns or neurons)");
  events.require_labels("ado");
  const auto f = column_or_neuron(model, events, o.score, o.batch);
  const auto g = column_or_neuron(model, events, o.against, o.batch);
  const auto labels = events.labels();
  const auto w = events.has_weights() ? events.weights() : std::vector<double>{};
  AdoComparison r;
  r.score = o.score, r.against = o.against, r.source = events.data().source;
  r.ado = ado(f, g, labels, w);
  r.auc_score = auc(f, labels, w);
  r.auc_against = auc(g, labels, w);
  return r;
}
}  // namespace

AdoComparison ado(const Network& model, const Events& events, const AdoOptions& o) {
  return compare(&model, events, o);
}
AdoComparison ado(const Events& events, const AdoOptions& o) { return compare(nullptr, events, o); }

nlohmann::json AdoComparison::to_json() const {
  nlohmann::json j = ado.to_json();
  j["score"] = score;
  j["against"] = against;
  j["auc_score"] = auc_score;
  j["auc_against"] = auc_against;
  j["ties"] = "a pair tied in either discriminant counts one half";
  return j;
}

std::string AdoComparison::table() const {
  std::string t = fmt::format("unbox ado: '{}' against '{}' on '{}'\n", score, against, source);
  t += fmt::format("  ADO                 {:.6f}   (ties count one half)\n", ado.ado);
  t += fmt::format("  pairs               {} signal x {} background = {}\n", ado.n_signal, ado.n_background,
                   ado.n_pairs);
  t += fmt::format("  concordant          {:.6f}\n  discordant          {:.6f}\n  tied                {:.6f}\n",
                   ado.concordant, ado.discordant, ado.tied);
  t += fmt::format("  AUC {:<15} {:.6f}\n  AUC {:<15} {:.6f}\n", score, auc_score, against, auc_against);
  return t;
}

}  // namespace unbox
