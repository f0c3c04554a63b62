// Mutual information between neurons and variables: binned NMI (eq. 1 of Roxlo & Reece)
// and the Kraskov kNN estimator.
//
// Speed: every column is binned once (order statistics by nth_element for equal-
// frequency bins, not a sort per pair); then for each neuron one pass over the events
// fills its joint histograms with all variables at once, from 16-bit bin indices stored
// event-major for the variables. Neurons are spread over threads; histogram counts are
// integers and each pair's sum runs in a fixed order, so results do not depend on the
// thread count.
#include "unbox/explain/mutual_info.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "unbox/cancel.hpp"
#include "unbox/naming.hpp"
#include "unbox/parallel.hpp"
#include "unbox/random.hpp"

namespace unbox {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Put the elements of ranks r[0..n) (sorted, distinct, inside [lo, hi)) in place, as a
// full sort would: O(N log n) instead of O(N log N).
void select_ranks(double* v, Index lo, Index hi, const Index* r, Index n) {
  if (n == 0 || hi - lo <= 1) return;
  const Index mid = n / 2, k = r[mid];
  std::nth_element(v + lo, v + k, v + hi);
  select_ranks(v, lo, k, r, mid);
  select_ranks(v, k + 1, hi, r + mid + 1, n - mid - 1);
}

// A double's bits as an unsigned key with the same order.
inline std::uint64_t order_key(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

// The elements of the given ranks (sorted, distinct) as a full sort would place them.
// Exact and O(N): one pass counts the events in 2^16 buckets of the order key (scaled to
// the column's range), one more collects only the buckets holding a wanted rank, and
// nth_element finishes inside those. nth_element over the whole column for each rank was
// a third of the run time of a 285 x 20 matrix at 1M events.
std::vector<double> order_statistics(std::span<const double> v, const std::vector<Index>& ranks) {
  std::vector<double> out;
  if (ranks.empty()) return out;
  std::uint64_t kmin = ~std::uint64_t{0}, kmax = 0;
  for (double x : v) {
    const std::uint64_t k = order_key(x);
    kmin = std::min(kmin, k);
    kmax = std::max(kmax, k);
  }
  const std::uint64_t span = kmax - kmin;
  int shift = 0;
  while ((span >> shift) >= (std::uint64_t{1} << 16)) ++shift;
  const size_t nbuckets = static_cast<size_t>(span >> shift) + 1;
  std::vector<Index> count(nbuckets + 1, 0);
  for (double x : v) ++count[static_cast<size_t>((order_key(x) - kmin) >> shift) + 1];
  for (size_t b = 1; b <= nbuckets; ++b) count[b] += count[b - 1];  // count[b]: first rank of bucket b
  // Bucket of each rank, and a slot for every bucket that holds one.
  std::vector<int> slot(nbuckets, -1);
  std::vector<size_t> bucket_of(ranks.size());
  std::vector<size_t> wanted;
  for (size_t i = 0; i < ranks.size(); ++i) {
    const size_t b = static_cast<size_t>(std::upper_bound(count.begin(), count.end(), ranks[i]) - count.begin()) - 1;
    bucket_of[i] = b;
    if (slot[b] < 0) {
      slot[b] = static_cast<int>(wanted.size());
      wanted.push_back(b);
    }
  }
  std::vector<std::vector<double>> members(wanted.size());
  for (size_t w = 0; w < wanted.size(); ++w)
    members[w].reserve(static_cast<size_t>(count[wanted[w] + 1] - count[wanted[w]]));
  for (double x : v) {
    const int s = slot[static_cast<size_t>((order_key(x) - kmin) >> shift)];
    if (s >= 0) members[static_cast<size_t>(s)].push_back(x);
  }
  for (size_t w = 0; w < wanted.size(); ++w) {
    std::vector<Index> local;
    for (size_t i = 0; i < ranks.size(); ++i)
      if (bucket_of[i] == wanted[w]) local.push_back(ranks[i] - count[wanted[w]]);
    auto& m = members[w];
    select_ranks(m.data(), 0, static_cast<Index>(m.size()), local.data(), static_cast<Index>(local.size()));
  }
  for (size_t i = 0; i < ranks.size(); ++i) {
    const size_t w = static_cast<size_t>(slot[bucket_of[i]]);
    out.push_back(members[w][static_cast<size_t>(ranks[i] - count[bucket_of[i]])]);
  }
  return out;
}

// Drop empty bins (renumbering in order) and compute the entropy, from `count` per raw bin and
// their total n (under MPI: all processes' counts).
void finish_column_global(BinnedColumn& c, const std::vector<double>& count, double n) {
  const Index raw_bins = static_cast<Index>(count.size());
  std::vector<std::uint16_t> remap(static_cast<size_t>(raw_bins), 0);
  Index used = 0;
  for (Index b = 0; b < raw_bins; ++b)
    if (count[static_cast<size_t>(b)] > 0) remap[static_cast<size_t>(b)] = static_cast<std::uint16_t>(used++);
  if (used != raw_bins)
    for (auto& b : c.index) b = remap[b];
  c.bins = used;
  c.counts.clear();
  for (double x : count)
    if (x > 0) c.counts.push_back(static_cast<Index>(x));
  double s = 0.0;
  for (double x : count)
    if (x > 0) s += x * std::log(x);  // the integers of finish_column, as doubles: the same bits
  c.entropy = std::max(0.0, std::log(n) - s / n);
}

// finish_column_global with the counts of this process's events.
void finish_column(BinnedColumn& c, Index raw_bins) {
  std::vector<double> count(static_cast<size_t>(raw_bins), 0.0);  // integers, exact as doubles
  for (auto b : c.index) count[b] += 1.0;
  finish_column_global(c, count, static_cast<double>(c.index.size()));
}

// MI (nats) from a joint histogram, entry (a, b) at h[a * stride + b], and the marginals.
double mi_from_hist(const std::uint32_t* h, Index stride, const BinnedColumn& x, const std::vector<double>& logx,
                    const BinnedColumn& y, const std::vector<double>& logy) {
  const Index ba = x.bins, bb = y.bins;
  const double n = static_cast<double>(x.index.size()), logn = std::log(n);
  double s = 0.0;
  for (Index a = 0; a < ba; ++a)
    for (Index b = 0; b < bb; ++b) {
      const std::uint32_t c = h[a * stride + b];
      if (c == 0) continue;
      const double cd = static_cast<double>(c);
      s += cd * (std::log(cd) + logn - logx[static_cast<size_t>(a)] - logy[static_cast<size_t>(b)]);
    }
  return std::max(0.0, s / n);
}

std::vector<double> log_counts(const BinnedColumn& c) {
  std::vector<double> out(c.counts.size());
  for (size_t b = 0; b < out.size(); ++b) out[b] = std::log(static_cast<double>(c.counts[b]));
  return out;
}

double normalize(double mi, const BinnedColumn& x, const BinnedColumn& y) {
  // A constant column carries no information: 0 (scikit-learn says 1 when both are).
  if (x.entropy <= 0.0 || y.entropy <= 0.0 || mi <= 0.0) return 0.0;
  return mi / std::sqrt(x.entropy * y.entropy);
}

void check_finite(std::span<const double> v, const std::string& name) {
  for (size_t e = 0; e < v.size(); ++e)
    if (!std::isfinite(v[e]))
      throw Error(fmt::format("'{}' is {} at event {}; mutual information needs finite values", name,
                              format_double(v[e]), e + 1));
}

// The columns of an [N, k] tensor in one pass over its rows: reading one column at a time
// would stride through the whole tensor k times (most of the run time at 1M events).
std::vector<std::vector<double>> columns_of(const Tensor& t) {
  const Index n = t.events(), k = t.per_event();
  std::vector<std::vector<double>> out(static_cast<size_t>(k), std::vector<double>(static_cast<size_t>(n)));
  std::vector<double*> dst(static_cast<size_t>(k));
  for (Index j = 0; j < k; ++j) dst[static_cast<size_t>(j)] = out[static_cast<size_t>(j)].data();
  const double* src = t.data();
  for (Index e = 0; e < n; ++e, src += k)
    for (Index j = 0; j < k; ++j) dst[static_cast<size_t>(j)][e] = src[j];
  return out;
}

// ---- KSG -----------------------------------------------------------------------------

// Unit variance plus a seeded jitter of 1e-10 that breaks exact ties (KSG assumes none).
std::vector<double> ksg_prepare(std::span<const double> v, std::uint64_t seed) {
  const size_t n = v.size();
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(n);
  double var = 0.0;
  for (double x : v) var += (x - mean) * (x - mean);
  const double sd = std::sqrt(var / static_cast<double>(n));
  std::vector<double> out(n);
  Rng rng(seed);
  const double scale = sd > 0.0 ? 1.0 / sd : 1.0;
  for (size_t i = 0; i < n; ++i) out[i] = (v[i] - mean) * scale + 1e-10 * (2.0 * rng.uniform() - 1.0);
  return out;
}

// digamma at 1..n: psi(m) = -gamma + H_{m-1}.
std::vector<double> digamma_table(Index n) {
  std::vector<double> psi(static_cast<size_t>(n + 1));
  psi[0] = 0.0;  // unused
  double h = -0.57721566490153286061;
  for (Index m = 1; m <= n; ++m) {
    psi[static_cast<size_t>(m)] = h;
    h += 1.0 / static_cast<double>(m);
  }
  return psi;
}

double ksg_prepared(const std::vector<double>& x, const std::vector<double>& y, Index k,
                    const std::vector<double>& psi) {
  const Index n = static_cast<Index>(x.size());
  if (n <= k) throw Error(fmt::format("the KSG estimator needs more than k = {} events, {} given", k, n));
  // Sort by x; the k-th neighbour (max-norm) lies within a strip of width eps around x_i,
  // so scanning outwards in x order stops early.
  std::vector<Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(),
            [&](Index a, Index b) { return x[static_cast<size_t>(a)] < x[static_cast<size_t>(b)]; });
  std::vector<double> px(static_cast<size_t>(n)), py(static_cast<size_t>(n));
  for (Index i = 0; i < n; ++i) {
    px[static_cast<size_t>(i)] = x[static_cast<size_t>(order[static_cast<size_t>(i)])];
    py[static_cast<size_t>(i)] = y[static_cast<size_t>(order[static_cast<size_t>(i)])];
  }
  std::vector<double> sy = py;
  std::sort(sy.begin(), sy.end());
  std::vector<double> best(static_cast<size_t>(k));
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) {
    Index have = 0;
    const double xi = px[static_cast<size_t>(i)], yi = py[static_cast<size_t>(i)];
    auto offer = [&](Index j) {
      const double d = std::max(std::abs(px[static_cast<size_t>(j)] - xi), std::abs(py[static_cast<size_t>(j)] - yi));
      if (have < k) {
        Index p = have++;
        while (p > 0 && best[static_cast<size_t>(p - 1)] > d) {
          best[static_cast<size_t>(p)] = best[static_cast<size_t>(p - 1)];
          --p;
        }
        best[static_cast<size_t>(p)] = d;
      } else if (d < best[static_cast<size_t>(k - 1)]) {
        Index p = k - 1;
        while (p > 0 && best[static_cast<size_t>(p - 1)] > d) {
          best[static_cast<size_t>(p)] = best[static_cast<size_t>(p - 1)];
          --p;
        }
        best[static_cast<size_t>(p)] = d;
      }
    };
    Index lo = i - 1, hi = i + 1;
    bool lo_open = lo >= 0, hi_open = hi < n;
    while (lo_open || hi_open) {
      // Take the nearer side in x first.
      const double dlo = lo_open ? xi - px[static_cast<size_t>(lo)] : std::numeric_limits<double>::infinity();
      const double dhi = hi_open ? px[static_cast<size_t>(hi)] - xi : std::numeric_limits<double>::infinity();
      const double dx = std::min(dlo, dhi);
      if (have == k && dx >= best[static_cast<size_t>(k - 1)]) break;
      if (dlo <= dhi) {
        offer(lo--);
        lo_open = lo >= 0;
      } else {
        offer(hi++);
        hi_open = hi < n;
      }
    }
    const double eps = best[static_cast<size_t>(k - 1)];
    // Points strictly closer than eps in each marginal, excluding the point itself.
    const Index nx = static_cast<Index>(std::lower_bound(px.begin(), px.end(), xi + eps) -
                                        std::upper_bound(px.begin(), px.end(), xi - eps)) -
                     1;
    const Index ny = static_cast<Index>(std::lower_bound(sy.begin(), sy.end(), yi + eps) -
                                        std::upper_bound(sy.begin(), sy.end(), yi - eps)) -
                     1;
    sum += psi[static_cast<size_t>(std::max<Index>(nx, 0) + 1)] + psi[static_cast<size_t>(std::max<Index>(ny, 0) + 1)];
  }
  const double mi = psi[static_cast<size_t>(k)] + psi[static_cast<size_t>(n)] - sum / static_cast<double>(n);
  return std::max(0.0, mi);
}

