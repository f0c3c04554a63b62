// Taylor-expansion analysis: weighted mean absolute Taylor coefficients per feature.
// The derivatives come from the exact engine of jets.cpp; here they are converted to the
// chosen convention and averaged. Sums are kept per fixed chunk of events and added in
// chunk order, so the result does not depend on the number of threads.
#include "unbox/explain/taylor.hpp"
#include "unbox/explain/fingerprint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace unbox {

namespace {
constexpr Index kChunk = 2048;  // events per accumulation chunk (fixed: determinism)
}

std::string convention_name(TaylorConvention c) { return c == TaylorConvention::Monomial ? "monomial" : "derivative"; }

TaylorConvention parse_convention(const std::string& text) {
  if (text == "monomial") return TaylorConvention::Monomial;
  if (text == "derivative") return TaylorConvention::Derivative;
  throw Error(
      fmt::format("unknown Taylor convention '{}': expected monomial (Taylor-monomial coefficients, as "
                  "tayloranalysis) or derivative (plain derivatives, as Wunsch et al. 2018)",
                  text));
}

std::string feature_name(const std::vector<std::string>& variables) {
  std::string s;
  for (size_t i = 0; i < variables.size(); ++i) s += (i ? " x " : "") + variables[i];
  return s;
}

TaylorAccumulator::TaylorAccumulator(Index n, int order)
    : variables(n), pairs(order >= 2 ? pair_count(n) : 0), triples(order >= 3 ? triple_count(n) : 0) {
  const auto F = static_cast<size_t>(features());
  all.assign(F, 0.0), signal.assign(F, 0.0), background.assign(F, 0.0);
}

void TaylorAccumulator::add(const DerivativeTile& t, std::span<const double> labels, std::span<const double> weights) {
  const bool classes = !labels.empty();
  const Index n = variables, P2 = pairs, P3 = triples;
  for (Index e = 0; e < t.count; ++e) {
    const auto ev = static_cast<size_t>(t.begin + e);
    const double w = weights.empty() ? 1.0 : weights[ev];
    const bool is_sig = classes && labels[ev] > 0.5;
    double* cls = classes ? (is_sig ? signal.data() : background.data()) : nullptr;
    weight += w;
    if (classes) (is_sig ? weight_signal : weight_background) += w;
    auto sum = [&](const double* d, Index count, Index off) {
      for (Index k = 0; k < count; ++k) {
        const double v = w * std::abs(d[k]);
        all[static_cast<size_t>(off + k)] += v;
        if (cls) cls[off + k] += v;
      }
    };
    sum(t.first + e * n, n, 0);
    if (P2) sum(t.second + e * P2, P2, n);
    if (P3) sum(t.third + e * P3, P3, n + P2);
  }
}

void TaylorAccumulator::merge(const TaylorAccumulator& o) {
  if (o.features() != features()) throw Error("taylor: merging sums over different features");
  for (size_t k = 0; k < all.size(); ++k)
    all[k] += o.all[k], signal[k] += o.signal[k], background[k] += o.background[k];
  weight += o.weight, weight_signal += o.weight_signal, weight_background += o.weight_background;
}

