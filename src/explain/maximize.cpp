// Activation maximization (Roxlo & Reece section 2.5) and the optional plausibility term.
#include "unbox/explain/maximize.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <span>

#include "unbox/cancel.hpp"
#include "unbox/random.hpp"

namespace unbox {

namespace {

constexpr double kLog2Pi = 1.8378770664093453;
constexpr Index kMaxComponents = 64;

struct ColumnStats {
  double min = 0, max = 0, mean = 0, std = 1;
  std::vector<double> distinct;  // up to limit + 1 values
};

std::vector<ColumnStats> column_stats(const Tensor& x, Index distinct_limit) {
  const Index n = x.events(), d = x.per_event();
  std::vector<ColumnStats> out(static_cast<size_t>(d));
  for (Index j = 0; j < d; ++j) {
    ColumnStats& s = out[static_cast<size_t>(j)];
    s.min = std::numeric_limits<double>::infinity();
    s.max = -s.min;
    double sum = 0, sum2 = 0;
    for (Index e = 0; e < n; ++e) {
      const double v = x[e * d + j];
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
      sum += v;
      if (static_cast<Index>(s.distinct.size()) <= distinct_limit &&
          std::find(s.distinct.begin(), s.distinct.end(), v) == s.distinct.end())
        s.distinct.push_back(v);
    }
    s.mean = sum / static_cast<double>(n);
    for (Index e = 0; e < n; ++e) sum2 += (x[e * d + j] - s.mean) * (x[e * d + j] - s.mean);
    s.std = std::sqrt(sum2 / static_cast<double>(n));
    if (!(s.std > 0)) s.std = 1.0;  // a constant input: any scale will do
  }
  return out;
}

double log_sum_exp(const double* v, Index n) {
  double m = -std::numeric_limits<double>::infinity();
  for (Index k = 0; k < n; ++k) m = std::max(m, v[k]);
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (Index k = 0; k < n; ++k) s += std::exp(v[k] - m);
  return m + std::log(s);
}

}  // namespace

// ---- Gaussian mixture --------------------------------------------------------------

double GaussianMixture::log_density(const double* x, double* grad, double scale) const {
  const Index k = static_cast<Index>(weight.size()), d = static_cast<Index>(mean.size());
  double l[kMaxComponents];
  for (Index c = 0; c < k; ++c) {
    double s = std::log(weight[static_cast<size_t>(c)]);
    const auto& m = mu[static_cast<size_t>(c)];
    const auto& v = var[static_cast<size_t>(c)];
    for (Index i = 0; i < d; ++i) {
      const double u = (x[i] - mean[static_cast<size_t>(i)]) / stddev[static_cast<size_t>(i)];
      const double r = u - m[static_cast<size_t>(i)];
      s -= 0.5 * (kLog2Pi + std::log(v[static_cast<size_t>(i)]) + r * r / v[static_cast<size_t>(i)]);
    }
    l[c] = s;
  }
  const double lp = log_sum_exp(l, k);
  if (grad) {
    for (Index c = 0; c < k; ++c) {
      const double resp = std::exp(l[c] - lp);
      const auto& m = mu[static_cast<size_t>(c)];
      const auto& v = var[static_cast<size_t>(c)];
      for (Index i = 0; i < d; ++i) {
        const double u = (x[i] - mean[static_cast<size_t>(i)]) / stddev[static_cast<size_t>(i)];
        grad[i] -=
            scale * resp * (u - m[static_cast<size_t>(i)]) / v[static_cast<size_t>(i)] / stddev[static_cast<size_t>(i)];
      }
    }
  }
  return lp;
}

GaussianMixture fit_gaussian_mixture(const Tensor& data, Index components, Index iterations, std::uint64_t seed) {
  if (components < 1 || components > kMaxComponents)
    throw Error(fmt::format("the Gaussian mixture needs 1 to {} components, got {}", kMaxComponents, components));
  const Index n_all = data.events(), d = data.per_event();
  if (n_all < components) throw Error("too few events to fit the Gaussian mixture");
  Rng rng(seed);
  // EM cost is linear in events; 20k events pin down a handful of components well.
  std::vector<Index> rows;
  const Index n = std::min<Index>(n_all, 20000);
  if (n == n_all) {
    for (Index e = 0; e < n; ++e) rows.push_back(e);
  } else {
    for (Index e = 0; e < n; ++e) rows.push_back(static_cast<Index>(rng.below(static_cast<std::uint64_t>(n_all))));
  }
  auto stats = column_stats(data, 0);
  GaussianMixture g;
  for (const auto& s : stats) {
    g.mean.push_back(s.mean);
    g.stddev.push_back(s.std);
  }
  std::vector<double> u(static_cast<size_t>(n * d));
  for (Index e = 0; e < n; ++e)
    for (Index i = 0; i < d; ++i)
      u[static_cast<size_t>(e * d + i)] =
          (data[rows[static_cast<size_t>(e)] * d + i] - g.mean[static_cast<size_t>(i)]) /
          g.stddev[static_cast<size_t>(i)];
  g.weight.assign(static_cast<size_t>(components), 1.0 / static_cast<double>(components));
  for (Index c = 0; c < components; ++c) {
    const Index e = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
    g.mu.emplace_back(u.begin() + e * d, u.begin() + (e + 1) * d);
    g.var.emplace_back(static_cast<size_t>(d), 1.0);
  }
  std::vector<double> resp(static_cast<size_t>(n * components));
  constexpr double kVarFloor = 1e-3;  // discrete inputs would otherwise collapse a component
  for (Index it = 0; it < iterations; ++it) {
    // E step
    for (Index e = 0; e < n; ++e) {
      double* r = &resp[static_cast<size_t>(e * components)];
      for (Index c = 0; c < components; ++c) {
        double s = std::log(g.weight[static_cast<size_t>(c)]);
        for (Index i = 0; i < d; ++i) {
          const double v = g.var[static_cast<size_t>(c)][static_cast<size_t>(i)];
          const double q = u[static_cast<size_t>(e * d + i)] - g.mu[static_cast<size_t>(c)][static_cast<size_t>(i)];
          s -= 0.5 * (kLog2Pi + std::log(v) + q * q / v);
        }
        r[c] = s;
      }
      const double lp = log_sum_exp(r, components);
      for (Index c = 0; c < components; ++c) r[c] = std::exp(r[c] - lp);
    }
    // M step
    for (Index c = 0; c < components; ++c) {
      double nk = 0;
      std::vector<double> m(static_cast<size_t>(d), 0.0), v(static_cast<size_t>(d), 0.0);
      for (Index e = 0; e < n; ++e) {
        const double r = resp[static_cast<size_t>(e * components + c)];
        nk += r;
        for (Index i = 0; i < d; ++i) m[static_cast<size_t>(i)] += r * u[static_cast<size_t>(e * d + i)];
      }
      if (nk < 1e-9) {  // an empty component restarts on a random event
        const Index e = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
        g.mu[static_cast<size_t>(c)].assign(u.begin() + e * d, u.begin() + (e + 1) * d);
        g.var[static_cast<size_t>(c)].assign(static_cast<size_t>(d), 1.0);
        g.weight[static_cast<size_t>(c)] = 1.0 / static_cast<double>(n);
        continue;
      }
      for (auto& x : m) x /= nk;
      for (Index e = 0; e < n; ++e) {
        const double r = resp[static_cast<size_t>(e * components + c)];
        for (Index i = 0; i < d; ++i) {
          const double q = u[static_cast<size_t>(e * d + i)] - m[static_cast<size_t>(i)];
          v[static_cast<size_t>(i)] += r * q * q;
        }
      }
      for (auto& x : v) x = std::max(kVarFloor, x / nk);
      g.mu[static_cast<size_t>(c)] = m;
      g.var[static_cast<size_t>(c)] = v;
      g.weight[static_cast<size_t>(c)] = nk / static_cast<double>(n);
    }
    double wsum = 0;
    for (double w : g.weight) wsum += w;
    for (double& w : g.weight) w /= wsum;
  }
  return g;
}

// ---- maximization ------------------------------------------------------------------

namespace {

struct Setup {
  std::vector<double> lo, hi, scale;  // box, per-input step scale (data std)
  std::vector<bool> discrete, held;
};

// The gradient loop over all points; fills activation, steps, converged, points.
void run_ascent(const Network& net, const NeuronRef& ref, const Setup& su, const MaximizeOptions& o,
                const GaussianMixture* gmm, double lambda, MaximizeResult& r) {
  const Index K = r.start.events(), d = r.start.per_event();
  const double sign = o.minimize ? -1.0 : 1.0;
  const Index batch = std::max<Index>(1, o.batch);
  const Index batches = (K + batch - 1) / batch;
  const int input_node = net.input_nodes()[0];
  r.points = r.start;
  r.activation.assign(static_cast<size_t>(K), 0.0);
  r.steps.assign(static_cast<size_t>(K), 0);
  r.converged.assign(static_cast<size_t>(K), 0);
  std::vector<double> m(static_cast<size_t>(K * d), 0.0), v(static_cast<size_t>(K * d), 0.0);
  constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-12;
  Index total_steps = 0, done = 0;
  // Ctrl-C from the Python module (cancel.hpp): checked before every step; an exception must
  // not leave the OpenMP region, so a cancelled batch stops and the flag is raised after it.
  bool cancelled = false;
  const auto cancel_requested = [] {
    try {
      check_cancelled();
      return false;
    } catch (const Cancelled&) {
      return true;
    }
  };
#pragma omp parallel reduction(+ : total_steps)
  {
    Workspace ws;
    Tensor x, seed;
    std::vector<Index> active, rows;
    std::vector<double> grad(static_cast<size_t>(d));
#pragma omp for schedule(dynamic, 1)
    for (Index b = 0; b < batches; ++b) {
      const Index begin = b * batch, end = std::min(K, begin + batch);
      active.clear();
      for (Index p = begin; p < end; ++p) active.push_back(p);
      for (Index t = 0; !active.empty(); ++t) {
        bool stop;
#pragma omp atomic read
        stop = cancelled;
        if (!stop && cancel_requested()) {
#pragma omp atomic write
          cancelled = true;
          stop = true;
        }
        if (stop) break;
        const Index na = static_cast<Index>(active.size());
        x.resize({na, d});
        for (Index a = 0; a < na; ++a)
          std::copy_n(r.points.data() + active[static_cast<size_t>(a)] * d, d, x.data() + a * d);
        std::vector<const Tensor*> ptrs{&x};
        net.forward(ptrs, ws, ref.node);
        const Tensor& out = ws.values[static_cast<size_t>(ref.node)];
        const Index pe = out.per_event();
        // Record and retire points that passed the threshold or ran out of steps; the
        // others keep their row of this batch (`rows`) for the backward pass.
        Index keep = 0;
        rows.clear();
        seed.resize(out.shape());
        seed.fill(0.0);
        for (Index a = 0; a < na; ++a) {
          const Index p = active[static_cast<size_t>(a)];
          const double z = out[a * pe + ref.index];
          const bool pass = sign * z >= sign * o.threshold;
          if (pass || t >= o.steps) {
            r.activation[static_cast<size_t>(p)] = z;
            r.steps[static_cast<size_t>(p)] = t;
            r.converged[static_cast<size_t>(p)] = pass;
          } else {
            active[static_cast<size_t>(keep++)] = p;
            rows.push_back(a);
            seed[a * pe + ref.index] = sign;  // retired rows get a zero seed
          }
        }
        if (keep == 0) break;
        active.resize(static_cast<size_t>(keep));
        net.backward(ws, ref.node, seed);
        const Tensor& g = ws.grads[static_cast<size_t>(input_node)];
        total_steps += keep;
        const double c1 = 1.0 - std::pow(b1, static_cast<double>(t + 1));
        const double c2 = 1.0 - std::pow(b2, static_cast<double>(t + 1));
        for (Index a = 0; a < keep; ++a) {
          const Index p = active[static_cast<size_t>(a)];
          const Index row = rows[static_cast<size_t>(a)];
          double* xp = r.points.data() + p * d;
          for (Index i = 0; i < d; ++i) grad[static_cast<size_t>(i)] = g.size() ? g[row * d + i] : 0.0;
          if (gmm) gmm->log_density(xp, grad.data(), lambda);
          for (Index i = 0; i < d; ++i) {
            if (su.held[static_cast<size_t>(i)]) continue;
            // Adam in standardized units: the step in x is step_size x std_i.
            const double gu = grad[static_cast<size_t>(i)] * su.scale[static_cast<size_t>(i)];
            double& mi = m[static_cast<size_t>(p * d + i)];
            double& vi = v[static_cast<size_t>(p * d + i)];
            mi = b1 * mi + (1 - b1) * gu;
            vi = b2 * vi + (1 - b2) * gu * gu;
            const double step = o.step_size * (mi / c1) / (std::sqrt(vi / c2) + eps);
            xp[i] = std::clamp(xp[i] + step * su.scale[static_cast<size_t>(i)], su.lo[static_cast<size_t>(i)],
                               su.hi[static_cast<size_t>(i)]);
          }
        }
      }
      if (o.progress) {
#pragma omp critical(unbox_maximize_progress)
        {
          done += end - begin;
          o.progress(done);
        }
      }
    }
  }
  if (cancelled) throw Cancelled();
  r.point_steps = total_steps;
}

double mean_log_density(const GaussianMixture& g, const MaximizeResult& r) {
  double s = 0;
  Index n = 0;
  for (Index p = 0; p < r.size(); ++p)
    if (r.converged[static_cast<size_t>(p)]) {
      s += g.log_density(r.points.data() + p * r.points.per_event());
      ++n;
    }
  return n ? s / static_cast<double>(n) : 0.0;
}

const char* box_name(BoxKind b) {
  switch (b) {
    case BoxKind::DataRange:
      return "data";
    case BoxKind::StdDev:
      return "std";
    case BoxKind::Sample:
      return "sample";
  }
  return "?";
}

}  // namespace

MaximizeResult maximize(const Network& net, const Events& events, const MaximizeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  events.check_model(net, "maximize");
  const Dataset& data = events.data();
  const std::string& neuron = o.neuron;
  if (net.input_nodes().size() != 1 || net.node(net.input_nodes()[0]).shape.size() != 1)
    throw Error("maximize needs a model with one flat input (a list of named features)");
  if (o.points < 1) throw Error(fmt::format("the number of starting points must be positive, got {}", o.points));
  if (o.steps < 0) throw Error(fmt::format("the step limit must be >= 0, got {}", o.steps));
  if (!(o.step_size > 0)) throw Error(fmt::format("the step size must be positive, got {}", o.step_size));
  if (o.plausibility < 0) throw Error("the plausibility weight must be >= 0");
  const NeuronRef ref = net.resolve(neuron);
  if (net.input_nodes()[0] == ref.node) throw Error("maximizing a raw input (L0) is trivial; choose a later neuron");
  const Tensor& x = events.inputs()[0];
  const Index n = x.events(), d = x.per_event();
  if (n == 0) throw Error(fmt::format("'{}' has no events", data.source));
  for (double v : std::span<const double>(x.data(), static_cast<size_t>(x.size())))  // borrowed inputs: no copy
    if (!std::isfinite(v)) throw Error(fmt::format("'{}' has NaN or Inf in the model's inputs", data.source));

  MaximizeResult r;
  r.neuron = neuron;
  r.inputs = events.feature_names(0);
  r.minimize = o.minimize;
  r.threshold = o.threshold;
  r.box = o.box;
  r.plausibility = o.plausibility;
  auto stats = column_stats(x, o.discrete_max_values);
  Setup su;
  for (const auto& s : stats) {
    double lo = s.min, hi = s.max;
    if (o.box == BoxKind::StdDev) {
      lo = s.mean - o.box_k * s.std;
      hi = s.mean + o.box_k * s.std;
    }
    const bool disc = static_cast<Index>(s.distinct.size()) <= o.discrete_max_values;
    su.lo.push_back(lo);
    su.hi.push_back(hi);
    su.scale.push_back(s.std);
    su.discrete.push_back(disc);
    su.held.push_back(disc && o.hold_discrete);
  }
  r.lo = su.lo;
  r.hi = su.hi;
  r.discrete = su.discrete;
  r.held = su.held;

  // Starting points, drawn serially so they do not depend on the thread count.
  Rng rng(o.seed);
  r.start = Tensor({o.points, d});
  for (Index p = 0; p < o.points; ++p) {
    if (o.box == BoxKind::Sample) {
      const Index e = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
      std::copy_n(x.data() + e * d, d, r.start.data() + p * d);
      continue;
    }
    for (Index i = 0; i < d; ++i) {
      double& v = r.start[p * d + i];
      if (su.held[static_cast<size_t>(i)])
        v = x[static_cast<Index>(rng.below(static_cast<std::uint64_t>(n))) * d + i];  // the data's own mix of values
      else
        v = rng.uniform(su.lo[static_cast<size_t>(i)], su.hi[static_cast<size_t>(i)]);
    }
  }

  GaussianMixture gmm;
  const bool use_gmm = o.plausibility > 0;
  if (use_gmm) gmm = fit_gaussian_mixture(x, o.gmm_components, o.gmm_iterations, o.seed + 0x9e3779b97f4a7c15ULL);

  if (use_gmm && o.compare_without_plausibility) {
    MaximizeResult plain = r;
    MaximizeOptions po = o;
    po.progress = nullptr;
    run_ascent(net, ref, su, po, nullptr, 0.0, plain);
    r.has_comparison = true;
    r.converged_fraction_without = plain.converged_fraction();
    r.mean_log_density_without = mean_log_density(gmm, plain);
  }
  run_ascent(net, ref, su, o, use_gmm ? &gmm : nullptr, o.plausibility, r);
  if (use_gmm) r.mean_log_density = mean_log_density(gmm, r);

  r.boundary.assign(static_cast<size_t>(o.points * d), 0);
  for (Index p = 0; p < o.points; ++p)
    for (Index i = 0; i < d; ++i) {
      const double v = r.points[p * d + i];
      // Held discrete inputs never moved: their value at the range's end is no "runaway".
      r.boundary[static_cast<size_t>(p * d + i)] =
          !su.held[static_cast<size_t>(i)] &&
          (v == su.lo[static_cast<size_t>(i)] || v == su.hi[static_cast<size_t>(i)]);
    }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.histograms) r.histograms = population_histograms(r, *o.histograms);
  return r;
}