void check_options(const MutualInfoOptions& o) {
  if (o.bins < 2 || o.bins > 1000)
    throw Error(fmt::format("the number of bins must be between 2 and 1000, not {}", o.bins));
  if (o.k < 1) throw Error(fmt::format("the KSG neighbour count k must be at least 1, not {}", o.k));
  if (o.knn_events < 0) throw Error("the number of KSG events must not be negative");
}

// Seeded subset of `want` of `n` events (all when want is 0 or >= n), in ascending order.
std::vector<Index> subset_rows(Index n, Index want, std::uint64_t seed) {
  std::vector<Index> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), Index{0});
  if (want <= 0 || want >= n) return idx;
  Rng rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (Index i = 0; i < want; ++i) {  // partial Fisher-Yates
    const Index j = i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - i)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
  }
  idx.resize(static_cast<size_t>(want));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// The joint histograms of neurons `first..first+count` with every variable. Layout per
// neuron: one row of `width` counts per neuron bin, holding every variable's bins side by
// side, so an event adds 1 at row[xa][cbo[e][v]] for each v: the variable offsets are
// folded into the stored indices and the inner loop is a pure gather-increment. Events go
// in blocks so one block of variable indices serves the whole group from cache.
template <class T>
void fill_group(const std::vector<BinnedColumn>& rows, Index first, Index count, const std::vector<T>& cbo, Index nb,
                Index width, std::vector<std::uint32_t>& hist) {
  constexpr Index kBlock = 4096;
  const Index n = static_cast<Index>(rows[0].index.size());
  std::vector<Index> start(static_cast<size_t>(count) + 1, 0);
  for (Index g = 0; g < count; ++g)
    start[static_cast<size_t>(g) + 1] =
        start[static_cast<size_t>(g)] + rows[static_cast<size_t>(first + g)].bins * width;
  hist.assign(static_cast<size_t>(start[static_cast<size_t>(count)]), 0);
  for (Index b0 = 0; b0 < n; b0 += kBlock) {
    const Index b1 = std::min(n, b0 + kBlock);
    for (Index g = 0; g < count; ++g) {
      const std::uint16_t* xi = rows[static_cast<size_t>(first + g)].index.data();
      std::uint32_t* h = hist.data() + start[static_cast<size_t>(g)];
      for (Index e = b0; e < b1; ++e) {
        std::uint32_t* row = h + static_cast<Index>(xi[e]) * width;
        const T* c = cbo.data() + e * nb;
        for (Index v = 0; v < nb; ++v) ++row[c[v]];
      }
    }
  }
}

