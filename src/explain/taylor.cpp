// Taylor-expansion analysis: weighted mean absolute Taylor coefficients per feature.
// The derivatives come from the exact engine of jets.cpp; here they are converted to the
// chosen convention and averaged. Sums are kept per fixed chunk of events and added in
// chunk order, so the result does not depend on the number of threads.
#include "unbox/explain/taylor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace unbox {

namespace {
constexpr Index kChunk = 2048;  // events per accumulation chunk (fixed: determinism)
}

std::string convention_name(TaylorConvention c) {
  return c == TaylorConvention::Monomial ? "monomial" : "derivative";
}

TaylorConvention parse_convention(const std::string& text) {
  if (text == "monomial") return TaylorConvention::Monomial;
  if (text == "derivative") return TaylorConvention::Derivative;
  throw Error(fmt::format("unknown --convention '{}': expected monomial (Taylor-monomial coefficients, as "
                          "tayloranalysis) or derivative (plain derivatives, as Wunsch et al. 2018)",
                          text));
}

std::string feature_name(const std::vector<std::string>& variables) {
  std::string s;
  for (size_t i = 0; i < variables.size(); ++i) s += (i ? " x " : "") + variables[i];
  return s;
}

TaylorResult taylor(const Network& net, const Dataset& data, const TaylorOptions& options) {
  auto inputs = gather_inputs(net, data, options.columns);
  std::vector<double> labels, weights;
  if (data.label_column) labels = data.labels();
  if (data.weight_column) weights = data.weights();
  TaylorResult r = taylor(net, inputs, labels, weights, options);
  if (!options.columns.empty() && r.variables.size() == options.columns.size()) {
    // The data's names are the features' names.
    r.variables = options.columns;
    for (auto& f : r.features) {
      for (size_t k = 0; k < f.indices.size(); ++k) f.variables[k] = r.variables[static_cast<size_t>(f.indices[k])];
      f.name = feature_name(f.variables);
    }
  }
  return r;
}