double MaximizeResult::converged_fraction() const {
  if (converged.empty()) return 0.0;
  Index c = 0;
  for (auto v : converged) c += v;
  return static_cast<double>(c) / static_cast<double>(converged.size());
}

Dataset MaximizeResult::to_dataset() const {
  const Index K = size(), d = static_cast<Index>(inputs.size());
  Dataset out;
  for (Index i = 0; i < d; ++i) {
    Tensor c({K});
    for (Index p = 0; p < K; ++p) c[p] = points[p * d + i];
    out.add(inputs[static_cast<size_t>(i)], std::move(c));
  }
  Tensor a({K}, activation), s({K}), cv({K});
  for (Index p = 0; p < K; ++p) {
    s[p] = static_cast<double>(steps[static_cast<size_t>(p)]);
    cv[p] = converged[static_cast<size_t>(p)];
  }
  out.add("activation", std::move(a));
  out.add("steps", std::move(s));
  out.add("converged", std::move(cv));
  for (Index i = 0; i < d; ++i) {
    Tensor c({K});
    for (Index p = 0; p < K; ++p) c[p] = boundary[static_cast<size_t>(p * d + i)];
    out.add("boundary_" + inputs[static_cast<size_t>(i)], std::move(c));
  }
  return out;
}

nlohmann::json MaximizeResult::to_json() const {
  nlohmann::json j;
  j["neuron"] = neuron;
  j["direction"] = minimize ? "minimize" : "maximize";
  j["threshold"] = threshold;
  j["points"] = size();
  j["converged"] = static_cast<Index>(std::llround(converged_fraction() * static_cast<double>(size())));
  j["converged_fraction"] = converged_fraction();
  double ms = 0;
  for (auto s : steps) ms += static_cast<double>(s);
  j["mean_steps"] = size() ? ms / static_cast<double>(size()) : 0.0;
  j["point_steps"] = point_steps;
  j["seconds"] = seconds;
  j["box"] = box_name(box);
  nlohmann::json in = nlohmann::json::array();
  const Index d = static_cast<Index>(inputs.size());
  for (Index i = 0; i < d; ++i) {
    Index nb = 0;
    for (Index p = 0; p < size(); ++p) nb += boundary[static_cast<size_t>(p * d + i)];
    in.push_back({{"name", inputs[static_cast<size_t>(i)]},
                  {"lo", lo[static_cast<size_t>(i)]},
                  {"hi", hi[static_cast<size_t>(i)]},
                  {"discrete", static_cast<bool>(discrete[static_cast<size_t>(i)])},
                  {"held", static_cast<bool>(held[static_cast<size_t>(i)])},
                  {"boundary_fraction", size() ? static_cast<double>(nb) / static_cast<double>(size()) : 0.0}});
  }
  j["inputs"] = in;
  if (plausibility > 0) {
    nlohmann::json pj;
    pj["lambda"] = plausibility;
    pj["converged_fraction"] = converged_fraction();
    pj["mean_log_density"] = mean_log_density;
    if (has_comparison) {
      pj["converged_fraction_without"] = converged_fraction_without;
      pj["mean_log_density_without"] = mean_log_density_without;
    }
    j["plausibility"] = pj;
  }
  if (!population_file.empty()) j["out"] = population_file;
  if (!histograms_file.empty()) j["histograms_file"] = histograms_file;
  if (histograms) {
    auto top = [](const std::vector<PopulationHistogram>& v) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& x : v) arr.push_back({{"variables", x.names}, {"score", x.score}});
      return arr;
    };
    j["histograms"] = {{"population", histograms->population},
                       {"points", histograms->points},
                       {"one_kl", top(histograms->one)},
                       {"two_mi", top(histograms->two)},
                       {"three_tc", top(histograms->three)}};
  }
  return j;
}