// The matrices from binned columns.
// `progress` (may be null) advances by one per neuron.
void binned_matrix(const std::vector<BinnedColumn>& rows, const std::vector<BinnedColumn>& cols, MutualInfoResult& r,
                   ProgressCounter* progress) {
  const Index na = static_cast<Index>(rows.size()), nb = static_cast<Index>(cols.size());
  r.nmi.assign(static_cast<size_t>(na), std::vector<double>(static_cast<size_t>(nb), 0.0));
  r.mi = r.nmi;
  if (na == 0 || nb == 0) return;
  const Index n = static_cast<Index>(rows[0].index.size());
  std::vector<Index> coff(static_cast<size_t>(nb) + 1, 0);
  for (Index v = 0; v < nb; ++v)
    coff[static_cast<size_t>(v) + 1] = coff[static_cast<size_t>(v)] + cols[static_cast<size_t>(v)].bins;
  const Index width = coff[static_cast<size_t>(nb)];
  // Variables event-major with their offsets folded in; 16-bit when they fit (half the
  // memory traffic).
  const bool narrow = width <= 65536;
  std::vector<std::uint16_t> c16;
  std::vector<std::uint32_t> c32;
  if (narrow)
    c16.resize(static_cast<size_t>(n * nb));
  else
    c32.resize(static_cast<size_t>(n * nb));
#pragma omp parallel for schedule(static)
  for (Index e = 0; e < n; ++e)
    for (Index v = 0; v < nb; ++v) {
      const Index c = coff[static_cast<size_t>(v)] + cols[static_cast<size_t>(v)].index[static_cast<size_t>(e)];
      if (narrow)
        c16[static_cast<size_t>(e * nb + v)] = static_cast<std::uint16_t>(c);
      else
        c32[static_cast<size_t>(e * nb + v)] = static_cast<std::uint32_t>(c);
    }
  std::vector<std::vector<double>> logc(static_cast<size_t>(nb));
  for (Index v = 0; v < nb; ++v) logc[static_cast<size_t>(v)] = log_counts(cols[static_cast<size_t>(v)]);
  constexpr Index kGroup = 4;  // neurons sharing one pass over the variable indices
  const Index groups = (na + kGroup - 1) / kGroup;
  // Ctrl-C (cancel.hpp): an exception must not leave the region; a flag stops the groups.
  bool cancelled = false;
#pragma omp parallel
  {
    std::vector<std::uint32_t> hist;
#pragma omp for schedule(dynamic, 1)
    for (Index gi = 0; gi < groups; ++gi) {
      bool stop;
#pragma omp atomic read
      stop = cancelled;
      if (stop) continue;
      try {
        check_cancelled();
      } catch (const Cancelled&) {
#pragma omp atomic write
        cancelled = true;
        continue;
      }
      const Index first = gi * kGroup, count = std::min(kGroup, na - first);
      if (narrow)
        fill_group(rows, first, count, c16, nb, width, hist);
      else
        fill_group(rows, first, count, c32, nb, width, hist);
      Index start = 0;
      for (Index g = 0; g < count; ++g) {
        const BinnedColumn& x = rows[static_cast<size_t>(first + g)];
        const std::vector<double> logx = log_counts(x);
        for (Index v = 0; v < nb; ++v) {
          const BinnedColumn& y = cols[static_cast<size_t>(v)];
          const double mi = mi_from_hist(hist.data() + start + coff[static_cast<size_t>(v)], width, x, logx, y,
                                         logc[static_cast<size_t>(v)]);
          r.mi[static_cast<size_t>(first + g)][static_cast<size_t>(v)] = mi;
          r.nmi[static_cast<size_t>(first + g)][static_cast<size_t>(v)] = normalize(mi, x, y);
        }
        start += x.bins * width;
      }
      if (progress) progress->add(count);
    }
  }
  if (cancelled) throw Cancelled();
}

void ksg_matrix(const std::vector<std::vector<double>>& rows, const std::vector<std::vector<double>>& cols,
                const MutualInfoOptions& o, MutualInfoResult& r) {
  ProgressCounter progress(o.progress, static_cast<Index>(rows.size() * cols.size()));  // one unit per pair
  const Index na = static_cast<Index>(rows.size()), nb = static_cast<Index>(cols.size());
  r.nmi.assign(static_cast<size_t>(na), std::vector<double>(static_cast<size_t>(nb), 0.0));
  r.mi = r.nmi;
  if (na == 0 || nb == 0) return;
  // Each column's jitter is drawn once (its own seed), so a column looks the same in
  // every pair and the order of the work does not matter.
  std::vector<std::vector<double>> pr(static_cast<size_t>(na)), pc(static_cast<size_t>(nb));
  for (Index a = 0; a < na; ++a)
    pr[static_cast<size_t>(a)] =
        ksg_prepare(rows[static_cast<size_t>(a)], o.seed + 1000003ULL * static_cast<std::uint64_t>(a + 1));
  for (Index v = 0; v < nb; ++v)
    pc[static_cast<size_t>(v)] =
        ksg_prepare(cols[static_cast<size_t>(v)], o.seed + 7919ULL * static_cast<std::uint64_t>(v + 1) + 17ULL);
  const std::vector<double> psi = digamma_table(static_cast<Index>(rows[0].size()) + 1);
  parallel_for(na * nb, [&](Index p) {
    const Index a = p / nb, v = p % nb;
    const double mi = ksg_prepared(pr[static_cast<size_t>(a)], pc[static_cast<size_t>(v)], o.k, psi);
    r.mi[static_cast<size_t>(a)][static_cast<size_t>(v)] = mi;
    r.nmi[static_cast<size_t>(a)][static_cast<size_t>(v)] = information_coefficient(mi);
    progress.add(1);
  });
  progress.finish();
}