TaylorResult taylor(const Network& net, const std::vector<Tensor>& inputs, std::span<const double> labels,
                    std::span<const double> weights, const TaylorOptions& o) {
  const NeuronRef ref = net.resolve(o.neuron);
  DerivativeOptions dopt;
  dopt.order = o.order;
  dopt.physical_units = o.physical_units;
  dopt.tile = o.tile;
  DerivativePlan plan = plan_derivatives(net, ref, dopt);
  const Index N = inputs.empty() ? 0 : inputs[0].events();
  if (N == 0) throw Error("taylor: no events");
  if (!labels.empty() && static_cast<Index>(labels.size()) != N) throw Error("taylor: one label per event is needed");
  if (!weights.empty() && static_cast<Index>(weights.size()) != N) throw Error("taylor: one weight per event is needed");
  const Index n = static_cast<Index>(plan.variables.size());
  const Index P2 = o.order >= 2 ? pair_count(n) : 0, P3 = o.order >= 3 ? triple_count(n) : 0;
  const Index F = n + P2 + P3;

  // Convention factors and the index lists of every feature, in engine order.
  std::vector<double> factor(static_cast<size_t>(F), 1.0);
  std::vector<std::vector<Index>> idx(static_cast<size_t>(F));
  for (Index i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = {i};
  Index f = n;
  for (Index i = 0; i < n && o.order >= 2; ++i)
    for (Index j = i; j < n; ++j, ++f) {
      idx[static_cast<size_t>(f)] = {i, j};
      if (o.convention == TaylorConvention::Monomial && i == j) factor[static_cast<size_t>(f)] = 0.5;
    }
  if (o.order >= 3) {
    auto tl = triple_list(n);
    for (Index t = 0; t < P3; ++t, ++f) {
      Index i = tl[3 * t], j = tl[3 * t + 1], k = tl[3 * t + 2];
      idx[static_cast<size_t>(f)] = {i, j, k};
      if (o.convention == TaylorConvention::Monomial) {
        // 1 / prod(n_k!) over repeated indices: 1/6 for iii, 1/2 for iij or ijj.
        double d = (i == j && j == k) ? 6.0 : (i == j || j == k) ? 2.0 : 1.0;
        factor[static_cast<size_t>(f)] = 1.0 / d;
      }
    }
  }

  const bool classes = !labels.empty();
  const Index chunks = (N + kChunk - 1) / kChunk;
  // Per chunk: sums of w |t| over all events, signal, background; and the weights.
  std::vector<double> sums(static_cast<size_t>(chunks * 3 * F), 0.0), wsums(static_cast<size_t>(chunks * 3), 0.0);
  visit_derivatives(net, inputs, ref, dopt, kChunk, [&](Index c, const DerivativeTile& t) {
    double* all = sums.data() + c * 3 * F;
    double* sig = all + F;
    double* bkg = sig + F;
    double* ws = wsums.data() + c * 3;
    for (Index e = 0; e < t.count; ++e) {
      const Index ev = t.begin + e;
      const double w = weights.empty() ? 1.0 : weights[static_cast<size_t>(ev)];
      const bool is_sig = classes && labels[static_cast<size_t>(ev)] > 0.5;
      double* cls = classes ? (is_sig ? sig : bkg) : nullptr;
      ws[0] += w;
      if (cls) ws[is_sig ? 1 : 2] += w;
      auto add = [&](const double* d, Index count, Index off) {
        for (Index k = 0; k < count; ++k) {
          const double a = w * std::abs(d[k]);
          all[off + k] += a;
          if (cls) cls[off + k] += a;
        }
      };
      add(t.first + e * n, n, 0);
      if (P2) add(t.second + e * P2, P2, n);
      if (P3) add(t.third + e * P3, P3, n + P2);
    }
  });
  std::vector<double> total(static_cast<size_t>(3 * F), 0.0);
  double W[3] = {0, 0, 0};
  for (Index c = 0; c < chunks; ++c) {
    for (Index k = 0; k < 3 * F; ++k) total[static_cast<size_t>(k)] += sums[static_cast<size_t>(c * 3 * F + k)];
    for (int k = 0; k < 3; ++k) W[k] += wsums[static_cast<size_t>(c * 3 + k)];
  }
  if (!(W[0] != 0)) throw Error("taylor: the event weights sum to zero");

  TaylorResult r;
  r.neuron = o.neuron;
  const std::string lname = net.neuron_name(ref);
  r.target = plan.target_activation.empty() ? lname : fmt::format("{} (after {})", lname, plan.target_activation);
  r.convention = o.convention;
  r.physical_units = o.physical_units;
  r.order = o.order;
  r.events = N;
  r.weight_sum = W[0];
  r.weight_signal = W[1];
  r.weight_background = W[2];
  r.per_class = classes && W[1] != 0 && W[2] != 0;
  r.variables = plan.variables;
  r.notes = plan.notes;
  bool any_raw = false;
  for (bool s : plan.standardized) any_raw = any_raw || !s;
  if (!o.physical_units && any_raw)
    r.notes.push_back("some inputs have no Standardize layer of their own: their derivatives are in raw units");
  double grand = 0;
  for (Index k = 0; k < F; ++k) {
    TaylorFeature ft;
    ft.indices = idx[static_cast<size_t>(k)];
    ft.order = static_cast<int>(ft.indices.size());
    for (Index i : ft.indices) ft.variables.push_back(plan.variables[static_cast<size_t>(i)]);
    ft.name = feature_name(ft.variables);
    const double fac = factor[static_cast<size_t>(k)];
    ft.value = fac * total[static_cast<size_t>(k)] / W[0];
    if (r.per_class) {
      ft.signal = fac * total[static_cast<size_t>(F + k)] / W[1];
      ft.background = fac * total[static_cast<size_t>(2 * F + k)] / W[2];
    }
    grand += ft.value;
    r.features.push_back(std::move(ft));
  }
  for (auto& ft : r.features) ft.share = grand > 0 ? ft.value / grand : 0.0;
  // Largest first; ties keep the engine order (order, then index), so it is deterministic.
  std::stable_sort(r.features.begin(), r.features.end(),
                   [](const TaylorFeature& a, const TaylorFeature& b) { return a.value > b.value; });
  return r;
}

Index TaylorResult::top_count(double percent) const {
  if (!(percent > 0 && percent <= 100)) throw Error(fmt::format("--top must be in (0, 100] percent, got {}", percent));
  const auto F = static_cast<double>(features.size());
  auto k = static_cast<Index>(std::ceil(percent / 100.0 * F - 1e-9));
  return std::clamp<Index>(k, 1, static_cast<Index>(features.size()));
}

std::vector<std::string> TaylorResult::top_variables(double percent) const {
  std::vector<std::string> out;
  const Index k = top_count(percent);
  for (Index i = 0; i < k; ++i)
    for (const auto& v : features[static_cast<size_t>(i)].variables)
      if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  return out;
}

std::string TaylorResult::table(Index rows, double top_percent) const {
  std::string s;
  s += fmt::format("Taylor coefficients of {} = {}, convention {} ({}), units {}, up to order {}\n", neuron, target,
                   convention_name(convention),
                   convention == TaylorConvention::Monomial ? "t_ii = f_ii/2, t_ij = f_ij" : "t_ii = f_ii, t_ij = f_ij",
                   physical_units ? "physical (raw data columns)" : "standardized (as the first layer sees them)",
                   order);
  s += fmt::format("{} events, sum of weights {}{}\n", events, format_double(weight_sum),
                   per_class ? fmt::format(" (signal {}, background {})", format_double(weight_signal),
                                           format_double(weight_background))
                             : "");
  size_t width = 7;
  const Index shown = rows > 0 ? std::min<Index>(rows, static_cast<Index>(features.size()))
                               : static_cast<Index>(features.size());
  for (Index i = 0; i < shown; ++i) width = std::max(width, features[static_cast<size_t>(i)].name.size());
  s += fmt::format("{:>5}  {:<{}}  {:>5}  {:>12}  {:>7}  {:>7}", "rank", "feature", width, "order", "<|t|>", "share",
                   "cumul.");
  if (per_class) s += fmt::format("  {:>12}  {:>12}", "signal", "background");
  s += "\n";
  double cum = 0;
  for (Index i = 0; i < shown; ++i) {
    const auto& f = features[static_cast<size_t>(i)];
    cum += f.share;
    s += fmt::format("{:>5}  {:<{}}  {:>5}  {:>12.6g}  {:>6.2f}%  {:>6.2f}%", i + 1, f.name, width, f.order, f.value,
                     100 * f.share, 100 * cum);
    if (per_class) s += fmt::format("  {:>12.6g}  {:>12.6g}", f.signal, f.background);
    s += "\n";
  }
  if (shown < static_cast<Index>(features.size()))
    s += fmt::format("  ... {} more features (--rows 0 shows all)\n", features.size() - static_cast<size_t>(shown));
  if (top_percent > 0) {
    auto vars = top_variables(top_percent);
    std::string list;
    for (size_t i = 0; i < vars.size(); ++i) list += (i ? ", " : "") + vars[i];
    s += fmt::format("top {}%: {} of {} features, involving {} of {} variables: {}\n", top_percent,
                     top_count(top_percent), features.size(), vars.size(), variables.size(), list);
  }
  for (const auto& note : notes) s += "note: " + note + "\n";
  return s;
}

nlohmann::json TaylorResult::to_json(double top_percent) const {
  nlohmann::json j;
  j["neuron"] = neuron;
  j["target"] = target;
  j["convention"] = convention_name(convention);
  j["units"] = physical_units ? "physical" : "standardized";
  j["order"] = order;
  j["events"] = events;
  j["weight_sum"] = weight_sum;
  if (per_class) {
    j["weight_signal"] = weight_signal;
    j["weight_background"] = weight_background;
  }
  j["variables"] = variables;
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& f : features) {
    nlohmann::json x = {{"name", f.name}, {"variables", f.variables}, {"order", f.order}, {"value", f.value},
                        {"share", f.share}};
    if (per_class) {
      x["signal"] = f.signal;
      x["background"] = f.background;
    }
    fs.push_back(std::move(x));
  }
  j["features"] = std::move(fs);
  j["notes"] = notes;
  if (top_percent > 0) {
    nlohmann::json names = nlohmann::json::array();
    for (Index i = 0; i < top_count(top_percent); ++i) names.push_back(features[static_cast<size_t>(i)].name);
    j["top"] = {{"percent", top_percent}, {"features", names}, {"variables", top_variables(top_percent)}};
  }
  return j;
}

}  // namespace unbox