nlohmann::json MaximizeResult::histograms_to_json() const {
  if (!histograms) throw Error("maximize: the result holds no histograms (ask for them in the options)");
  nlohmann::json j = histograms->to_json();
  j["neuron"] = neuron;
  return j;
}

std::string MaximizeResult::heat_maps(int count, bool ascii) const {
  if (!histograms || count <= 0 || histograms->two.empty()) return "";
  const auto& two = histograms->two;
  const std::vector<PopulationHistogram> top(two.begin(),
                                             two.begin() + std::min<size_t>(two.size(), static_cast<size_t>(count)));
  return heat_map(top, ascii, 2);
}

std::string MaximizeResult::table() const {
  std::string t;
  t += fmt::format("unbox maximize: {} {} to {} {:g}\n", minimize ? "minimized" : "maximized", neuron,
                   minimize ? "<=" : ">=", threshold);
  double ms = 0;
  for (auto s : steps) ms += static_cast<double>(s);
  t += fmt::format("  points {}, converged {:.1f}%, mean steps {:.1f}, {:.3g} point-steps/s\n", size(),
                   100 * converged_fraction(), size() ? ms / static_cast<double>(size()) : 0.0,
                   seconds > 0 ? static_cast<double>(point_steps) / seconds : 0.0);
  if (plausibility > 0) {
    t += fmt::format("  plausibility lambda {:g}: converged {:.1f}%, mean log-density {:.3f}", plausibility,
                     100 * converged_fraction(), mean_log_density);
    if (has_comparison)
      t += fmt::format(" (without: converged {:.1f}%, mean log-density {:.3f})", 100 * converged_fraction_without,
                       mean_log_density_without);
    t += "\n";
  }
  const Index d = static_cast<Index>(inputs.size());
  t += fmt::format("  {:<20} {:>12} {:>12} {:>10}\n", "input", "box lo", "box hi", "boundary");
  for (Index i = 0; i < d; ++i) {
    Index nb = 0;
    for (Index p = 0; p < size(); ++p) nb += boundary[static_cast<size_t>(p * d + i)];
    t += fmt::format("  {:<20} {:>12.5g} {:>12.5g} {:>9.1f}%{}\n", inputs[static_cast<size_t>(i)],
                     lo[static_cast<size_t>(i)], hi[static_cast<size_t>(i)],
                     size() ? 100.0 * static_cast<double>(nb) / static_cast<double>(size()) : 0.0,
                     held[static_cast<size_t>(i)]       ? "  (discrete, held)"
                     : discrete[static_cast<size_t>(i)] ? "  (discrete)"
                                                        : "");
  }
  if (histograms) {
    const PopulationHistograms& h = *histograms;
    auto list = [](const std::vector<PopulationHistogram>& v, const char* what) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 5; ++i) {
        std::string nm;
        for (size_t k = 0; k < v[i].names.size(); ++k) nm += (k ? "," : "") + v[i].names[k];
        if (v[i].names.size() > 1) nm = "(" + nm + ")";
        s += fmt::format("{}{} {:.3f}", i ? ", " : "", nm, v[i].score);
      }
      return s.empty() ? std::string() : fmt::format("  top {}: {}\n", what, s);
    };
    t += fmt::format("  histograms of {} {} points{}\n", h.points, h.population,
                     histograms_file.empty() ? "" : " -> " + histograms_file);
    t += list(h.one, "1-D by KL from start (nats)");
    t += list(h.two, "2-D by mutual information (nats)");
    t += list(h.three, "3-D by total correlation (nats)");
  }
  if (!population_file.empty()) t += fmt::format("  population -> {}\n", population_file);
  return t;
}

}  // namespace unbox