std::string fmt_score(double v) { return fmt::format("{:.3f}", v); }

}  // namespace

MiEstimator parse_mi_estimator(const std::string& text) {
  const std::string t = lower(text);
  if (t == "binned" || t == "bins" || t == "histogram") return MiEstimator::Binned;
  if (t == "ksg" || t == "kraskov" || t == "knn") return MiEstimator::Kraskov;
  throw Error(fmt::format("unknown estimator '{}': expected binned or ksg", text));
}

Binning parse_binning(const std::string& text) {
  const std::string t = lower(text);
  if (t == "equal-frequency" || t == "freq" || t == "frequency" || t == "quantile") return Binning::EqualFrequency;
  if (t == "equal-width" || t == "width" || t == "uniform") return Binning::EqualWidth;
  throw Error(fmt::format("unknown binning '{}': expected equal-frequency or equal-width", text));
}

std::string to_string(MiEstimator e) { return e == MiEstimator::Binned ? "binned" : "ksg"; }
std::string to_string(Binning b) { return b == Binning::EqualFrequency ? "equal-frequency" : "equal-width"; }

BinnedColumn bin_column(std::span<const double> values, const MutualInfoOptions& o, const std::string& name) {
  check_options(o);
  const Index n = static_cast<Index>(values.size());
  if (n == 0) throw Error(fmt::format("'{}' has no events", name));
  check_finite(values, name);
  BinnedColumn c;
  c.index.resize(static_cast<size_t>(n));
  const Index nbins = o.bins;

  // At most `bins` distinct values: they are the bins. Stops at the first extra value,
  // so a continuous column costs a few dozen look-ups.
  std::vector<double> distinct;
  distinct.reserve(static_cast<size_t>(nbins + 1));
  bool few = true;
  for (double v : values) {
    auto it = std::lower_bound(distinct.begin(), distinct.end(), v);
    if (it != distinct.end() && *it == v) continue;
    if (static_cast<Index>(distinct.size()) == nbins) {
      few = false;
      break;
    }
    distinct.insert(it, v);
  }
  if (few) {
    c.discrete = true;
    for (Index e = 0; e < n; ++e)
      c.index[static_cast<size_t>(e)] = static_cast<std::uint16_t>(
          std::lower_bound(distinct.begin(), distinct.end(), values[static_cast<size_t>(e)]) - distinct.begin());
    finish_column(c, static_cast<Index>(distinct.size()));
    return c;
  }

  if (o.binning == Binning::EqualFrequency) {
    // Bin b starts at the element of rank ceil(b N / B); an event's bin is the number of
    // edges strictly below it, where edge b is the element just before that rank. Equal
    // values share a bin; a tie group spanning several quantiles leaves empty bins,
    // which are dropped.
    std::vector<Index> ranks;
    for (Index b = 1; b < nbins; ++b) {
      const Index cb = (b * n + nbins - 1) / nbins;
      if (cb >= 1 && (ranks.empty() || ranks.back() != cb - 1)) ranks.push_back(cb - 1);
    }
    const std::vector<double> at = order_statistics(values, ranks);
    const double vmax = *std::max_element(values.begin(), values.end());
    std::vector<double> edges;
    for (double e : at) {
      if (e < vmax && (edges.empty() || edges.back() != e)) edges.push_back(e);
    }
    const double* ed = edges.data();
    const size_t ne = edges.size();
    for (Index e = 0; e < n; ++e) {
      const double v = values[static_cast<size_t>(e)];
      int b = 0;
      for (size_t q = 0; q < ne; ++q) b += ed[q] < v;  // branch-free, vectorized; at most bins-1 edges
      c.index[static_cast<size_t>(e)] = static_cast<std::uint16_t>(b);
    }
    finish_column(c, static_cast<Index>(edges.size()) + 1);
    return c;
  }

  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  const double lo = *mn, width = (*mx - *mn) / static_cast<double>(nbins);
  for (Index e = 0; e < n; ++e) {
    const double t = (values[static_cast<size_t>(e)] - lo) / width;
    Index b = static_cast<Index>(t);
    c.index[static_cast<size_t>(e)] = static_cast<std::uint16_t>(std::clamp<Index>(b, 0, nbins - 1));
  }
  finish_column(c, nbins);
  return c;
}

double binned_mutual_info(const BinnedColumn& x, const BinnedColumn& y) {
  if (x.index.size() != y.index.size())
    throw Error(fmt::format("columns of different lengths ({} and {} events)", x.index.size(), y.index.size()));
  std::vector<std::uint32_t> h(static_cast<size_t>(x.bins * y.bins), 0);
  for (size_t e = 0; e < x.index.size(); ++e) ++h[static_cast<size_t>(x.index[e] * y.bins + y.index[e])];
  return mi_from_hist(h.data(), y.bins, x, log_counts(x), y, log_counts(y));
}

double normalized_mutual_info(const BinnedColumn& x, const BinnedColumn& y) {
  return normalize(binned_mutual_info(x, y), x, y);
}

double normalized_mutual_info(std::span<const double> x, std::span<const double> y, const MutualInfoOptions& o) {
  return normalized_mutual_info(bin_column(x, o, "x"), bin_column(y, o, "y"));
}

double ksg_mutual_info(std::span<const double> x, std::span<const double> y, Index k, std::uint64_t seed) {
  if (x.size() != y.size()) throw Error("KSG: columns of different lengths");
  if (k < 1) throw Error("KSG: k must be at least 1");
  check_finite(x, "x");
  check_finite(y, "y");
  auto px = ksg_prepare(x, seed), py = ksg_prepare(y, seed + 1);
  return ksg_prepared(px, py, k, digamma_table(static_cast<Index>(x.size()) + 1));
}

double information_coefficient(double mi) { return std::sqrt(std::max(0.0, 1.0 - std::exp(-2.0 * mi))); }

