// The results of `lrp` and `attribute` on events: per-event scores, conservation or
// completeness, aggregation (mean normalized relevance, profiles, maps) and mean +- std over
// trainings; their tables and JSON (what the CLI prints).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "unbox/explain/attribute.hpp"
#include "unbox/explain/lrp.hpp"

namespace unbox {

Dataset score_columns(const std::string& prefix, const std::vector<std::string>& features, const Tensor& scores) {
  Dataset out;
  const Index n = scores.dim(0);
  for (size_t j = 0; j < features.size(); ++j) {
    Tensor c({n});
    for (Index e = 0; e < n; ++e) c[e] = scores.at(e, static_cast<Index>(j));
    out.add(prefix + features[j], std::move(c));
  }
  return out;
}

std::vector<std::string> event_feature_names(const Events& events) {
  std::vector<std::string> names;
  for (size_t k = 0; k < events.inputs().size(); ++k)
    names.insert(names.end(), events.feature_names(k).begin(), events.feature_names(k).end());
  return names;
}

namespace {

std::vector<double> checked_labels(const Events& events, const char* method) {
  if (!events.has_labels()) return {};
  events.require_labels(method);
  return events.labels();
}

void check_profiles(const AggregateSummary& s, const std::vector<std::string>& profiles) {
  for (const auto& f : profiles) (void)s.profile_table(f);  // unknown names fail before any output
}

std::string target_note(const Network& net, const std::string& neuron) {
  std::string note;
  if (neuron.empty())
    (void)default_target(net, &note);
  else
    note = fmt::format("target: {}", neuron);
  return note;
}

}  // namespace

// ---- LRP ---------------------------------------------------------------------------

LrpResult lrp(const Network& model, const Events& events, const LrpOptions& o) {
  events.check_model(model, "LRP");
  LrpResult r;
  r.note = target_note(model, o.neuron);
  r.relevance = lrp(model, events.inputs(), o);
  const auto names = event_feature_names(events);
  if (names.size() == r.relevance.features.size()) r.relevance.features = names;
  r.target = r.relevance.target;
  r.composite = o.composite.name;
  r.models = {"model"};
  r.layer_rules = r.relevance.layer_rules;
  r.epsilon = o.epsilon;
  r.canonized = o.canonize;
  r.events = events.size();
  r.labels = checked_labels(events, "LRP");
  r.rows = o.rows;
  r.profiles = o.profiles;
  r.conservation = {summarize_conservation(r.relevance)};
  r.per_model = {aggregate(r.relevance.features, r.relevance.relevance, r.relevance.inputs, r.labels,
                           AggregationOptions{o.bins, o.rows})};
  r.summary = unbox::combine(r.per_model);
  check_profiles(r.summary, r.profiles);
  return r;
}

LrpResult combine(std::vector<LrpResult> m) {
  if (m.empty()) throw Error("combine: no results");
  LrpResult r = std::move(m.front());
  for (size_t i = 1; i < m.size(); ++i) {
    if (m[i].events != r.events) throw Error("combine: the results are on different events");
    r.models.insert(r.models.end(), m[i].models.begin(), m[i].models.end());
    r.conservation.insert(r.conservation.end(), m[i].conservation.begin(), m[i].conservation.end());
    r.per_model.insert(r.per_model.end(), m[i].per_model.begin(), m[i].per_model.end());
    r.target = m[i].target, r.layer_rules = m[i].layer_rules, r.note = m[i].note;  // as the last model says
  }
  r.summary = unbox::combine(r.per_model);
  return r;
}

nlohmann::json LrpResult::to_json() const {
  nlohmann::json j = summary.to_json();
  j["method"] = "lrp";
  j["target"] = target;
  j["models"] = models;
  j["composite"] = composite;
  j["layer_rules"] = layer_rules;
  j["epsilon"] = epsilon;
  j["sign_zero"] = "+1 (a zero denominator gets +epsilon; under rule 0 it drops its relevance)";
  j["canonized"] = canonized;
  j["events"] = events;
  j["conservation"] = conservation.front().to_json();
  if (conservation.size() > 1) {
    nlohmann::json per = nlohmann::json::array();
    for (const auto& x : conservation) per.push_back(x.to_json());
    j["conservation_per_model"] = per;
  }
  return j;
}

std::string LrpResult::table() const {
  const ConservationSummary& c = conservation.front();
  std::string s = fmt::format("{}\nLRP {} on {} events; layers:\n", note, composite, events);
  for (const auto& l : layer_rules) s += fmt::format("  {}\n", l);
  s += fmt::format(
      "conservation (first model): mean output relevance {:.6g}; mean |R_out - sum R_in| {:.3g}, absorbed: bias "
      "{:.3g}, epsilon {:.3g}, other {:.3g}; unexplained (round-off) max {:.2g}\n",
      c.mean_output, c.mean_abs_error, c.mean_abs_bias, c.mean_abs_epsilon, c.mean_abs_other, c.max_abs_unexplained);
  s += summary.table(rows);
  for (const auto& f : profiles) s += fmt::format("\n{}", summary.profile_table(f));
  return s;
}

Dataset LrpResult::per_event_dataset() const {
  const LrpRelevance& r = relevance;
  Dataset out = score_columns("R_", r.features, r.relevance);
  out.add("R_output", Tensor({events}, r.output));
  out.add("R_input_sum", Tensor({events}, r.input_sum));
  out.add("R_bias", Tensor({events}, r.bias));
  out.add("R_epsilon", Tensor({events}, r.epsilon));
  out.add("R_other", Tensor({events}, r.other));
  if (!labels.empty()) out.add("label", Tensor({events}, labels));
  return out;
}

// ---- attributions -------------------------------------------------------------------

AttributionResult attribute(const Network& model, const Events& events, const AttributeOptions& o) {
  events.check_model(model, "attribute");
  if (o.steps < 1) throw Error(fmt::format("the number of integration points must be positive, got {}", o.steps));
  AttributionResult r;
  r.note = target_note(model, o.neuron);
  r.attribution = attribute(model, events.inputs(), o);
  Attribution& a = r.attribution;
  const auto names = event_feature_names(events);
  if (names.size() == a.features.size()) a.features = names;
  r.method = attribution_method_name(o.method);
  r.target = a.target;
  r.baseline = o.baseline;
  r.models = {"model"};
  r.events = events.size();
  r.steps = o.steps, r.samples = o.samples, r.noise = o.noise, r.seed = o.seed;
  r.labels = checked_labels(events, "attribute");
  r.rows = o.rows;
  r.profiles = o.profiles;
  for (size_t e = 0; e < a.completeness_error.size(); ++e) {
    const double err = std::abs(a.completeness_error[e]);
    r.mean_abs_completeness += err / static_cast<double>(a.completeness_error.size());
    r.max_abs_completeness = std::max(r.max_abs_completeness, err);
    const double scale = std::abs(a.f_x[e] - a.f_baseline[e]) + std::abs(a.f_x[e]);
    if (scale > 0) r.max_relative_completeness = std::max(r.max_relative_completeness, err / scale);
  }
  r.per_model = {aggregate(a.features, a.scores, a.inputs, r.labels, AggregationOptions{o.bins, o.rows})};
  r.summary = unbox::combine(r.per_model);
  check_profiles(r.summary, r.profiles);
  return r;
}

AttributionResult combine(std::vector<AttributionResult> m) {
  if (m.empty()) throw Error("combine: no results");
  AttributionResult r = std::move(m.front());
  for (size_t i = 1; i < m.size(); ++i) {
    if (m[i].events != r.events) throw Error("combine: the results are on different events");
    r.models.insert(r.models.end(), m[i].models.begin(), m[i].models.end());
    r.per_model.insert(r.per_model.end(), m[i].per_model.begin(), m[i].per_model.end());
    r.target = m[i].target, r.note = m[i].note;
  }
  r.summary = unbox::combine(r.per_model);
  return r;
}

nlohmann::json AttributionResult::to_json() const {
  nlohmann::json j = summary.to_json();
  j["method"] = method;
  j["target"] = target;
  j["models"] = models;
  j["events"] = events;
  nlohmann::json cons{{"applies", integrated_gradients()}};
  if (integrated_gradients()) {
    j["baseline"] = baseline;
    j["steps"] = steps;
    j["quadrature"] = "gauss-legendre";
    cons["mean_abs_error"] = mean_abs_completeness;
    cons["max_abs_error"] = max_abs_completeness;
    cons["max_relative_error"] = max_relative_completeness;
  } else {
    cons["mean_abs_error"] = nullptr;
  }
  // Integrated Gradients' completeness is its conservation: sum of attributions = f(x) - f(baseline).
  j["conservation"] = cons;
  if (method == "smoothgrad") j["samples"] = samples, j["noise"] = noise, j["seed"] = seed;
  return j;
}

std::string AttributionResult::table() const {
  std::string s = fmt::format("{}\n{} on {} events", note, method, events);
  if (integrated_gradients())
    s += fmt::format(
        " (baseline {}, {} Gauss-Legendre points); completeness |sum A - (f(x) - f(baseline))|: "
        "mean {:.3g}, max {:.3g}, max relative {:.3g}",
        baseline, steps, mean_abs_completeness, max_abs_completeness, max_relative_completeness);
  s += fmt::format("\n{}", summary.table(rows));
  for (const auto& f : profiles) s += fmt::format("\n{}", summary.profile_table(f));
  return s;
}

Dataset AttributionResult::per_event_dataset() const {
  const Attribution& a = attribution;
  Dataset out = score_columns("A_", a.features, a.scores);
  if (!a.completeness_error.empty()) {
    out.add("f_x", Tensor({events}, a.f_x));
    out.add("f_baseline", Tensor({events}, a.f_baseline));
    out.add("completeness_error", Tensor({events}, a.completeness_error));
  }
  if (!labels.empty()) out.add("label", Tensor({events}, labels));
  return out;
}

}  // namespace unbox