namespace {
// Convention factors and the index lists of every feature, in engine order.
void feature_layout(Index n, int order, TaylorConvention convention, std::vector<double>& factor,
                    std::vector<std::vector<Index>>& idx) {
  const Index P2 = order >= 2 ? pair_count(n) : 0, P3 = order >= 3 ? triple_count(n) : 0;
  const Index F = n + P2 + P3;
  const bool monomial = convention == TaylorConvention::Monomial;
  factor.assign(static_cast<size_t>(F), 1.0);
  idx.assign(static_cast<size_t>(F), {});
  for (Index i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = {i};
  Index f = n;
  for (Index i = 0; i < n && order >= 2; ++i)
    for (Index j = i; j < n; ++j, ++f) {
      idx[static_cast<size_t>(f)] = {i, j};
      if (monomial && i == j) factor[static_cast<size_t>(f)] = 0.5;
    }
  if (order >= 3) {
    auto tl = triple_list(n);
    for (Index t = 0; t < P3; ++t, ++f) {
      Index i = tl[3 * t], j = tl[3 * t + 1], k = tl[3 * t + 2];
      idx[static_cast<size_t>(f)] = {i, j, k};
      if (monomial) {
        // 1 / prod(n_k!) over repeated indices: 1/6 for iii, 1/2 for iij or ijj.
        double d = (i == j && j == k) ? 6.0 : (i == j || j == k) ? 2.0 : 1.0;
        factor[static_cast<size_t>(f)] = 1.0 / d;
      }
    }
  }
}

// The means, shares and ranking of `r` from its sums (r.sums, variables, order, convention).
void finish(TaylorResult& r) {
  const TaylorAccumulator& sum = r.sums;
  const Index n = static_cast<Index>(r.variables.size());
  std::vector<double> factor;
  std::vector<std::vector<Index>> idx;
  feature_layout(n, r.order, r.convention, factor, idx);
  const Index F = static_cast<Index>(factor.size());
  if (sum.features() != F) throw Error("taylor: the sums do not match the variables and order");
  const double W[3] = {sum.weight, sum.weight_signal, sum.weight_background};
  if (!(W[0] != 0)) throw Error("taylor: the event weights sum to zero");
  r.weight_sum = W[0];
  r.weight_signal = W[1];
  r.weight_background = W[2];
  r.per_class = W[1] != 0 && W[2] != 0;
  r.features.clear();
  double grand = 0;
  for (Index k = 0; k < F; ++k) {
    TaylorFeature ft;
    ft.indices = idx[static_cast<size_t>(k)];
    ft.order = static_cast<int>(ft.indices.size());
    for (Index i : ft.indices) ft.variables.push_back(r.variables[static_cast<size_t>(i)]);
    ft.name = feature_name(ft.variables);
    const double fac = factor[static_cast<size_t>(k)];
    ft.value = fac * sum.all[static_cast<size_t>(k)] / W[0];
    if (r.per_class) {
      ft.signal = fac * sum.signal[static_cast<size_t>(k)] / W[1];
      ft.background = fac * sum.background[static_cast<size_t>(k)] / W[2];
    }
    grand += ft.value;
    r.features.push_back(std::move(ft));
  }
  for (auto& ft : r.features) ft.share = grand > 0 ? ft.value / grand : 0.0;
  // Largest first; ties keep the engine order (order, then index), so it is deterministic.
  std::stable_sort(r.features.begin(), r.features.end(),
                   [](const TaylorFeature& a, const TaylorFeature& b) { return a.value > b.value; });
}
}  // namespace

TaylorResult taylor(const Network& net, const Events& events, const TaylorOptions& options) {
  events.check_model(net, "taylor");
  std::vector<double> labels, weights;
  if (events.has_labels()) {
    events.require_labels("taylor");
    labels = events.labels();
  }
  if (events.has_weights()) weights = events.weights();
  TaylorResult r = taylor(net, events.inputs(), labels, weights, options);
  std::vector<std::string> names;
  if (events.flat())
    for (size_t k = 0; k < events.inputs().size(); ++k)
      names.insert(names.end(), events.feature_names(k).begin(), events.feature_names(k).end());
  if (names.size() == r.variables.size() && names != r.variables) {
    // The data's names are the features' names.
    r.variables = names;
    for (auto& f : r.features) {
      for (size_t k = 0; k < f.indices.size(); ++k) f.variables[k] = r.variables[static_cast<size_t>(f.indices[k])];
      f.name = feature_name(f.variables);
    }
    if (!r.coefficient_names.empty()) {
      const Index n = static_cast<Index>(names.size());
      r.coefficient_names.clear();
      for (Index i = 0; i < n; ++i) r.coefficient_names.push_back(names[static_cast<size_t>(i)]);
      if (r.order >= 2)
        for (Index i = 0; i < n; ++i)
          for (Index j = i; j < n; ++j)
            r.coefficient_names.push_back(feature_name({names[static_cast<size_t>(i)], names[static_cast<size_t>(j)]}));
      if (r.order >= 3) {
        auto tl = triple_list(n);
        for (Index t = 0; t < triple_count(n); ++t)
          r.coefficient_names.push_back(
              feature_name({names[static_cast<size_t>(tl[3 * t])], names[static_cast<size_t>(tl[3 * t + 1])],
                            names[static_cast<size_t>(tl[3 * t + 2])]}));
      }
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
  dopt.tile = o.batch;
  DerivativePlan plan = plan_derivatives(net, ref, dopt);
  const Index N = inputs.empty() ? 0 : inputs[0].events();
  if (N == 0) throw Error("taylor: no events");
  if (!labels.empty() && static_cast<Index>(labels.size()) != N) throw Error("taylor: one label per event is needed");
  if (!weights.empty() && static_cast<Index>(weights.size()) != N)
    throw Error("taylor: one weight per event is needed");
  const Index n = static_cast<Index>(plan.variables.size());
  const Index P2 = o.order >= 2 ? pair_count(n) : 0, P3 = o.order >= 3 ? triple_count(n) : 0;
  const Index F = n + P2 + P3;

  // Convention factors and the index lists of every feature, in engine order.
  std::vector<double> factor;
  std::vector<std::vector<Index>> idx;
  feature_layout(n, o.order, o.convention, factor, idx);

  const Index chunks = (N + kChunk - 1) / kChunk;
  // One accumulator per fixed chunk, merged in chunk order: thread-count independent.
  std::vector<TaylorAccumulator> acc(static_cast<size_t>(chunks), TaylorAccumulator(n, o.order));
  Tensor per_value, per_coef;
  if (o.per_event) per_value = Tensor({N}, 0.0), per_coef = Tensor({N, F}, 0.0);
  ProgressCounter progress(o.progress, N);
  visit_derivatives(net, inputs, ref, dopt, kChunk, [&](Index c, const DerivativeTile& t) {
    progress.add(t.count);
    acc[static_cast<size_t>(c)].add(t, labels, weights);
    if (!o.per_event) return;
    for (Index e = 0; e < t.count; ++e) {
      const Index ev = t.begin + e;
      per_value[ev] = t.value[e];
      double* row = per_coef.data() + ev * F;
      for (Index k = 0; k < n; ++k) row[k] = t.first[e * n + k];
      for (Index k = 0; k < P2; ++k) row[n + k] = factor[static_cast<size_t>(n + k)] * t.second[e * P2 + k];
      for (Index k = 0; k < P3; ++k) row[n + P2 + k] = factor[static_cast<size_t>(n + P2 + k)] * t.third[e * P3 + k];
    }
  });
  progress.finish();
  TaylorAccumulator sum(n, o.order);
  for (const auto& a : acc) sum.merge(a);
  if (!(sum.weight != 0)) throw Error("taylor: the event weights sum to zero");

  TaylorResult r;
  r.neuron = o.neuron;
  const std::string lname = net.neuron_name(ref);
  r.target = plan.target_activation.empty() ? lname : fmt::format("{} (after {})", lname, plan.target_activation);
  r.convention = o.convention;
  r.physical_units = o.physical_units;
  r.order = o.order;
  r.events = N;
  r.variables = plan.variables;
  r.notes = plan.notes;
  r.rows = o.rows;
  r.top_percent = o.top_percent;
  if (o.per_event) {
    r.value = std::move(per_value);
    r.coefficients = std::move(per_coef);
    for (Index k = 0; k < F; ++k) {
      std::vector<std::string> v;
      for (Index i : idx[static_cast<size_t>(k)]) v.push_back(plan.variables[static_cast<size_t>(i)]);
      r.coefficient_names.push_back(feature_name(v));
    }
  }
  bool any_raw = false;
  for (bool s : plan.standardized) any_raw = any_raw || !s;
  if (!o.physical_units && any_raw)
    r.notes.push_back("some inputs have no Standardize layer of their own: their derivatives are in raw units");
  r.sums = std::move(sum);
  r.model = network_fingerprint(net);
  finish(r);
  return r;
}

Index TaylorResult::top_count(double percent) const {
  if (!(percent > 0 && percent <= 100))
    throw Error(fmt::format("the top percentage must be in (0, 100], got {}", percent));
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
  const Index shown =
      rows > 0 ? std::min<Index>(rows, static_cast<Index>(features.size())) : static_cast<Index>(features.size());
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
    s += fmt::format("  ... {} more features (0 table rows shows all)\n", features.size() - static_cast<size_t>(shown));
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
    nlohmann::json x = {
        {"name", f.name}, {"variables", f.variables}, {"order", f.order}, {"value", f.value}, {"share", f.share}};
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
  // What a merge needs: the sums behind the means, and what must agree between the parts.
  j["state"] = {{"method", "taylor"},
                {"version", 1},
                {"key",
                 {{"neuron", neuron},
                  {"target", target},
                  {"convention", convention_name(convention)},
                  {"units", physical_units ? "physical" : "standardized"},
                  {"order", order},
                  {"variables", variables},
                  {"model", model}}},
                {"sums",
                 {{"events", events},
                  {"all", sums.all},
                  {"signal", sums.signal},
                  {"background", sums.background},
                  {"weight", sums.weight},
                  {"weight_signal", sums.weight_signal},
                  {"weight_background", sums.weight_background}}},
                {"notes", notes},
                {"rows", rows},
                {"top_percent", top_percent}};
  return j;
}

TaylorResult TaylorResult::from_json(const nlohmann::json& j) {
  if (!j.contains("state") || !j["state"].is_object() || j["state"].value("method", "") != "taylor")
    throw Error("not a taylor result with a merge state (written by an older unbox?)");
  const auto& st = j["state"];
  try {
    const auto& key = st.at("key");
    const auto& s = st.at("sums");
    TaylorResult r;
    r.neuron = key.at("neuron").get<std::string>();
    r.target = key.at("target").get<std::string>();
    r.convention = parse_convention(key.at("convention").get<std::string>());
    r.physical_units = key.at("units").get<std::string>() == "physical";
    r.order = key.at("order").get<int>();
    if (r.order < 1 || r.order > 3) throw Error(fmt::format("order {} (expected 1, 2 or 3)", r.order));
    r.variables = key.at("variables").get<std::vector<std::string>>();
    r.model = key.value("model", "");
    r.sums = TaylorAccumulator(static_cast<Index>(r.variables.size()), r.order);
    auto read = [&](const char* name, std::vector<double>& into) {
      auto v = s.at(name).get<std::vector<double>>();
      if (v.size() != into.size())
        throw Error(fmt::format("'{}' holds {} sums, {} expected", name, v.size(), into.size()));
      into = std::move(v);
    };
    read("all", r.sums.all);
    read("signal", r.sums.signal);
    read("background", r.sums.background);
    r.sums.weight = s.at("weight").get<double>();
    r.sums.weight_signal = s.at("weight_signal").get<double>();
    r.sums.weight_background = s.at("weight_background").get<double>();
    r.events = s.at("events").get<Index>();
    r.notes = st.value("notes", std::vector<std::string>{});
    r.rows = st.value("rows", Index{20});
    r.top_percent = st.value("top_percent", 0.0);
    finish(r);
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("a malformed taylor merge state: {}", e.what()));
  }
}

void merge(TaylorResult& into, const TaylorResult& other) {
  auto differ = [](const char* what, const std::string& a, const std::string& b) {
    throw Error(fmt::format("taylor: cannot merge results with different {} ('{}' and '{}')", what, a, b));
  };
  if (into.neuron != other.neuron) differ("neurons", into.neuron, other.neuron);
  if (into.convention != other.convention)
    differ("conventions", convention_name(into.convention), convention_name(other.convention));
  if (into.physical_units != other.physical_units)
    differ("units", into.physical_units ? "physical" : "standardized",
           other.physical_units ? "physical" : "standardized");
  if (into.order != other.order) differ("orders", std::to_string(into.order), std::to_string(other.order));
  if (into.variables != other.variables)
    differ("variables", feature_name(into.variables), feature_name(other.variables));
  if (into.model != other.model) differ("models", into.model, other.model);
  into.sums.merge(other.sums);
  into.events += other.events;
  for (const auto& note : other.notes)
    if (std::find(into.notes.begin(), into.notes.end(), note) == into.notes.end()) into.notes.push_back(note);
  into.value = Tensor();
  into.coefficients = Tensor();
  finish(into);
}

Dataset TaylorResult::per_event_dataset() const {
  if (coefficients.rank() != 2) throw Error("taylor: the per-event coefficients were not kept (per_event option)");
  Dataset out;
  const Index N = coefficients.dim(0), F = coefficients.dim(1);
  out.add(neuron, value);
  for (Index k = 0; k < F; ++k) {
    Tensor c({N});
    for (Index e = 0; e < N; ++e) c[e] = coefficients[e * F + k];
    out.add("t(" + coefficient_names[static_cast<size_t>(k)] + ")", std::move(c));
  }
  return out;
}

TaylorSelection taylor_select(const Network& model, const Events& events, const TaylorSelectOptions& options) {
  TaylorOptions t = options.taylor;
  t.per_event = false;
  TaylorResult r = taylor(model, events, t);
  TaylorSelection s;
  s.neuron = r.neuron;
  s.convention = r.convention;
  s.order = r.order;
  s.total_features = static_cast<Index>(r.features.size());
  if (options.top > 0) {
    s.features = std::min(options.top, s.total_features);
    s.percent = 100.0 * static_cast<double>(s.features) / static_cast<double>(s.total_features);
    for (Index i = 0; i < s.features; ++i)
      for (const auto& v : r.features[static_cast<size_t>(i)].variables)
        if (std::find(s.selected.begin(), s.selected.end(), v) == s.selected.end()) s.selected.push_back(v);
  } else {
    s.percent = options.top_percent;
    s.features = r.top_count(options.top_percent);
    s.selected = r.top_variables(options.top_percent);
  }
  for (const auto& v : r.variables)
    if (std::find(s.selected.begin(), s.selected.end(), v) == s.selected.end()) s.inverted.push_back(v);
  s.variables = r.variables;
  s.notes = r.notes;
  return s;
}

std::string TaylorSelection::table() const {
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
    return out;
  };
  std::string s = fmt::format(
      "top {}% of {} features ({} features, {} convention, order <= {}) involve {} of {} "
      "variables:\n  {}\ninverted selection ({}):\n  {}\n",
      percent, total_features, features, convention_name(convention), order, selected.size(), variables.size(),
      join(selected), inverted.size(), join(inverted));
  for (const auto& note : notes) s += "note: " + note + "\n";
  return s;
}

nlohmann::json TaylorSelection::to_json() const {
  return nlohmann::json{{"neuron", neuron},     {"convention", convention_name(convention)},
                        {"percent", percent},   {"features", features},
                        {"selected", selected}, {"inverted", inverted}};
}

}  // namespace unbox