MutualInfoResult mutual_info_matrix(const Tensor& rows, const std::vector<std::string>& row_names, const Tensor& cols,
                                    const std::vector<std::string>& col_names, const MutualInfoOptions& o) {
  check_options(o);
  if (rows.events() != cols.events())
    throw Error(fmt::format("mutual information: {} events against {}", rows.events(), cols.events()));
  if (static_cast<Index>(row_names.size()) != rows.per_event() ||
      static_cast<Index>(col_names.size()) != cols.per_event())
    throw Error("mutual information: names do not match the columns");
  MutualInfoResult r;
  r.estimator = o.estimator;
  r.binning = o.binning;
  r.bins = o.bins;
  r.k = o.k;
  r.neurons = row_names;
  r.variables = col_names;
  const Index na = rows.per_event(), nb = cols.per_event();
  if (o.estimator == MiEstimator::Kraskov) {
    const std::vector<Index> sub = subset_rows(rows.events(), o.knn_events, o.seed);
    auto pick = [&](const Tensor& t, Index j, const std::string& name) {
      std::vector<double> v(sub.size());
      for (size_t i = 0; i < sub.size(); ++i) v[i] = t[sub[i] * t.per_event() + j];
      check_finite(v, name);
      return v;
    };
    std::vector<std::vector<double>> a(static_cast<size_t>(na)), b(static_cast<size_t>(nb));
    for (Index j = 0; j < na; ++j) a[static_cast<size_t>(j)] = pick(rows, j, row_names[static_cast<size_t>(j)]);
    for (Index j = 0; j < nb; ++j) b[static_cast<size_t>(j)] = pick(cols, j, col_names[static_cast<size_t>(j)]);
    r.events = static_cast<Index>(sub.size());
    ksg_matrix(a, b, o, r);
    return r;
  }
  r.events = rows.events();
  std::vector<BinnedColumn> a(static_cast<size_t>(na)), b(static_cast<size_t>(nb));
  // Binning is per column and independent: spread over threads.
  {
    const auto rc = columns_of(rows), cc = columns_of(cols);
    parallel_for(na + nb, [&](Index j) {
      if (j < na)
        a[static_cast<size_t>(j)] = bin_column(rc[static_cast<size_t>(j)], o, row_names[static_cast<size_t>(j)]);
      else
        b[static_cast<size_t>(j - na)] =
            bin_column(cc[static_cast<size_t>(j - na)], o, col_names[static_cast<size_t>(j - na)]);
    });
  }
  for (const auto& c : a) {
    r.neuron_bins.push_back(c.bins);
    r.neuron_discrete.push_back(c.discrete);
  }
  for (const auto& c : b) {
    r.variable_bins.push_back(c.bins);
    r.variable_discrete.push_back(c.discrete);
  }
  ProgressCounter progress(o.progress, na);  // one unit per row's histograms
  binned_matrix(a, b, r, &progress);
  progress.finish();
  return r;
}

std::vector<std::string> expand_neurons(const Network& net, const std::vector<std::string>& list) {
  std::vector<std::string> out;
  std::vector<NeuronRef> seen;
  auto push = [&](const std::string& name) {
    const NeuronRef ref = net.resolve(name);
    if (std::find(seen.begin(), seen.end(), ref) != seen.end()) return;
    seen.push_back(ref);
    out.push_back(name);
  };
  const auto layers = net.layers();
  for (const std::string& item : list) {
    std::string base = item;
    const bool pre = base.size() > 4 && base.ends_with(":pre");
    if (pre) base.resize(base.size() - 4);
    const bool all = base == "all";
    bool whole_layer = base.size() >= 2 && base[0] == 'L' &&
                       std::all_of(base.begin() + 1, base.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (all || whole_layer) {
      if (layers.empty())
        throw Error(
            fmt::format("'{}': this network is not a plain stack, so it has no layers; name neurons as NODE[j]", item));
      size_t first = 1, last = layers.size() - 1;
      if (whole_layer) {
        const size_t k = static_cast<size_t>(std::stoll(base.substr(1)));
        if (k >= layers.size())
          throw Error(fmt::format("'{}': the network has layers L0..L{}", item, layers.size() - 1));
        first = last = k;
      }
      for (size_t k = first; k <= last; ++k)
        for (Index j = 0; j < layers[k].width; ++j) push(fmt::format("L{}N{}{}", k, j, pre ? ":pre" : ""));
      continue;
    }
    for (const std::string& name : expand_output_neurons(net, {item})) push(name);  // output -> output[j]
  }
  return out;
}

MutualInfoResult mutual_info(const Network& net, const Events& events, const MutualInfoOptions& o) {
  check_options(o);
  events.check_model(net, "mutual information");
  const Dataset& data = events.data();
  const std::vector<std::string>& neuron_list = o.neurons;
  std::vector<std::string> variables = o.variables;
  if (variables.empty())
    for (size_t k = 0; k < events.inputs().size(); ++k)
      if (events.flat())
        variables.insert(variables.end(), events.feature_names(k).begin(), events.feature_names(k).end());
  const EvalOptions eval{.batch = o.batch};
  const std::vector<std::string> names = expand_neurons(net, neuron_list);
  if (names.empty()) throw Error("no neurons to analyse");
  if (variables.empty()) throw Error("no variables to compare the neurons with");
  std::vector<NeuronRef> refs;
  for (const auto& n : names) refs.push_back(net.resolve(n));

  // Variables: data columns first, else neurons.
  struct Var {
    bool neuron = false;
    NeuronRef ref;
  };
  std::vector<Var> vars;
  for (const auto& v : variables) {
    Var var;
    if (data.has(v)) {
      if (data.get(v).rank() != 1)
        throw Error(fmt::format("'{}' in '{}' is an array of shape {}, not a column", v, data.source,
                                shape_string(data.get(v).shape())));
    } else {
      try {
        var.ref = net.resolve(v);
        var.neuron = true;
      } catch (const Error&) {
        std::string have;
        for (const auto& c : data.names()) have += (have.empty() ? "" : ", ") + c;
        throw Error(fmt::format("variable '{}' is neither a column of '{}' (it has: {}) nor a neuron of the model", v,
                                data.source, have));
      }
    }
    vars.push_back(var);
  }

  // KSG runs on a subset: evaluate only those events.
  std::vector<Index> rows_used;
  const bool subset = o.estimator == MiEstimator::Kraskov && o.knn_events > 0 && o.knn_events < data.events();
  const Dataset* d = &data;
  Dataset sub;
  std::vector<Tensor> sub_inputs;
  if (subset) {
    rows_used = subset_rows(data.events(), o.knn_events, o.seed);
    sub = data.subset(rows_used);
    d = &sub;
    for (const auto& t : events.inputs()) sub_inputs.push_back(t.gather_events(rows_used));
  }
  const Index n = d->events();
  const std::vector<Tensor>& inputs = subset ? sub_inputs : events.inputs();

  const Index nb = static_cast<Index>(vars.size());
  Tensor cols({n, nb});
  {
    std::vector<NeuronRef> vrefs;
    for (const auto& v : vars)
      if (v.neuron) vrefs.push_back(v.ref);
    Tensor vn = vrefs.empty() ? Tensor() : evaluate(net, inputs, vrefs, eval);
    Index q = 0;
    for (Index j = 0; j < nb; ++j) {
      if (vars[static_cast<size_t>(j)].neuron) {
        for (Index e = 0; e < n; ++e) cols[e * nb + j] = vn[e * static_cast<Index>(vrefs.size()) + q];
        ++q;
      } else {
        const Tensor& c = d->get(variables[static_cast<size_t>(j)]);
        for (Index e = 0; e < n; ++e) cols[e * nb + j] = c[e];
      }
    }
  }

  if (o.estimator == MiEstimator::Kraskov) {
    MutualInfoOptions o2 = o;
    o2.knn_events = 0;  // already the subset
    Tensor rows = evaluate(net, inputs, refs, eval);
    MutualInfoResult r = mutual_info_matrix(rows, names, cols, variables, o2);
    r.top = o.top;
    return r;
  }

  // Binned: evaluate neurons in chunks and keep
  // only their 16-bit bins, so 285 neurons x 1M events need ~0.6 GB, not 2.3 GB of doubles.
  // Chunks follow the list order, so whole early layers need only a short forward pass.
  MutualInfoResult r;
  r.estimator = o.estimator;
  r.binning = o.binning;
  r.bins = o.bins;
  r.k = o.k;
  r.events = n;
  r.neurons = names;
  r.variables = variables;
  r.top = o.top;
  std::vector<BinnedColumn> a(names.size()), b(static_cast<size_t>(nb));
  {
    const auto cc = columns_of(cols);
    parallel_for(nb, [&](Index j) {
      b[static_cast<size_t>(j)] = bin_column(cc[static_cast<size_t>(j)], o, variables[static_cast<size_t>(j)]);
    });
  }
  // Progress: one unit per neuron evaluated and binned, one per neuron's histograms.
  ProgressCounter progress(o.progress, 2 * static_cast<Index>(refs.size()));
  // At most 2^26 values (512 MB) per chunk: 64 neurons at 1M events.
  const size_t kChunk = static_cast<size_t>(std::clamp<Index>((Index{1} << 26) / std::max<Index>(n, 1), 1, 128));
  for (size_t begin = 0; begin < refs.size(); begin += kChunk) {
    const size_t end = std::min(refs.size(), begin + kChunk);
    std::vector<NeuronRef> chunk(refs.begin() + static_cast<std::ptrdiff_t>(begin),
                                 refs.begin() + static_cast<std::ptrdiff_t>(end));
    const auto vals = columns_of(evaluate(net, inputs, chunk, eval));
    parallel_for(static_cast<Index>(chunk.size()), [&](Index j) {
      a[begin + static_cast<size_t>(j)] =
          bin_column(vals[static_cast<size_t>(j)], o, names[begin + static_cast<size_t>(j)]);
    });
    progress.add(static_cast<Index>(chunk.size()));
  }
  for (const auto& c : a) {
    r.neuron_bins.push_back(c.bins);
    r.neuron_discrete.push_back(c.discrete);
  }
  for (const auto& c : b) {
    r.variable_bins.push_back(c.bins);
    r.variable_discrete.push_back(c.discrete);
  }
  binned_matrix(a, b, r, &progress);
  progress.finish();
  return r;
}

// ---- presentation -----------------------------------------------------------------------

std::vector<Index> MutualInfoResult::neurons_by(Index v) const {
  std::vector<Index> idx(neurons.size());
  std::iota(idx.begin(), idx.end(), Index{0});
  std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) {
    return nmi[static_cast<size_t>(a)][static_cast<size_t>(v)] > nmi[static_cast<size_t>(b)][static_cast<size_t>(v)];
  });
  return idx;
}

std::vector<Index> MutualInfoResult::variables_by(Index n) const {
  std::vector<Index> idx(variables.size());
  std::iota(idx.begin(), idx.end(), Index{0});
  const auto& row = nmi[static_cast<size_t>(n)];
  std::stable_sort(idx.begin(), idx.end(),
                   [&](Index a, Index b) { return row[static_cast<size_t>(a)] > row[static_cast<size_t>(b)]; });
  return idx;
}

nlohmann::json MutualInfoResult::to_json() const {
  nlohmann::json j;
  j["neurons"] = neurons;
  j["variables"] = variables;
  j["nmi"] = nmi;
  j["mi_nats"] = mi;
  j["estimator"] = to_string(estimator);
  j["score"] =
      estimator == MiEstimator::Binned ? "I(X;Y)/sqrt(H(X)H(Y))" : "sqrt(1-exp(-2I)) (information coefficient)";
  j["events"] = events;
  if (estimator == MiEstimator::Binned) {
    j["binning"] = to_string(binning);
    j["bins"] = bins;
    j["neuron_bins"] = neuron_bins;
    j["variable_bins"] = variable_bins;
  } else {
    j["k"] = k;
  }
  return j;
}

std::string MutualInfoResult::table() const {
  const std::string what =
      estimator == MiEstimator::Binned
          ? fmt::format("normalized mutual information I/sqrt(H H), {} bins ({}), {} events", bins, to_string(binning),
                        events)
          : fmt::format("KSG (k = {}) information coefficient sqrt(1-exp(-2I)), {} events", k, events);
  std::string out = fmt::format("{} neurons x {} variables: {}\n\n", neurons.size(), variables.size(), what);
  out += matrix_table();
  out += fmt::format("\nneurons that know most about each variable (top {}):\n", top);
  out += top_neurons_table(top);
  out += fmt::format("\nvariables each neuron tracks (top {}):\n", std::min<Index>(top, 3));
  out += top_variables_table(std::min<Index>(top, 3));
  if (estimator == MiEstimator::Kraskov) out += "\n(KSG: mutual information in nats is in the JSON as mi_nats)\n";
  return out;
}

std::string MutualInfoResult::matrix_table() const {
  size_t w0 = 6;
  for (const auto& n : neurons) w0 = std::max(w0, n.size());
  std::vector<size_t> w;
  for (const auto& v : variables) w.push_back(std::max<size_t>(6, v.size()));
  std::string out = fmt::format("{:<{}}", "neuron", w0);
  for (size_t j = 0; j < variables.size(); ++j) out += fmt::format("  {:>{}}", variables[j], w[j]);
  out += "\n";
  for (size_t i = 0; i < neurons.size(); ++i) {
    out += fmt::format("{:<{}}", neurons[i], w0);
    for (size_t j = 0; j < variables.size(); ++j) out += fmt::format("  {:>{}}", fmt_score(nmi[i][j]), w[j]);
    out += "\n";
  }
  return out;
}

namespace {
// One line per row label: the label, then its top `top` partners by score, best first
// (`order(i)` ranks the partners of row i, `score(i, k)` is the score of row i and partner k).
template <class Order, class Score>
std::string top_partners(const std::vector<std::string>& rows, const std::vector<std::string>& partners,
                         size_t min_width, Index top, Order order, Score score) {
  std::string out;
  size_t w = min_width;
  for (const auto& r : rows) w = std::max(w, r.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    out += fmt::format("{:<{}}", rows[i], w);
    const auto idx = order(static_cast<Index>(i));
    for (Index t = 0; t < std::min<Index>(top, static_cast<Index>(idx.size())); ++t) {
      const auto k = static_cast<size_t>(idx[static_cast<size_t>(t)]);
      out += fmt::format("  {} {}", partners[k], fmt_score(score(i, k)));
    }
    out += "\n";
  }
  return out;
}
}  // namespace

std::string MutualInfoResult::top_neurons_table(Index top) const {
  return top_partners(
      variables, neurons, 8, top, [&](Index v) { return neurons_by(v); },
      [&](size_t v, size_t i) { return nmi[i][v]; });
}

std::string MutualInfoResult::top_variables_table(Index top) const {
  return top_partners(
      neurons, variables, 6, top, [&](Index i) { return variables_by(i); },
      [&](size_t i, size_t v) { return nmi[i][v]; });
}

}  // namespace unbox

// ---- across processes -------------------------------------------------------------------

namespace unbox {

namespace {

// Every process's `mine` (the same length everywhere) added element-wise in process order.
std::vector<double> summed(const AllGather& gather, const std::vector<double>& mine) {
  const std::vector<double> all = gather(mine);
  const size_t n = mine.size();
  std::vector<double> out(n, 0.0);
  if (n == 0) return out;
  if (all.size() % n != 0) throw Error("mutual information: the processes' columns disagree");
  for (size_t at = 0; at < all.size(); at += n)
    for (size_t k = 0; k < n; ++k) out[k] += all[at + k];
  return out;
}

double from_order_key(std::uint64_t k) {
  const std::uint64_t u = (k >> 63) ? (k & 0x7FFFFFFFFFFFFFFFULL) : ~k;
  double v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// The columns binned as bin_column() bins all processes' values together.
std::vector<BinnedColumn> bin_across(const std::vector<std::vector<double>>& cols, const MutualInfoOptions& o,
                                     const AllGather& gather, double n_all) {
  const size_t C = cols.size();
  const Index B = o.bins;
  const size_t slot = static_cast<size_t>(B) + 2;  // count, then up to B + 1 distinct values
  // Distinct values (at most B + 1 per process), minimum and maximum.
  std::vector<double> mine(C * slot + 2 * C, std::nan(""));
  for (size_t c = 0; c < C; ++c) {
    std::vector<double> distinct;
    for (double v : cols[c]) {
      auto it = std::lower_bound(distinct.begin(), distinct.end(), v);
      if (it != distinct.end() && *it == v) continue;
      distinct.insert(it, v);
      if (static_cast<Index>(distinct.size()) > B) break;
    }
    mine[c * slot] = static_cast<double>(distinct.size());
    std::copy(distinct.begin(), distinct.end(), mine.begin() + static_cast<std::ptrdiff_t>(c * slot + 1));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : cols[c]) lo = std::min(lo, v), hi = std::max(hi, v);
    mine[C * slot + 2 * c] = lo;
    mine[C * slot + 2 * c + 1] = hi;
  }
  const std::vector<double> all = gather(mine);
  const size_t P = all.size() / mine.size();
  std::vector<std::vector<double>> distinct(C);
  std::vector<bool> few(C, true);
  std::vector<double> lo(C, std::numeric_limits<double>::infinity()), hi(C, -std::numeric_limits<double>::infinity());
  for (size_t p = 0; p < P; ++p) {
    const double* m = all.data() + p * mine.size();
    for (size_t c = 0; c < C; ++c) {
      const auto k = static_cast<size_t>(m[c * slot]);
      for (size_t i = 0; i < k; ++i) {
        const double v = m[c * slot + 1 + i];
        auto it = std::lower_bound(distinct[c].begin(), distinct[c].end(), v);
        if (it == distinct[c].end() || *it != v) distinct[c].insert(it, v);
      }
      if (static_cast<Index>(distinct[c].size()) > B) few[c] = false;
      lo[c] = std::min(lo[c], m[C * slot + 2 * c]);
      hi[c] = std::max(hi[c], m[C * slot + 2 * c + 1]);
    }
  }
  // Equal-frequency edges: the order statistics of the ranks bin_column() uses, each found by
  // bisecting the 64-bit order keys (the smallest key with more than `rank` values at or
  // below it), the counts summed over processes: exact, 64 rounds.
  const auto N = static_cast<Index>(n_all);
  std::vector<Index> wanted_rank;
  std::vector<size_t> wanted_col;
  if (o.binning == Binning::EqualFrequency)
    for (size_t c = 0; c < C; ++c) {
      if (few[c]) continue;
      std::vector<Index> ranks;
      for (Index b = 1; b < B; ++b) {
        const Index cb = (b * N + B - 1) / B;
        if (cb >= 1 && (ranks.empty() || ranks.back() != cb - 1)) ranks.push_back(cb - 1);
      }
      for (Index r : ranks) {
        wanted_rank.push_back(r);
        wanted_col.push_back(c);
      }
    }
  std::vector<std::vector<std::uint64_t>> keys(C);
  for (size_t c = 0; c < C; ++c)
    if (!few[c] && o.binning == Binning::EqualFrequency) {
      keys[c].reserve(cols[c].size());
      for (double v : cols[c]) keys[c].push_back(order_key(v));
      std::sort(keys[c].begin(), keys[c].end());
    }
  const size_t W = wanted_rank.size();
  std::vector<std::uint64_t> klo(W, 0), khi(W, ~std::uint64_t{0});
  std::vector<double> counts(W);
  for (int round = 0; round < 64 && W > 0; ++round) {
    for (size_t w = 0; w < W; ++w) {
      const std::uint64_t mid = klo[w] + (khi[w] - klo[w]) / 2;
      const auto& k = keys[wanted_col[w]];
      counts[w] = static_cast<double>(std::upper_bound(k.begin(), k.end(), mid) - k.begin());
    }
    const std::vector<double> total = summed(gather, counts);
    for (size_t w = 0; w < W; ++w) {
      const std::uint64_t mid = klo[w] + (khi[w] - klo[w]) / 2;
      if (klo[w] == khi[w]) continue;
      if (total[w] >= static_cast<double>(wanted_rank[w] + 1))
        khi[w] = mid;
      else
        klo[w] = mid + 1;
    }
  }
  // Bin this process's values; the counts per raw bin summed over processes.
  std::vector<BinnedColumn> out(C);
  std::vector<Index> raw(C);
  size_t w0 = 0;
  for (size_t c = 0; c < C; ++c) {
    BinnedColumn& col = out[c];
    const auto& values = cols[c];
    col.index.resize(values.size());
    if (few[c]) {
      col.discrete = true;
      for (size_t e = 0; e < values.size(); ++e)
        col.index[e] = static_cast<std::uint16_t>(std::lower_bound(distinct[c].begin(), distinct[c].end(), values[e]) -
                                                  distinct[c].begin());
      raw[c] = static_cast<Index>(distinct[c].size());
    } else if (o.binning == Binning::EqualFrequency) {
      std::vector<double> edges;
      for (; w0 < W && wanted_col[w0] == c; ++w0) {
        const double e = from_order_key(klo[w0]);
        if (e < hi[c] && (edges.empty() || edges.back() != e)) edges.push_back(e);
      }
      for (size_t e = 0; e < values.size(); ++e) {
        int b = 0;
        for (double ed : edges) b += ed < values[e];
        col.index[e] = static_cast<std::uint16_t>(b);
      }
      raw[c] = static_cast<Index>(edges.size()) + 1;
    } else {
      const double width = (hi[c] - lo[c]) / static_cast<double>(B);
      for (size_t e = 0; e < values.size(); ++e) {
        const double t = (values[e] - lo[c]) / width;
        col.index[e] = static_cast<std::uint16_t>(std::clamp<Index>(static_cast<Index>(t), 0, B - 1));
      }
      raw[c] = B;
    }
  }
  std::vector<size_t> off(C + 1, 0);
  for (size_t c = 0; c < C; ++c) off[c + 1] = off[c] + static_cast<size_t>(raw[c]);
  std::vector<double> local(off[C], 0.0);
  for (size_t c = 0; c < C; ++c)
    for (auto b : out[c].index) local[off[c] + b] += 1.0;
  const std::vector<double> global = summed(gather, local);
  for (size_t c = 0; c < C; ++c)
    finish_column_global(out[c],
                         std::vector<double>(global.begin() + static_cast<std::ptrdiff_t>(off[c]),
                                             global.begin() + static_cast<std::ptrdiff_t>(off[c + 1])),
                         n_all);
  return out;
}

}  // namespace

MutualInfoColumns mutual_info_columns(const Network& net, const Events& events, const MutualInfoOptions& o) {
  check_options(o);
  if (o.estimator != MiEstimator::Binned)
    throw Error("the KSG estimator needs every value's neighbours: it runs in one process (use the binned one)");
  events.check_model(net, "mutual information");
  const Dataset& data = events.data();
  MutualInfoColumns m;
  m.variables = o.variables;
  if (m.variables.empty())
    for (size_t k = 0; k < events.inputs().size(); ++k)
      if (events.flat())
        m.variables.insert(m.variables.end(), events.feature_names(k).begin(), events.feature_names(k).end());
  m.neurons = expand_neurons(net, o.neurons);
  if (m.neurons.empty()) throw Error("no neurons to analyse");
  if (m.variables.empty()) throw Error("no variables to compare the neurons with");
  const EvalOptions eval{.batch = o.batch};
  std::vector<NeuronRef> refs;
  for (const auto& n : m.neurons) refs.push_back(net.resolve(n));
  m.a = columns_of(evaluate(net, events.inputs(), refs, eval));
  std::vector<NeuronRef> vrefs;
  std::vector<int> which;  // per variable: -1 a data column, else its place in vrefs
  for (const auto& v : m.variables) {
    if (data.has(v)) {
      if (data.get(v).rank() != 1)
        throw Error(fmt::format("'{}' in '{}' is an array of shape {}, not a column", v, data.source,
                                shape_string(data.get(v).shape())));
      which.push_back(-1);
      continue;
    }
    try {
      vrefs.push_back(net.resolve(v));
    } catch (const Error&) {
      std::string have;
      for (const auto& c : data.names()) have += (have.empty() ? "" : ", ") + c;
      throw Error(fmt::format("variable '{}' is neither a column of '{}' (it has: {}) nor a neuron of the model", v,
                              data.source, have));
    }
    which.push_back(static_cast<int>(vrefs.size()) - 1);
  }
  std::vector<std::vector<double>> vn;
  if (!vrefs.empty()) vn = columns_of(evaluate(net, events.inputs(), vrefs, eval));
  for (size_t j = 0; j < m.variables.size(); ++j) {
    if (which[j] >= 0) {
      m.b.push_back(std::move(vn[static_cast<size_t>(which[j])]));
    } else {
      const auto& v = data.get(m.variables[j]).values();
      m.b.emplace_back(v.begin(), v.end());
    }
  }
  for (size_t j = 0; j < m.a.size(); ++j) check_finite(m.a[j], m.neurons[j]);
  for (size_t j = 0; j < m.b.size(); ++j) check_finite(m.b[j], m.variables[j]);
  return m;
}

MutualInfoResult mutual_info_across(const MutualInfoColumns& m, const MutualInfoOptions& o, const AllGather& gather) {
  check_options(o);
  const double n_all = summed(gather, {static_cast<double>(m.a.empty() ? 0 : m.a[0].size())})[0];
  if (!(n_all > 0)) throw Error("mutual information: no events");
  std::vector<std::vector<double>> all_cols = m.a;
  all_cols.insert(all_cols.end(), m.b.begin(), m.b.end());
  std::vector<BinnedColumn> binned = bin_across(all_cols, o, gather, n_all);
  const size_t na = m.a.size(), nb = m.b.size();
  std::vector<BinnedColumn> a(binned.begin(), binned.begin() + static_cast<std::ptrdiff_t>(na));
  std::vector<BinnedColumn> b(binned.begin() + static_cast<std::ptrdiff_t>(na), binned.end());
  MutualInfoResult r;
  r.estimator = o.estimator;
  r.binning = o.binning;
  r.bins = o.bins;
  r.k = o.k;
  r.events = static_cast<Index>(n_all);
  r.neurons = m.neurons;
  r.variables = m.variables;
  r.top = o.top;
  for (const auto& c : a) {
    r.neuron_bins.push_back(c.bins);
    r.neuron_discrete.push_back(c.discrete);
  }
  for (const auto& c : b) {
    r.variable_bins.push_back(c.bins);
    r.variable_discrete.push_back(c.discrete);
  }
  // Joint histograms of every pair, this process's counts, summed over processes.
  std::vector<size_t> off(na * nb + 1, 0);
  for (size_t i = 0; i < na; ++i)
    for (size_t v = 0; v < nb; ++v) off[i * nb + v + 1] = off[i * nb + v] + static_cast<size_t>(a[i].bins * b[v].bins);
  std::vector<double> local(off.back(), 0.0);
  const size_t events = m.a.empty() ? 0 : m.a[0].size();
  for (size_t i = 0; i < na; ++i)
    for (size_t v = 0; v < nb; ++v) {
      double* h = local.data() + off[i * nb + v];
      const Index stride = b[v].bins;
      for (size_t e = 0; e < events; ++e) h[a[i].index[e] * stride + b[v].index[e]] += 1.0;
    }
  const std::vector<double> hist = summed(gather, local);
  r.nmi.assign(na, std::vector<double>(nb, 0.0));
  r.mi = r.nmi;
  const double logn = std::log(n_all);
  for (size_t i = 0; i < na; ++i) {
    const std::vector<double> logx = log_counts(a[i]);
    for (size_t v = 0; v < nb; ++v) {
      const std::vector<double> logy = log_counts(b[v]);
      const double* h = hist.data() + off[i * nb + v];
      double s = 0.0;  // mi_from_hist's sum, in its order
      for (Index x = 0; x < a[i].bins; ++x)
        for (Index y = 0; y < b[v].bins; ++y) {
          const double cd = h[x * b[v].bins + y];
          if (cd == 0) continue;
          s += cd * (std::log(cd) + logn - logx[static_cast<size_t>(x)] - logy[static_cast<size_t>(y)]);
        }
      const double mi = std::max(0.0, s / n_all);
      r.mi[i][v] = mi;
      r.nmi[i][v] = normalize(mi, a[i], b[v]);
    }
  }
  return r;
}

}  // namespace unbox
